"""Stage 1, inputs: what the operator brings, read and checked into a :class:`~patrol.types.District`.

Compound polygons (with tiers, priorities, hotspots), building footprints with heights, and no-fly
zones, from GeoJSON or KML, in WGS-84 lon/lat, projected into the district's local metric frame.
Every unusable feature is refused with one line naming the file, the feature and the fix.
Imports only the top of the package (types, errors, geo).
"""
