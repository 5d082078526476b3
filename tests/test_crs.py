"""GCJ-02 / BD-09 conversions against published reference points (with tolerances that match where each row
came from: ../shared/data/gcj02/PROVENANCE.md), exact inverses, round trips across China, the boundary."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.inputs.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_mainland_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from tests.conftest import SHARED

REFERENCE = SHARED / "gcj02" / "reference_points.csv"
needs_reference = pytest.mark.skipif(not REFERENCE.exists(), reason=f"{REFERENCE} absent")


def dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Haversine metres (as the provenance file measures)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


def rows(prefix: str) -> list[dict]:
    with REFERENCE.open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["name"].startswith(prefix)]


def col(rs: list[dict], key: str) -> np.ndarray:
    return np.array([float(r[key]) for r in rs])


@needs_reference
def test_the_reference_file_is_the_one_the_provenance_describes():
    with REFERENCE.open(encoding="utf-8") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == 342
    assert len(rows("gcoord:triple:")) == 332


@needs_reference
@pytest.mark.parametrize("prefix", ["eviltransform:wgs>gcj:", "coordtransform:wgs>gcj:"])
def test_forward_matches_the_formula_libraries_to_a_millimetre(prefix):
    """These rows are the same leaked formula's output (0.000 m in the provenance): ours must agree, and the
    exact inverse of their GCJ-02 must give their WGS-84 back."""
    rs = rows(prefix)
    assert rs
    lon, lat = wgs84_to_gcj02(col(rs, "wgs_lon"), col(rs, "wgs_lat"))
    assert dist_m(lon, lat, col(rs, "gcj_lon"), col(rs, "gcj_lat")).max() < 0.001
    lon, lat = gcj02_to_wgs84(col(rs, "gcj_lon"), col(rs, "gcj_lat"))
    assert dist_m(lon, lat, col(rs, "wgs_lon"), col(rs, "wgs_lat")).max() < 0.001


@needs_reference
def test_pyxis_rows_differ_only_by_their_earth_radius():
    """pyxis uses a = 6378137 instead of 6378245: 8.5 mm off in the provenance; 2 cm allowed."""
    rs = rows("pyxis:")
    lon, lat = wgs84_to_gcj02(col(rs, "wgs_lon"), col(rs, "wgs_lat"))
    d = dist_m(lon, lat, col(rs, "gcj_lon"), col(rs, "gcj_lat"))
    assert 0.001 < d.max() < 0.02


@needs_reference
def test_the_one_step_inverse_of_coordtransform_is_six_centimetres_off_and_ours_is_exact():
    (r,) = rows("coordtransform:gcj>wgs(single-step approx):")
    lon, lat = gcj02_to_wgs84(float(r["gcj_lon"]), float(r["gcj_lat"]))
    f_lon, f_lat = wgs84_to_gcj02(lon, lat)
    assert dist_m(f_lon, f_lat, float(r["gcj_lon"]), float(r["gcj_lat"])) < 1e-4  # exact: forward gives the input
    off = float(dist_m(lon, lat, float(r["wgs_lon"]), float(r["wgs_lat"])))
    assert 0.05 < off < 0.07, off  # the provenance measured 0.061 m


@needs_reference
def test_amap_official_bd09_answer_within_a_centimetre():
    """The only official map API answer in the file (AMap's convert, BD-09 -> GCJ-02): 0.6 mm in the provenance."""
    (r,) = rows("amap_official_api:")
    lon, lat = bd09_to_gcj02(float(r["bd_lon"]), float(r["bd_lat"]))
    assert dist_m(lon, lat, float(r["gcj_lon"]), float(r["gcj_lat"])) < 0.01
    (c,) = rows("coordtransform:bd>gcj:")  # the closed-form inverse: 5.7 cm from exact
    lon, lat = bd09_to_gcj02(float(c["bd_lon"]), float(c["bd_lat"]))
    b_lon, b_lat = gcj02_to_bd09(lon, lat)
    assert dist_m(b_lon, b_lat, float(c["bd_lon"]), float(c["bd_lat"])) < 1e-4
    assert 0.01 < dist_m(lon, lat, float(c["gcj_lon"]), float(c["gcj_lat"])) < 0.1
    (g,) = rows("coordtransform:gcj>bd:")
    lon, lat = gcj02_to_bd09(float(g["gcj_lon"]), float(g["gcj_lat"]))
    assert dist_m(lon, lat, float(g["bd_lon"]), float(g["bd_lat"])) < 0.001


@needs_reference
def test_gcoord_city_points_within_their_known_offsets():
    """gcoord's 332 cities: its GCJ-02 sits a systematic ~0.7 m from the formula (max 0.732 m in the provenance),
    so WGS<->GCJ is held to 1 m; its BD-09 is the forward formula on its GCJ-02, rounded (max 0.012 m): 2 cm."""
    rs = rows("gcoord:triple:")
    wl, wb, gl, gb, bl, bb = (col(rs, k) for k in ("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat", "bd_lon", "bd_lat"))
    assert all(in_mainland_china(wl, wb)), "every gcoord city is in mainland China"
    d = dist_m(*wgs84_to_gcj02(wl, wb), gl, gb)
    assert d.max() < 1.0 and 0.4 < float(np.median(d)) < 0.8
    assert dist_m(*gcj02_to_wgs84(gl, gb), wl, wb).max() < 1.0
    assert dist_m(*gcj02_to_bd09(gl, gb), bl, bb).max() < 0.02
    assert dist_m(*bd09_to_gcj02(bl, bb), gl, gb).max() < 0.02
    assert dist_m(*bd09_to_wgs84(bl, bb), wl, wb).max() < 1.02


def test_eviltransform_bd_vectors_are_known_bad_and_fail():
    """eviltransform's BD-09 tests use sin(y*pi)/cos(x*pi) for x_pi: standard BD-09 with an exact inverse puts
    them 10.5 m and 41.5 m away (PROVENANCE.md, 'Vectors that are NOT in the CSV on purpose')."""
    bad = [
        ((120.019809, 29.199786), (120.00877901149691, 29.196131605295484), 10.5),
        ((120.036455, 29.210504), (120.0253853970846, 29.206795749156136), 41.5),
    ]
    for (bl, bb), (wl, wb), metres in bad:
        assert abs(float(dist_m(*bd09_to_wgs84(bl, bb), wl, wb)) - metres) < 0.5


def test_outside_mainland_china_nothing_moves():
    lon = np.array([2.2945, -122.3, 114.17, 113.55, 121.56, 24.94, 127.0])
    lat = np.array(
        [48.8584, 37.8, 22.30, 22.19, 25.03, 60.17, 37.56]
    )  # Paris, Oakland, HK, Macau, Taipei, Helsinki, Seoul
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        assert np.array_equal(out_lon, lon) and np.array_equal(out_lat, lat)


def test_shenzhen_is_shifted_and_hong_kong_across_the_river_is_not():
    inside = in_mainland_china([114.06, 114.17, 116.40, 121.47, 87.6, 126.6], [22.54, 22.30, 39.90, 31.23, 43.8, 45.75])
    assert inside.tolist() == [True, False, True, True, True, True]  # Futian, HK, Beijing, Shanghai, Urumqi, Harbin


def test_the_shift_is_hundreds_of_metres_across_china():
    lon, lat = np.meshgrid(np.linspace(75, 134, 40), np.linspace(19, 53, 30))
    lon, lat = lon.ravel(), lat.ravel()
    keep = in_mainland_china(lon, lat)
    g = wgs84_to_gcj02(lon[keep], lat[keep])
    d = dist_m(*g, lon[keep], lat[keep])
    assert keep.sum() > 500 and d.min() > 1.0 and 100 < float(np.median(d)) < 700


china = st.tuples(st.floats(73.5, 135.0), st.floats(18.0, 53.5))


@settings(max_examples=400, deadline=None)
@given(china)
def test_round_trip_wgs_gcj_wgs_within_a_centimetre(p):
    lon, lat = p
    g = wgs84_to_gcj02(lon, lat)
    w = gcj02_to_wgs84(*g, inside=bool(in_mainland_china(lon, lat)))
    assert float(dist_m(*w, lon, lat)) < 0.01


@settings(max_examples=400, deadline=None)
@given(china)
def test_round_trip_wgs_bd_wgs_within_a_centimetre(p):
    lon, lat = p
    inside = bool(in_mainland_china(lon, lat))
    b = wgs84_to_bd09(lon, lat, inside)
    w = bd09_to_wgs84(*b, inside=inside)
    assert float(dist_m(*w, lon, lat)) < 0.01


def test_a_million_points_convert_in_a_second_or_two():
    """Vectorised: a city's worth of building vertices is no burden (the figure is in the message, not timed)."""
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(116.2, 116.6, 200_000), rng.uniform(39.8, 40.1, 200_000)
    w = gcj02_to_wgs84(lon, lat)
    back = wgs84_to_gcj02(*w)
    assert math.isclose(float(np.max(np.abs(back[0] - lon))), 0.0, abs_tol=1e-8)
