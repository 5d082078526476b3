"""Mission upload benchmark: patrol's upload + verify against MAVProxy's ``wp load``, on ArduPilot SITL.

A 500-item mission (item 0 home, then 499 NAV_WAYPOINTs at 40 m relative altitude on a grid around the
SITL home) goes to a fresh ArduCopter SITL per case, (a) over plain TCP and (b) through a loopback
proxy (``sitl_tests.lossy_proxy.LossyProxy``) that drops 20% of MAVLink frames each way.

Rows, each timed from the first upload message to the end of the transfer, seconds (median of the runs):

* MAVProxy ``wp load FILE`` (the anchor; module ``wp`` only, a QGC WPL 110 file): from its
  "Loaded N waypoints from FILE" line to its "Sent all N waypoints" line. MAVProxy verifies nothing
  after an upload, so that is its whole time; whether the vehicle really holds the mission afterwards
  is read back by patrol over plain TCP, untimed, and printed as "held".
* patrol, library defaults (timeout 1.5 s, 5 retries): ``Link.upload`` + full ``Link.download`` +
  ``compare_items`` (upload and verify).
* patrol with timeout 0.5 s, 8 retries: the same.

The ratio is patrol / MAVProxy. Every run has a limit of 180 s ("did not finish in 180 s"). MAVProxy gets
all its runs (a run ends early if the vehicle cancels the upload: MAVProxy never retries); a patrol row is not
repeated after a run that did not finish or once its runs took 100 s, which keeps the benchmark near 10 minutes.
The mission is cleared (over plain TCP) before every run.

SITL runs at PATROL_SITL_SPEEDUP (default 30). ArduPilot's mission-protocol timers run on simulated time: it
re-requests a lost upload item after 1 s and cancels the upload after 8 s without one, i.e. after 0.03 s and
0.27 s of wall time at speedup 30, which is sooner than patrol's own resend (0.5 s or 1.5 s). Through the
lossy proxy that favours vehicle-paced transfers (MAVProxy's upload) over ground-paced ones (patrol's resends,
every download); ``PATROL_SITL_SPEEDUP=1`` gives real-time vehicle timers (and much longer runs).

Skips with one line (exit 0) without an ArduPilot SITL binary or without MAVProxy (``pip install mavproxy``).

    python benchmarks/bench_upload.py [--runs 3] [--limit 180]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.package.reader import MISSION
from patrol.types import MissionItem
from patrol.vehicle.link import LinkError, connect
from patrol.vehicle.readback import compare_items

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # sitl_tests is not installed; run from anywhere
    sys.path.insert(0, str(ROOT))

from sitl_tests.lossy_proxy import LossyProxy  # noqa: E402
from sitl_tests.sitl import SPEEDUP, Sitl, find_sitl, free_instance  # noqa: E402

HOME = (38.4148649, 112.7299427, 800.0, 0.0)  # lat, lon, alt AMSL, heading
N_ITEMS = 500  # including home
DROP = 0.2
ROW_BUDGET_S = 100.0


class OvertimeError(Exception):
    """A patrol run passed the time limit (raised from the progress callback)."""


@dataclass
class Row:
    label: str
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    held: list[bool] = field(default_factory=list)
    spent_s: float = 0.0
    cut: bool = False

    @property
    def runs(self) -> int:
        return len(self.times) + len(self.failures)

    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def mission_items() -> list[MissionItem]:
    """Home, then 499 waypoints on a 20 x 25 lawnmower grid (about 11 m apart) around the SITL home."""
    items = [MissionItem(mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_FRAME_GLOBAL, lat=HOME[0], lon=HOME[1], alt_m=0.0)]
    for k in range(N_ITEMS - 1):
        row, col = divmod(k, 25)
        if row % 2:
            col = 24 - col
        lat = round(38.4149 + (row - 10) * 1e-4, 7)
        lon = round(112.7299 + (col - 12) * 1.25e-4, 7)
        items.append(
            MissionItem(mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT, lat=lat, lon=lon, alt_m=40.0)
        )
    return items


def write_wpl(items: list[MissionItem], path: Path) -> None:
    """The items as a QGC WPL 110 file (line 0 is home), as MAVProxy's ``wp load`` reads it."""
    lines = ["QGC WPL 110"]
    for k, it in enumerate(items):
        fields = [k, 1 if k == 0 else 0, it.frame, it.command]
        nums = [it.param1, it.param2, it.param3, it.param4, it.lat, it.lon, it.alt_m]
        lines.append("\t".join([*map(str, fields), *(f"{v:.8f}" for v in nums), str(it.autocontinue)]))
    path.write_text("\n".join(lines) + "\n")


