"""Buildings in the acoustic model on the sample district (printed, not asserted).

For every compound of geofences/sample_district.geojson with the ~991 footprints of
geofences/sample_buildings.geojson: its open ground (compound minus footprints, the share that is to
count, issue 12), and the time the shielded field (:func:`patrol.plan.shielding.heard_from`) takes for one
speaker position over the compound's centre at 40 m on its ~3,000-point grid, against the unshielded disc.
Target (issue 12): the whole district's prediction under 5 s; the prediction needs every track sample near a
compound (hundreds per compound), so the per-position figure shows how far the per-pair reference
implementation is from that and why it is not yet wired into the prediction.

    python benchmarks/bench_shielding.py [--points 3000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patrol.inputs.compounds import read_district  # noqa: E402
from patrol.plan.coverage import sample_points  # noqa: E402
from patrol.plan.shielding import heard_from  # noqa: E402
from patrol.types import Speaker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=3000)
    ap.add_argument("--alt-m", type=float, default=40.0)
    a = ap.parse_args()
    d = read_district(
        ROOT / "geofences/sample_district.geojson", building_paths=ROOT / "geofences/sample_buildings.geojson"
    )
    blds = list(d.buildings)
    tree = shapely.STRtree([b.geometry for b in blds])
    foot = shapely.union_all([b.geometry for b in blds])
    sp = Speaker()
    total_area = open_area = 0.0
    t_disc = t_shield = 0.0
    heard_disc = heard_shield = n_pts = 0
    for c in d.compounds:
        total_area += c.geometry.area
        open_area += c.geometry.difference(foot).area
        pts = sample_points(c.geometry, a.points)
        ctr = c.geometry.representative_point()
        src = (ctr.x, ctr.y, a.alt_m)
        t0 = time.perf_counter()
        disc = heard_from(sp, src, pts)
        t1 = time.perf_counter()
        shielded = heard_from(sp, src, pts, blds, tree=tree)
        t2 = time.perf_counter()
        t_disc += t1 - t0
        t_shield += t2 - t1
        heard_disc += int(disc.sum())
        heard_shield += int(shielded.sum())
        n_pts += len(pts)
    print(f"{len(d.compounds)} compounds, {len(blds)} footprints, {n_pts} grid points")
    print(f"open ground: {open_area:.0f} of {total_area:.0f} m2 ({open_area / total_area:.1%}) of the compounds")
    print(
        f"one position per compound at {a.alt_m:g} m: {heard_disc} points in the disc, "
        f"{heard_shield} of them still heard through the buildings"
    )
    print(f"{'figure':40} {'measured':>10} {'target':>10} {'anchor':>10}  (anchor: the disc, 300 positions)")
    print(f"{'disc, one position per compound (s)':40} {t_disc:10.3f} {'-':>10} {'-':>10}")
    per_pos = t_shield / max(len(d.compounds), 1)
    print(f"{'shielded, one position per compound (s)':40} {t_shield:10.3f} {'-':>10} {'-':>10}")
    print(
        f"{'shielded, 300 positions/compound est. (s)':40} {per_pos * 300 * len(d.compounds):10.1f} "
        f"{5.0:10.1f} {t_disc * 300:10.1f}"
    )


if __name__ == "__main__":
    main()
