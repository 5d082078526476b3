"""Fleet benchmark (issue 16): makespan of the sample district and of a 200-compound synthetic district flown
by 1, 2, 3 and 5 identical vehicles, beside the ideal and the target; then the sample flown by fleets of
different vehicles (a vehicles file: launch points, batteries, speeds, speaker levels).

The ideal is the lower bound for N identical vehicles: the larger of the longest sortie and
(total flying time + the battery swaps any schedule needs, (sorties - N) x swap) / N. Target (issue 16):
makespan within 15 % of the ideal at N = 3. For different vehicles the ideal is that plan's own sorties
shared evenly (the larger of its longest sortie and its flying + swaps / N): not a bound over every
assignment, since a sortie's length depends on the vehicle that flies it; the identical-vehicle row of the
same N is printed beside as the anchor. Figures, never asserted.

    python benchmarks/bench_fleet.py [--synthetic N] [--swap-min M] [--mixed-only]
"""

from __future__ import annotations

import argparse
import dataclasses
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
from patrol.types import Compound, District, FleetParams, FleetVehicle, PatrolParams, Plan, Vehicle  # noqa: E402

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


# Launch points on open ground at the sample's west and east edges (WGS-84 lat, lon).
WEST = (38.414865, 112.723072)
EAST = (38.417567, 112.737957)


def mixed_fleets(vehicle: Vehicle) -> list[tuple[str, tuple[FleetVehicle, ...]]]:
    """The vehicles files the mixed benchmark plans: each entry a name and its vehicles."""

    def v(vid: str, end_min: float, top_mps: float = 10.0, at=None, db: float = 100.0, transit=None) -> FleetVehicle:
        airframe = Vehicle.with_top_speed(top_mps, end_min, 20.0)
        if transit is not None:
            airframe = Vehicle(**{**airframe.__dict__, "transit_speed_mps": transit})
        lat, lon = at if at is not None else (None, None)
        return FleetVehicle(vid, airframe, db, lon, lat, origin="bench")

    same = vehicle.endurance_min
    return [
        ("2 identical (file)", (v("A", same), v("B", same))),
        ("2 at home, 30 + 18 min", (v("A", 30), v("B", 18))),
        ("2 launch points W 30 / E 18 min 8 m/s", (v("W", 30, at=WEST), v("E", 18, 8, EAST, transit=12))),
        (
            "2 launch points, W 100 dB / E 104 dB",
            (v("W", 30, at=WEST), v("E", 18, 8, EAST, db=104.0, transit=12)),
        ),
        (
            "3: W 30, E 18, home 25 min 98 dB",
            (v("W", 30, at=WEST), v("E", 18, 8, EAST, transit=12), v("H", 25, db=98.0)),
        ),
    ]


def bench_mixed(
    name: str,
    district: District,
    params: PatrolParams,
    vehicle: Vehicle,
    swap_s: float,
    fleets: list[tuple[str, tuple[FleetVehicle, ...]]],
) -> None:
    print(f"{name}, different vehicles (vehicles file): swap {swap_s / 60:g} min, separation 50 m")
    heads = ("fleet", "sorties", "makespan_min", "ideal_min", "ratio", "identical_N_min", "min_sep_m", "plan_s")
    heads += ("hovers", "heard_pct", "no_hover_pct")
    widths = (38, 7, 12, 9, 6, 15, 9, 6, 6, 9, 12)
    print(
        "  " + " ".join(f"{h:>{w}}" if k else f"{h:<{w}}" for k, (h, w) in enumerate(zip(heads, widths, strict=True)))
    )
    anchor: dict[int, float] = {}
    for label, units in fleets:
        n = len(units)
        if n not in anchor:
            ref = plan_patrol(district, params, vehicle=vehicle, fleet=FleetParams(vehicles=n, swap_s=swap_s))
            anchor[n] = ref.fleet.makespan_s
        t0 = time.perf_counter()
        plan = plan_patrol(district, params, vehicle=vehicle, fleet=FleetParams(vehicles=n, swap_s=swap_s, units=units))
        dt = time.perf_counter() - t0
        f = plan.fleet
        sep = "-" if f.min_separation_m is None else f"{f.min_separation_m:.0f}"
        hovers = sum(c["shadow_loiters"] for c in plan.compound_stats)
        bare = (  # the same fleet without hovers over the shadow (none without buildings): what they add
            plan_patrol(
                district,
                dataclasses.replace(params, shadow_loiters=0),
                vehicle=vehicle,
                fleet=FleetParams(vehicles=n, swap_s=swap_s, units=units),
            )
            if district.buildings
            else plan
        )
        print(
            f"  {label:<38} {len(plan.sorties):>7} {f.makespan_s / 60:>12.1f} {f.ideal_s / 60:>9.1f} "
            f"{f.makespan_s / f.ideal_s:>6.3f} {anchor[n] / 60:>15.1f} {sep:>9} {dt:>6.1f} {hovers:>6} "
            f"{_heard_pct(plan):>9.1f} {_heard_pct(bare):>12.1f}"
        )
    print("  anchor: '2 identical (file)' plans as --vehicles 2 (same makespan); identical_N_min is --vehicles N")
    print(
        "  heard_pct: mean predicted heard-whole share of the compounds' open ground; no_hover_pct: --shadow-loiters 0"
    )


def _heard_pct(plan: Plan) -> float:
    return 100.0 * float(np.mean([c["predicted_heard_whole_share"] for c in plan.compound_stats]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", type=int, default=200)
    ap.add_argument("--swap-min", type=float, default=5.0)
    ap.add_argument("--mixed-only", action="store_true", help="only the sample's different-vehicle fleets")
    args = ap.parse_args()
    vehicle = Vehicle.with_top_speed(10.0, 25.0, 20.0)
    sample = read_district(
        [ROOT / "geofences" / "sample_district.geojson"], [], [ROOT / "geofences" / "sample_buildings.geojson"]
    )
    if args.mixed_only:
        bench_mixed("sample district", sample, PatrolParams(), vehicle, args.swap_min * 60, mixed_fleets(vehicle))
        return
    bench("sample district", sample, PatrolParams(), vehicle, args.swap_min * 60)
    bench_mixed("sample district", sample, PatrolParams(), vehicle, args.swap_min * 60, mixed_fleets(vehicle))
    if args.synthetic:
        district, params = synthetic(args.synthetic)
        bench(f"synthetic district ({args.synthetic})", district, params, vehicle, args.swap_min * 60)
        bench_mixed(
            f"synthetic district ({args.synthetic})", district, params, vehicle, args.swap_min * 60,
            [f for f in mixed_fleets(vehicle) if f[0] == "2 at home, 30 + 18 min"],
        )  # fmt: skip


if __name__ == "__main__":
    main()