def read_back(sitl: Sitl, items: list[MissionItem] | None) -> bool:
    """Over plain TCP: True if the vehicle holds ``items``; then clear its mission. Untimed."""
    link = connect(sitl.url, heartbeat_timeout_s=30)
    try:
        held = items is not None and not compare_items(items, link.download(MISSION), MISSION)
        link.clear(MISSION)
        return held
    finally:
        link.close()


def patrol_run(url: str, items: list[MissionItem], timeout_s: float, retries: int, limit_s: float) -> float:
    """Seconds for upload + download + compare; raises LinkError, OvertimeError or RuntimeError (mismatch)."""
    link = connect(url, heartbeat_timeout_s=30, timeout_s=timeout_s, retries=retries)
    try:
        t0 = time.perf_counter()

        def progress(_done: int, _total: int) -> None:
            if time.perf_counter() - t0 > limit_s:
                raise OvertimeError

        link.upload(items, MISSION, progress=progress)
        got = link.download(MISSION, progress=progress)
        diffs = compare_items(items, got, MISSION)
        dt = time.perf_counter() - t0
    finally:
        link.close()
    if diffs:
        raise RuntimeError(f"read-back differs: {diffs[0]}")
    if dt > limit_s:
        raise OvertimeError
    return dt


def mavproxy_run(url: str, wpl: Path, n: int, limit_s: float, workdir: Path) -> float:
    """Seconds from MAVProxy's "Loaded N waypoints from" to "Sent all N waypoints"; raises OvertimeError."""
    cmd = [
        sys.executable,
        "-u",
        "-m",
        "MAVProxy.mavproxy",
        f"--master={url}",
        "--non-interactive",
        "--no-state",
        "--default-modules=wp",
        "--target-system=1",  # else --cmd runs before the heartbeat and loads into system 0's list
        "--target-component=1",
        f"--cmd=wp load {wpl}",
    ]
    env = {**os.environ, "MAVLINK20": "1"}
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir, env=env
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put((time.perf_counter(), line))

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.perf_counter() + limit_s
    start = None
    try:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise OvertimeError
            if proc.poll() is not None and lines.empty():
                raise RuntimeError(f"MAVProxy exited with {proc.returncode} before 'Sent all {n} waypoints'")
            try:
                t, line = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if start is None and f"Loaded {n} waypoints from" in line:
                start = t
            elif start is not None and "Got MISSION_ACK: TYPE_MISSION:" in line and "ACCEPTED" not in line:
                raise RuntimeError(f"vehicle ended the upload ({line.split(':')[-1].strip()}); MAVProxy does not retry")
            elif start is not None and f"Sent all {n} waypoints" in line:
                time.sleep(0.5)  # let an ACK arrive before the link goes; "held" is checked afterwards
                return t - start
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def repeat(row: Row, runs: int, once: Callable[[int], float], after: Callable[[], bool] | None, budget: bool) -> None:
    """Run ``once(run)`` up to ``runs`` times, recording times or failures.

    With ``budget``, the row is not repeated after a run that did not finish or once its runs took ROW_BUDGET_S.
    """
    for k in range(runs):
        if budget and (row.spent_s >= ROW_BUDGET_S or "timeout" in row.failures):
            row.cut = True
            return
        t0 = time.perf_counter()
        try:
            row.times.append(once(k))
        except OvertimeError:
            row.failures.append("timeout")
        except (LinkError, RuntimeError) as e:
            row.failures.append(str(e))
        row.spent_s += time.perf_counter() - t0
        if after is not None:
            row.held.append(after())


