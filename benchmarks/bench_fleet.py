"""Fleet benchmark (issue 16): makespan of the sample district and of a 200-compound synthetic district flown
by 1, 2, 3 and 5 identical vehicles, beside the ideal and the target.

The ideal is the lower bound for N identical vehicles: the larger of the longest sortie and
(total flying time + the battery swaps any schedule needs, (sorties - N) x swap) / N. Target (issue 16):
makespan within 15 % of the ideal at N = 3. Figures, never asserted.

    python benchmarks/bench_fleet.py [--synthetic N] [--swap-min M]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks.synthetic, run from anywhere

from benchmarks.synthetic import SHAPE_CLASSES, make_shape  # noqa: E402
from patrol.geo import LocalFrame  # noqa: E402
from patrol.inputs.compounds import read_district  # noqa: E402
from patrol.plan.pipeline import plan_patrol  # noqa: E402
from patrol.plan.playback import planned_track  # noqa: E402
from patrol.types import Compound, District, FleetParams, PatrolParams, Plan, Vehicle  # noqa: E402

FLEETS = (1, 2, 3, 5)
TARGET = 1.15


def synthetic(n: int) -> tuple[District, PatrolParams]:
    """``n`` seeded compounds of the five shape classes, 80-250 m across, on a 260 m grid; home mid-grid."""
    rng = np.random.default_rng(16)
    side = math.ceil(math.sqrt(n))
    comps = []
    for k in range(n):
        i, j = divmod(k, side)
        g = make_shape(SHAPE_CLASSES[k % len(SHAPE_CLASSES)], rng, size_m=float(rng.uniform(80, 250)))
        g = shapely.affinity.translate(g, j * 260.0 - shapely.centroid(g).x, i * 260.0 - shapely.centroid(g).y)
        tier = ("scattered", "guarded", "closed")[k % 3]
        comps.append(Compound(f"C{k}", f"C{k}", tier, 1 + k % 3, g, properties={"levels": 2 + k % 7}))
    frame = LocalFrame(112.73, 38.415)
    hlon, hlat = frame.to_wgs84(side * 130.0 - 130.0, side * 130.0 - 5.0)  # a street near the middle
    return District(frame, tuple(comps)), PatrolParams(home_lon=float(hlon), home_lat=float(hlat))


def one_vehicle(plan: Plan, swap_s: float) -> tuple[float, float]:
    """Makespan of one vehicle flying every sortie in turn (the same time model as the fleet's), and its ideal."""
    home = (plan.home_x_m, plan.home_y_m)
    t = sum(float(planned_track(s, home, plan.audibility.speed_mps, plan.vehicle).t_s[-1]) for s in plan.sorties)
    total = t + swap_s * (len(plan.sorties) - 1)
    return total, total


def bench(name: str, district: District, params: PatrolParams, vehicle: Vehicle, swap_s: float) -> None:
    print(f"{name}: {len(district.compounds)} compounds, swap {swap_s / 60:g} min, separation 50 m")
    heads = ("N", "sorties", "makespan_min", "ideal_min", "ratio", "min_sep_m", "holds_s", "plan_s")
    widths = (2, 7, 12, 9, 6, 9, 7, 6)
    print("  " + " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for n in FLEETS:
        t0 = time.perf_counter()
        plan = plan_patrol(district, params, vehicle=vehicle, fleet=FleetParams(vehicles=n, swap_s=swap_s))
        dt = time.perf_counter() - t0
        if plan.fleet is None:
            span, ideal = one_vehicle(plan, swap_s)
            sep, holds = "-", 0.0
        else:
            span, ideal = plan.fleet.makespan_s, plan.fleet.ideal_s
            sep = "-" if plan.fleet.min_separation_m is None else f"{plan.fleet.min_separation_m:.0f}"
            holds = sum(max(sl.hold_s, 0.0) for sl in plan.fleet.slots)
        print(
            f"  {n:>2} {len(plan.sorties):>7} {span / 60:>12.1f} {ideal / 60:>9.1f} {span / ideal:>6.3f} {sep:>9} "
            f"{holds:>7.0f} {dt:>6.1f}"
        )
    print(f"  target: ratio <= {TARGET:.2f} at N = 3 (within 15 % of the ideal); anchor: N = 1 is the one-vehicle plan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", type=int, default=200)
    ap.add_argument("--swap-min", type=float, default=5.0)
    args = ap.parse_args()
    vehicle = Vehicle.with_top_speed(10.0, 25.0, 20.0)
    sample = read_district(
        [ROOT / "geofences" / "sample_district.geojson"], [], [ROOT / "geofences" / "sample_buildings.geojson"]
    )
    bench("sample district", sample, PatrolParams(), vehicle, args.swap_min * 60)
    if args.synthetic:
        district, params = synthetic(args.synthetic)
        bench(f"synthetic district ({args.synthetic})", district, params, vehicle, args.swap_min * 60)


if __name__ == "__main__":
    main()
