"""Buildings in the acoustic model on the sample district (printed, not asserted).

The sample district (geofences/sample_district.geojson, the ~991 footprints of
geofences/sample_buildings.geojson) planned as `make demo` plans it (40 m, 100 dB, 25-minute quad; no prompt
build: clips of half the heard-whole window), then its heard-whole prediction
(:func:`patrol.plan.pipeline.predicted_hearing`) timed with and without the buildings' shielding. Target
(issue 12): the district predicted with shielding in under 5 s on this 2-core machine. Anchor: the per-path
reference (:func:`patrol.plan.shielding.path_difference_m`, shapely per path, the code before the bulk one)
timed on a sample of the same speaker-ear paths and scaled to all of them (it was ~52 s). Then the audit
(:func:`patrol.review.audit.run_audit`) of every sortie flown exactly as planned, with and without shielding.

    python benchmarks/bench_shielding.py [--speaker-db 100] [--paths 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patrol.inputs.compounds import read_district  # noqa: E402
from patrol.plan import coverage, pipeline  # noqa: E402
from patrol.plan.shielding import Screens, path_difference_m, path_differences_m  # noqa: E402
from patrol.types import PatrolParams, Speaker, Vehicle  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speaker-db", type=float, default=100.0)
    ap.add_argument("--paths", type=int, default=2000, help="paths the per-path reference is timed on")
    a = ap.parse_args()
    d = read_district(
        ROOT / "geofences/sample_district.geojson", building_paths=ROOT / "geofences/sample_buildings.geojson"
    )
    sp, veh, params = Speaker(level_db_at_1m=a.speaker_db), Vehicle(endurance_min=25), PatrolParams()
    t0 = time.perf_counter()
    plain = pipeline.plan_patrol(d, dataclasses.replace(params, shadow_loiters=0), speaker=sp, vehicle=veh)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = pipeline.plan_patrol(d, params, speaker=sp, vehicle=veh)
    t_plan = time.perf_counter() - t0
    home = (plan.home_x_m, plan.home_y_m)
    args = (d.compounds, plan.sorties, home, plan.audibility.speed_mps, veh, sp, params)
    clip_of = pipeline.default_clip_of(params)

    def predict(shielding: bool) -> tuple[float, float, dict]:
        t, c = time.perf_counter(), time.process_time()
        got = pipeline.predicted_hearing(*args, clip_of, buildings=d.buildings, shielding=shielding)
        return time.perf_counter() - t, time.process_time() - c, got

    t_disc, c_disc, disc = predict(False)
    t_shield, c_shield, shield = predict(True)
    paths = _disc_paths(args, clip_of)  # every (ear, speaker position) pair inside a disc, as the prediction sees them
    pick = np.random.default_rng(1).choice(len(paths[0]), min(a.paths, len(paths[0])), replace=False)
    ears, src = paths[0][pick], paths[1][pick]
    tree = shapely.STRtree([b.geometry for b in d.buildings])
    t = time.perf_counter()
    ear_h = sp.listener_height_m
    ref = [path_difference_m(tuple(s), (e[0], e[1], ear_h), d.buildings, tree) for e, s in zip(ears, src, strict=True)]
    t_ref = (time.perf_counter() - t) / len(pick) * len(paths[0])
    bulk = path_differences_m(Screens.of(d.buildings), ears, src, sp.listener_height_m)
    agree = bool(np.allclose(bulk, ref, rtol=1e-6, atol=1e-7))
    heard = np.mean([v[0] for v in shield.values()])
    shadowed = sum(shield[s["id"]][3] * s["open_ground_m2"] for s in plan.compound_stats)
    print(
        f"{len(d.compounds)} compounds, {len(d.buildings)} footprints, {len(plan.sorties)} sorties at "
        f"{a.speaker_db:g} dB; {len(paths[0])} speaker-ear paths inside a disc"
    )
    print(
        f"heard whole on the open ground, mean per compound: {np.mean([v[0] for v in disc.values()]):.3f} "
        f"without the buildings' shielding, {heard:.3f} with it; {shadowed:.0f} m2 of open ground shadowed"
    )
    print(f"bulk path differences equal the per-path reference on {len(pick)} paths: {agree}")
    print(f"{'figure (s; cpu: this process alone)':44} {'measured':>9} {'cpu':>7} {'target':>7} {'anchor':>7}")
    print(f"{'whole plan, shielded prediction inside':44} {t_plan:9.2f} {'':>7} {'-':>7} {t_plain:7.2f}")
    print("  anchor: the same plan without the hovers over shadowed ground (--shadow-loiters 0)")
    for name, p in (("without hovers", plain), ("with hovers", plan)):
        sh = [c["predicted_heard_whole_share"] for c in p.compound_stats]
        print(
            f"  {name}: heard whole {min(sh):.3f}-{max(sh):.3f} per compound (mean {np.mean(sh):.3f}), "
            f"{sum(c['predicted_shadowed_m2'] for c in p.compound_stats):.0f} m2 shadowed, "
            f"{sum(c['predicted_unreachable_m2'] for c in p.compound_stats):.0f} m2 unreachable, "
            f"{sum(c['shadow_loiters'] for c in p.compound_stats)} hovers, {len(p.sorties)} sorties, "
            f"{sum(s.predicted_time_s for s in p.sorties) / 60:.1f} min of flight"
        )
    print(f"{'prediction, disc only':44} {t_disc:9.2f} {c_disc:7.2f} {'-':>7} {'-':>7}")
    print(f"{'prediction with shielding':44} {t_shield:9.2f} {c_shield:7.2f} {5.0:7.1f} {t_disc + t_ref:7.1f}")
    print("  anchor: the disc-only prediction plus the per-path reference on every path (estimated from the sample)")
    t_a, c_a, got_a = _audit_as_planned(d, plan, clip_of, True)
    t_a0, _, _ = _audit_as_planned(d, plan, clip_of, False)
    gap = max(abs(a.heard[a.ground].mean() - shield[a.id][0]) for a in got_a)
    what = f"audit of all {len(plan.sorties)} sorties flown as planned"
    print(f"{what:44} {t_a:9.2f} {c_a:7.2f} {'-':>7} {t_a0:7.2f}")
    print(f"  anchor: the same audit without shielding; largest gap audit-prediction {100 * gap:.1f} points")


def _audit_as_planned(d, plan, clip_of, shielding: bool):
    """``patrol audit``'s computation (run_audit) on every sortie flown exactly as planned, 10 Hz, with the planned
    speaker reports: wall and cpu seconds, and the audits."""
    from patrol.review.audit import PackageInfo, run_audit
    from patrol.review.flightlog import CuePlay, FlightLog

    home = (plan.home_x_m, plan.home_y_m)
    logs, clip_s = [], {}
    for s in plan.sorties:
        tr = pipeline.planned_track(s, home, plan.audibility.speed_mps, plan.vehicle)
        t = np.arange(0.0, tr.t_s[-1], 0.1)
        lon, lat = d.frame.to_wgs84(np.interp(t, tr.t_s, tr.xy[:, 0]), np.interp(t, tr.t_s, tr.xy[:, 1]))
        plays = tuple(
            CuePlay(float(e[0]), e[1], e[2], e[3], 0.0, 0.0, "statustext")
            for e in pipeline.planned_events(s, tr.done_s, clip_of)
        )
        clip_s.update({got[0]: got[1] for _, c in s.cues if (got := clip_of(c)) is not None})
        n = len(t)
        logs.append(
            FlightLog(f"sortie-{s.index}", None, t, np.asarray(lat), np.asarray(lon), np.interp(t, tr.t_s, tr.alt_m),
                      np.zeros(n), np.full(n, "AUTO", object), np.ones(n, bool), np.full(n, np.nan), (), plays, ())
        )  # fmt: skip
    comps = [{"id": c.id, "name": c.name, "tier": c.tier, "geometry": c.geometry} for c in d.compounds]
    blds = tuple(d.buildings)
    pkg = PackageInfo(
        None, d.frame, comps, [], plan.speaker, None, plan.params.prompt_s, clip_s, {},
        tuple(b.geometry for b in blds), blds,
    )  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    got = run_audit(logs, pkg, shielding=shielding)
    return time.perf_counter() - t0, time.process_time() - c0, got


def _disc_paths(args, clip_of) -> tuple[np.ndarray, np.ndarray]:
    """Every (ear, speaker position) pair the prediction tests inside a disc: ``(ears_xy, sources_xyz)``."""
    compounds, sorties, home, speed, veh, sp, params = args
    ears, srcs = [], []
    for s in sorties:
        tr = pipeline.planned_track(s, home, speed, veh)
        events = pipeline.planned_events(s, tr.done_s, clip_of)
        clip_s = {got[0]: got[1] for cue in (c for _, c in s.cues) if (got := clip_of(cue)) is not None}
        plays = [(x, y) for x, y, _ in coverage.clip_plays(events, clip_s, float(tr.t_s[-1]))]
        _t, xy, alt = tr.at_knots_and(plays)
        r = coverage.radius_table(sp, alt, params.radius_m)
        for c in compounds:
            pts = coverage.sample_points(c.geometry)
            d2 = ((pts[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
            i, j = np.nonzero(d2 <= r[None, :] ** 2)
            ears.append(pts[i])
            srcs.append(np.column_stack([xy[j], alt[j]]))
    return np.concatenate(ears), np.concatenate(srcs)


if __name__ == "__main__":
    main()
