"""patrol: plan, fly and audit drone loudspeaker patrols over residential compounds.

The folders are the jobs, in the order data flows (docs/architecture.md has the picture)::

    inputs/   compound, building and no-fly readers (GeoJSON, KML)          -> District
    speech/   prompt catalogue, text-to-speech, loudness, cache, cue codes  -> Build, PromptCues
    plan/     acoustics, sweep, route, airspace, sorties, mission, coverage -> Plan
    package/  the mission package: writer, the one reader, pre-flight check -> files, Package
    vehicle/  MAVLink link, upload with read-back, fly, companion player    -> .tlog, plays
    review/   flight-log reader, coverage audit, offline maps               -> reports, pages
    commands/ the ``patrol`` command line, one module per command (``cli.py`` assembles them)

Shared by all, at the top: :mod:`patrol.types` (frozen dataclasses with units in their names),
:mod:`patrol.errors` (one exception family), :mod:`patrol.geo` (the local metric frame) and
:mod:`patrol.atomic` (files and folders written whole or not at all). A stage imports only from the top
and from stages before it (``tests/test_structure.py`` fails on a backward import or a cycle). Planning
functions are pure; file and network I/O live in readers, writers, the link and the commands.
"""

from patrol.errors import InputError, PatrolError, PlanningError, SafetyError

__all__ = ["InputError", "PatrolError", "PlanningError", "SafetyError"]
__version__ = "0.1.0"
