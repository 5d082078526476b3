"""Against real ArduPilot SITL enforcing MAVLink 2 signing: the key goes on over SERIAL0 (the port ArduPilot treats
as USB and never asks to sign), and everything else happens on SERIAL1, where it refuses what is not signed with it.

The times to the one-line refusal are printed (``pytest -s``), not asserted: speed targets live in benchmarks/.
A subprocess timeout is the guard against a hang.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.package.reader import read_sortie
from patrol.vehicle.keys import install_key, remove_key
from patrol.vehicle.link import connect
from patrol.vehicle.signing import SIGNED_FLAG, SigningError, new_key_file, read_key
from patrol.vehicle.upload import upload_sortie
from sitl_tests.conftest import ROOT, package_home, start_sitl
from sitl_tests.sitl import Sitl

PARAM = "RTL_ALT"  # centimetres; any value 200..8000 is legal


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A signing-clock folder of the test's own (as a fresh laptop)."""
    monkeypatch.setenv("PATROL_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def signing_sitl(tmp_path: Path, sample_package: Path, state: Path) -> Iterator[tuple[Sitl, Path]]:
    """A SITL copter holding a fresh key installed over SERIAL0, and that key's file."""
    key = new_key_file(tmp_path / "fleet.key")[0]
    s = start_sitl(tmp_path / "sitl", package_home(sample_package))
    try:
        install_key(s.url, key)
        yield s, key
    finally:
        s.stop()


def _cli(*args: str, timeout_s: float = 120) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=timeout_s
    )
    return res, time.monotonic() - t0


def _error_lines(res: subprocess.CompletedProcess) -> list[str]:
    return [line for line in res.stderr.splitlines() if line.startswith("patrol: error:")]


