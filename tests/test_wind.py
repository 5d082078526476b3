"""Wind in the endurance model: `--wind-mps` is charged as a headwind on every leg, so a windier day gives
more, shorter sorties that still fit the usable endurance, and the manifest records the wind planned for."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from patrol.errors import PlanningError
from patrol.inputs.compounds import read_district
from patrol.plan.pipeline import plan_patrol
from patrol.plan.sorties import leg_time_s, path_time_s
from patrol.types import PatrolParams, Step, StepKind, Vehicle
from tests.conftest import ROOT, poly_feature, square_lonlat, write_fc

LON, LAT = 112.730, 38.415


def test_a_leg_is_charged_at_the_speed_less_the_wind():
    steps = [Step(StepKind.TRANSIT, 1000.0, 0.0, 40.0)]
    still = Vehicle(endurance_min=25, reserve_pct=20)
    windy = Vehicle(endurance_min=25, reserve_pct=20, wind_mps=4.0)
    climb_land = 40.0 / 2.5 + 30.0 / 1.5 + 10.0 / 0.5
    assert path_time_s((0.0, 0.0), steps, 8.0, still) == pytest.approx(climb_land + 2 * leg_time_s(1000.0, 10.0, 2.5))
    # out and back at 10 - 4 = 6 m/s: 2 x (1000/6 + 6/2.5) s
    assert path_time_s((0.0, 0.0), steps, 8.0, windy) == pytest.approx(climb_land + 2 * (1000.0 / 6.0 + 6.0 / 2.5))


def test_a_wind_the_vehicle_cannot_make_headway_against_is_refused():
    steps = [Step(StepKind.TRANSIT, 1000.0, 0.0, 40.0)]
    with pytest.raises(PlanningError, match=r"--wind-mps 9.5: .* 0.5 m/s over the ground"):
        path_time_s((0.0, 0.0), steps, 8.0, Vehicle(wind_mps=9.5))


@pytest.fixture
def district(tmp_path):
    feats = [
        poly_feature(square_lonlat(LON + i * 0.004, LAT + j * 0.004, 0.0025), id=f"C{i}{j}", tier="guarded")
        for i in range(3)
        for j in range(2)
    ]
    return write_fc(tmp_path / "d.geojson", feats)


def test_more_wind_gives_more_shorter_sorties_that_keep_their_reserve(district):
    d = read_district([district])
    params = PatrolParams(alt_m=35.0, home_lon=LON - 0.001, home_lat=LAT - 0.001)
    plans = {w: plan_patrol(d, params, None, Vehicle.with_top_speed(10.0, 12.0, 20.0, w)) for w in (0.0, 3.0)}
    calm, windy = plans[0.0], plans[3.0]
    assert len(windy.sorties) > len(calm.sorties)
    mean_len = {w: sum(s.length_m for s in p.sorties) / len(p.sorties) for w, p in plans.items()}
    assert mean_len[3.0] < mean_len[0.0]
    for p in plans.values():
        assert all(s.predicted_time_s <= p.vehicle.usable_s for s in p.sorties)
    # the same lanes are flown: wind changes the split, not the sweep
    assert sum(s.length_m for s in windy.sorties) >= sum(s.length_m for s in calm.sorties)
    assert calm.audibility == windy.audibility


def test_the_manifest_records_the_wind(district, tmp_path):
    out = tmp_path / "pkg"
    cmd = [sys.executable, str(ROOT / "cli.py"), "plan", str(district), "-o", str(out), "--speaker", "none"]
    res = subprocess.run([*cmd, "--wind-mps", "3", "--endurance-min", "12"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert man["parameters"]["vehicle"]["wind_mps"] == 3.0
    assert "wind 3 m/s charged as a headwind on every leg" in res.stdout
    assert all(s["predicted_time_s"] <= s["usable_endurance_s"] for s in man["sorties"])
