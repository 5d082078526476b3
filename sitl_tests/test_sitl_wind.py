"""Wind on real ArduPilot SITL: the shortest sample sortie flown in an 8 m/s wind gusting (SIM_WIND_SPD 8 and
SIM_WIND_TURB, set over MAVLink) lands with its reserve; predicted and flown times are printed (run with -s).

The sample is planned in still air: the planner refuses `--wind-mps 8` for it (charged as a headwind on every leg,
the 10 m/s legs make 2 m/s over the ground and one lane of compound XZ-12 no longer fits a sortie's endurance), so
this measures what the still-air plan's reserve buys in that wind, beside the same sortie flown in still air."""

from __future__ import annotations

import json

import pytest
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.package.reader import read_sortie
from patrol.vehicle.link import connect
from patrol.vehicle.upload import upload_sortie
from sitl_tests.conftest import fly_sortie, package_home, start_sitl

GUST_MPS = 3.0  # SIM_WIND_TURB: the turbulence's amplitude on top of the steady wind


def armed_s(tlog) -> float:
    """Seconds on the vehicle's clock from the first armed heartbeat to the disarm after it."""
    log = mavutil.mavlink_connection(str(tlog))
    boot_ms, armed_at, flown = 0, None, 0.0
    while (m := log.recv_match(type=["GLOBAL_POSITION_INT", "HEARTBEAT"])) is not None:
        if m.get_type() == "GLOBAL_POSITION_INT":
            boot_ms = m.time_boot_ms
        elif m.type != mav.MAV_TYPE_GCS:
            armed = bool(m.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED)
            if armed and armed_at is None:
                armed_at = boot_ms
            elif not armed and armed_at is not None:
                flown += (boot_ms - armed_at) / 1000.0
                armed_at = None
    return flown


@pytest.mark.parametrize("wind_mps", [0.0, 8.0])  # still air beside it: what the wind itself costs
def test_the_shortest_sample_sortie_in_an_8_mps_gusting_wind_lands_with_its_reserve(sample_package, tmp_path, wind_mps):
    wind = {"SIM_WIND_SPD": wind_mps, "SIM_WIND_TURB": GUST_MPS if wind_mps else 0.0, "SIM_WIND_DIR": 250.0}
    man = json.loads((sample_package / "manifest.json").read_text())
    s = min(man["sorties"], key=lambda x: x["predicted_time_s"])
    vehicle = man["parameters"]["vehicle"]
    usable_s = vehicle["endurance_min"] * 60.0 * (1.0 - vehicle["reserve_pct"] / 100.0)
    up = read_sortie(sample_package, s["index"])
    tlog = tmp_path / "flight.tlog"
    sitl = start_sitl(tmp_path / "sitl", package_home(sample_package))
    try:
        link = connect(sitl.url, heartbeat_timeout_s=30)
        link.conn.setup_logfile(str(tlog), mode="wb")
        for name, value in wind.items():
            assert link.set_param(name, value) == value
        upload_sortie(link, up)
        state, _ = fly_sortie(link, up)
        link.close()
    finally:
        sitl.stop()
    flown_s = armed_s(tlog)
    print(
        f"\nsortie {s['index']} in {wind_mps:g} m/s wind gusting {wind['SIM_WIND_TURB']:g} m/s: "
        f"predicted {s['predicted_time_s']:.0f} s (still air), flown {flown_s:.0f} s "
        f"({flown_s / s['predicted_time_s'] - 1:+.1%}), usable {usable_s:.0f} s "
        f"({vehicle['endurance_min']:g} min less {vehicle['reserve_pct']:g} % reserve); "
        f"reserve left {(vehicle['endurance_min'] * 60.0 - flown_s) / 60.0:.1f} min"
    )
    assert state.max_seq >= len(up.mission), "the sortie did not reach its last item"
    assert 0.0 < flown_s <= usable_s
