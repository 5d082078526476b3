"""Against real ArduPilot SITL: round trips of every sample sortie, a sortie flown to the end, a fence
breach, a lossy link and a cut link."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import LineString, Point, Polygon

from patrol.errors import PatrolError
from patrol.geo import LocalFrame
from patrol.inputs.compounds import read_district
from patrol.package.reader import FENCE, MISSION, RALLY, SortieUpload, fence_polygons, read_sortie
from patrol.plan.coverage import in_range_share
from patrol.types import MissionItem
from patrol.vehicle.fly import confirmed_reached
from patrol.vehicle.link import LinkError, connect
from patrol.vehicle.readback import compare_items
from patrol.vehicle.upload import check_sortie_upload, mission_with_home, upload_sortie
from sitl_tests.conftest import SAMPLE, fly_sortie
from sitl_tests.lossy_proxy import LossyProxy

NAV_REACHED = {mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_CMD_NAV_LOITER_TIME}


def _sorties(package):
    return json.loads((package / "manifest.json").read_text())["sorties"]


def test_every_sample_sortie_round_trips(link, sample_package):
    for s in _sorties(sample_package):
        up = read_sortie(sample_package, s["index"])
        counts = upload_sortie(link, up)  # uploads, reads back and compares item by item
        assert counts["mission"] == s["mission_items"] + 1
        got = {mt: link.download(mt) for mt in (MISSION, FENCE, RALLY)}
        assert compare_items(mission_with_home(up), got[MISSION], MISSION) == []
        assert compare_items(list(up.fence), got[FENCE], FENCE) == []
        assert compare_items(list(up.rally), got[RALLY], RALLY) == []
        assert len(got[FENCE]) == s["fence"]["inclusion_vertices"] + sum(
            len(r) for inc, r in fence_polygons(up.fence) if not inc
        )


def _fly(link, up, timeout_s=600.0):
    return fly_sortie(link, up, timeout_s)


def test_shortest_sample_sortie_flies_to_the_end_inside_its_fence(link, sample_package):
    sorties = _sorties(sample_package)
    man = json.loads((sample_package / "manifest.json").read_text())
    whole = {c["id"] for c in man["compounds"] if len(c["sorties"]) == 1}  # compounds flown in one sortie
    s = min((x for x in sorties if set(x["compounds"]) <= whole), key=lambda x: x["predicted_time_s"])
    up = read_sortie(sample_package, s["index"])
    check_sortie_upload(up)
    upload_sortie(link, up)
    state, _ = _fly(link, up)
    # every patrol waypoint and loiter reached, in order
    want = [k for k, it in enumerate(up.mission, start=1) if it.command in NAV_REACHED]
    confirmed = confirmed_reached([it.command for it in up.mission], state.reached)
    got = [k for k in confirmed if k in set(want)]
    assert got == want, f"reached {state.reached}"
    assert not state.armed and state.rel_alt_m < 1.0
    # the whole track inside the inclusion fence
    frame = LocalFrame(up.home_lon, up.home_lat)
    incl = [Polygon([frame.to_local(lon, lat) for lat, lon in ring]) for inc, ring in fence_polygons(up.fence) if inc]
    fence = shapely.union_all(incl)
    track = np.array([frame.to_local(lon, lat) for _, lat, lon, _ in state.track])
    assert len(track) > 100
    outside = [float(fence.distance(Point(p))) for p in track if not fence.covers(Point(p))]
    assert not outside, f"{len(outside)} track points outside the fence, up to {max(outside):.1f} m"
    # coverage from the flown track is what the planner predicted, within 2 points
    man = json.loads((sample_package / "manifest.json").read_text())
    r = man["audibility"]["radius_m"]
    district = read_district(SAMPLE)
    flown = LineString([district.frame.to_local(lon, lat) for _, lat, lon, alt in state.track if alt > 30.0])
    for cid in s["compounds"]:
        c = next(x for x in district.compounds if x.id == cid)
        predicted = next(x for x in man["compounds"] if x["id"] == cid)["predicted_in_range_share"]
        measured = in_range_share(c.geometry, flown, r)
        assert measured >= predicted - 0.02, f"{cid}: flown coverage {measured:.3f}, predicted {predicted:.3f}"


def test_fence_breach_makes_the_vehicle_take_its_fence_action(link, sample_package):
    up = read_sortie(sample_package, 1)
    polys = fence_polygons(up.fence)
    top = max(lat for inc, ring in polys if inc for lat, _ in ring)
    outside = MissionItem(mav.MAV_CMD_NAV_WAYPOINT, 3, lat=top + 0.004, lon=up.home_lon, alt_m=40.0)  # ~440 m past
    mission = (up.mission[0], outside, MissionItem(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, 2))
    bad = SortieUpload("breach", up.home_lat, up.home_lon, mission, up.fence, up.rally, up.max_alt_m)
    with pytest.raises(PatrolError, match="outside the inclusion fence"):
        check_sortie_upload(bad)  # patrol itself refuses; the test uploads with checks off
    upload_sortie(link, bad)
    state, modes = _fly(link, bad, timeout_s=300.0)
    assert "RTL" in modes and 2 not in state.reached
    assert state.fence_breached or any("fence" in t.lower() for t in state.texts), state.texts[-10:]
    frame = LocalFrame(up.home_lon, up.home_lat)
    fence = shapely.union_all([Polygon([frame.to_local(lon, lat) for lat, lon in ring]) for inc, ring in polys if inc])
    worst = max(fence.distance(Point(frame.to_local(lon, lat))) for _, lat, lon, _ in state.track)
    assert worst < 60.0, f"vehicle went {worst:.0f} m past the fence"


def test_upload_through_a_link_losing_20_percent_still_verifies(link, sitl, sample_package):
    up = read_sortie(sample_package, 1)
    with LossyProxy(sitl.port + 2, drop=0.2) as proxy:
        lk = connect(proxy.url, heartbeat_timeout_s=30, timeout_s=0.5, retries=12)
        try:
            upload_sortie(lk, up)
        finally:
            lk.close()
    assert compare_items(mission_with_home(up), link.download(MISSION), MISSION) == []


def test_link_cut_mid_upload_fails_naming_the_item_and_a_new_upload_recovers(link, sitl, sample_package):
    first, second = read_sortie(sample_package, 1), read_sortie(sample_package, 2)
    link.upload(mission_with_home(first), MISSION)
    with LossyProxy(sitl.port + 2, drop=0.0, cut_after=12) as proxy:
        lk = connect(proxy.url, heartbeat_timeout_s=30, timeout_s=0.5, retries=3)
        try:
            with pytest.raises(LinkError, match=r"no answer after item \d+ .* upload again \(or clear\) before flying"):
                lk.upload(mission_with_home(second), MISSION)
        finally:
            lk.close()
    held = link.download(MISSION)
    # ArduPilot writes items in place as they arrive: after the cut it holds the new mission's first
    # items followed by the rest of the old one. patrol says so; `fly` never arms without a verified upload.
    assert compare_items(mission_with_home(first), held, MISSION) != []
    assert compare_items(mission_with_home(second), held, MISSION) != []
    link.upload(mission_with_home(second), MISSION)
    assert compare_items(mission_with_home(second), link.download(MISSION), MISSION) == []


def test_the_tall_compound_is_flown_above_its_roofs(link, sample_package):
    """XZ-13's 33 m blocks put its patrol at 48 m: the recorded track stays clear of every roof under it."""
    man = json.loads((sample_package / "manifest.json").read_text())
    tall = next(c for c in man["compounds"] if c["id"] == "XZ-13")
    assert tall["alt_limited_by"] == "roofs + clearance" and tall["alt_m"] > man["parameters"]["patrol"]["alt_m"]
    s = min((x for x in man["sorties"] if "XZ-13" in x["compounds"]), key=lambda x: x["predicted_time_s"])
    up = read_sortie(sample_package, s["index"])
    upload_sortie(link, up)
    state, _ = _fly(link, up)
    assert not state.armed
    frame = LocalFrame(man["frame"]["lon0"], man["frame"]["lat0"])
    feats = json.loads((sample_package / "buildings.geojson").read_text())["features"]
    blds = [(frame.geom_to_local(shapely.geometry.shape(f["geometry"])), f["properties"]["height_m"]) for f in feats]
    tree = shapely.STRtree([g for g, _ in blds])
    over = 0
    worst = math.inf
    for _, lat, lon, alt in state.track:
        p = Point(frame.to_local(lon, lat))
        for k in tree.query(p, predicate="dwithin", distance=2.0):
            over += 1
            worst = min(worst, alt - blds[k][1])
    assert over > 50, "the track never passed over a building"
    assert worst >= man["parameters"]["patrol"]["clearance_m"] - 3.0, f"{worst:.1f} m over a roof"


