"""patrol: plan, fly and audit drone loudspeaker patrols over residential compounds.

The pipeline runs one way::

    compounds -> acoustics -> sweep -> route -> sorties -> mission -> exports

Every stage is a pure function over the frozen dataclasses in :mod:`patrol.types`;
file and network I/O live in :mod:`patrol.compounds` (reading), :mod:`patrol.exports`
(writing) and the command line (``cli.py``).
"""

from patrol.errors import InputError, PatrolError, PlanningError, SafetyError

__all__ = ["InputError", "PatrolError", "PlanningError", "SafetyError"]
__version__ = "0.1.0"
