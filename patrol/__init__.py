"""patrol: plan, fly and audit drone loudspeaker patrols over residential compounds.

Planning runs one way::

    compounds -> acoustics -> sweep -> route -> airspace -> sorties -> mission -> exports

Every planning stage is a pure function over the frozen dataclasses in :mod:`patrol.types`.
Around it: :mod:`patrol.prompts`, :mod:`patrol.audio` and :mod:`patrol.cues` (the warnings and the
mission commands that play them), :mod:`patrol.check` (the pre-flight report), :mod:`patrol.plan_io`,
:mod:`patrol.link`, :mod:`patrol.upload` and :mod:`patrol.fly` (MAVLink), :mod:`patrol.broadcast`
(the companion player), :mod:`patrol.flightlog`, :mod:`patrol.maps` and :mod:`patrol.audit` (review).
File and network I/O stay in the readers, writers, the link and the command line (``cli.py``).
"""

from patrol.errors import InputError, PatrolError, PlanningError, SafetyError

__all__ = ["InputError", "PatrolError", "PlanningError", "SafetyError"]
__version__ = "0.1.0"
