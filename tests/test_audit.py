"""Flight log reading and the coverage audit, on tlogs written here with analytic answers, damaged logs
and the public logs in ../shared/data (skipped where absent)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import shapely
from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import LineString, box

from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.package.reader import read_package
from patrol.review.audit import PackageInfo, play_intervals, report, run_audit, uncovered_geojson
from patrol.review.flightlog import read_log
from patrol.types import Speaker
from tests.conftest import SHARED

LAT0, LON0 = 38.415, 112.730
FRAME = LocalFrame(LON0, LAT0)


def write_tlog(path, xs_m, ys_m, alt_m=40.0, rate_hz=10.0, cues=(), garbage_at=None, truncate=0):
    """A telemetry log of a vehicle at local (x, y) positions, one per 1/rate_hz s, with PTRL reports."""
    link = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    link.robust_parsing = True
    out = bytearray()
    t0 = 1_700_000_000.0

    def put(t, msg):
        out.extend(struct.pack(">Q", int((t0 + t) * 1e6)) + msg.pack(link))

    cue_at = dict(cues)
    for k, (x, y) in enumerate(zip(xs_m, ys_m, strict=True)):
        t = k / rate_hz
        lon, lat = FRAME.to_wgs84(x, y)
        if k % int(rate_hz) == 0:
            put(t, mav.MAVLink_heartbeat_message(2, 3, 128 | 1, 3, 4, 3))
        if k in cue_at:
            put(t, mav.MAVLink_statustext_message(6, cue_at[k].encode()))
        put(
            t,
            mav.MAVLink_global_position_int_message(
                int(t * 1000), int(lat * 1e7), int(lon * 1e7), 840_000, int(alt_m * 1000), 0, 0, 0, 0
            ),
        )
        if garbage_at is not None and k == garbage_at:
            out.extend(b"\x00\xff\x13garbage\xfd\x09" * 20)
    data = bytes(out[: len(out) - truncate] if truncate else out)
    path.write_bytes(data)
    return path


def pkg_for(geom, radius_m, clip_s=4.0, prompt_s=8.0):
    comp = {"id": "R1", "name": "rectangle", "tier": "scattered", "geometry": geom}
    return PackageInfo(
        (FRAME and None) or None, FRAME, [comp], [], Speaker(), radius_m, prompt_s, {1: clip_s}, {1: "mask-gather"}
    )


def _straight(tmp_path, half_len=300.0, speed=5.0, rate=10.0, **kw):
    n = int(2 * half_len / speed * rate) + 1
    xs = np.linspace(-half_len, half_len, n)
    return write_tlog(tmp_path / "pass.tlog", xs, np.zeros(n), rate_hz=rate, cues=[(0, "PTRL loop 1 0")], **kw)


def test_a_straight_pass_hears_a_rectangle_whole(tmp_path):
    log = read_log(_straight(tmp_path))
    assert len(log.t_s) == 1201 and log.duration_s == pytest.approx(120.0, abs=0.05)
    assert [(p.action, p.track) for p in log.plays] == [("loop", 1)]
    # r = 50 m: every point of a 400 x 60 m rectangle is within 30 m of the line, in range for
    # 2 sqrt(50^2 - 30^2) / 5 = 16 s >= two 4 s clips: heard whole everywhere
    (a,) = run_audit([log], pkg_for(box(-200, -30, 200, 30), 50.0))
    assert a.in_range.mean() == 1.0 and a.heard.mean() == 1.0
    assert a.time_over_s == pytest.approx(80.0, abs=0.3)  # 400 m at 5 m/s


def test_a_straight_pass_hears_only_the_band_the_chord_allows(tmp_path):
    log = read_log(_straight(tmp_path))
    # r = 20 m over a 60 m wide rectangle: in range |y| <= 20 (2/3); a whole 2 s clip needs a chord of
    # 2 sqrt(400 - y^2) / 5 s: surely heard for |y| <= 17.3 (chord >= 2 clips), never for |y| > 19.4
    (a,) = run_audit([log], pkg_for(box(-200, -30, 200, 30), 20.0, clip_s=2.0))
    assert a.in_range.mean() == pytest.approx(40 / 60, abs=0.02)
    assert 2 * 17.32 / 60 - 0.02 <= a.heard.mean() <= 2 * 19.36 / 60 + 0.02


def test_nothing_counts_as_heard_without_a_playing_speaker(tmp_path):
    n = 601
    path = write_tlog(tmp_path / "quiet.tlog", np.linspace(-300, 300, n), np.zeros(n))
    log = read_log(path)
    pkg = pkg_for(box(-200, -30, 200, 30), 50.0)
    (a,) = run_audit([log], pkg)
    assert a.in_range.mean() == 1.0 and a.heard.mean() == 0.0
    (b,) = run_audit([log], pkg, assume_playing=True)  # 2 sqrt(50^2-30^2)/5 = 16 s >= prompt_s 8 s
    assert b.heard.mean() == 1.0


def test_play_repeats_and_loops_become_clip_intervals(tmp_path):
    n = 601
    path = write_tlog(tmp_path / "c.tlog", np.linspace(0, 600, n), np.zeros(n),
                      cues=[(0, "PTRL loop 1 0"), (100, "PTRL play 1 3"), (300, "PTRL stop 0 0")])  # fmt: skip
    iv = play_intervals(read_log(path), pkg_for(box(0, 0, 1, 1), 10.0, clip_s=4.0), 60.0)
    starts = [round(a, 1) for a, _, _ in iv]
    assert starts == [0.0, 4.0, 10.0, 15.0, 20.0]  # loop 0-10 s (two whole clips), then 3 plays 1 s apart


def test_several_logs_add_up(tmp_path):
    n = 301
    west = write_tlog(tmp_path / "w.tlog", np.linspace(-300, 0, n), np.zeros(n), cues=[(0, "PTRL loop 1 0")])
    east = write_tlog(tmp_path / "e.tlog", np.linspace(0, 300, n), np.zeros(n), cues=[(0, "PTRL loop 1 0")])
    pkg = pkg_for(box(-200, -30, 200, 30), 50.0)
    (w,) = run_audit([read_log(west)], pkg)
    (both,) = run_audit([read_log(west), read_log(east)], pkg)
    # the seam at x = 0 splits a few chords between the two logs; each log alone heard its half
    assert 0.4 < w.heard.mean() < 0.7 and both.heard.mean() > max(w.heard.mean() + 0.25, 0.97)


def test_damaged_logs_keep_what_is_valid_and_say_what_was_skipped(tmp_path):
    good = read_log(_straight(tmp_path))
    hurt = read_log(_straight(tmp_path, garbage_at=500, truncate=37))
    assert len(hurt.t_s) >= len(good.t_s) - 2
    assert any("skipped" in w for w in hurt.warnings)
    with pytest.raises(InputError, match="empty file"):
        (tmp_path / "empty.tlog").write_bytes(b"")
        read_log(tmp_path / "empty.tlog")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"JFIF" * 100)
    with pytest.raises(InputError, match=r"photo\.jpg: (neither|no valid position)"):
        read_log(tmp_path / "photo.jpg")
    nofix = write_tlog(tmp_path / "nofix.tlog", np.zeros(5), np.zeros(5))
    assert len(read_log(nofix).t_s) == 5  # positions at the origin of the frame are valid, not (0, 0)


@pytest.mark.parametrize("name", ["dronekit_flight_replay.tlog", "uavlogviewer_vtol.tlog"])
def test_public_logs_read(name):
    path = SHARED / "logs" / name
    if not path.exists():
        pytest.skip(f"{path} absent (shared data not beside the checkout)")
    log = read_log(path)
    assert len(log.t_s) > 500 and log.duration_s > 100
    assert np.all(np.diff(log.t_s) >= 0)
    assert np.all(np.abs(log.lat) <= 90) and np.all(np.abs(log.lon) <= 180)
    frame = LocalFrame(float(np.median(log.lon)), float(np.median(log.lat)))
    x, y = frame.to_local(log.lon, log.lat)
    assert np.ptp(x) + np.ptp(y) > 20  # it flew somewhere
    # an audit over a compound drawn around the flown track, with any speaker assumed on
    area = LineString(np.column_stack([x, y])).buffer(15).simplify(2)
    pkg = PackageInfo(
        None, frame, [{"id": "T", "name": "t", "tier": "", "geometry": area}], [], Speaker(), 30.0, 6.0, {}, {}
    )
    (a,) = run_audit([log], pkg, assume_playing=True)
    assert a.in_range.mean() > 0.95


def test_package_reader_names_the_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"route\.geojson: not found; re-plan"):
        read_package(tmp_path)


# --- the tlog reader against pymavlink's own parsing ------------------------------------------------------------------


def read_tlog_with_pymavlink(path):
    """The reader this package used before its own: pymavlink's parser, the same filters, the same clock."""
    import os

    from pymavlink import mavutil

    from patrol.review.flightlog import _finish, tlog_damage
    from patrol.vehicle.player import parse_report

    os.environ["MAVLINK20"] = "1"
    log = mavutil.mavlink_connection(str(path), dialect="ardupilotmega", robust_parsing=True)
    types = ["GLOBAL_POSITION_INT", "VFR_HUD", "HEARTBEAT", "SYS_STATUS", "MISSION_ITEM_REACHED", "STATUSTEXT"]
    types += ["FENCE_STATUS", "SYSTEM_TIME"]
    rows, modes, armed, batt, reached, plays, events, clock = [], [], [], [], [], [], [], []
    speed, skipped, last_breach, vehicle_sys, system_time = 0.0, 0, 0, None, None
    while (m := log.recv_match(type=types)) is not None:
        kind, ts = m.get_type(), m._timestamp
        if kind == "HEARTBEAT":
            if m.type in (6, 18) or m.autopilot == 8:
                continue
            vehicle_sys = vehicle_sys or m.get_srcSystem()
            if m.get_srcSystem() != vehicle_sys:
                continue
            modes.append((ts, mavutil.mode_string_v10(m)))
            armed.append((ts, bool(m.base_mode & 128)))
        elif kind == "GLOBAL_POSITION_INT":
            if vehicle_sys is not None and m.get_srcSystem() != vehicle_sys:
                continue
            if m.lat == 0 and m.lon == 0:
                skipped += 1
                continue
            rows.append((ts, m.lat / 1e7, m.lon / 1e7, m.relative_alt / 1000.0, speed))
            clock.append((ts, m.time_boot_ms / 1000.0))
        elif kind == "VFR_HUD":
            speed = float(m.groundspeed)
        elif kind == "SYS_STATUS" and m.battery_remaining >= 0:
            batt.append((ts, float(m.battery_remaining)))
        elif kind == "MISSION_ITEM_REACHED" and (not reached or reached[-1][1] != m.seq):
            reached.append((ts, int(m.seq)))
        elif kind == "STATUSTEXT":
            rep = parse_report(m.text)
            if rep is not None:
                plays.append((ts, *rep, "statustext"))
            elif "fence" in m.text.lower() and "breach" in m.text.lower():
                events.append((ts, "fence_breach", m.text))
        elif kind == "FENCE_STATUS":
            if m.breach_status and m.breach_count != last_breach:
                events.append((ts, "fence_breach", f"fence breach {m.breach_count} (type {m.breach_type})"))
            last_breach = m.breach_count
        elif kind == "SYSTEM_TIME" and system_time is None and m.time_unix_usec > 1e15:
            system_time = (m.time_unix_usec / 1e6, m.time_boot_ms)
    bad, truncated = tlog_damage(path.read_bytes())
    warnings = ["the log ends in the middle of a message (truncated); the partial message is skipped"] * truncated
    start_utc = None
    if clock:
        wall, boot = np.array([c[0] for c in clock]), np.array([c[1] for c in clock])
        keep = np.concatenate([[True], np.diff(boot) > -1.0])
        if not keep.all():
            back = int((~keep).sum())
            warnings.append(f"the vehicle clock went back {back} time(s) (a reboot or replayed data); times continued")
            boot = np.concatenate([[boot[0]], boot[0] + np.cumsum(np.maximum(np.diff(boot), 0.0))])
        order = np.argsort(wall, kind="stable")
        wall, boot = wall[order], boot[order]

        def to_boot(ts):
            return float(np.interp(ts, wall, boot, left=boot[0] - (wall[0] - ts), right=boot[-1] + (ts - wall[-1])))

        rows = [(b, *r[1:]) for r, b in zip(rows, boot[np.argsort(order)], strict=True)]
        modes = [(to_boot(t), v) for t, v in modes]
        armed = [(to_boot(t), v) for t, v in armed]
        batt = [(to_boot(t), v) for t, v in batt]
        reached = [(to_boot(t), v) for t, v in reached]
        plays, events = [(to_boot(t), *v) for t, *v in plays], [(to_boot(t), *v) for t, *v in events]
        if system_time is not None:
            start_utc = system_time[0] - system_time[1] / 1000.0 + min(r[0] for r in rows)
    return _finish(path, rows, modes, armed, batt, reached, plays, events, warnings, start_utc, skipped, bad)