def test_patrol_fly_command_flies_a_sortie_and_records_its_tlog(sitl, sample_package, tmp_path):
    """The operator's command end to end: upload, verify, arm, AUTO, follow to the ground, .tlog written."""
    import subprocess
    import sys

    from patrol.review.flightlog import read_log
    from sitl_tests.conftest import ROOT

    s = min(_sorties(sample_package), key=lambda x: x["predicted_time_s"])
    tlog = tmp_path / "flight.tlog"
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "fly", str(sample_package), "--sortie", str(s["index"]),
         "--connect", sitl.url, "--tlog", str(tlog), "--timeout-min", "15", "--vehicle", "sitl-copter",
         "--ledger", str(tmp_path / "ledger.sqlite")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "landed and disarmed" in res.stdout and "identical" in res.stderr
    log = read_log(tlog)
    assert log.alt_m.max() > 30.0 and log.duration_s > 60.0
    assert {"AUTO", "GUIDED"} <= {e.text for e in log.events if e.kind == "mode"}
    # the ledger holds the flight (its log by hash, the vehicle, when) and the verified upload before it
    assert f"ledger: recorded flight of sortie {s['index']} (landed and disarmed)" in res.stderr
    import hashlib

    from sqlalchemy import select

    from patrol.ledger import schema
    from patrol.ledger.config import target_from
    from patrol.ledger.store import open_ledger

    led = open_ledger(target_from(str(tmp_path / "ledger.sqlite"), "test"), create=False)
    with led.read() as conn:
        (flight,) = conn.execute(select(schema.flights)).all()
        (up,) = conn.execute(select(schema.uploads)).all()
    assert flight.log_sha256 == hashlib.sha256(tlog.read_bytes()).hexdigest() and flight.source == "fly"
    assert flight.vehicle == "sitl-copter" and flight.sortie == s["index"] and flight.duration_s > 60.0
    assert (flight.end_utc - flight.start_utc).total_seconds() >= flight.duration_s - 5
    assert (
        up.verified
        and up.sortie == s["index"]
        and up.mission_items == len(read_sortie(sample_package, s["index"]).mission) + 1
    )
