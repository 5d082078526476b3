"""Signing keys and the signing clock, without a vehicle: key files (formats, modes), timestamps that never go back
across restarts, and the reading of refused frames that tells no key from another key."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.vehicle.signing import (
    EPOCH_2015,
    TICKS_PER_S,
    Refusals,
    SigningClock,
    SigningError,
    key_id,
    new_key_file,
    now_timestamp,
    read_key,
    signature_matches,
    signed,
)

ROOT = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATROL_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _secret(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(0o600)
    return path


@posix_only
def test_new_key_is_32_random_bytes_private_to_its_owner_and_never_silently_replaced(tmp_path):
    path, kid = new_key_file(tmp_path / "keys" / "fleet.key")
    key = path.read_bytes()
    assert len(key) == 32 and kid == key_id(key) == hashlib.sha256(key).hexdigest()[:8]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key(path) == key
    assert new_key_file(tmp_path / "other.key")[0].read_bytes() != key
    with pytest.raises(Exception, match="already exists; pass --force"):
        new_key_file(path)
    assert path.read_bytes() == key
    assert new_key_file(path, overwrite=True)[0].read_bytes() != key
    assert [p.name for p in path.parent.iterdir()] == ["fleet.key"]  # no temporary sibling left


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o602])
def test_a_key_file_others_may_read_or_write_is_refused_in_one_line(tmp_path, mode):
    path = _secret(tmp_path / "fleet.key", bytes(range(32)))
    path.chmod(mode)
    with pytest.raises(SigningError) as e:
        read_key(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and f"{mode:04o}" in msg and "chmod 600" in msg


def test_key_formats_raw_hex_and_passphrase(tmp_path):
    raw = bytes(range(32))
    assert read_key(_secret(tmp_path / "raw", raw)) == raw
    assert read_key(_secret(tmp_path / "hex", raw.hex().upper() + "\n")) == raw
    assert read_key(_secret(tmp_path / "pass", "fleet passphrase\n")) == hashlib.sha256(b"fleet passphrase").digest()
    # 64 characters that are not hex are a passphrase
    assert read_key(_secret(tmp_path / "notHex", "z" * 64)) == hashlib.sha256(b"z" * 64).digest()
    with pytest.raises(SigningError, match="empty"):
        read_key(_secret(tmp_path / "empty", "\n"))
    with pytest.raises(SigningError, match="cannot read"):
        read_key(tmp_path / "missing")


def test_timestamps_grow_across_restarts_even_when_the_clock_goes_back(state):
    key = bytes(range(32))
    t_now = 1_800_000_000.0
    first = SigningClock.load(key)
    s1 = first.start(t_now)
    assert s1 == now_timestamp(t_now) == int((t_now - EPOCH_2015) * TICKS_PER_S)
    first.save(s1 + 5000)  # the session signed (or saw) up to here
    # a restarted laptop whose clock is an hour behind, then a day behind
    again = SigningClock.load(key)
    assert again.link_id == first.link_id and 1 <= again.link_id <= 254
    s2 = again.start(t_now - 3600)
    assert s2 == s1 + 5001
    s3 = SigningClock.load(key).start(t_now - 86400)
    assert s3 == s2 + 1
    # a laptop whose clock is right again starts from now
    assert SigningClock.load(key).start(t_now + 60) == now_timestamp(t_now + 60)
    # saving never moves the clock back
    c = SigningClock.load(key)
    c.save(1)
    assert json.loads(c.path.read_text())["timestamp"] == now_timestamp(t_now + 60)
    # one state per key, named by key id (never the key)
    other = SigningClock.load(bytes(32))
    assert other.path != c.path and other.last_timestamp == 0
    assert c.path.name == f"{key_id(key)}.json" and key.hex() not in c.path.read_text()


def test_a_session_killed_before_it_saves_still_moved_the_clock(state):
    key = b"k" * 32
    code = (
        "import os; from patrol.vehicle.signing import SigningClock; "
        f"SigningClock.load({key!r}).start(1_800_000_000.0); os._exit(9)"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PATROL_STATE_DIR": str(state)})
    assert res.returncode == 9
    assert SigningClock.load(key).start(1_700_000_000.0) == now_timestamp(1_800_000_000.0) + 1


def test_unreadable_signing_state_is_one_line_naming_it(state):
    key = bytes(32)
    path = state / "signing" / f"{key_id(key)}.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(SigningError, match=f"{path}: signing state is unreadable"):
        SigningClock.load(key)


def _heartbeat_frame(key: bytes | None, timestamp: int = 10**12) -> bytes:
    m = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    if key is not None:
        m.signing.secret_key, m.signing.sign_outgoing, m.signing.timestamp, m.signing.link_id = key, True, timestamp, 3
    msg = m.heartbeat_encode(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, mav.MAV_STATE_STANDBY)
    return bytes(msg.pack(m))


def test_refused_frames_tell_another_key_from_an_unsigned_vehicle_and_an_old_clock():
    ours, theirs = b"o" * 32, b"t" * 32
    frame = _heartbeat_frame(theirs)
    assert signed(frame) and signature_matches(frame, theirs) and not signature_matches(frame, ours)
    assert not signed(_heartbeat_frame(None))

    other = Refusals(ours)
    other.note(frame)
    assert other.verdict("tcp:x:1") is None  # one frame is not yet evidence
    other.note(_heartbeat_frame(theirs, 10**12 + 7))
    line = other.verdict("tcp:x:1")
    assert line is not None and "signed with another key" in line and key_id(ours) in line and theirs.hex() not in line

    unsigned = Refusals(ours)
    for _ in range(2):
        unsigned.note(_heartbeat_frame(None))
    assert "sends unsigned MAVLink" in (unsigned.verdict("tcp:x:1") or "")

    late = Refusals(ours)
    for k in range(4):
        late.note(_heartbeat_frame(ours, 10**12 + k))
    assert "signing clock" in (late.verdict("tcp:x:1") or "")

    # frames other than heartbeats are not counted (the radio's own, other components' telemetry)
    m = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    m.signing.secret_key, m.signing.sign_outgoing = theirs, True
    status = bytes(m.sys_status_encode(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0).pack(m))
    quiet = Refusals(ours)
    for _ in range(5):
        quiet.note(status)
    assert quiet.verdict("tcp:x:1") is None


@posix_only
def test_keys_new_command_and_refusal_of_an_open_key_by_a_vehicle_command(tmp_path, state):
    cli = [sys.executable, str(ROOT / "cli.py")]
    env = {**os.environ, "PATROL_STATE_DIR": str(state)}
    res = subprocess.run([*cli, "keys", "new", str(tmp_path / "fleet.key")], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert key_id((tmp_path / "fleet.key").read_bytes()) in res.stdout
    (tmp_path / "fleet.key").chmod(0o644)
    res = subprocess.run(
        [*cli, "clear", "--connect", "udpin:127.0.0.1:9", "--signing-key", str(tmp_path / "fleet.key")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert res.returncode == 3
    errors = [line for line in res.stderr.splitlines() if line.startswith("patrol: error:")]
    assert len(errors) == 1 and "open to other users (mode 0644)" in errors[0] and "Traceback" not in res.stderr