def run_case(lossy: bool, items: list[MissionItem], wpl: Path, runs: int, limit_s: float, tmp: Path) -> list[Row]:
    binary = find_sitl()
    assert binary is not None
    sitl = Sitl(binary, tmp / ("sitl-lossy" if lossy else "sitl-tcp"), HOME, free_instance()).start()
    rows = [
        Row("MAVProxy wp load (anchor)"),
        Row("patrol upload+verify, defaults (1.5 s, 5 retries)"),
        Row("patrol upload+verify, timeout_s=0.5, retries=8"),
    ]
    try:
        read_back(sitl, None)  # waits out SITL's boot, clears

        def via(k: int, fn: Callable[[str], float]) -> float:
            if not lossy:
                return fn(sitl.url)
            with LossyProxy(sitl.port, drop=DROP, seed=7 + k) as proxy:
                return fn(proxy.url)

        repeat(
            rows[0],
            runs,
            lambda k: via(k, lambda url: mavproxy_run(url, wpl, len(items), limit_s, tmp)),
            lambda: read_back(sitl, items),
            budget=False,
        )
        for row, (timeout_s, retries) in zip(rows[1:], ((1.5, 5), (0.5, 8)), strict=True):
            repeat(
                row,
                runs,
                lambda k, t=timeout_s, r=retries: via(k, lambda url: patrol_run(url, items, t, r, limit_s)),
                lambda: read_back(sitl, None),
                budget=True,
            )
    finally:
        sitl.stop()
    return rows


def show(title: str, rows: list[Row], limit_s: float) -> None:
    print(f"\n{title}")
    anchor = rows[0].median()
    for row in rows:
        med = row.median()
        timeouts = row.failures.count("timeout")
        others = [f for f in row.failures if f != "timeout"]
        notes = [
            f"{len(row.times)}/{row.runs} runs finished" if med is None else f"median of {len(row.times)}/{row.runs}"
        ]
        if timeouts:
            notes.append(f"{timeouts} did not finish in {limit_s:g} s")
        if others:
            notes.append(f"{len(others)} failed: {others[0]}")
        if row is rows[0] and row.held:
            notes.append(f"held afterwards {sum(row.held)}/{len(row.held)}")
        if row.cut:
            notes.append("not repeated")
        if med is None:
            fig = f"did not finish in {limit_s:g} s" if timeouts else "failed"
        else:
            fig = f"{med:8.2f} s" + ("" if row is rows[0] or anchor is None else f"  ratio {med / anchor:6.2f}")
        print(f"  {row.label:<52} {fig}  ({'; '.join(notes)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per row (median printed)")
    ap.add_argument("--limit", type=float, default=180.0, help="seconds before a run counts as not finished")
    args = ap.parse_args()
    if find_sitl() is None:
        print("skipped: no ArduPilot SITL binary (set ARDUPILOT_SITL or install /opt/ardupilot/arducopter)")
        return
    if importlib.util.find_spec("MAVProxy") is None:
        print("skipped: MAVProxy is not importable; install it with: pip install mavproxy")
        return
    items = mission_items()
    with tempfile.TemporaryDirectory(prefix="bench_upload_") as d:
        tmp = Path(d)
        wpl = tmp / "mission.waypoints"
        write_wpl(items, wpl)
        print(f"{len(items)}-item mission (home + {len(items) - 1} waypoints), ArduCopter SITL speedup {SPEEDUP}")
        t0 = time.perf_counter()
        show("(a) plain TCP", run_case(False, items, wpl, args.runs, args.limit, tmp), args.limit)
        show(
            f"(b) loopback proxy dropping {DROP:.0%} of frames each way",
            run_case(True, items, wpl, args.runs, args.limit, tmp),
            args.limit,
        )
    print(
        "\nnotes: ratio = patrol / MAVProxy. MAVProxy's time ends at its 'Sent all N waypoints' line: it checks\n"
        "nothing after an upload (no read-back; it only prints the vehicle's MISSION_ACK) and sends MISSION_COUNT\n"
        "once, never again. 'held afterwards' is an untimed read-back by patrol over plain TCP. patrol's time\n"
        "includes a full read-back (download + compare). ArduPilot re-requests a lost upload item after 1 s of\n"
        f"simulated time ({1 / SPEEDUP:.3f} s wall here) and cancels it after 8 s ({8 / SPEEDUP:.2f} s wall here);\n"
        "patrol resends after its own timeout (0.5 s / 1.5 s wall); a download is paced by the ground station alone.\n"
        f"total {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
