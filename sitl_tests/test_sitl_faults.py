"""Faults in flight on real ArduPilot SITL, injected with SITL's own parameters over a second MAVLink port (SERIAL1)
while `patrol fly` follows the sortie on the first: the link cut for 30 s (a TCP relay, :class:`LinkCutProxy`), GPS
lost and regained (SIM_GPS1_ENABLE), a battery failsafe (SIM_BATT_VOLTAGE under BATT_LOW_VOLT, BATT_FS_LOW_ACT RTL),
a reboot in the air (MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN with ArduPilot's force value: a plain one is refused while
armed). SITL restarts its physics with the firmware, so the rebooted vehicle is back at home on the ground, disarmed:
what patrol sees of a real one that rebooted in the air, less the fall."""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.vehicle.fly import Flight
from patrol.vehicle.link import Link, LinkError, connect
from sitl_tests.conftest import ROOT, package_home, start_sitl
from sitl_tests.link_cut_proxy import LinkCutProxy
from sitl_tests.sitl import SPEEDUP, Sitl

CUT_S = 30.0
LINK_SPEEDUP = 8  # slow enough that the sortie is still in the air when a 30 s cut ends (538 s / 8 = 67 s)


def _shortest(package: Path) -> dict:
    return min(json.loads((package / "manifest.json").read_text())["sorties"], key=lambda x: x["predicted_time_s"])


def _fly(package: Path, index: int, url: str, tmp_path: Path, link_wait_s: float = 90.0) -> subprocess.Popen:
    err = open(tmp_path / "fly.err", "w")  # noqa: SIM115 - closed with the process
    out = open(tmp_path / "fly.out", "w")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "fly", str(package), "--sortie", str(index), "--connect", url,
         "--tlog", str(tmp_path / "flight.tlog"), "--timeout-min", "20", "--link-wait-s", str(link_wait_s),
         "--ledger", "off"],
        stdout=out, stderr=err, text=True,
    )  # fmt: skip


