"""Stage 4, package: the mission package folder, written once and read by everything after it.

writer (a :class:`~patrol.types.Plan` and its broadcast to ``.plan``, ``.waypoints``,
``route.geojson``, ``manifest.json``, ``audio/``), reader (:func:`~patrol.package.reader.read_package`,
the one reader used by check, upload, fly, the player, the maps and the audit) and check (the
pre-flight safety report and gate).
"""
