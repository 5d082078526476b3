"""Mission upload benchmark: patrol's upload + verify against MAVProxy's ``wp load``, on ArduPilot SITL.

A 500-item mission (item 0 home, then 499 NAV_WAYPOINTs at 40 m relative altitude on a grid around the
SITL home) goes to a fresh ArduCopter SITL per case, (a) over plain TCP and (b) through a loopback
proxy (``sitl_tests.lossy_proxy.LossyProxy``) that drops 20% of MAVLink frames each way.

Rows, each timed from the first upload message to the end of the transfer, seconds (median of the runs):

* MAVProxy ``wp load FILE`` (the anchor; module ``wp`` only, a QGC WPL 110 file): from its
  "Loaded N waypoints from FILE" line to its "Sent all N waypoints" line. MAVProxy verifies nothing
  after an upload, so that is its whole time; whether the vehicle really holds the mission afterwards
  is read back by patrol over plain TCP, untimed, and printed as "held".
* patrol, library defaults: ``Link.upload`` (go-back-N for ArduPilot: items streamed ahead of the
  vehicle's requests, the window sized to the link) + full ``Link.download`` + ``compare_items``
  (upload and verify).
* patrol one item at a time (``window=1``, as for any other autopilot): the same.

The ratio is patrol / MAVProxy; each row prints its target and the anchor figure from before this
version beside it. Case (b) also prints the floor of the one-item-in-flight protocol at this loss rate,
and case (c) (a radio-like link: 57,600 baud, 100 ms each way, SITL in real time) the bandwidth floor.

Every run has a limit of 180 s ("did not finish in 180 s"). MAVProxy gets
all its runs (a run ends early if the vehicle cancels the upload: MAVProxy never retries); a patrol row is not
repeated after a run that did not finish or once its runs took 100 s, which keeps the benchmark near 10 minutes.
The mission is cleared (over plain TCP) before every run.

SITL runs at PATROL_SITL_SPEEDUP (default 30; case (c) always at 1). ArduPilot's mission-protocol timers run
on simulated time: it re-requests a lost upload item after 1 s and cancels the upload after 8 s without one,
i.e. after 0.03 s and 0.27 s of wall time at speedup 30, which favours vehicle-paced transfers (MAVProxy's
upload); ``PATROL_SITL_SPEEDUP=1`` gives real-time vehicle timers (and much longer MAVProxy runs).

Skips with one line (exit 0) without an ArduPilot SITL binary or without MAVProxy (``pip install mavproxy``).

    python benchmarks/bench_upload.py [--runs 3] [--limit 180] [--no-radio]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
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
from sitl_tests.radio_proxy import RadioProxy  # noqa: E402
from sitl_tests.sitl import SPEEDUP, Sitl, find_sitl, free_instance  # noqa: E402

HOME = (38.4148649, 112.7299427, 800.0, 0.0)  # lat, lon, alt AMSL, heading
N_ITEMS = 500  # including home
DROP = 0.2
ROW_BUDGET_S = 100.0
RADIO_BAUD = 57600
RADIO_LATENCY_S = 0.1


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
    rtt_s: float = math.nan

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


def patrol_run(url: str, items: list[MissionItem], window: int | None, limit_s: float) -> float:
    """Seconds for upload + download + compare; raises LinkError, OvertimeError or RuntimeError (mismatch)."""
    link = connect(url, heartbeat_timeout_s=30)
    if window is not None:
        link.window = window
        link.MAX_WINDOW = window  # one item in flight, whatever the link
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


def run_case(case: str, items: list[MissionItem], wpl: Path, runs: int, limit_s: float, tmp: Path) -> list[Row]:
    """``case`` is "tcp", "lossy" or "radio" (the radio case always runs SITL in real time)."""
    binary = find_sitl()
    assert binary is not None
    speedup = 1 if case == "radio" else SPEEDUP
    sitl = Sitl(binary, tmp / f"sitl-{case}", HOME, free_instance(), speedup=speedup).start()
    rows = [
        Row("MAVProxy wp load (anchor)"),
        Row("patrol upload+verify, defaults"),
        Row("patrol upload+verify, one item at a time"),
    ]
    try:
        read_back(sitl, None)  # waits out SITL's boot, clears
        if case == "tcp":
            rows[0].rtt_s = min_rtt(sitl.url)

        def via(k: int, fn: Callable[[str], float]) -> float:
            if case == "tcp":
                return fn(sitl.url)
            if case == "lossy":
                with LossyProxy(sitl.port, drop=DROP, seed=7 + k) as proxy:
                    return fn(proxy.url)
            with RadioProxy(sitl.port, baud=RADIO_BAUD, latency_s=RADIO_LATENCY_S) as proxy:
                return fn(proxy.url)

        repeat(
            rows[0],
            runs,
            lambda k: via(k, lambda url: mavproxy_run(url, wpl, len(items), limit_s, tmp)),
            lambda: read_back(sitl, items),
            budget=False,
        )
        for row, window in zip(rows[1:], (None, 1), strict=True):
            repeat(
                row,
                runs,
                lambda k, w=window: via(k, lambda url: patrol_run(url, items, w, limit_s)),
                lambda: read_back(sitl, None),
                budget=True,
            )
    finally:
        sitl.stop()
    return rows


def min_rtt(url: str, n: int = 30) -> float:
    """The shortest of ``n`` MISSION_REQUEST_LIST -> MISSION_COUNT round trips over ``url``, seconds."""
    link = connect(url, heartbeat_timeout_s=30)
    try:
        best = math.inf
        for _ in range(n):
            t0 = time.perf_counter()
            link.conn.mav.mission_request_list_send(link.target_system, link.target_component, MISSION)
            if link._wait_type(("MISSION_COUNT",), MISSION, 1.0) is not None:
                best = min(best, time.perf_counter() - t0)
        return best
    finally:
        link.close()


def frame_bytes() -> tuple[int, int]:
    """On-air sizes of one MAVLink 2 MISSION_ITEM_INT and one MISSION_REQUEST_INT (zero-trimmed), bytes."""
    m = mav.MAVLink(None, srcSystem=255, srcComponent=190)
    m.WIRE_PROTOCOL_VERSION = "2.0"
    it = mav.MAVLink_mission_item_int_message(1, 1, 250, 3, 16, 0, 1, 0, 0, 0, 0, 384149000, 1127299000, 40.0, 0)
    rq = mav.MAVLink_mission_request_int_message(1, 1, 250, 0)
    return len(it.pack(m)), len(rq.pack(m))


TARGETS = {"tcp": 1.0, "lossy": 0.7, "radio": None}
# patrol's figures before this version (docs/flying.md; same benchmark, 30x, median of 3)
ANCHORS = {"tcp": "0.23 s, 1.35x MAVProxy", "lossy": "13.0 s, 1.21x MAVProxy", "radio": "not measured"}


def show(title: str, case: str, rows: list[Row], limit_s: float, n: int) -> None:
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
        print(f"  {row.label:<44} {fig}  ({'; '.join(notes)})")
    target = TARGETS[case]
    if target is not None:
        print(f"  target: patrol defaults <= {target:g}x MAVProxy; anchor (before): {ANCHORS[case]}")


def floors(rtt_s: float, n: int, item_b: int, request_b: int) -> tuple[float, float]:
    """(loss floor, radio bandwidth floor) for upload + read-back of ``n`` items, seconds.

    Loss: one item in flight, a request and its reply each lost with probability DROP, a loss noticed
    after one round trip (an ideal timer): ``n / (1 - DROP)^2`` round trips for the upload and as many for
    a one-at-a-time read-back. Bandwidth: every item crosses the radio once each way (upload, then
    read-back) with the requests going the other way at the same time; plus a round trip per phase.
    """
    loss = 2 * n * rtt_s / (1 - DROP) ** 2
    rate = RADIO_BAUD / 10.0
    band = 2 * (n * max(item_b, request_b) / rate + 2 * RADIO_LATENCY_S)
    return loss, band


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per row (median printed)")
    ap.add_argument("--limit", type=float, default=180.0, help="seconds before a run counts as not finished")
    ap.add_argument("--no-radio", action="store_true", help="skip case (c), the real-time radio-like link")
    args = ap.parse_args()
    if find_sitl() is None:
        print("skipped: no ArduPilot SITL binary (set ARDUPILOT_SITL or install /opt/ardupilot/arducopter)")
        return
    if importlib.util.find_spec("MAVProxy") is None:
        print("skipped: MAVProxy is not importable; install it with: pip install mavproxy")
        return
    items = mission_items()
    item_b, request_b = frame_bytes()
    with tempfile.TemporaryDirectory(prefix="bench_upload_") as d:
        tmp = Path(d)
        wpl = tmp / "mission.waypoints"
        write_wpl(items, wpl)
        print(f"{len(items)}-item mission (home + {len(items) - 1} waypoints), ArduCopter SITL speedup {SPEEDUP}")
        t0 = time.perf_counter()
        tcp = run_case("tcp", items, wpl, args.runs, args.limit, tmp)
        show("(a) plain TCP", "tcp", tcp, args.limit, len(items))
        lossy = run_case("lossy", items, wpl, args.runs, args.limit, tmp)
        show(f"(b) loopback proxy dropping {DROP:.0%} of frames each way", "lossy", lossy, args.limit, len(items))
        loss_floor, band_floor = floors(tcp[0].rtt_s, len(items), item_b, request_b)
        med = lossy[1].median()
        print(
            f"  floor of the one-item-in-flight protocol at {DROP:.0%} loss each way: {loss_floor:.2f} s "
            f"(round trip {1000 * tcp[0].rtt_s:.2f} ms measured over TCP)"
            + ("" if med is None else f"; patrol defaults {med / loss_floor:.2f}x the floor (it keeps items in flight)")
        )
        if not args.no_radio:
            radio = run_case("radio", items, wpl, args.runs, args.limit, tmp)
            show(
                f"(c) radio-like link: {RADIO_BAUD} baud, {1000 * RADIO_LATENCY_S:.0f} ms each way, SITL in real time",
                "radio",
                radio,
                args.limit,
                len(items),
            )
            med = radio[1].median()
            print(
                f"  bandwidth floor: {band_floor:.2f} s ({len(items)} items of {item_b} B each way at "
                f"{RADIO_BAUD / 10:.0f} B/s, requests {request_b} B)"
                + ("" if med is None else f"; patrol defaults {med / band_floor:.2f}x the floor")
            )
    print(
        "\nnotes: ratio = patrol / MAVProxy. MAVProxy's time ends at its 'Sent all N waypoints' line: it checks\n"
        "nothing after an upload (no read-back; it only prints the vehicle's MISSION_ACK) and sends MISSION_COUNT\n"
        "once, never again. 'held afterwards' is an untimed read-back by patrol over plain TCP. patrol's time\n"
        "includes a full read-back (download + compare). ArduPilot re-requests a lost upload item after 1 s of\n"
        f"simulated time ({1 / SPEEDUP:.3f} s wall here) and cancels it after 8 s ({8 / SPEEDUP:.2f} s wall here).\n"
        f"total {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
