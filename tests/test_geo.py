"""The local frame keeps distances within 0.1 m of WGS84 geodesics across 20 km."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from patrol.geo import LocalFrame

GEOD = Geod(ellps="WGS84")


@settings(max_examples=60, deadline=None)
@given(
    lat0=st.floats(-60, 60),
    lon0=st.floats(-179, 179),
    brg=st.floats(0, 360),
    off_brg=st.floats(0, 360),
    off_m=st.floats(0, 10_000),
)
def test_distance_error_under_10cm_across_20km(lat0, lon0, brg, off_brg, off_m):
    frame = LocalFrame(lon0, lat0)
    # a 20 km chord whose midpoint is up to 10 km from the frame origin
    mlon, mlat, _ = GEOD.fwd(lon0, lat0, off_brg, off_m)
    alon, alat, _ = GEOD.fwd(mlon, mlat, brg, 10_000)
    blon, blat, _ = GEOD.fwd(mlon, mlat, brg + 180, 10_000)
    x, y = frame.to_local(np.array([alon, blon]), np.array([alat, blat]))
    planar = float(np.hypot(x[1] - x[0], y[1] - y[0]))
    _, _, geodesic = GEOD.inv(alon, alat, blon, blat)
    assert abs(planar - geodesic) < 0.1


def test_round_trip_is_exact_to_a_millimetre():
    frame = LocalFrame(112.73, 38.415)
    lon = np.array([112.70, 112.73, 112.76])
    lat = np.array([38.40, 38.415, 38.43])
    x, y = frame.to_local(lon, lat)
    lon2, lat2 = frame.to_wgs84(x, y)
    assert np.allclose(lon, lon2, atol=1e-8) and np.allclose(lat, lat2, atol=1e-8)
    # 1 degree of latitude is about 111 km here
    assert 110_000 < frame.to_local(112.73, 39.415)[1] < 112_000
