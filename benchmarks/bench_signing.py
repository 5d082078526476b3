"""Signing refusal benchmark: seconds from opening a link to the one-line signing refusal, on ArduPilot SITL.

A fresh ArduCopter SITL gets a key over SERIAL0 (``patrol keys install``'s library call); then
``patrol.vehicle.link.connect`` opens SERIAL1, where ArduPilot enforces signing, with no key, a wrong key and
the right key, ``--runs`` times each (median printed). The anchor is what patrol did before it read signing:
with no key it got as far as the fence upload and gave up after 9 s with "no answer after MISSION_COUNT";
with a wrong key after 15 s with "no vehicle heartbeat" (issue 14). The CLI adds its start-up (about 1 s).

SITL runs in real time (``PATROL_SITL_SPEEDUP=1`` unless set): the wrong-key verdict waits for two of the
vehicle's heartbeats, one a second on simulated time, so a faster SITL shortens it.

    python benchmarks/bench_signing.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PATROL_SITL_SPEEDUP", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patrol.errors import PatrolError
from patrol.vehicle.keys import install_key
from patrol.vehicle.link import connect
from patrol.vehicle.signing import new_key_file
from sitl_tests.conftest import start_sitl
from sitl_tests.sitl import find_sitl

TARGETS = {"no key": 5.0, "wrong key": 3.0, "right key": 2.0}
ANCHORS = {"no key": "9 s, misleading line", "wrong key": "15 s, misleading line", "right key": "about 1 s"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="runs per case (median printed)")
    args = ap.parse_args()
    if find_sitl() is None:
        print("skipped: no ArduPilot SITL binary (set ARDUPILOT_SITL or install /opt/ardupilot/arducopter)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PATROL_STATE_DIR"] = f"{tmp}/state"
        right, wrong = new_key_file(f"{tmp}/fleet.key")[0], new_key_file(f"{tmp}/other.key")[0]
        sitl = start_sitl(Path(tmp) / "sitl", (38.4105, 112.7270))
        try:
            install_key(sitl.url, right)
            print(f"SERIAL1 of ArduCopter SITL (speedup {os.environ['PATROL_SITL_SPEEDUP']}), signing enforced")
            for label, key in (("no key", None), ("wrong key", wrong), ("right key", right)):
                times, outcome = [], ""
                for _ in range(args.runs):
                    t0 = time.monotonic()
                    try:
                        connect(sitl.url2, signing_key=key, heartbeat_timeout_s=30).close()
                        outcome = "connected"
                    except PatrolError as e:
                        outcome = str(e).split(": ", 1)[1][:70]
                    times.append(time.monotonic() - t0)
                fig = statistics.median(times)
                target = f"target <= {TARGETS[label]:g} s"
                print(f"  {label:<10} {fig:5.2f} s  {target}  anchor (before): {ANCHORS[label]}  [{outcome}]")
        finally:
            sitl.stop()


if __name__ == "__main__":
    main()
