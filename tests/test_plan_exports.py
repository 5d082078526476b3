"""The whole planner on a small district: sorties, fences, and files that QGC, Mission Planner and mavwp load."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from pymavlink import mavutil, mavwp
from shapely.geometry import LineString, Point, Polygon

from patrol.atomic import write_folder
from patrol.errors import PatrolError, PlanningError
from patrol.inputs.compounds import read_district
from patrol.package.writer import package_files
from patrol.plan.pipeline import plan_patrol
from patrol.types import PatrolParams, Vehicle
from tests.conftest import SHARED, poly_feature, square_lonlat, write_fc

LON, LAT = 112.730, 38.415
D = 0.0015
MAV = mavutil.mavlink


@pytest.fixture
def district_file(tmp_path: Path) -> Path:
    feats = [
        poly_feature(
            square_lonlat(LON + i * 2 * D, LAT + (i % 2) * 2 * D, D),
            id=f"C{i}",
            name=f"c{i}",
            tier=("closed", "guarded", "scattered")[i % 3],
        )
        for i in range(5)
    ]
    feats.append(
        {
            "type": "Feature",
            "properties": {"hotspot": "square", "compound": "C2", "id": "C2-sq"},
            "geometry": {"type": "Point", "coordinates": [LON + 4.5 * D, LAT + 0.5 * D]},
        }
    )
    # a no-fly zone between C0 and C2's row, on the straight line between them
    feats.append(poly_feature(square_lonlat(LON + 2.3 * D, LAT + 0.2 * D, 0.5 * D), id="NFZ-1", nofly=True))
    return write_fc(tmp_path / "district.geojson", feats)


@pytest.fixture
def plan(district_file: Path):
    district = read_district([district_file])
    return plan_patrol(district, PatrolParams(home_lat=LAT - 0.5 * D, home_lon=LON), vehicle=Vehicle(endurance_min=9))


def test_priority_order_and_every_compound_planned(plan):
    tiers = [s["tier"] for s in plan.compound_stats]
    assert tiers == sorted(tiers, key=["scattered", "guarded", "closed"].index)
    assert {s["id"] for s in plan.compound_stats} == {f"C{i}" for i in range(5)}
    for s in plan.compound_stats:
        assert s["predicted_in_range_share"] >= 0.995
        assert s["predicted_heard_whole_share"] >= 0.995


def test_sorties_fit_endurance_and_stay_inside_their_fences(plan):
    assert len(plan.sorties) >= 2  # 9 minutes cannot fly five 2-hectare compounds 1 km out
    home = Point(plan.home_x_m, plan.home_y_m)
    nofly = shapely.union_all([z.geometry for z in plan.district.nofly])
    buffered = nofly.buffer(plan.params.nofly_buffer_m - 0.5)
    for s in plan.sorties:
        assert s.predicted_time_s <= plan.vehicle.usable_s
        pts = [home] + [Point(st.x_m, st.y_m) for st in s.steps]
        assert all(s.fence.inclusion.covers(p) for p in pts)
        path = LineString([(p.x, p.y) for p in pts])
        assert not path.intersects(buffered), "a leg enters the no-fly buffer"
        assert any(
            z.equals_exact(nofly, 1e-6) or z.intersects(nofly) for z in s.fence.exclusions
        ) or not s.fence.inclusion.intersects(nofly)
        assert all(st.alt_m <= s.fence.max_alt_m for st in s.steps)


def test_mission_items_use_mavlink_commands(plan):
    items = plan.missions[0]
    assert items[0].command == MAV.MAV_CMD_NAV_TAKEOFF and items[0].frame == MAV.MAV_FRAME_GLOBAL_RELATIVE_ALT
    assert items[1].command == MAV.MAV_CMD_DO_CHANGE_SPEED
    assert items[-1].command == MAV.MAV_CMD_NAV_RETURN_TO_LAUNCH
    cmds = {i.command for m in plan.missions for i in m}
    assert MAV.MAV_CMD_NAV_LOITER_TIME in cmds
    loiter = next(i for m in plan.missions for i in m if i.command == MAV.MAV_CMD_NAV_LOITER_TIME)
    assert loiter.param1 == pytest.approx(plan.params.hotspot_repeats * plan.params.prompt_s)
    speeds = {round(i.param2, 3) for m in plan.missions for i in m if i.command == MAV.MAV_CMD_DO_CHANGE_SPEED}
    assert round(plan.audibility.speed_mps, 3) in speeds and plan.vehicle.transit_speed_mps in speeds


def test_package_loads_in_mavwp_and_matches_items(plan, tmp_path):
    out = write_folder(package_files(plan, "test"), tmp_path / "pkg")
    for s, items in zip(plan.sorties, plan.missions, strict=True):
        loader = mavwp.MAVWPLoader()
        n = loader.load(str(out / f"sortie-{s.index:02d}.waypoints"))
        assert n == len(items) + 1  # home first
        home = loader.wp(0)
        hlon, hlat = plan.district.frame.to_wgs84(plan.home_x_m, plan.home_y_m)
        assert (home.x, home.y) == pytest.approx((float(hlat), float(hlon)), abs=1e-7)
        for k, it in enumerate(items, start=1):
            wp = loader.wp(k)
            assert (wp.command, wp.frame, wp.seq) == (it.command, it.frame, k)
            assert (wp.x, wp.y, wp.z) == pytest.approx((it.lat, it.lon, it.alt_m), abs=1e-6)
            assert wp.param1 == pytest.approx(it.param1, abs=1e-6)


def test_plan_file_has_the_fields_qgroundcontrol_reads(plan, tmp_path):
    out = write_folder(package_files(plan), tmp_path / "pkg")
    doc = json.loads((out / "sortie-01.plan").read_text())
    ref_path = SHARED / "qgc" / "ArduPilotSITL-ArduCopter.plan"
    ref = json.loads(ref_path.read_text()) if ref_path.exists() else None
    if ref is not None:
        assert set(ref) <= set(doc)
        assert set(ref["mission"]) <= set(doc["mission"])
        ref_wp = next(i for i in ref["mission"]["items"] if i["command"] == 16)
        our_wp = next(i for i in doc["mission"]["items"] if i["command"] == 16)
        assert set(ref_wp) == set(our_wp)
        ref_do = next(i for i in ref["mission"]["items"] if i["command"] == 178)
        our_do = next(i for i in doc["mission"]["items"] if i["command"] == 178)
        assert set(ref_do) == set(our_do)
    assert doc["fileType"] == "Plan" and doc["version"] == 1
    m = doc["mission"]
    assert (m["firmwareType"], m["vehicleType"], m["version"]) == (3, 2, 2)
    assert [i["doJumpId"] for i in m["items"]] == list(range(1, len(m["items"]) + 1))
    assert all(len(i["params"]) == 7 for i in m["items"])
    fence = doc["geoFence"]
    assert fence["version"] == 2
    inc = [p for p in fence["polygons"] if p["inclusion"]]
    assert len(inc) == 1 and len(inc[0]["polygon"]) >= 3
    lat, lon = inc[0]["polygon"][0]
    assert abs(lat - LAT) < 0.05 and abs(lon - LON) < 0.05  # [lat, lon] order
    wps = [(i["params"][4], i["params"][5]) for i in m["items"] if i["command"] == 16]
    ring = Polygon([(p[1], p[0]) for p in inc[0]["polygon"]])
    assert all(ring.buffer(1e-7).covers(Point(lo, la)) for la, lo in wps)
    assert doc["rallyPoints"]["version"] == 2 and len(doc["rallyPoints"]["points"]) >= 1


def test_manifest_and_geojson(plan, tmp_path, district_file):
    out = write_folder(package_files(plan, "patrol plan x"), tmp_path / "pkg")
    man = json.loads((out / "manifest.json").read_text())
    # a file outside patrol's and the working folder is recorded by its name (patrol.paths.portable)
    assert man["inputs"][0]["path"] == district_file.name and len(man["inputs"][0]["sha256"]) == 64
    assert man["audibility"]["radius_m"] == pytest.approx(plan.audibility.radius_m, abs=1e-3)
    assert man["parameters"]["patrol"]["alt_m"] == 40.0
    row = man["compounds"][0]
    for key in ("area_m2", "lanes", "route_length_m", "predicted_in_range_share", "predicted_time_s", "sorties"):
        assert key in row
    gj = json.loads((out / "route.geojson").read_text())
    layers = {f["properties"]["layer"] for f in gj["features"]}
    assert {
        "compound",
        "route",
        "lanes",
        "fence_inclusion",
        "fence_exclusion",
        "rally",
        "home",
        "hotspot",
        "nofly",
    } <= layers


def test_package_write_is_atomic(plan, tmp_path):
    files = package_files(plan)
    files["audio"] = "x"
    files["audio/a.wav"] = b"RIFF"  # cannot be written: "audio" is already a file
    with pytest.raises(OSError):
        write_folder(files, tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()
    assert not list(tmp_path.glob(".pkg*"))
    write_folder(package_files(plan), tmp_path / "pkg")
    with pytest.raises(PatrolError, match="already exists"):
        write_folder(package_files(plan), tmp_path / "pkg")


def test_home_inside_nofly_is_refused(district_file):
    district = read_district([district_file])
    z = district.nofly[0].geometry.centroid
    lon, lat = district.frame.to_wgs84(z.x, z.y)
    with pytest.raises(PlanningError, match="no-fly"):
        plan_patrol(district, PatrolParams(home_lat=float(lat), home_lon=float(lon)))


def test_altitude_above_ceiling_is_refused(district_file):
    district = read_district([district_file])
    with pytest.raises(PlanningError, match="--max-alt-m"):
        plan_patrol(district, PatrolParams(alt_m=130.0, radius_m=30.0))


def test_long_compound_is_split_across_sorties(tmp_path):
    big = poly_feature(square_lonlat(LON, LAT, 0.006), id="BIG")  # about 520 m x 660 m
    district = read_district([write_fc(tmp_path / "big.geojson", [big])])
    plan = plan_patrol(district, vehicle=Vehicle(endurance_min=8, reserve_pct=20))
    assert len(plan.sorties) >= 2
    assert all(s.compound_ids == ("BIG",) for s in plan.sorties)
    assert all(s.predicted_time_s <= plan.vehicle.usable_s for s in plan.sorties)
    assert plan.compound_stats[0]["predicted_in_range_share"] >= 0.995
    # sorties continue where the last stopped: together they fly every lane
    lanes = plan.routes[0].lanes
    flown = shapely.union_all(
        [LineString([(a.x_m, a.y_m), (b.x_m, b.y_m)]) for s in plan.sorties for a, b in itertools.pairwise(s.steps)]
    ).buffer(0.5)
    assert all(flown.covers(LineString(seg)) for seg in lanes.segments)
    assert math.isclose(plan.vehicle.usable_s, 8 * 60 * 0.8)
    assert np.all(np.array([s.length_m for s in plan.sorties]) > 0)
