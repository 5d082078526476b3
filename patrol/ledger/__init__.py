"""Stage 7, ledger: the campaign's record of what every compound heard, day after day.

Every plan, upload (with its read-back), flight (log hash, vehicle, operator, start and end), speaker cue,
override and per-compound audit result goes into one database (SQLite beside the missions by default, a
city's PostgreSQL when several laptops share it), one transaction per command; supervisors read it back as
``patrol status``, ``patrol plan --due``, ``patrol map --ledger`` and ``patrol report --week``
(docs/ledger.md). It comes after review because it records what every earlier stage produced.
"""
