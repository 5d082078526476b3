"""A fleet of different vehicles (issue 16): a vehicles file gives each its launch point, battery, speeds, speaker
level and MAVLink id; the sample district is shared among them and each sortie is planned for its vehicle."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from patrol.atomic import write_folder
from patrol.config import VehicleProfile
from patrol.errors import InputError, PatrolError
from patrol.inputs.compounds import read_district
from patrol.inputs.fleet import read_vehicles
from patrol.package.check import check_package, fleet_check
from patrol.package.reader import read_package
from patrol.package.writer import package_files
from patrol.plan.acoustics import audibility
from patrol.plan.pipeline import plan_patrol
from patrol.plan.playback import planned_track
from patrol.plan.route import priority_key
from patrol.types import FleetParams, FleetVehicle, PatrolParams, Plan, Speaker, StepKind, Vehicle
from tests.conftest import BUILDINGS, ROOT, SAMPLE
from tests.test_maps import markers, needs_chromium, paths, render

# Two launch points on open ground at the district's west and east edges (WGS-84 LAT,LON).
WEST = (38.414865, 112.723072)
EAST = (38.417567, 112.737957)
PLAN_VEHICLE = Vehicle.with_top_speed(10, 25, 20)

TWO = f"""
[W]
vehicle = "long"                # a patrol.toml profile: 30 min, sysid 7
launch = "{WEST[0]},{WEST[1]}"
connect = "tcp:127.0.0.1:5760"