def test_right_key_uploads_and_reads_back_on_serial1(signing_sitl, sample_package, tmp_path):
    sitl, key = signing_sitl
    res, took_s = _cli(
        "upload", str(sample_package), "--connect", sitl.url2, "--signing-key", str(key),
        "--ledger", str(tmp_path / "ledger.sqlite"),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "identical" in res.stderr
    print(f"signed upload + read-back on SERIAL1: {took_s:.1f} s")
    # the vehicle's heartbeats on SERIAL1 are signed, and verify with the key
    link = connect(sitl.url2, signing_key=key, heartbeat_timeout_s=30)
    try:
        m = link.recv(("HEARTBEAT",), 5)
        assert m is not None and m.get_signed() and m._header.incompat_flags & SIGNED_FLAG
    finally:
        link.close()


@pytest.mark.parametrize("which", ["no key", "wrong key"])
def test_no_key_or_a_wrong_key_stops_with_one_line_about_signing(signing_sitl, sample_package, tmp_path, which):
    sitl, _ = signing_sitl
    args = ["upload", str(sample_package), "--connect", sitl.url2, "--ledger", str(tmp_path / "ledger.sqlite")]
    want = "ignores our unsigned commands"
    if which == "wrong key":
        args += ["--signing-key", str(new_key_file(tmp_path / "other.key")[0])]
        want = "signed with another key"
    res, took_s = _cli(*args, timeout_s=60)
    print(f"{which}: refused in {took_s:.1f} s: {res.stderr.strip().splitlines()[-1]}")
    assert res.returncode == 3
    (line,) = _error_lines(res)
    assert want in line and "docs/flying.md" in line
    assert "Traceback" not in res.stderr
    # the vehicle took nothing from the refused session: its mission is still empty (read over SERIAL0)
    link = connect(sitl.url, heartbeat_timeout_s=30)
    try:
        assert len(link.download()) <= 1  # home only
    finally:
        link.close()


def test_no_key_stays_refused_after_signed_sessions(signing_sitl):
    """ArduPilot sends the parameters it changes itself (STAT_RUNTIME) to every port: not an answer to us."""
    sitl, key = signing_sitl
    for _ in range(3):
        connect(sitl.url2, signing_key=key, heartbeat_timeout_s=30).close()
        with pytest.raises(SigningError, match="ignores our unsigned commands"):
            connect(sitl.url2, heartbeat_timeout_s=30)


def test_a_replayed_signed_packet_from_an_earlier_session_is_ignored(signing_sitl, sample_package):
    sitl, key = signing_sitl
    usb = connect(sitl.url, heartbeat_timeout_s=30)
    try:
        before = usb.get_param(PARAM)
        # an earlier session on SERIAL1: a signed PARAM_SET the vehicle acts on, captured as sent, then undone
        first = connect(sitl.url2, signing_key=key, heartbeat_timeout_s=30)
        msg = first.conn.mav.param_set_encode(
            first.target_system, first.target_component, PARAM.encode(), before + 700, mav.MAV_PARAM_TYPE_REAL32
        )
        captured = bytes(msg.pack(first.conn.mav))
        assert captured[2] & SIGNED_FLAG
        first.conn.write(captured)
        assert _wait_param(usb, PARAM, before + 700)
        while first.recv(("PARAM_VALUE",), 0.5) is not None:
            pass  # the vehicle's echo of the set, sent to every port
        first.set_param(PARAM, before)
        first.close()
        # a later session replays the captured bytes, on the same port
        raw = mavutil.mavlink_connection(sitl.url2, source_system=254, dialect="ardupilotmega", autoreconnect=False)
        raw.wait_heartbeat(timeout=10)
        for _ in range(3):
            raw.write(captured)
            time.sleep(0.5)
        assert not _wait_param(usb, PARAM, before + 700, timeout_s=3)
        assert _param_now(usb, PARAM) == pytest.approx(before)
        # the control: the same session's freshly signed PARAM_SET is taken
        raw.setup_signing(read_key(key), sign_outgoing=True)
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end:  # read what is buffered: our clock takes up the vehicle's (SITL's runs fast)
            raw.recv_match(blocking=True, timeout=0.1)
        raw.mav.param_set_send(1, 1, PARAM.encode(), before + 300, mav.MAV_PARAM_TYPE_REAL32)
        assert _wait_param(usb, PARAM, before + 300)
        raw.close()
        usb.set_param(PARAM, before)
    finally:
        usb.close()


def _param_now(link, name: str) -> float:
    """The vehicle's value of ``name`` now, not an echo of an earlier set still waiting in our buffer."""
    while link.recv(("PARAM_VALUE",), 0.2) is not None:
        pass
    return link.get_param(name)


def _wait_param(link, name: str, value: float, timeout_s: float = 5) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if abs(_param_now(link, name) - value) < 1e-3:
            return True
        time.sleep(0.3)
    return False


def test_a_key_is_rotated_over_the_signed_link(signing_sitl, tmp_path):
    sitl, old = signing_sitl
    new = new_key_file(tmp_path / "new.key")[0]
    install_key(sitl.url2, new, current_key=old)
    link = connect(sitl.url2, signing_key=new, heartbeat_timeout_s=30)
    try:
        assert link.get_param(PARAM) > 0
    finally:
        link.close()
    with pytest.raises(SigningError, match="signed with another key"):
        connect(sitl.url2, signing_key=old, heartbeat_timeout_s=30).close()


def test_remove_turns_signing_off_and_unsigned_upload_works_again(signing_sitl, sample_package):
    sitl, key = signing_sitl
    remove_key(sitl.url2, key)  # over SERIAL1 the removal itself must be signed
    link = connect(sitl.url2, heartbeat_timeout_s=30)
    try:
        m = link.recv(("HEARTBEAT",), 5)
        assert m is not None and not m._header.incompat_flags & SIGNED_FLAG
        counts = upload_sortie(link, read_sortie(sample_package, 1))
        assert counts["mission"] > 1
    finally:
        link.close()


def test_right_key_flies_the_shortest_sortie_on_serial1(signing_sitl, sample_package):
    import json

    from sitl_tests.conftest import fly_sortie

    sitl, key = signing_sitl
    sorties = json.loads((sample_package / "manifest.json").read_text())["sorties"]
    s = min(sorties, key=lambda x: x["predicted_time_s"])
    up = read_sortie(sample_package, s["index"])
    link = connect(sitl.url2, signing_key=key, heartbeat_timeout_s=30)
    try:
        upload_sortie(link, up)
        state, modes = fly_sortie(link, up)
    finally:
        link.close()
    assert "AUTO" in modes and not state.armed and state.rel_alt_m < 1.0
    assert max(alt for *_, alt in state.track) > 30.0
    assert link.conn.mav.signing.goodsig_count > 100 and link.conn.mav.signing.badsig_count == 0
