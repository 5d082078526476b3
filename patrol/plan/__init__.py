"""Stage 3, plan: a :class:`~patrol.types.District` becomes a :class:`~patrol.types.Plan`. Pure functions.

acoustics (audible radius, lane spacing, speed) -> sweep (lanes per compound) -> route (order,
joins, hotspot spurs, transit round no-fly zones) -> airspace (altitudes over roofs) -> sorties
(battery split, fences, rally points) -> mission (MAVLink items with cues), with coverage (the
predicted in-range and heard-whole shares) and pipeline (the whole chain, ``plan_patrol``).
No files, no network, no printing.
"""