def _eye(url2: str) -> Flight:
    """The test's own watch on SERIAL1 (SITL opens it once SERIAL0 has a client)."""
    deadline = time.monotonic() + 30.0
    while True:
        try:
            return Flight(connect(url2, heartbeat_timeout_s=30))
        except LinkError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _until(eye: Flight, proc: subprocess.Popen, cond, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond(eye.state):
        assert proc.poll() is None, f"patrol fly ended ({proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} in {timeout_s:g} s"
        eye.pump(0.2)


def _events(tmp_path: Path) -> list[str]:
    text = (tmp_path / "fly.err").read_text()
    return [ln for ln in text.splitlines() if ln.startswith("patrol: t+")]


def _record_times(tlog: Path) -> list[float]:
    log = mavutil.mavlink_connection(str(tlog))
    out = []
    while (m := log.recv_match()) is not None:
        out.append(m._timestamp)
    return out


def _flying_at(seq: int):
    return lambda s: s.armed and s.mode == "AUTO" and s.current_seq >= seq


def _set(link: Link, name: str, value: float) -> None:
    link.set_param(name, value)


@dataclass
class FaultFlight:
    """One fault test's flight: SITL, `patrol fly` following the shortest sample sortie on SERIAL0 (through the
    cut proxy if asked), and the test's own eye on SERIAL1."""

    sortie: dict
    sitl: Sitl
    proc: subprocess.Popen
    eye: Flight
    proxy: LinkCutProxy | None


@contextlib.contextmanager
def _fault_flight(
    package: Path, tmp_path: Path, *, speedup: int = SPEEDUP, through_cut_proxy: bool = False, link_wait_s: float = 90.0
) -> Iterator[FaultFlight]:
    """Start SITL and `patrol fly`; on leaving, close the eye, kill `patrol fly` if it still runs, close the proxy and
    stop SITL (in that order, also when the test fails)."""
    s = _shortest(package)
    with contextlib.ExitStack() as stack:
        sitl = start_sitl(tmp_path / "sitl", package_home(package), speedup=speedup)
        stack.callback(sitl.stop)
        proxy = stack.enter_context(LinkCutProxy(sitl.port)) if through_cut_proxy else None
        proc = _fly(package, s["index"], proxy.url if proxy else sitl.url, tmp_path, link_wait_s)
        stack.callback(lambda: proc.poll() is None and proc.kill())
        eye = _eye(sitl.url2)
        stack.callback(eye.link.close)
        yield FaultFlight(s, sitl, proc, eye, proxy)


def test_patrol_fly_rides_out_a_30_s_link_cut_and_flies_the_sortie_to_its_end(sample_package, tmp_path):
    with _fault_flight(sample_package, tmp_path, speedup=LINK_SPEEDUP, through_cut_proxy=True) as f:
        _until(f.eye, f.proc, _flying_at(2), 240.0, "flight in AUTO at item 2")
        f.proxy.cut(CUT_S)
        f.proc.wait(timeout=240)
    s, proc, proxy = f.sortie, f.proc, f.proxy
    err, out = (tmp_path / "fly.err").read_text(), (tmp_path / "fly.out").read_text()
    events = _events(tmp_path)
    print("\n".join(events))
    assert proc.returncode == 0, err[-3000:]
    assert "landed and disarmed;" in out
    lost, back = [e for e in events if "link lost" in e], [e for e in events if "link back after" in e]
    assert len(lost) == 1 and "connection closed" in lost[0] and len(back) == 1, events
    assert int(back[0].split("link back after ")[1].split(" s")[0]) >= CUT_S - 1
    # the .tlog: one file, no hole in it but the cut
    times = _record_times(tmp_path / "flight.tlog")
    gaps = [(a, b) for a, b in itertools.pairwise(times) if b - a > 3.0]
    ((start, end),) = proxy.cuts
    assert len(gaps) == 1, gaps
    assert gaps[0][0] <= start + 1.0 and gaps[0][1] >= end - 1.0 and gaps[0][1] - gaps[0][0] < CUT_S + 12.0
    # the audit reads it; the speaker plays all the time it is airborne (this package has no speaker cues)
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "audit", str(tmp_path / "flight.tlog"), "--package",
         str(sample_package), "-o", str(tmp_path / "audit"), "--ledger", "off", "--assume-playing"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode in (0, 3), res.stdout + res.stderr  # 3: a compound heard too little (the cut's minutes)
    report = {c["id"]: c for c in json.loads((tmp_path / "audit" / "report.json").read_text())["compounds"]}
    shares = {cid: report[cid]["heard_whole_share"] for cid in s["compounds"]}
    print(f"tlog hole {gaps[0][1] - gaps[0][0]:.1f} s for a {CUT_S:g} s cut; audit heard whole: {shares}")
    assert all(v > 0.0 for v in shares.values()), shares


def test_a_link_cut_longer_than_link_wait_ends_with_status_6_and_keeps_the_tlog(sample_package, tmp_path):
    with _fault_flight(sample_package, tmp_path, through_cut_proxy=True, link_wait_s=4.0) as f:
        _until(f.eye, f.proc, _flying_at(2), 240.0, "flight in AUTO at item 2")
        f.proxy.cut(CUT_S)
        f.proc.wait(timeout=60)
    proc = f.proc
    err = (tmp_path / "fly.err").read_text()
    assert proc.returncode == 6, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("patrol: error: link lost") and "not regained" in last and "take over" in last, last
    assert (tmp_path / "flight.tlog").stat().st_size > 0


def test_a_battery_failsafe_rtl_is_reported_and_ends_the_sortie_early_with_status_5(sample_package, tmp_path):
    with _fault_flight(sample_package, tmp_path) as f:
        _set(f.eye.link, "BATT_FS_LOW_ACT", 2)  # RTL
        _until(f.eye, f.proc, _flying_at(3), 240.0, "flight in AUTO at item 3")
        low = f.eye.link.get_param("BATT_LOW_VOLT") - 0.5
        _set(f.eye.link, "SIM_BATT_VOLTAGE", low)
        f.proc.wait(timeout=240)
    proc = f.proc
    err, out = (tmp_path / "fly.err").read_text(), (tmp_path / "fly.out").read_text()
    events = _events(tmp_path)
    print("\n".join(events))
    assert proc.returncode == 5, err[-3000:]
    assert any(e.endswith("vehicle switched itself to RTL (from AUTO)") for e in events), events
    assert any("failsafe: vehicle says 'Battery 1 is low" in e for e in events), events
    assert "landed and disarmed before the mission's end (at item" in out and "the vehicle took RTL" in out, out
    assert (tmp_path / "flight.tlog").stat().st_size > 0


def test_a_gps_loss_is_reported_lost_and_regained_and_the_vehicles_ekf_failsafe_land_ends_the_sortie(
    sample_package, tmp_path
):
    """ArduCopter lands where it is when its EKF loses absolute position (FS_EKF_ACTION 1): the GPS off until the
    vehicle reports no fix and 10 s of vehicle time more is enough in AUTO (8 s did it too at speed-up 8)."""
    with _fault_flight(sample_package, tmp_path) as f:
        _until(f.eye, f.proc, _flying_at(3), 240.0, "flight in AUTO at item 3")
        _set(f.eye.link, "SIM_GPS1_ENABLE", 0)
        _until(f.eye, f.proc, lambda st: st.gps_fix < 3, 60.0, "GPS loss on the vehicle")
        f.eye.pump(10.0 / f.sitl.speedup)
        _set(f.eye.link, "SIM_GPS1_ENABLE", 1)
        f.proc.wait(timeout=240)
    proc = f.proc
    err, out = (tmp_path / "fly.err").read_text(), (tmp_path / "fly.out").read_text()
    events = _events(tmp_path)
    print("\n".join(events))
    assert proc.returncode == 5, err[-3000:]
    kinds = [e.split(": ", 2)[2] for e in events]
    lost = next(k for k, e in enumerate(kinds) if e.startswith("GPS lost"))
    regained = next(k for k, e in enumerate(kinds) if e.startswith("GPS regained"))
    land = kinds.index("vehicle switched itself to LAND (from AUTO)")
    assert lost < land and lost < regained, events
    assert any("EKF" in e for e in kinds[lost:]), events
    assert "landed and disarmed before the mission's end" in out and "the vehicle took LAND" in out, out


FORCE_REBOOT = 20190226  # param6 that makes ArduPilot reboot although armed (GCS_MAVLINK::handle_preflight_reboot)


def test_a_reboot_in_the_air_is_reported_and_patrol_reconnects_and_ends_with_status_5(sample_package, tmp_path):
    with _fault_flight(sample_package, tmp_path) as f:
        _until(f.eye, f.proc, _flying_at(3), 240.0, "flight in AUTO at item 3")
        reboot = mav.MAV_CMD_PREFLIGHT_REBOOT_SHUTDOWN
        assert f.eye.link.command(reboot, 1) == mav.MAV_RESULT_FAILED  # not while armed
        assert f.eye.link.command(reboot, 1, 0, 0, 0, 0, FORCE_REBOOT) == mav.MAV_RESULT_ACCEPTED
        f.proc.wait(timeout=240)
    proc = f.proc
    err, out = (tmp_path / "fly.err").read_text(), (tmp_path / "fly.out").read_text()
    events = _events(tmp_path)
    print("\n".join(events))
    assert proc.returncode == 5, err[-3000:]
    kinds = [e.split(": ", 2)[2] for e in events]
    lost = next(k for k, e in enumerate(kinds) if e.startswith("link lost (connection closed"))
    back = next(k for k, e in enumerate(kinds) if e.startswith("link back after"))
    assert lost < back < kinds.index("vehicle rebooted (its boot clock went back)"), events
    assert "rebooted in flight and came back disarmed (at item" in out and "m up): it may have come down there" in out


@pytest.fixture(autouse=True)
def _no_leftover_part(tmp_path):
    yield
    assert not list(tmp_path.glob("*.part")), "the .tlog was left as .part"