def assert_same_log(a, b):
    for name in ("t_s", "lat", "lon", "alt_m", "speed_mps", "mode", "armed", "battery_pct"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and len(x) == len(y), name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    assert a.plays == b.plays and a.events == b.events and a.reached == b.reached
    assert a.start_utc == b.start_utc and a.warnings == b.warnings


def write_mixed_tlog(path, force_mavlink1=False, reboot=True):
    """A log as a ground station records it: its own heartbeats, a second vehicle, no fix at first, every
    message the reader uses plus one it does not, speaker reports, fence breaches, mission progress, a reboot."""
    links = {s: mav.MAVLink(None, srcSystem=s, srcComponent=1) for s in (1, 2, 255)}
    out = bytearray()
    t0 = 1_700_000_000.0

    def put(t, sysid, msg):
        out.extend(struct.pack(">Q", int((t0 + t) * 1e6)) + msg.pack(links[sysid], force_mavlink1=force_mavlink1))

    for k in range(900):
        t = k / 10
        boot_ms = int(t * 1000) + 5000 - (80_000 if reboot and k >= 800 else 0)
        lon, lat = FRAME.to_wgs84(k * 0.5, 20 * np.sin(k / 50))
        if k % 10 == 0:
            put(t, 255, mav.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3))
            put(t, 1, mav.MAVLink_heartbeat_message(2, 3, 129 if k > 100 else 1, 3 if k < 300 else 5, 4, 3))
            put(t, 2, mav.MAVLink_heartbeat_message(1, 3, 129, 10, 4, 3))
            batt = 0 if k < 50 else -1 if k < 100 else 90 - k // 100
            put(t, 1, mav.MAVLink_sys_status_message(0, 0, 0, 0, 0, 0, batt, 0, 0, 0, 0, 0, 0))
            put(t, 1, mav.MAVLink_system_time_message(0 if k < 100 else int((t0 + t) * 1e6), boot_ms))
            put(t, 1, mav.MAVLink_fence_status_message(1 if 400 < k < 450 else 0, k // 200, 1, boot_ms))
        if k in (200, 210, 220, 600):
            put(t, 1, mav.MAVLink_mission_item_reached_message(k // 200 if k != 220 else 1))
        if k == 333:
            put(t, 1, mav.MAVLink_statustext_message(4, b"Fence breach: polygon"))
        if k in (100, 500, 700):
            cue = {100: b"PTRL loop 2 0", 500: b"PTRL play 1 3"}.get(k, b"PTRL stop 0 0")
            put(t, 1, mav.MAVLink_statustext_message(6, cue))
        put(t, 1, mav.MAVLink_vfr_hud_message(5, 3 + k / 100, 0, 50, 40, 0))
        put(t, 1, mav.MAVLink_attitude_message(boot_ms, 0, 0, 0, 0, 0, 0))
        fix = (0, 0) if k < 30 else (int(lat * 1e7), int(lon * 1e7))
        put(t, 1, mav.MAVLink_global_position_int_message(boot_ms, *fix, 840000, 40000 + 10 * k, 0, 0, 0, 0))
        if k % 7 == 0:
            put(t + 0.01, 2, mav.MAVLink_global_position_int_message(boot_ms, fix[0] + 100, fix[1], 0, 0, 0, 0, 0, 0))
    path.write_bytes(bytes(out))
    return path


@pytest.mark.parametrize("v1", [False, True], ids=["mavlink2", "mavlink1"])
def test_tlog_reader_agrees_with_pymavlink_on_a_written_log(tmp_path, v1):
    path = write_mixed_tlog(tmp_path / "mixed.tlog", force_mavlink1=v1)
    log = read_log(path)
    assert_same_log(log, read_tlog_with_pymavlink(path))
    assert len(log.t_s) == 870 and len(log.plays) == 3 and [s for _, s in log.reached] == [1, 3]
    assert {e.kind for e in log.events} >= {"mode", "armed", "fence_breach"}
    assert any("clock went back" in w for w in log.warnings) and log.start_utc is not None


@pytest.mark.parametrize("name", ["dronekit_flight_replay.tlog", "uavlogviewer_vtol.tlog"])
def test_tlog_reader_agrees_with_pymavlink_on_public_logs(name):
    path = SHARED / "logs" / name
    if not path.exists():
        pytest.skip(f"{path} absent (shared data not beside the checkout)")
    assert_same_log(read_log(path), read_tlog_with_pymavlink(path))


def test_tlog_checksums_and_clock_jumps(tmp_path):
    from patrol.review.flightlog import mavlink_crc

    good = write_mixed_tlog(tmp_path / "good.tlog", reboot=False)
    data = good.read_bytes()
    ref = read_log(good)
    # a flipped bit in one position's payload: that position is dropped (bad checksum) and counted as damage
    at = data.index(struct.pack("<i", round(ref.lat[400] * 1e7)))
    (tmp_path / "flip.tlog").write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :])
    flip = read_log(tmp_path / "flip.tlog")
    assert len(flip.t_s) == len(ref.t_s) - 1 and "1 damaged or unknown stretches of data skipped" in flip.warnings
    # the ground station's clock jumping five days is not damage: every record is read
    records = _records(data)
    jump = b"".join(
        struct.pack(">Q", struct.unpack(">Q", rec[:8])[0] + (5 * 86_400_000_000 if k > 1000 else 0)) + rec[8:]
        for k, rec in enumerate(records)
    )
    (tmp_path / "jump.tlog").write_bytes(jump)
    jumped = read_log(tmp_path / "jump.tlog")
    assert len(jumped.t_s) == len(ref.t_s) and jumped.warnings == ref.warnings
    # cut anywhere, even inside a record's header, the log reads as truncated or damaged, never crashes
    half = sum(len(r) for r in records[: len(records) // 2])
    for cut in range(len(records[len(records) // 2])):
        (tmp_path / "cut.tlog").write_bytes(data[: half + cut])
        cut_log = read_log(tmp_path / "cut.tlog")
        assert len(cut_log.t_s) > 300
        assert cut_log.warnings == ref.warnings if cut == 0 else "truncated" in cut_log.warnings[0]
    # the vectorised checksum is pymavlink's, for frames of different lengths at once
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, int(k)).astype(np.uint8) for k in rng.integers(1, 60, 40)]
    cols = np.zeros((60, len(frames)), np.uint8)
    for i, f in enumerate(frames):
        cols[: len(f), i] = f
    got = mavlink_crc(cols, np.array([len(f) for f in frames]), 77)
    assert got.tolist() == [mav.x25crc(bytes(f) + bytes([77])).crc for f in frames]


def _records(data):
    """The records of a well-formed tlog (timestamp + frame), as bytes."""
    out, off = [], 0
    while off < len(data):
        ln = data[off + 9]
        size = 8 + (12 + ln + (13 if data[off + 10] & 1 else 0) if data[off + 8] == 0xFD else 8 + ln)
        out.append(data[off : off + size])
        off += size
    return out


# --- thinning the track ----------------------------------------------------------------------------------------------


def test_thinning_the_track_keeps_boundaries_and_changes_shares_little(tmp_path):
    from patrol.review.audit import thin_track

    rng = np.random.default_rng(5)
    # a lawnmower at 5 m/s (0.5 m between samples) with 0.3 m of GPS-like jitter, looping, then a pause, then plays
    legs = [np.column_stack([np.linspace(-250, 250, 1001)[:: 1 if k % 2 == 0 else -1], np.full(1001, y)])
            for k, y in enumerate((-45.0, -15.0, 15.0, 45.0))]  # fmt: skip
    xy = np.concatenate(legs) + rng.normal(0, 0.3, (4004, 2))
    cues = [(0, "PTRL loop 1 0"), (1500, "PTRL stop 0 0"), (2200, "PTRL play 1 5"), (3000, "PTRL loop 1 0")]
    log = read_log(write_tlog(tmp_path / "mow.tlog", xy[:, 0], xy[:, 1], cues=cues))
    pkg = pkg_for(box(-200, -72, 200, 72), 23.0, clip_s=4.0)  # reach ends at |y| = 68, 1.8 m from grid rows
    (every,) = run_audit([log], pkg, thin_m=0.0)
    (thin,) = run_audit([log], pkg)
    assert abs(thin.in_range.mean() - every.in_range.mean()) <= 0.002 and 0.9 < every.in_range.mean() < 0.97
    assert abs(thin.heard.mean() - every.heard.mean()) <= 0.005 and 0.3 < every.heard.mean() < 1.0
    assert [p["start_s"] for p in thin.prompts] == [p["start_s"] for p in every.prompts]
    assert thin.time_over_s == every.time_over_s
    # forced samples stay, times are the samples' own, and about one in three samples is enough at 0.5 m apart
    force = np.zeros(len(log.t_s), bool)
    force[[17, 18, 2000]] = True
    kept = thin_track(np.column_stack(pkg.frame.to_local(log.lon, log.lat)), np.full(len(force), 23.0), log.t_s, force)
    assert {0, 17, 18, 2000, len(force) - 1} <= set(kept.tolist()) and len(kept) < len(force) / 2.5
    assert np.diff(log.t_s[kept]).max() <= 1.0 + 0.1 + 1e-9


def test_the_heard_share_that_counts_is_the_open_ground(tmp_path):
    """A block in the rectangle: the pass 20 m wide hears the band |y| <= ~17 m; a block on the far strip
    is left out of the share that counts, and of uncovered.geojson, while the whole-area figure keeps it."""
    import dataclasses

    log = read_log(_straight(tmp_path))
    rect, block = box(-200, -30, 200, 30), box(-50, 20, 50, 30)
    plain = pkg_for(rect, 20.0, clip_s=2.0)
    pkg = dataclasses.replace(plain, footprints=(block,))
    (a,) = run_audit([log], pkg)
    (b,) = run_audit([log], plain)
    assert np.array_equal(a.heard, b.heard)  # footprints without heights screen nothing: the same points hear
    inside = np.array([block.contains(shapely.Point(p)) for p in a.points])
    assert inside.any() and np.array_equal(a.ground, ~inside)
    doc = report([a], pkg, [log], 0.9)
    row = doc["compounds"][0]
    assert row["heard_whole_share"] == round(float(a.heard[~inside].mean()), 4)
    assert row["heard_whole_share_whole_area"] == round(float(a.heard.mean()), 4)
    assert row["heard_whole_share"] > row["heard_whole_share_whole_area"]  # the block's strip never heard
    miss = shapely.geometry.shape(uncovered_geojson(a, pkg, rect)["geometry"])
    blk = pkg.frame.geom_to_wgs84(block)
    assert not miss.is_empty and miss.intersection(blk).area < 0.01 * blk.area  # the block is not 'uncovered'


def test_the_buildings_shadow_the_audit_as_they_shadow_the_plan(tmp_path):
    """A 30 m block beside the pass: the strip behind it hears nothing whole (the roof takes more than the
    3 dB it has to spare), the audit says how much open ground that is, and uncovered.geojson holds it as
    'shadowed'; without heights (or with shielding off) the audit is the disc's, and the unscreened field is too."""
    import dataclasses
    import json

    from patrol.review.audit import report_files
    from patrol.types import Building

    log = read_log(_straight(tmp_path))
    rect, block = box(-200, -30, 200, 30), box(-50, 8, 50, 14)
    plain = pkg_for(rect, 50.0)
    pkg = dataclasses.replace(plain, footprints=(block,), buildings=(Building("B1", block, 30.0, "package"),))
    (a,) = run_audit([log], pkg)
    (b,) = run_audit([log], plain)
    (c,) = run_audit([log], pkg, shielding=False)
    assert np.array_equal(a.unscreened, b.heard) and np.array_equal(c.heard, b.heard)
    assert not (a.heard & ~b.heard).any()  # a building never adds a listener
    behind = (np.abs(a.points[:, 0]) < 30) & (a.points[:, 1] > 18)
    assert behind.any() and b.heard[behind].all() and not a.heard[behind].any()
    doc = report([a], pkg, [log], 0.9)
    row = doc["compounds"][0]
    ground_m2 = rect.difference(block).area
    lost = float((a.unscreened & ~a.heard)[a.ground].mean())
    assert row["shadowed_m2"] == pytest.approx(lost * ground_m2, abs=0.1) and row["shadowed_m2"] > 0.5 * 60 * 12
    feats = json.loads(report_files(doc, [a], pkg, [log])["uncovered.geojson"])["features"]
    kinds = {f["properties"]["kind"]: f for f in feats}
    assert set(kinds) == {"uncovered", "shadowed"}
    shade = shapely.geometry.shape(kinds["shadowed"]["geometry"])
    assert shade.contains(shapely.Point(*FRAME.to_wgs84(0.0, 24.0)))
    assert not shade.contains(shapely.Point(*FRAME.to_wgs84(0.0, -24.0)))  # the pass side hears
    assert shapely.geometry.shape(kinds["uncovered"]["geometry"]).contains(shapely.Point(*FRAME.to_wgs84(0.0, 24.0)))


def test_with_buildings_the_log_rate_does_not_change_what_is_heard(tmp_path):
    """Unlike a disc, a shadow can come and go between two samples: behind a row of 30 m posts the 1 Hz log of a
    pass (5 m between samples) would hear 5 points more than its 10 Hz log; the audit looks at the track every
    metre (audit.densify), so both hear the same."""
    import dataclasses

    from patrol.types import Building

    posts = [box(x, 10, x + 0.5, 16) for x in range(-180, 180, 6)]
    blds = tuple(Building(f"B{k}", g, 30.0, "package") for k, g in enumerate(posts))
    plain = pkg_for(box(-200, -30, 200, 30), 50.0, clip_s=2.0)
    pkg = dataclasses.replace(plain, footprints=tuple(posts), buildings=blds)
    shares = []
    for rate in (10.0, 1.0):
        (tmp_path / f"{rate:g}").mkdir()
        (a,) = run_audit([read_log(_straight(tmp_path / f"{rate:g}", rate=rate))], pkg)
        shares.append(float(a.heard[a.ground].mean()))
    assert 0.5 < shares[0] < 0.9  # the posts shadow part of the far strip
    assert abs(shares[0] - shares[1]) <= 0.002


def test_a_fleets_logs_are_audited_together_and_each_vehicle_is_credited_with_its_own_part(tmp_path):
    """Two vehicles of a fleet each sweep half of one compound: together it is heard whole; the report names which
    vehicle flew each log and what each one's logs alone heard."""
    n = 301
    flights = tmp_path / "flights"
    flights.mkdir()
    west = write_tlog(flights / "V1-sortie-01-20261202T101500Z.tlog", np.linspace(-300, 0, n), np.zeros(n),
                      cues=[(0, "PTRL loop 1 0")])  # fmt: skip
    east = write_tlog(flights / "V2-sortie-02-20261202T101530Z.tlog", np.linspace(0, 300, n), np.zeros(n),
                      cues=[(0, "PTRL loop 1 0")])  # fmt: skip
    other = write_tlog(tmp_path / "hand-flown.tlog", np.linspace(-300, -200, 21), np.zeros(21))
    pkg = pkg_for(box(-200, -30, 200, 30), 50.0)
    logs = [read_log(p) for p in (west, east, other)]
    audits = run_audit(logs, pkg)
    doc = report(audits, pkg, logs, 0.9)
    (row,) = doc["compounds"]
    assert [lg["vehicle"] for lg in doc["logs"]] == ["V1", "V2", "sysid 1"]
    by = row["heard_whole_by_vehicle"]
    assert set(by) == {"V1", "V2", "sysid 1"} and by["sysid 1"] == 0.0  # the hand-flown log played nothing
    assert 0.4 < by["V1"] < 0.7 and 0.4 < by["V2"] < 0.7
    assert row["heard_whole_share"] > max(by.values()) + 0.25  # together more than either alone