[E]
launch = "{EAST[0]},{EAST[1]}"
endurance_min = "18 min"
max_speed_mps = 8
transit_speed_mps = 12
sysid = 2
connect = "tcp:127.0.0.1:5770"
"""
PROFILES = {"long": VehicleProfile(endurance_min=30, reserve_pct=20, sysid=7)}


def _district():
    return read_district([SAMPLE], [], [BUILDINGS])


def _vehicles(tmp: Path, text: str, name: str = "vehicles.toml"):
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return read_vehicles(path, PROFILES, PLAN_VEHICLE, 100.0)


def _plan(units, **fleet) -> Plan:
    return plan_patrol(
        _district(), PatrolParams(), vehicle=PLAN_VEHICLE, fleet=FleetParams(vehicles=len(units), units=units, **fleet)
    )


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> tuple[Plan, Path]:
    tmp = tmp_path_factory.mktemp("two")
    plan = _plan(_vehicles(tmp, TWO))
    out = write_folder(package_files(plan, "patrol plan --fleet-file vehicles.toml"), tmp / "pkg")
    return plan, out


def test_the_file_resolves_each_vehicle_from_its_table_its_profile_and_the_plan(tmp_path):
    w, e = _vehicles(tmp_path, TWO)
    assert (w.id, w.vehicle.endurance_min, w.sysid, w.profile) == ("W", 30, 7, "long")
    assert dict(w.sources)["endurance_min"] == "vehicle.long" and dict(w.sources)["max_speed_mps"] == "plan"
    assert (e.vehicle.endurance_min, e.vehicle.max_speed_mps, e.vehicle.transit_speed_mps) == (18, 8, 12)
    assert dict(e.sources)["transit_speed_mps"] == "vehicles.toml" and e.speaker_db == 100.0
    assert (round(e.launch_lat, 6), round(e.launch_lon, 6)) == EAST


def test_each_sortie_fits_the_battery_of_the_vehicle_that_flies_it(two):
    plan, _out = two
    f = plan.fleet
    usable = {u.spec.id: u.vehicle.usable_s for u in f.units}
    assert usable == {"W": 1440.0, "E": 864.0}
    assert {sl.vehicle for sl in f.slots} == {"W", "E"}
    for sl in f.slots:
        s = next(x for x in plan.sorties if x.index == sl.sortie)
        assert s.predicted_time_s <= usable[sl.vehicle] + 1e-6, (sl, s.predicted_time_s)
    assert max(s.predicted_time_s for s in plan.sorties) > 864.0  # W flies sorties E could not


def test_each_plan_file_starts_and_ends_at_its_vehicles_launch_point(two):
    plan, out = two
    pkg = read_package(out)
    launch = {"W": WEST, "E": EAST}
    frame = plan.district.frame
    for sl in plan.fleet.slots:
        up = pkg.sortie(sl.sortie)
        assert (round(up.home_lat, 6), round(up.home_lon, 6)) == launch[sl.vehicle]
        s = next(x for x in plan.sorties if x.index == sl.sortie)
        hx, hy = (float(v) for v in frame.to_local(launch[sl.vehicle][1], launch[sl.vehicle][0]))
        first, last = s.steps[0], s.steps[-1]
        assert first.kind is StepKind.TRANSIT and last.kind is StepKind.TRANSIT
        assert math.hypot(last.x_m - hx, last.y_m - hy) < 0.5  # the transit home ends over its launch point
        home, vehicle, speed = plan.flown_by(sl.sortie)
        tr = planned_track(s, home, speed, vehicle)
        assert math.hypot(tr.xy[0, 0] - hx, tr.xy[0, 1] - hy) < 0.5  # the take-off climbs from it
        assert math.hypot(tr.xy[-1, 0] - hx, tr.xy[-1, 1] - hy) < 0.5  # and the landing is on it
        doc = json.loads((out / f"sortie-{sl.sortie:02d}.plan").read_text(encoding="utf-8"))
        speeds = next(u for u in plan.fleet.units if u.spec.id == sl.vehicle)
        assert doc["mission"]["cruiseSpeed"] == speeds.vehicle.transit_speed_mps
        rally = doc["rallyPoints"]["points"][0]
        assert (round(rally[0], 6), round(rally[1], 6)) == launch[sl.vehicle]  # rally 1 over its own home
    waypoints = (out / f"sortie-{plan.fleet.slots[0].sortie:02d}.waypoints").read_text().splitlines()[1].split("\t")
    assert (round(float(waypoints[8]), 6), round(float(waypoints[9]), 6)) == launch[plan.fleet.slots[0].vehicle]


def test_higher_priority_sorties_start_first_and_no_vehicle_overlaps_itself(two):
    plan, _out = two
    by = {s.index: s for s in plan.sorties}
    rank = {i: min(priority_key(c) for c in plan.district.compounds if c.id in by[i].compound_ids) for i in by}
    slots = plan.fleet.slots
    for a in slots:
        for b in slots:
            if rank[a.sortie] < rank[b.sortie]:
                assert a.start_s <= b.start_s + 1e-6, (a, b)
            if a.vehicle == b.vehicle and a.start_s < b.start_s:
                assert b.start_s >= a.end_s + plan.fleet.params.swap_s - 1e-6
    assert sorted(sl.sortie for sl in slots) == sorted(by)
    covered = {c for s in plan.sorties for c in s.compound_ids}
    assert covered == {c.id for c in plan.district.compounds}


def test_predicted_tracks_from_the_two_launch_points_keep_separation(two):
    plan, _out = two
    f = plan.fleet
    tracks = []
    for sl in f.slots:
        home, vehicle, speed = plan.flown_by(sl.sortie)
        tr = planned_track(next(s for s in plan.sorties if s.index == sl.sortie), home, speed, vehicle)
        tracks.append((sl.vehicle, tr.t_s + sl.start_s, np.column_stack([tr.xy, tr.alt_m])))
    least = math.inf
    for i, (va, ta, pa) in enumerate(tracks):
        for vb, tb, pb in tracks[i + 1 :]:
            if va == vb:
                continue
            lo, hi = max(ta[0], tb[0]), min(ta[-1], tb[-1])
            if lo >= hi:
                continue
            # 0.1 s: the planner checks at the union of both tracks' 1 s samples, which a 1 s grid of its own
            # misses by up to half the closing speed (the hovers' spurs give it sharp turns: 6 m seen)
            t = np.arange(lo, hi, 0.1)
            a = np.column_stack([np.interp(t, ta, pa[:, k]) for k in range(3)])
            b = np.column_stack([np.interp(t, tb, pb[:, k]) for k in range(3)])
            dh = np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1])
            stacked = np.abs(a[:, 2] - b[:, 2]) < f.params.layer_m - 1e-6
            if stacked.any():
                least = min(least, float(dh[stacked].min()))
    assert least >= f.params.separation_m - 1e-6
    assert f.min_separation_m is not None and abs(f.min_separation_m - least) < 5.0


def test_patrol_check_passes_the_package_and_records_each_vehicle(two):
    plan, out = two
    checks = check_package(out)
    assert all(not c.violations for c in checks), [(c.index, c.violations) for c in checks]
    usable = {c.index: c.usable_s for c in checks}
    for sl in plan.fleet.slots:
        assert usable[sl.sortie] == {"W": 1440.0, "E": 864.0}[sl.vehicle]
    assert fleet_check(out)[0] is None
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    w, e = man["fleet"]["vehicles"]
    assert (
        (round(w["launch"]["lat"], 6), round(w["launch"]["lon"], 6)) == WEST
        and w["sysid"] == 7
        and w["profile"] == "long"
    )
    assert w["from"]["endurance_min"] == "vehicle.long" and e["from"]["endurance_min"] == "vehicles.toml"
    assert man["fleet"]["vehicles_file"] == "vehicles.toml"
    head = (out / "schedule.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert head[:9] == ["vehicle", "sortie", "start", "end", "start_s", "end_s", "transit_alt_m", "hold_s", "compounds"]
    assert head[9:] == ["launch_lat", "launch_lon"]


def test_check_fails_a_sortie_handed_to_a_vehicle_whose_battery_is_too_small(two, tmp_path):
    plan, out = two
    long_one = max(plan.sorties, key=lambda s: s.predicted_time_s)
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for sl in man["fleet"]["slots"]:
        if sl["sortie"] == long_one.index:
            sl["vehicle"] = "E"  # an edited schedule: E's 14.4 min battery for a 20+ min sortie
    edited = tmp_path / "edited"
    write_folder({p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}, edited)
    (edited / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    (c,) = check_package(edited, [long_one.index])
    assert any("exceeds the usable 14.4 min" in v for v in c.violations)
    assert any("from the launch point of E" in v for v in c.violations)


def test_a_weaker_speaker_is_not_given_the_compound_it_cannot_cover_whole(tmp_path):
    weak = TWO.replace("sysid = 2", "sysid = 2\nspeaker_db = 98")
    plan = _plan(_vehicles(tmp_path, weak))
    alt = {s["id"]: s["alt_m"] for s in plan.compound_stats}
    with pytest.raises(PatrolError):  # XZ-13 is flown at 49.5 m over its roofs: 98 dB is not heard whole there
        audibility(Speaker(level_db_at_1m=98.0), Vehicle.with_top_speed(8, 18, 20), PatrolParams(alt_m=alt["XZ-13"]))
    by = {s.index: s for s in plan.sorties}
    east = {c for sl in plan.fleet.slots if sl.vehicle == "E" for c in by[sl.sortie].compound_ids}
    assert east and "XZ-13" not in east
    assert check_package(write_folder(package_files(plan), tmp_path / "pkg")) and all(
        not c.violations for c in check_package(tmp_path / "pkg")
    )


def test_identical_vehicles_in_a_file_plan_as_well_as_identical_vehicles(tmp_path):
    same = '[A]\nconnect = "tcp:127.0.0.1:5760"\n[B]\nconnect = "tcp:127.0.0.1:5770"\n'
    filed = _plan(_vehicles(tmp_path, same))
    plain = plan_patrol(_district(), PatrolParams(), vehicle=PLAN_VEHICLE, fleet=FleetParams(vehicles=2))
    assert filed.fleet.makespan_s <= plain.fleet.makespan_s + 1e-6
    assert filed.fleet.vehicles == ("A", "B")
    assert [dataclasses.replace(sl, vehicle="") for sl in filed.fleet.slots] == [
        dataclasses.replace(sl, vehicle="") for sl in plain.fleet.slots
    ]


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ('[A]\ncolour = "red"\n', "[A] has unknown key 'colour'"),
        ('connect = "tcp:1.2.3.4:5760"\n', "is not a vehicle: give each vehicle a table named by its id"),
        ("[A]\nsysid = 3\n[A]\nsysid = 4\n", "a vehicle id is used twice"),
        ("[A]\nsysid = 3\n[B]\nsysid = 3\n", "[B] sysid = 3 is [A]'s too"),
        ('[A]\nendurance_min = "30 s"\n', "[A] endurance_min: bad unit"),
        ('[A]\nvehicle = "nope"\n', "[A] vehicle = 'nope' is not a [vehicle.NAME] profile"),
        ('[A]\nlaunch = "north of the gate"\n', "[A] launch"),
        ("", "no vehicles"),
    ],
)
def test_a_bad_vehicles_file_is_one_line_naming_the_file_and_the_vehicle(tmp_path, text, expect):
    with pytest.raises(InputError) as e:
        _vehicles(tmp_path, text)
    assert expect in str(e.value) and "vehicles.toml" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("table", "expect"),
    [
        ('launch = "38.6,112.9"', "vehicle B: launch is 24.0 km from the nearest compound, beyond its reach"),
        ('launch = "38.411847,112.732404"', "vehicle B: launch lies inside a no-fly zone"),
        (f'launch = "{EAST[0]},{EAST[1]}"\nendurance_min = 2', "vehicle B can carry no sortie"),
        (f'launch = "{EAST[0]},{EAST[1]}"\nspeaker_db = 85', "vehicle B: at 40 m the warning is not heard"),
    ],
)
def test_a_vehicle_that_cannot_patrol_is_refused_naming_it(tmp_path, table, expect):
    units = _vehicles(tmp_path, f'[A]\nlaunch = "{WEST[0]},{WEST[1]}"\n[B]\n{table}\n')
    with pytest.raises(PatrolError) as e:
        _plan(units)
    assert expect in str(e.value) and str(tmp_path / "vehicles.toml") in str(e.value)


def test_cli_plans_from_the_file_and_refuses_a_bad_one_in_one_line(tmp_path):
    (tmp_path / "patrol.toml").write_text("[vehicle.long]\nendurance_min = 30\nsysid = 7\n", encoding="utf-8")
    (tmp_path / "vehicles.toml").write_text(TWO, encoding="utf-8")
    (tmp_path / "bad.toml").write_text(TWO.replace("sysid = 2", "sysid = 7"), encoding="utf-8")

    def plan(fleet_file: str, out: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(ROOT / "cli.py"), "plan", str(SAMPLE), "--buildings", str(BUILDINGS)]
        cmd += ["-o", out, "--speaker", "none", "--ledger", "off", "--fleet-file", fleet_file]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)

    ok = plan("vehicles.toml", "pkg")
    assert ok.returncode == 0, ok.stderr
    man = json.loads((tmp_path / "pkg" / "manifest.json").read_text(encoding="utf-8"))
    assert [v["id"] for v in man["fleet"]["vehicles"]] == ["W", "E"]
    assert man["fleet"]["vehicles"][0]["from"]["sysid"] == "vehicle.long"
    check = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "check", "pkg"], capture_output=True, text=True, cwd=tmp_path
    )
    assert check.returncode == 0, check.stdout + check.stderr
    bad = plan("bad.toml", "pkg2")
    assert bad.returncode == 2 and "bad.toml: [E] sysid = 7 is [W]'s too" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "pkg2").exists()


def test_fly_reads_the_same_file_leaving_the_planning_keys_to_the_plan(two, tmp_path):
    from patrol.vehicle.fleet import read_fleet

    out = two[1]
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    path = tmp_path / "vehicles.toml"
    path.write_text(TWO.replace("sysid = 2\n", ""), encoding="utf-8")  # E's sysid now only in the manifest
    planned = {v["id"]: v["sysid"] for v in man["fleet"]["vehicles"] if v.get("sysid") is not None}
    links = read_fleet(path, ["W", "E"], {"long": (None, 7)}, planned)
    assert (links["W"].url, links["W"].sysid) == ("tcp:127.0.0.1:5760", 7)
    assert (links["E"].url, links["E"].sysid) == ("tcp:127.0.0.1:5770", 2)


def test_one_vehicle_in_a_file_is_a_fleet_of_one_from_its_launch_point(tmp_path):
    plan = _plan(_vehicles(tmp_path, f'[W]\nlaunch = "{WEST[0]},{WEST[1]}"\nendurance_min = 30\n'))
    assert plan.fleet is not None and plan.fleet.vehicles == ("W",)
    assert all(sl.vehicle == "W" for sl in plan.fleet.slots)
    lon, lat = plan.district.frame.to_wgs84(plan.home_x_m, plan.home_y_m)
    assert (round(float(lat), 6), round(float(lon), 6)) == WEST
    assert all(s.predicted_time_s <= 1440.0 + 1e-6 for s in plan.sorties)


def test_two_vehicles_bound_to_their_sorties_that_would_take_off_together_are_held_apart():
    """On the 50-compound synthetic district the first sorties of both vehicles start at +00:00:00 from one
    home: the later in the dispatch order is held (a reordering, as for identical vehicles, would leave a
    bound sortie waiting for the other's and refuse the plan)."""
    from benchmarks.bench_fleet import synthetic

    district, params = synthetic(50)
    units = (
        FleetVehicle("A", Vehicle.with_top_speed(10, 30, 20), 100.0),
        FleetVehicle("B", Vehicle.with_top_speed(10, 18, 20), 100.0),
    )
    plan = plan_patrol(district, params, vehicle=PLAN_VEHICLE, fleet=FleetParams(vehicles=2, units=units))
    f = plan.fleet
    assert {sl.vehicle for sl in f.slots} == {"A", "B"}
    assert f.min_separation_m is None or f.min_separation_m >= 50.0
    assert any(sl.hold_s > 0 for sl in f.slots)


def test_check_fails_a_schedule_that_gives_one_vehicle_two_sorties_at_once(two, tmp_path):
    _plan, out = two
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    own = sorted((sl for sl in man["fleet"]["slots"] if sl["vehicle"] == "W"), key=lambda sl: sl["start_s"])
    assert len(own) >= 2
    own[1]["start_s"] = own[0]["start_s"] + 60.0  # an edited schedule: W's second sortie a minute after its first
    edited = tmp_path / "edited"
    write_folder({p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}, edited)
    (edited / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    line, _least = fleet_check(edited)
    assert line is not None and line.startswith(f"vehicle W: sortie {own[1]['sortie']} starts at +"), line
    assert f"before sortie {own[0]['sortie']} has landed" in line
    assert fleet_check(out)[0] is None  # the planned schedule keeps every vehicle to one sortie at a time


# ------------------------------------------------------------------- hovers over the shadow, different speakers

LOUD = TWO.replace("sysid = 2", "sysid = 2\nspeaker_db = 104")  # E's speaker 4 dB above W's (the plan's 100)


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> tuple[Plan, Plan, Path]:
    """The sample with its buildings shared by W (100 dB) and E (104 dB): planned without hovers over the shadow
    (``--shadow-loiters 0``) and with them (the default), the latter written as a package."""
    tmp = tmp_path_factory.mktemp("voices")
    units = _vehicles(tmp, LOUD)
    fleet = FleetParams(vehicles=len(units), units=units)
    before = plan_patrol(_district(), PatrolParams(shadow_loiters=0), vehicle=PLAN_VEHICLE, fleet=fleet)
    after = plan_patrol(_district(), PatrolParams(), vehicle=PLAN_VEHICLE, fleet=fleet)
    return before, after, write_folder(package_files(after, "patrol plan --fleet-file vehicles.toml"), tmp / "pkg")


def _flown_by_vehicle(plan: Plan) -> dict[str, set[str]]:
    by = {s.index: s for s in plan.sorties}
    out: dict[str, set[str]] = {}
    for sl in plan.fleet.slots:
        for c in by[sl.sortie].compound_ids:
            out.setdefault(c, set()).add(sl.vehicle)
    return out


def test_different_speakers_hover_over_the_shadow_and_more_is_heard_whole(voices):
    before, after, out = voices
    man = {c["id"]: c for c in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["compounds"]}
    b = {s["id"]: s for s in before.compound_stats}
    assert all(s["shadow_loiters"] == 0 for s in b.values())
    shadowed = [c for c, s in b.items() if s["predicted_shadowed_m2"] > 0.01 * s["open_ground_m2"]]
    assert len(shadowed) >= 10  # the sample's courtyards: W's and E's compounds alike
    for c in shadowed:
        assert man[c]["shadow_loiters"] > 0, c
        assert man[c]["predicted_heard_whole_share"] > b[c]["predicted_heard_whole_share"], c
        assert man[c]["predicted_shadowed_m2"] < b[c]["predicted_shadowed_m2"], c
    mean = {
        k: np.mean([s["predicted_heard_whole_share"] for s in p.compound_stats])
        for k, p in (("before", before), ("after", after))
    }
    assert mean["after"] >= mean["before"] + 0.03
    assert {v for vs in _flown_by_vehicle(after).values() for v in vs} == {"W", "E"}
    radius = {s["id"]: s["radius_m"] for s in after.compound_stats}
    by_vehicle = _flown_by_vehicle(after)
    loud = [c for c, vs in by_vehicle.items() if vs == {"E"}]
    quiet = [c for c, vs in by_vehicle.items() if vs == {"W"}]
    assert loud and quiet and min(radius[c] for c in loud) > max(radius[c] for c in quiet)  # each its own speaker


def test_each_hover_is_flown_by_the_vehicle_that_patrols_its_compound_within_its_battery(voices):
    _before, after, _out = voices
    hover_s = math.ceil(after.params.prompt_s)
    vehicle_of = {sl.sortie: sl.vehicle for sl in after.fleet.slots}
    usable = {u.spec.id: u.vehicle.usable_s for u in after.fleet.units}
    owner = _flown_by_vehicle(after)
    assert all(len(vs) == 1 for vs in owner.values())  # a compound is one vehicle's, hovers and all
    hovers: dict[str, int] = {}
    for s in after.sorties:
        for st in s.steps:
            if st.kind is StepKind.LANE and st.loiter_s == hover_s and st.compound_id:
                hovers[st.compound_id] = hovers.get(st.compound_id, 0) + 1
                assert owner[st.compound_id] == {vehicle_of[s.index]}
        assert s.predicted_time_s <= usable[vehicle_of[s.index]] + 1e-6  # re-split on the hovers' time
    assert hovers == {s["id"]: s["shadow_loiters"] for s in after.compound_stats if s["shadow_loiters"]}
    assert sum(hovers.values()) >= 50


def test_patrol_check_passes_the_package_with_the_hovers_and_the_tracks_keep_separation(voices):
    _before, after, out = voices
    checks = check_package(out)
    assert all(not c.violations for c in checks), [(c.index, c.violations) for c in checks]
    line, least = fleet_check(out)
    assert line is None and (least is None or least >= after.fleet.params.separation_m)
    assert after.fleet.min_separation_m is None or after.fleet.min_separation_m >= after.fleet.params.separation_m


def test_a_separation_no_hold_clears_is_refused_in_the_files_terms(tmp_path):
    path = tmp_path / "vehicles.toml"
    with pytest.raises(PatrolError) as e:
        _plan(_vehicles(tmp_path, TWO), separation_m=3000.0, max_hold_s=300.0)
    msg = str(e.value)
    assert re.search(r"^vehicles [WE] \(sortie \d+\) and [WE] \(sortie", msg) and " near 38." in msg and "\n" not in msg
    assert msg.endswith(f"remove a vehicle from {path}, move a launch point, or lower --separation-m"), msg
    assert "--vehicles" not in msg


# ------------------------------------------------------------------------------- the review map's launch points


@needs_chromium
def test_the_map_draws_each_launch_point_with_its_vehicle_id_and_the_home_pad(two, tmp_path):
    from patrol.review.maps import plan_map

    _plan, out = two
    page = plan_map(out, tiles="none")
    for lat, lon in (WEST, EAST):  # each where the file puts it
        assert f"[{lat}, {lon}]" in page
    dom = render(page, tmp_path, "fleet")
    assert markers(dom, "patrol-home") == 1  # the plan's home pad
    assert markers(dom, "patrol-launch-id") == 2 and paths(dom, "patrol-launch") == 2
    assert re.findall(r'<span class="patrol-launch-label">(.*?)</span>', dom) == ["W", "E"]
    assert "Launch points (vehicles file)" in dom and "launch point of a vehicle of the vehicles file" in dom

    # E moved onto the home pad: its id is labelled beside the H, with no dot of its own
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    man["fleet"]["vehicles"][1]["launch"] = dict(man["home"])
    edited = tmp_path / "edited"
    write_folder({p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}, edited)
    (edited / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    dom = render(plan_map(edited, tiles="none"), tmp_path, "home")
    assert markers(dom, "patrol-launch-id") == 2 and paths(dom, "patrol-launch") == 1


def test_a_map_without_a_vehicles_file_draws_no_launch_points(tmp_path):
    from patrol.review.maps import plan_map

    plan = plan_patrol(_district(), PatrolParams(shadow_loiters=0), vehicle=PLAN_VEHICLE)
    page = plan_map(write_folder(package_files(plan), tmp_path / "pkg"), tiles="none")
    assert "patrol-launch-id" not in page and "Launch points" not in page
