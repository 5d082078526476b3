"""Roofs, altitudes and the pre-flight check: no plan patrol writes puts the vehicle into a building."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from patrol.atomic import write_folder
from patrol.errors import PlanningError
from patrol.inputs.compounds import read_district
from patrol.package.check import check_package
from patrol.package.writer import package_files
from patrol.plan.airspace import Skyline
from patrol.plan.pipeline import plan_patrol
from patrol.types import PatrolParams, Vehicle
from tests.conftest import poly_feature, square_lonlat, write_fc
from tests.test_cli import run

LON, LAT = 112.730, 38.415
D = 0.0015  # about 130 m


def _district(tmp_path, roofs, tower=None, tier="guarded", wall=False):
    """Compounds in a row, each with one block of ``roofs[i]`` storeys; optionally a tower between them."""
    feats, blds = [], []
    for i, levels in enumerate(roofs):
        feats.append(poly_feature(square_lonlat(LON + i * 2 * D, LAT, D), id=f"C{i}", tier=tier, levels=None))
        blds.append(poly_feature(square_lonlat(LON + i * 2 * D + 0.2 * D, LAT + 0.2 * D, 0.2 * D), id=f"B{i}",
                                 **{"building:levels": levels}))  # fmt: skip
    for f in feats:
        f["properties"].pop("levels")
    if tower is not None and wall:  # a long 80 m slab no path from the west can go round
        x, y = tower
        ring = [[x, y - 3 * D], [x + 0.2 * D, y - 3 * D], [x + 0.2 * D, y + 3 * D], [x, y + 3 * D], [x, y - 3 * D]]
        blds.append(poly_feature([ring], id="TOWER", height="80"))
    elif tower is not None:
        blds.append(poly_feature(square_lonlat(*tower, 0.12 * D), id="TOWER", height="80"))
    comp = write_fc(tmp_path / "c.geojson", feats)
    bfile = write_fc(tmp_path / "b.geojson", blds)
    return read_district(comp, building_paths=bfile)


def test_a_compound_of_tall_blocks_is_patrolled_higher_with_narrower_lanes(tmp_path):
    d = _district(tmp_path, [5, 11])
    plan = plan_patrol(d, PatrolParams(home_lat=LAT - 1.5 * D, home_lon=LON + D), vehicle=Vehicle(endurance_min=60))
    stats = {s["id"]: s for s in plan.compound_stats}
    assert stats["C0"]["alt_m"] == 40.0 and stats["C0"]["alt_limited_by"] == "requested altitude"
    assert stats["C1"]["roof_m"] == 33.0 and stats["C1"]["alt_m"] == 48.0 and stats["C1"]["roof_source"] == "buildings"
    assert stats["C1"]["radius_m"] < stats["C0"]["radius_m"] and stats["C1"]["spacing_m"] < stats["C0"]["spacing_m"]
    flat = plan_patrol(
        d, PatrolParams(home_lat=LAT - 1.5 * D, home_lon=LON + D, per_leg_alt=False), vehicle=Vehicle(endurance_min=60)
    )
    steps = [s for so in flat.sorties for s in so.steps if s.compound_id == "C1"]
    assert steps and all(s.alt_m == 48.0 for s in steps)  # the whole compound at its tallest roof


def test_each_leg_is_flown_as_low_as_its_own_roofs_allow(tmp_path):
    """Per-leg altitude: the legs near the 33 m block of C1 at 48 m, the others at the requested 40 m; every leg
    clears every roof within the lateral clearance by 15 m at its lower end, climbs happen in place."""
    d = _district(tmp_path, [5, 11])
    kw = {"vehicle": Vehicle(endurance_min=60)}
    plan = plan_patrol(d, PatrolParams(home_lat=LAT - 1.5 * D, home_lon=LON + D), **kw)
    sky = Skyline(d.buildings, plan.params.lateral_clearance_m)
    (sortie,) = plan.sorties
    steps = [s for s in sortie.steps if s.compound_id == "C1"]
    alts = {s.alt_m for s in steps}
    assert max(alts) == 48.0 and min(alts) == 40.0
    low = sum(s.alt_m == 40.0 for s in steps)
    assert low > len(steps) / 2  # one block: mostly patrolled low
    for a, b in itertools.pairwise(steps):
        pa, pb = (a.x_m, a.y_m), (b.x_m, b.y_m)
        roof = sky.leg_roof(pa, pb) if pa != pb else sky.roof_under(Point(pa))
        assert min(a.alt_m, b.alt_m) >= roof + 15.0 - 1e-6 or roof == 0.0
        if b.alt_m > a.alt_m + 1e-6:
            assert pa == pb  # climbs in place, never ramps up along a leg
    flat = plan_patrol(d, PatrolParams(home_lat=LAT - 1.5 * D, home_lon=LON + D, per_leg_alt=False), **kw)
    st, st_flat = plan.compound_stats[1], flat.compound_stats[1]
    assert st["id"] == st_flat["id"] == "C1"
    assert st["predicted_heard_whole_share_whole_area"] >= st_flat["predicted_heard_whole_share_whole_area"] - 0.005
    with_pkg = write_folder(package_files(plan), tmp_path / "pkg")
    assert all(not c.violations for c in check_package(with_pkg))  # the package's own check agrees


def test_roofs_above_the_ceiling_are_refused_naming_the_compound(tmp_path):
    d = _district(tmp_path, [5, 40])  # 120 m blocks
    with pytest.raises(PlanningError, match=r"compound C1: roofs of 120 m .* above the 120 m ceiling"):
        plan_patrol(d, PatrolParams())


def test_an_inaudible_altitude_suggests_a_louder_speaker(tmp_path):
    d = _district(tmp_path, [5, 20])  # 60 m roofs -> 75 m: a 100 dB speaker carries 54 m
    with pytest.raises(PlanningError, match=r"compound C1 .* --speaker-db (\d+) or more"):
        plan_patrol(d, PatrolParams())


def test_compounds_without_height_data_get_their_tier_default(tmp_path):
    feats = [poly_feature(square_lonlat(LON, LAT, D), id="C0", tier="scattered", levels=None)]
    feats[0]["properties"].pop("levels")
    d = read_district(write_fc(tmp_path / "c.geojson", feats))
    (s,) = plan_patrol(d, PatrolParams()).compound_stats
    assert s["roof_source"] == "tier default (scattered)" and s["roof_m"] == 9.0 and s["alt_m"] == 40.0


def test_transit_climbs_over_a_tower_in_the_way_and_descends_in_place(tmp_path):
    d = _district(tmp_path, [3, 3, 3], tower=(LON - 2.5 * D, LAT), wall=True)
    home = dict(home_lat=LAT, home_lon=LON - 5 * D)
    plan = plan_patrol(d, PatrolParams(**home), vehicle=Vehicle(endurance_min=90))
    sky = Skyline(d.buildings, plan.params.lateral_clearance_m)
    for s in plan.sorties:
        pts = [(plan.home_x_m, plan.home_y_m, s.steps[0].alt_m)] + [(t.x_m, t.y_m, t.alt_m) for t in s.steps]
        for a, b in itertools.pairwise(pts):
            roof = sky.leg_roof(a[:2], b[:2])
            assert min(a[2], b[2]) >= roof + plan.params.clearance_m - 1e-6
    assert max(t.alt_m for s in plan.sorties for t in s.steps) == pytest.approx(95.0)


def test_home_next_to_a_building_is_refused(tmp_path):
    d = _district(tmp_path, [3])
    b = d.buildings[0].geometry.centroid
    lon, lat = d.frame.to_wgs84(b.x, b.y)
    with pytest.raises(PlanningError, match=r"--home is within 10 m of building B0"):
        plan_patrol(d, PatrolParams(home_lat=float(lat), home_lon=float(lon)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    levels=st.lists(st.integers(1, 11), min_size=2, max_size=3),
    tower_at=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
)
def test_every_leg_clears_every_roof_and_every_no_fly_buffer(tmp_path, levels, tower_at, seed):
    rng = np.random.default_rng(seed)
    tower = (LON + tower_at * 2 * D * len(levels), LAT - (1.2 + 0.5 * rng.random()) * D)
    d = _district(tmp_path, levels, tower=tower)
    params = PatrolParams(home_lat=LAT - 3 * D, home_lon=LON - D)
    plan = plan_patrol(d, params, vehicle=Vehicle(endurance_min=60))
    sky = Skyline(d.buildings, params.lateral_clearance_m)
    for s in plan.sorties:
        pts = [(plan.home_x_m, plan.home_y_m, s.steps[0].alt_m)] + [(t.x_m, t.y_m, t.alt_m) for t in s.steps]
        for a, b in itertools.pairwise(pts):
            g = LineString([a[:2], b[:2]]) if a[:2] != b[:2] else Point(a[:2])
            roof = sky.roof_under(g)
            assert min(a[2], b[2]) >= roof + params.clearance_m - 1e-6, (a, b, roof)
            assert max(a[2], b[2]) <= params.max_alt_m
    # the package's own pre-flight check agrees
    out = tmp_path / f"pkg{seed}"
    write_folder(package_files(plan), out, overwrite=True)
    assert all(not c.violations for c in check_package(out))


def test_check_finds_a_hand_lowered_waypoint_and_upload_refuses_it_unless_forced(tmp_path):
    d = _district(tmp_path, [8])  # 24 m roofs: patrol at 40 m
    plan = plan_patrol(d, PatrolParams(home_lat=LAT - 1.5 * D, home_lon=LON), vehicle=Vehicle(endurance_min=60))
    out = tmp_path / "pkg"
    write_folder(package_files(plan), out)
    assert all(not c.violations for c in check_package(out))
    doc = json.loads((out / "sortie-01.plan").read_text())
    for it in doc["mission"]["items"]:
        if it["command"] == 16 and it["params"][6] == 40.0:
            it["params"][6] = 30.0  # 6 m over the roof
    (out / "sortie-01.plan").write_text(json.dumps(doc))
    (c,) = check_package(out)
    assert c.violations and "over a 24 m roof (needs 15 m)" in c.violations[0]
    res = run("check", str(out))
    assert res.returncode == 2 and "fail the pre-flight check" in res.stderr
    res = run("upload", str(out), "-c", "udpout:127.0.0.1:9")
    assert res.returncode == 2 and "fails the pre-flight check" in res.stderr
    assert math.isfinite(c.max_alt_m) and shapely.__version__


def test_a_compound_with_no_buildings_of_its_own_still_clears_a_tall_neighbour_under_its_run_on(tmp_path):
    """Found with an OpenStreetMap import (West Oakland): no footprint inside the compound, so its tier default
    (18 m) applied, while a 54 m block just past its edge sat under the lanes' run-on; the plan flew 40 m and
    only `patrol check` caught it. Now the neighbour decides."""
    comp = poly_feature(square_lonlat(LON, LAT, D), id="C0", tier="guarded", levels=None)
    comp["properties"].pop("levels")
    tall = poly_feature(square_lonlat(LON + 1.05 * D, LAT + 0.4 * D, 0.1 * D), id="NEXT", height="30")
    d = read_district(write_fc(tmp_path / "c.geojson", [comp]), building_paths=write_fc(tmp_path / "b.geojson", [tall]))
    plan = plan_patrol(d, PatrolParams(home_lat=LAT - 0.5 * D, home_lon=LON + 0.5 * D), vehicle=Vehicle())
    (stats,) = plan.compound_stats
    assert (stats["roof_m"], stats["roof_source"], stats["alt_m"]) == (30.0, "buildings", 45.0)
    write_folder(package_files(plan), tmp_path / "pkg")
    assert not [v for c in check_package(tmp_path / "pkg") for v in c.violations]
