"""Audit and log-reading figures (printed, not asserted).

1. Audit: a synthetic 1-hour, 10 Hz track (36,000 samples) sweeping 20 compounds with the speaker
   looping, audited on ~3,000 grid points per compound. Target: under 1 s. Also the exact reference
   (shapely buffer of the raw track, in range only) for the accuracy of the in-range share.
2. Log reading: patrol's reader against pymavlink's mavlogdump.py on the same files (the public logs in
   ../shared/data/logs and any long SITL tlog given with --tlog), seconds, messages/s and MB/s.

    python benchmarks/bench_audit.py [--tlog LONG.tlog ...]
"""

from __future__ import annotations

import argparse
import math
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import LineString

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patrol.audit import PackageInfo, run_audit  # noqa: E402
from patrol.flightlog import CuePlay, FlightLog, read_log  # noqa: E402
from patrol.geo import LocalFrame  # noqa: E402
from patrol.synthetic import make_shape  # noqa: E402
from patrol.types import Speaker  # noqa: E402

LAT0, LON0 = 38.415, 112.730


def synthetic_hour(n_compounds: int = 20, rate_hz: float = 10.0, seconds: float = 3600.0):
    """Compounds on a 5 x 4 grid 600 m apart and a lawnmower track over each, one hour in total."""
    rng = np.random.default_rng(7)
    frame = LocalFrame(LON0, LAT0)
    comps, path = [], []
    for k in range(n_compounds):
        cx, cy = (k % 5) * 600.0, (k // 5) * 600.0
        g = shapely.affinity.translate(make_shape(("rect", "lshape", "holes")[k % 3], rng), cx, cy)
        comps.append({"id": f"C{k:02d}", "name": f"C{k:02d}", "tier": "scattered", "geometry": g})
        minx, miny, maxx, maxy = g.bounds
        for j, y in enumerate(np.arange(miny + 20, maxy, 40.0)):
            row = [(minx - 20, y), (maxx + 20, y)]
            path += row if j % 2 == 0 else row[::-1]
    line = LineString(path)
    n = int(seconds * rate_hz)
    pts = [line.interpolate(d) for d in np.linspace(0, line.length, n)]
    x = np.array([p.x for p in pts])
    y = np.array([p.y for p in pts])
    lon, lat = frame.to_wgs84(x, y)
    t = np.arange(n) / rate_hz
    log = FlightLog(
        "synthetic", None, t, np.asarray(lat), np.asarray(lon), np.full(n, 40.0), np.full(n, line.length / seconds),
        np.full(n, "AUTO", dtype=object), np.ones(n, bool), np.full(n, 90.0), (),
        (CuePlay(0.0, "loop", 1, 0, float(lat[0]), float(lon[0]), "synthetic"),), (),
    )  # fmt: skip
    pkg = PackageInfo(None, frame, comps, [], Speaker(), 30.0, 8.0, {1: 4.0}, {1: "p"})
    return log, pkg, LineString(np.column_stack([x, y]))


def bench_audit() -> None:
    log, pkg, track = synthetic_hour()
    print(f"audit: {len(log.t_s)} samples ({log.duration_s / 3600:.2f} h at 10 Hz), {len(pkg.compounds)} compounds")
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        audits = run_audit([log], pkg)
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    reach = track.buffer(30.0)
    exact = [c["geometry"].intersection(reach).area / c["geometry"].area for c in pkg.compounds]
    t_exact = time.perf_counter() - t0
    err = max(abs(a.in_range.mean() - e) for a, e in zip(audits, exact, strict=True))
    heard = np.mean([a.heard.mean() for a in audits])
    print(f"  patrol audit: {best:.3f} s (best of 3); mean heard-whole share {heard:.3f}")
    print(f"  exact in-range by buffering the raw track: {t_exact:.2f} s; largest difference {100 * err:.2f} points")


def write_long_tlog(path: Path, minutes: float = 60.0) -> Path:
    """A synthetic telemetry log of ``minutes`` at typical stream rates (for a long-log figure)."""
    link = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    out = bytearray()
    for k in range(int(minutes * 60 * 10)):
        t = k / 10
        us = int((1.7e9 + t) * 1e6)
        out += struct.pack(">Q", us) + mav.MAVLink_global_position_int_message(
            int(t * 1000), int((LAT0 + 1e-6 * k) * 1e7), int(LON0 * 1e7), 840000, 40000, 0, 0, 0, 0
        ).pack(link)
        out += struct.pack(">Q", us) + mav.MAVLink_attitude_message(int(t * 1000), 0, 0, 0, 0, 0, 0).pack(link)
        out += struct.pack(">Q", us) + mav.MAVLink_vfr_hud_message(5, 5, 0, 50, 40, 0).pack(link)
        if k % 10 == 0:
            out += struct.pack(">Q", us) + mav.MAVLink_heartbeat_message(2, 3, 129, 3, 4, 3).pack(link)
            out += struct.pack(">Q", us) + mav.MAVLink_sys_status_message(0, 0, 0, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0).pack(
                link
            )
    path.write_bytes(out)
    return path


def bench_read(files: list[Path]) -> None:
    dump = shutil.which("mavlogdump.py") or str(Path(sys.executable).parent / "mavlogdump.py")
    types = "GLOBAL_POSITION_INT,VFR_HUD,HEARTBEAT,SYS_STATUS,MISSION_ITEM_REACHED,STATUSTEXT,FENCE_STATUS"
    print(
        f"{'log':38s} {'MB':>6s} {'msgs':>8s} | {'patrol s':>8s} {'msg/s':>9s} {'MB/s':>6s} | "
        f"{'mavlogdump s':>12s} {'ratio':>6s}"
    )
    for f in files:
        if not f.exists():
            print(f"{f.name:38s} absent, skipped")
            continue
        mb = f.stat().st_size / 1e6
        from pymavlink import mavutil

        m = mavutil.mavlink_connection(str(f))
        n = 0
        while m.recv_msg() is not None:
            n += 1
        t0 = time.perf_counter()
        read_log(f)
        tp = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([sys.executable, dump, "--types", types, "-q", str(f)], capture_output=True, check=False)
        td = time.perf_counter() - t0
        print(f"{f.name:38s} {mb:6.2f} {n:8d} | {tp:8.2f} {n / tp:9.0f} {mb / tp:6.1f} | {td:12.2f} {td / tp:6.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlog", type=Path, action="append", default=[])
    args = ap.parse_args()
    bench_audit()
    logs = sorted((ROOT.parent / "shared" / "data" / "logs").glob("*.tlog")) + args.tlog
    long = write_long_tlog(Path("/tmp/patrol-bench-long.tlog"))
    bench_read([*logs, long])


if __name__ == "__main__":
    main()
