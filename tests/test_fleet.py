"""Fleet planning (issue 16): the sample district shared among several vehicles, deconflicted and timed."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from patrol.atomic import write_folder
from patrol.errors import PlanningError
from patrol.inputs.compounds import read_district
from patrol.package.check import check_package
from patrol.package.writer import package_files
from patrol.plan.pipeline import plan_patrol
from patrol.plan.playback import planned_track
from patrol.plan.route import priority_key
from patrol.types import FleetParams, PatrolParams, Plan, StepKind, Vehicle
from tests.conftest import BUILDINGS, ROOT, SAMPLE

TARGET = 1.15  # makespan within 15 % of the ideal at three vehicles (the target)


def _plan(fleet: FleetParams | None) -> Plan:
    district = read_district([SAMPLE], [], [BUILDINGS])
    return plan_patrol(district, PatrolParams(), vehicle=Vehicle.with_top_speed(10, 25, 20), fleet=fleet)


@pytest.fixture(scope="module")
def three() -> Plan:
    return _plan(FleetParams(vehicles=3, start_clock_s=9.5 * 3600))


def _tracks(plan: Plan) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """Per slot: vehicle, sortie, absolute times and (x, y, alt) of the predicted track, computed here."""
    assert plan.fleet is not None
    home = (plan.home_x_m, plan.home_y_m)
    by_index = {s.index: s for s in plan.sorties}
    out = []
    for sl in plan.fleet.slots:
        tr = planned_track(by_index[sl.sortie], home, plan.audibility.speed_mps, plan.vehicle)
        out.append((sl.vehicle, sl.sortie, tr.t_s + sl.start_s, np.column_stack([tr.xy, tr.alt_m])))
    return out


def test_every_sortie_is_flown_once_by_one_vehicle_that_never_overlaps_itself(three):
    f = three.fleet
    assert sorted(sl.sortie for sl in f.slots) == sorted(s.index for s in three.sorties)
    assert len(f.vehicles) == 3 and {sl.vehicle for sl in f.slots} == set(f.vehicles)
    for v in f.vehicles:
        mine = sorted((sl for sl in f.slots if sl.vehicle == v), key=lambda sl: sl.start_s)
        for a, b in itertools.pairwise(mine):
            assert b.start_s >= a.end_s + f.params.swap_s - 1e-6, (v, a, b)


def test_higher_priority_sorties_start_first(three):
    rank = {
        s.index: min(priority_key(c) for c in three.district.compounds if c.id in s.compound_ids) for s in three.sorties
    }
    slots = three.fleet.slots
    for a in slots:
        for b in slots:
            if rank[a.sortie] < rank[b.sortie]:
                assert a.start_s <= b.start_s + 1e-6, (a, b)


def test_predicted_tracks_keep_separation_pairwise(three):
    f = three.fleet
    least = math.inf
    tracks = _tracks(three)
    for i, (va, _sa, ta, pa) in enumerate(tracks):
        for vb, _sb, tb, pb in tracks[i + 1 :]:
            if va == vb:
                continue
            lo, hi = max(ta[0], tb[0]), min(ta[-1], tb[-1])
            if lo >= hi:
                continue
            t = np.arange(lo, hi, 0.5)
            a = np.column_stack([np.interp(t, ta, pa[:, k]) for k in range(3)])
            b = np.column_stack([np.interp(t, tb, pb[:, k]) for k in range(3)])
            close = np.abs(a[:, 2] - b[:, 2]) < f.params.layer_m - 0.01
            if close.any():
                least = min(least, float(np.hypot(*(a[close, :2] - b[close, :2]).T).min()))
    assert least >= f.params.separation_m - 1.0  # 0.5 s samples of 1 s-checked tracks: within a metre
    assert f.min_separation_m is None or f.min_separation_m >= f.params.separation_m


def test_each_vehicle_transits_at_its_own_layer_inside_the_ceiling(three):
    f = three.fleet
    layers = sorted(set(f.layers_m))
    assert len(layers) == 3 and all(b - a >= f.params.layer_m - 1e-6 for a, b in itertools.pairwise(layers))
    work = max(st.alt_m for s in three.sorties for st in s.steps if st.kind is not StepKind.TRANSIT)
    assert layers[0] >= work + f.params.layer_m - 1e-6 and layers[-1] <= three.params.max_alt_m
    by_index = {s.index: s for s in three.sorties}
    for sl in f.slots:
        transit = [st.alt_m for st in by_index[sl.sortie].steps if st.kind is StepKind.TRANSIT]
        assert min(transit) >= sl.transit_alt_m - 1e-6, sl


def test_makespan_at_three_vehicles_is_near_the_ideal_and_every_compound_is_heard_in_it(three):
    f = three.fleet
    one = sum(s.predicted_time_s for s in _plan(None).sorties)
    assert f.makespan_s <= TARGET * f.ideal_s
    assert f.makespan_s < 0.5 * one  # three vehicles take well under half the one-vehicle flying time
    assert {c for c, _ in f.heard_at_s} == {c.id for c in three.district.compounds}
    assert all(0 < t <= f.makespan_s for _, t in f.heard_at_s)


def test_an_impossible_separation_is_refused_naming_the_conflict():
    with pytest.raises(PlanningError) as e:
        _plan(FleetParams(vehicles=3, separation_m=3000.0, max_hold_s=300.0))
    msg = str(e.value)
    assert "vehicles V" in msg and "sortie" in msg and " near 38." in msg and " at +" in msg and "\n" not in msg


def test_schedule_csv_loads_and_matches_the_manifest(three):
    files = package_files(three, "patrol plan --vehicles 3")
    man = json.loads(files["manifest.json"])
    rows = list(csv.DictReader(io.StringIO(files["schedule.csv"])))
    slots = man["fleet"]["slots"]
    assert len(rows) == len(slots) == len(three.sorties)
    for row, sl in zip(rows, slots, strict=True):
        assert (row["vehicle"], int(row["sortie"]), float(row["start_s"])) == (
            sl["vehicle"],
            sl["sortie"],
            sl["start_s"],
        )
        assert row["compounds"].split() == sl["compounds"] and row["start"] == sl["start"]
    assert rows[0]["start"].startswith("09:30")


def test_check_passes_the_plan_and_fails_a_schedule_edited_into_a_conflict(three, tmp_path):
    out = write_folder(package_files(three, "patrol plan --vehicles 3"), tmp_path / "pkg")
    assert not [c.violations for c in check_package(out) if c.violations]
    man = json.loads((out / "manifest.json").read_text())
    first, second = man["fleet"]["slots"][:2]
    second["start_s"] = first["start_s"]  # two take-offs from one home at once
    (out / "manifest.json").write_text(json.dumps(man))
    bad = {c.index: c.violations for c in check_package(out) if c.violations}
    assert set(bad) == {first["sortie"], second["sortie"]}
    assert all(first["vehicle"] in v[0] and second["vehicle"] in v[0] for v in bad.values())


def test_one_vehicle_leaves_the_package_as_it_was():
    plan = _plan(FleetParams(vehicles=1))
    assert plan.fleet is None
    files = package_files(plan)
    assert "schedule.csv" not in files and "fleet" not in json.loads(files["manifest.json"])


@pytest.mark.parametrize("bad", ["0", "21", "three"])
def test_cli_refuses_a_bad_vehicle_count_in_one_line(tmp_path: Path, bad: str):
    out = tmp_path / "pkg"
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "plan",
            str(SAMPLE),
            "-o",
            str(out),
            "--vehicles",
            bad,
            "--ledger",
            "off",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode == 2 and "--vehicles" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()
