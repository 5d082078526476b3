"""Flight log reading and the coverage audit, on tlogs written here with analytic answers, damaged logs
and the public logs in ../shared/data (skipped where absent)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import LineString, box

from patrol.audit import PackageInfo, play_intervals, read_package, run_audit
from patrol.errors import InputError
from patrol.flightlog import read_log
from patrol.geo import LocalFrame
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
    with pytest.raises(InputError, match=r"manifest\.json: missing"):
        read_package(tmp_path)
