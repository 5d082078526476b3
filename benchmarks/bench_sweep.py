"""Sweep benchmark: 200 seeded synthetic polygons (5 classes x 40), r = 30 m, and a 2,000-compound city.

Prints, per class, for patrol and for a QGroundControl-style sweep (lanes a fixed spacing apart from
half a spacing in, placed only while a whole swath fits, flown in lane order):
coverage (share of area within r of the route), length ratio (route length / (area / spacing)),
turns (heading changes over 30 degrees), and ms per polygon (patrol: sweep + route).

Targets (issue #2): coverage >= 0.995 on every class; length ratio <= 1.30; median < 2 ms per
polygon; a 2,000-compound city planned (whole pipeline) in under 10 s. Issue #15 (awkward shapes cut
into cells of their own angles): star length ratio <= 1.35, every class <= 1.25, coverage 1.000 and
heard min >= 0.99 on every class, any accepted spacing covering every class >= 0.99, the city's CPU
time no higher.

    python benchmarks/bench_sweep.py [--city N]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.synthetic, run from anywhere

from benchmarks.synthetic import SHAPE_CLASSES, make_shape
from patrol.plan.acoustics import choose_spacing_speed, lane_overrun_m
from patrol.plan.coverage import in_range_share, longest_heard_s, sample_points
from patrol.plan.route import compound_route, sweep_and_route
from patrol.plan.sweep import _rotate, ranked_angles, ring_edges, scanline, sweep_lanes
from patrol.types import Compound, Vehicle

R_M = 30.0
PROMPT_S = 6.0
GAP = None


def turns(xy: np.ndarray) -> int:
    d = np.diff(xy, axis=0)
    d = d[np.hypot(d[:, 0], d[:, 1]) > 1e-6]
    if len(d) < 2:
        return 0
    h = np.arctan2(d[:, 1], d[:, 0])
    dh = np.abs((np.diff(h) + math.pi) % (2 * math.pi) - math.pi)
    return int(np.count_nonzero(dh > math.radians(30)))


def qgc_style(geom, spacing: float, angle: float) -> np.ndarray:
    """Fixed-spacing lanes from half a spacing in, only while a whole swath fits; lane order."""
    er = _rotate(ring_edges(shapely.convex_hull(geom)), angle)
    er_full = _rotate(ring_edges(geom), angle)
    ymin, ymax = float(er[:, [1, 3]].min()), float(er[:, [1, 3]].max())
    n = max(1, int((ymax - ymin) // spacing))
    ys = ymin + spacing / 2 + spacing * np.arange(n)
    pts = []
    for k, row in enumerate(scanline(er_full, ys)):
        if not row:
            continue
        a, b = row[0][0], row[-1][1]  # QGC flies straight across gaps and holes
        seq = [(a, ys[k]), (b, ys[k])]
        pts += seq if k % 2 == 0 else seq[::-1]
    c, s = math.cos(angle), math.sin(angle)
    return np.array([(x * c - y * s, x * s + y * c) for x, y in pts]).reshape(-1, 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=40)
    ap.add_argument("--city", type=int, default=2000)
    ap.add_argument("--city-only", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.city_only:
        city(args.city_only)
        return
    spacing, speed, _ = choose_spacing_speed(R_M, PROMPT_S, Vehicle())
    overrun = lane_overrun_m(R_M, spacing, speed, PROMPT_S)
    print(
        f"r = {R_M} m, prompt {PROMPT_S} s -> spacing {spacing:.1f} m, speed {speed:.2f} m/s, "
        f"lane run-on {overrun:.1f} m"
    )
    print("len ratio: route without run-on (the issue's measure); +run: as planned, with the run-on that lets")
    print("edge residents hear a whole prompt and the repair spurs to corners that would hear only part of one;")
    print("heard min: worst share of the area that hears a whole prompt (1,500 grid points, not the repair's 800)")
    print(
        f"{'class':8} {'n':>3} | {'cov min':>8} {'cov mean':>8} {'len ratio':>9} {'+run':>6} {'heard min':>9}"
        f" {'turns':>6} {'ms med':>7} {'ms p95':>7}"
        f" | {'QGC cov min':>11} {'QGC mean':>8} {'QGC ratio':>9}"
    )
    all_ms = []
    worst = {}
    tot_len = tot_as = tot_q = tot_run = 0.0
    for kind in SHAPE_CLASSES:
        rng = np.random.default_rng(hash(kind) % 2**32 if False else SHAPE_CLASSES.index(kind) + 1)
        cov, ms, tr, qcov, heard = [], [], [], [], []
        route_len = area_over_s = q_len = run_len = 0.0
        for _ in range(args.per_class):
            geom = make_shape(kind, rng)
            c = Compound("x", "x", "scattered", 1, geom)
            t0 = time.perf_counter()
            _lanes, route = sweep_and_route(c, geom, spacing, speed, 40.0, 0.0, radius_m=R_M)
            ms.append((time.perf_counter() - t0) * 1000)
            flown = sweep_and_route(
                c, geom, spacing, speed, 40.0, 0.0, overrun_m=overrun, radius_m=R_M, prompt_s=PROMPT_S
            )
            run = np.array([(s.x_m, s.y_m) for s in flown[1].steps])
            run_len += float(np.hypot(*np.diff(run, axis=0).T).sum())
            pts = sample_points(geom, 1500)
            dur = np.hypot(*np.diff(run, axis=0).T) / speed
            heard.append(float(np.mean(longest_heard_s(pts, run[:-1], run[1:], dur, R_M) >= PROMPT_S - 1e-6)))
            xy = np.array([(s.x_m, s.y_m) for s in route.steps])
            line = LineString(xy) if len(xy) > 1 else shapely.Point(xy[0])
            cov.append(in_range_share(geom, line, R_M))
            route_len += line.length
            area_over_s += geom.area / spacing
            tr.append(turns(xy))
            q = qgc_style(geom, spacing, ranked_angles(geom, spacing, speed)[0])
            qcov.append(in_range_share(geom, LineString(q), R_M) if len(q) > 1 else 0.0)
            q_len += LineString(q).length if len(q) > 1 else 0.0
        all_ms += ms
        tot_len += route_len
        tot_as += area_over_s
        tot_q += q_len
        tot_run += run_len
        worst[kind] = min(cov)
        print(
            f"{kind:8} {len(cov):3d} | {min(cov):8.4f} {statistics.mean(cov):8.4f} {route_len / area_over_s:9.3f} "
            f"{run_len / area_over_s:6.3f} {min(heard):9.4f} {statistics.mean(tr):6.1f} "
            f"{statistics.median(ms):7.2f} {np.percentile(ms, 95):7.2f}"
            f" | {min(qcov):11.4f} {statistics.mean(qcov):8.4f} {q_len / area_over_s:9.3f}"
        )
    print(
        f"all classes: length ratio {tot_len / tot_as:.3f}, {tot_run / tot_as:.3f} with run-on "
        f"(QGC-style {tot_q / tot_as:.3f}); "
        f"median {statistics.median(all_ms):.2f} ms per polygon; worst coverage "
        f"{min(worst.values()):.4f} ({min(worst, key=worst.get)})"
    )
    print(
        "  targets: coverage 1.000 and heard min >= 0.99 on every class; len ratio <= 1.25 per class, star <= 1.35\n"
        "  anchor (before cells, issue #15): len ratio rect 1.094, lshape 1.169, star 1.580, holes 1.158, "
        "twopart 1.183; heard min rect 1.0000, lshape 0.9980, star 0.9953, holes 0.9993, twopart 0.9920; "
        "star ms med 275\n"
        "  anchor (before the heard-whole repair): len ratio star 1.711; heard min lshape 0.988, twopart 0.9887"
    )
    wide_spacing()
    if args.city:
        import subprocess

        subprocess.run([sys.executable, __file__, "--city-only", str(args.city)], check=False)  # a fresh process


def wide_spacing(per_class: int = 40) -> None:
    """Coverage of every class with lanes forced wide: 1.93 r (the issue's 58 m at r = 30 m) and the widest accepted."""
    from patrol.plan.acoustics import max_spacing_m

    print(f"lanes forced wide (--spacing-m), r = {R_M:g} m: worst coverage per class")
    for s in (58.0, max_spacing_m(R_M)):
        row = []
        for kind in SHAPE_CLASSES:
            rng = np.random.default_rng(SHAPE_CLASSES.index(kind) + 1)
            worst = 1.0
            for _ in range(per_class):
                geom = make_shape(kind, rng)
                c = Compound("x", "x", "scattered", 1, geom)
                lanes = sweep_lanes("x", geom, s, 3.0, radius_m=R_M)
                xy = [(st.x_m, st.y_m) for st in compound_route(c, lanes, geom, 40.0, 0.0).steps]
                worst = min(worst, in_range_share(geom, LineString(xy), R_M) if len(xy) > 1 else 0.0)
            row.append(f"{kind} {worst:.4f}")
        print(f"  spacing {s:5.1f} m: " + "  ".join(row))
    print(
        "  target: >= 0.99 on every class at any accepted spacing; anchor (before cells): star 0.9992 at 58 m, "
        "0.9993 at 59.4 m, the rest 1.0000; (before the radius cap) twopart 0.980 at 58 m"
    )


def city(n: int) -> None:
    """Plan a synthetic city of ``n`` compounds end to end (sweep, route, sorties, missions, coverage)."""
    from patrol.geo import LocalFrame
    from patrol.plan.pipeline import plan_patrol
    from patrol.types import District, PatrolParams

    rng = np.random.default_rng(2020)
    side = math.ceil(math.sqrt(n))
    comps = []
    for k in range(n):
        i, j = divmod(k, side)
        kind = SHAPE_CLASSES[k % len(SHAPE_CLASSES)]
        g = make_shape(kind, rng, size_m=float(rng.uniform(80, 250)))
        g = shapely.affinity.translate(g, j * 320.0 - shapely.centroid(g).x, i * 320.0 - shapely.centroid(g).y)
        tier = ("scattered", "guarded", "closed")[k % 3]
        comps.append(Compound(f"C{k}", f"C{k}", tier, 1 + k % 3, g, properties={"levels": 2 + k % 7}))
    frame = LocalFrame(112.73, 38.415)
    hlon, hlat = frame.to_wgs84(side * 160.0 - 160.0, side * 160.0 - 20.0)  # a street near the middle
    district = District(frame, tuple(comps))
    t0, cpu0 = time.perf_counter(), time.process_time()
    # one launch point for a whole city: a long-endurance airframe so the far corners are in reach
    plan = plan_patrol(
        district, PatrolParams(home_lon=float(hlon), home_lat=float(hlat)), vehicle=Vehicle(endurance_min=90)
    )
    dt, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    import os
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = usage.ru_maxrss / 1024.0
    print(
        f"city: {n} compounds, {len(plan.sorties)} sorties, {sum(len(m) for m in plan.missions)} mission items "
        f"planned in {dt:.2f} s ({1000 * dt / n:.2f} ms per compound), {cpu:.1f} s of CPU (load "
        f"{os.getloadavg()[0]:.1f}); peak RSS {rss_mb:.0f} MB\n"
        "  target: under 10 s; no memory target\n"
        "  anchor (before, 2,000): 8.9 s on an idle machine (an older planner), 42.6 s on a busy one; the planner\n"
        "  before the hear()/in-range/transit fixes (main 9e04fb3), run side by side with them on this shared\n"
        "  machine (load 12-15): 62.3 s of CPU (347 s wall), peak RSS 336 MB, against 45.3 s (267 s) and 155 MB\n"
        "  (the process is single-threaded: its wall time on a loaded machine is its CPU time over its share);\n"
        "  the convex cells (issue 15) side by side with their base: 63.0 s of CPU before, 61.4 s after"
    )


if __name__ == "__main__":
    main()
