"""Coverage audit from real flight logs: per compound, how much of it heard a whole warning, when, which.

Method (docs/audit.md): each compound is sampled on a regular grid (about ``points`` cell centres). For
every track sample the audible ground radius follows from the package's acoustic model at the
*recorded* altitude (slant range to a listener at street level). A grid point *heard a warning whole*
when it was in range for every track sample during one whole play of a clip (play intervals come from
the cue reports in the log and the clip lengths in the package); it is *in range* if any sample came
within the radius. Only track samples near the compound are considered, so the cost is
``grid points x nearby samples`` per compound, in numpy (float32), in chunks; and the track is thinned first
(:func:`thin_track`: a sample per 1.5 m moved or per second, plus every sample where a gap, a play or a
compound's neighbourhood begins or ends; not with ``assume_playing``), which moves the shares by about a tenth
of a point at most (benchmarks/bench_audit.py).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from patrol import i18n
from patrol.geo import LocalFrame
from patrol.i18n import N_, _
from patrol.package.reader import Package
from patrol.plan import coverage
from patrol.plan.shielding import Shield
from patrol.review.flightlog import FlightLog
from patrol.types import Building, Speaker

MAX_GAP_S = coverage.MAX_GAP_S  # a telemetry gap longer than this breaks a run: nothing can be claimed across it
THIN_M = 1.5  # the audit skips track samples within this (m) of the last one it kept...
THIN_S = 1.0  # ...unless this much time (s) passed
SHADOW_STEP_M = 1.0  # with buildings, the track is looked at every this many metres (a log's own rate aside)


@dataclass(frozen=True)
class PackageInfo:
    """What the audit needs from a mission package."""

    folder: Path
    frame: LocalFrame
    compounds: list[dict[str, Any]]  # id, name, tier, geometry (local metres), predicted shares
    routes_local: list[Any]  # planned route LineStrings per sortie, local metres
    speaker: Speaker
    radius_override_m: float | None
    prompt_s: float
    clip_s: dict[int, float]  # track -> clip duration
    track_prompt: dict[int, str]  # track -> prompt id
    footprints: tuple[Any, ...] = ()  # building footprints, local metres: heard whole counts on the open ground
    buildings: tuple[Building, ...] = ()  # the same with their heights: the roofs screen the speaker (Shield)
    # per compound id: the open ground the plan said no permitted hover reaches (heard_field.geojson's
    # ``unreachable``), local metres; none without buildings
    unreachable: dict[str, Any] = field(default_factory=dict)


def audit_view(pkg: Package) -> PackageInfo:
    """What the audit needs of a package read by :func:`patrol.package.reader.read_package`."""
    frame = pkg.frame
    comps = []
    stats = {c["id"]: c for c in pkg.manifest["compounds"]}
    for feat in pkg.layer("compound"):
        props = feat["properties"]
        g = frame.geom_to_local(shape(feat["geometry"]))
        comps.append({**stats.get(props["id"], {}), **props, "geometry": g})
    routes = [frame.geom_to_local(shape(feat["geometry"])) for feat in pkg.layer("route")]
    patrol = pkg.params
    blds = pkg.buildings(frame)
    unreachable = {
        feat["properties"]["compound"]: frame.geom_to_local(shape(feat["geometry"]))
        for feat in pkg.layer("heard_field")
        if feat["properties"].get("kind") == "unreachable"
    }
    clip_s, track_prompt = {}, {}
    for c in pkg.build.clips if pkg.build is not None else ():
        clip_s[c.track] = float(c.duration_s)
        track_prompt[c.track] = c.prompt_id
    return PackageInfo(
        pkg.folder,
        frame,
        comps,
        routes,
        pkg.speaker,
        patrol.get("radius_m"),
        float(patrol["prompt_s"]),
        clip_s,
        track_prompt,
        tuple(b.geometry for b in blds),
        tuple(blds),
        unreachable,
    )


def radius_table(pkg: PackageInfo, alt_m: np.ndarray) -> np.ndarray:
    """Audible ground radius (m) for each recorded altitude above home (0 where nothing is heard)."""
    return coverage.radius_table(pkg.speaker, alt_m, pkg.radius_override_m)


def play_intervals(log: FlightLog, pkg: PackageInfo, end_s: float) -> list[tuple[float, float, int]]:
    """Intervals ``(start_s, end_s, track)`` when a whole clip was playing, from the log's cue reports
    (:func:`patrol.plan.coverage.clip_plays`, the planner's rule for its own cues)."""
    events = [(p.t_s, p.action, p.track, p.repeats) for p in log.plays]
    return coverage.clip_plays(events, pkg.clip_s, end_s)


@dataclass
class CompoundAudit:
    """Per-compound evidence, accumulated over logs."""

    id: str
    name: str
    tier: str
    area_m2: float
    points: np.ndarray  # grid, local metres
    in_range: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    heard: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    time_over_s: float = 0.0
    prompts: list[dict[str, Any]] = field(default_factory=list)
    breaches: int = 0
    xte: list[np.ndarray] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    ground: np.ndarray | None = None  # per grid point: open ground (outside every footprint); None: all
    open_ground_m2: float | None = None  # the compound's area outside every footprint (None: no footprints)
    unscreened: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # heard whole but for the roofs
    predicted_heard_whole_share: float | None = None
    predicted_by_sortie: dict[str, float] = field(default_factory=dict)  # the plan's share from each sortie alone
    heard_by_log: dict[str, float] = field(default_factory=dict)  # share heard whole by each log alone
    heard_by_vehicle: dict[str, np.ndarray] = field(default_factory=dict)  # per vehicle: points its logs heard whole

    def __post_init__(self) -> None:
        self.in_range = np.zeros(len(self.points), bool)
        self.heard = np.zeros(len(self.points), bool)
        self.unscreened = np.zeros(len(self.points), bool)

    @property
    def shadowed_m2(self) -> float:
        """Open ground (m²) that would have heard a whole warning from the flown track but for the buildings."""
        ground_m2 = self.area_m2 if self.open_ground_m2 is None else self.open_ground_m2
        return ground_m2 * coverage.share(self.unscreened & ~self.heard, _ground(self))


def _near_mask(xy: np.ndarray, r: np.ndarray, geom: Polygon | MultiPolygon) -> np.ndarray:
    minx, miny, maxx, maxy = geom.bounds
    rr = r.max(initial=0.0)
    return (xy[:, 0] >= minx - rr) & (xy[:, 0] <= maxx + rr) & (xy[:, 1] >= miny - rr) & (xy[:, 1] <= maxy + rr)


def thin_track(
    xy: np.ndarray, r: np.ndarray, t: np.ndarray, keep: np.ndarray, step_m: float = THIN_M, max_s: float = THIN_S
) -> np.ndarray:
    """Indices of the track samples worth auditing: the first and last, every ``keep`` sample, and a sample when
    its disc of hearing moved (centre shift plus radius change) ``step_m`` or more since the last kept sample or
    more than ``max_s`` passed. A dropped sample's disc is within ``step_m`` of a kept one's; times stay exact.

    >>> xy = np.column_stack([np.arange(10) * 0.5, np.zeros(10)])
    >>> thin_track(xy, np.full(10, 30.0), np.arange(10) * 0.1, np.zeros(10, bool)).tolist()
    [0, 3, 6, 9]
    """
    n = len(t)
    if step_m <= 0 or n < 3:
        return np.arange(n)
    xs, ys, rs, ts, force = xy[:, 0].tolist(), xy[:, 1].tolist(), r.tolist(), t.tolist(), keep.tolist()
    out = [0]
    kx, ky, kr, kt = xs[0], ys[0], rs[0], ts[0]
    hypot = math.hypot
    for i in range(1, n - 1):
        if force[i] or ts[i] - kt > max_s or hypot(xs[i] - kx, ys[i] - ky) + abs(rs[i] - kr) >= step_m:
            out.append(i)
            kx, ky, kr, kt = xs[i], ys[i], rs[i], ts[i]
    out.append(n - 1)
    return np.array(out)


def densify(xy: np.ndarray, breaks: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Where two consecutive samples of a track lie more than ``step_m`` apart with no break between them
    (``breaks[i]``: the track breaks before sample ``i``), samples on the straight line between them, evenly
    spaced: ``(at, frac)`` per sample of the denser track, the sample it follows and the fraction of the way
    to the next (0 for the track's own samples).

    >>> at, frac = densify(np.array([[0.0, 0.0], [3.0, 0.0], [3.5, 0.0]]), np.array([True, False, False]), 1.0)
    >>> at.tolist(), frac.round(3).tolist()
    ([0, 0, 0, 1, 2], [0.0, 0.333, 0.667, 0.0, 0.0])
    """
    n = len(xy)
    if n < 2:
        return np.arange(n), np.zeros(n)
    gap = np.hypot(*np.diff(xy, axis=0).T)
    extra = np.where(np.asarray(breaks, bool)[1:], 0, np.ceil(gap / step_m - 1e-9).astype(int) - 1).clip(0)
    reps = np.append(extra + 1, 1)
    at = np.repeat(np.arange(n), reps)
    k = np.arange(len(at)) - np.repeat(np.cumsum(reps) - reps, reps)
    return at, k / reps[at]


def audit_log(
    log: FlightLog,
    pkg: PackageInfo,
    audits: dict[str, CompoundAudit],
    assume_playing: bool = False,
    chunk: int = 4096,
    thin_m: float = THIN_M,
    shield: Shield | None = None,
) -> None:
    """Add one log's evidence to ``audits`` (in place).

    Time over, cross-track and breaches use every sample; range and hearing use the track thinned by
    :func:`thin_track` (``thin_m`` = 0 keeps every sample), keeping the samples where a telemetry gap, take-off
    or landing, a compound's neighbourhood or a clip play begins or ends, so those boundaries stay exact. With
    ``assume_playing`` nothing is thinned: the length of a run in range is timed between samples, and thinning
    would shorten it by up to the time between kept samples. ``shield``: the package's buildings screen the
    speaker as the planner's prediction takes them (:func:`patrol.plan.coverage.hear`, at the logged altitude),
    on the track looked at every :data:`SHADOW_STEP_M` (:func:`densify`): unlike a disc, a shadow can begin
    and end between two samples, so a 4 Hz telemetry log would otherwise hear more than the 10 Hz DataFlash
    log of the same flight (1.8 points more on the SITL sample sortie).
    """
    x, y = pkg.frame.to_local(log.lon, log.lat)
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    t = log.t_s
    n = len(t)
    r = radius_table(pkg, log.alt_m)
    airborne = log.alt_m > 2.0
    r = np.where(airborne, r, 0.0)
    intervals = play_intervals(log, pkg, float(t[-1])) if not assume_playing else []
    routes = shapely.union_all(pkg.routes_local) if pkg.routes_local else None
    dt = np.diff(t, append=t[-1])
    breaks = np.concatenate([[True], np.diff(t) > MAX_GAP_S])

    def both_sides(edge: np.ndarray) -> None:  # edge[i]: something changes between samples i and i + 1
        force[:-1] |= edge
        force[1:] |= edge

    force = np.zeros(n, bool)
    both_sides(breaks[1:])
    both_sides(airborne[1:] != airborne[:-1])
    iv = np.array([(a, b) for a, b, _ in intervals], float).reshape(-1, 2)
    force[np.searchsorted(t, iv[:, 0], "left").clip(0, n - 1)] = True  # the first sample of each play
    force[(np.searchsorted(t, iv[:, 1], "right") - 1).clip(0, n - 1)] = True  # and its last
    near_of = {}
    for c in pkg.compounds:
        a = audits[c["id"]]
        geom = c["geometry"]
        near_of[c["id"]] = near = _near_mask(xy, r, geom)
        both_sides(near[1:] != near[:-1])
        over = shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) & airborne
        a.time_over_s += float(dt[over].sum())
        if routes is not None and over.any():
            a.xte.append(shapely.distance(routes, shapely.points(xy[over])))
        a.breaches += sum(
            1 for e in log.fence_breaches() if geom.distance(shapely.Point(*pkg.frame.to_local(e.lon, e.lat))) < 100.0
        )
    kept = thin_track(xy, r, t, force, 0.0 if assume_playing else thin_m)
    kxy, kr, kt, kbreaks, kalt = xy[kept], r[kept], t[kept], breaks[kept], np.asarray(log.alt_m, float)[kept]
    at, frac = np.arange(len(kt)), np.zeros(len(kt))
    if shield is not None:  # a shadow can come and go between two samples: look at least every SHADOW_STEP_M
        at, frac = densify(kxy, kbreaks, SHADOW_STEP_M)
        nxt = np.minimum(at + 1, len(kt) - 1)
        kt = kt[at] + frac * (kt[nxt] - kt[at])
        kxy = kxy[at] + frac[:, None] * (kxy[nxt] - kxy[at])
        kalt = kalt[at] + frac * (kalt[nxt] - kalt[at])
        kr = np.where(kalt > 2.0, radius_table(pkg, kalt), 0.0)
        kbreaks = kbreaks[at] & (frac == 0.0)
    plays = None if assume_playing else [(s, e) for s, e, _ in intervals]
    for c in pkg.compounds:
        near_k = near_of[c["id"]][kept]
        near_k = near_k[at] | ((frac > 0.0) & near_k[np.minimum(at + 1, len(near_k) - 1)])
        sel = np.flatnonzero(near_k)
        if len(sel) == 0:
            continue
        a = audits[c["id"]]
        # the samples near the compound, a break wherever the track left its neighbourhood
        seg_break = kbreaks[sel] | np.concatenate([[True], np.diff(sel) > 1])
        h = coverage.hear(
            a.points, kt[sel], kxy[sel], kr[sel], plays, seg_break, pkg.prompt_s, chunk, kalt[sel], shield
        )
        a.logs.append(log.path)
        a.in_range |= h.in_range
        a.heard_by_log[log.path] = coverage.share(h.heard, _ground(a))
        v = vehicle_of(log)
        a.heard_by_vehicle[v] = a.heard_by_vehicle.get(v, np.zeros(len(a.points), bool)) | h.heard
        a.heard |= h.heard
        a.unscreened |= h.heard if h.unscreened is None else h.unscreened
        for k in h.plays_reached:
            start, _end, track = intervals[k]
            a.prompts.append(
                {
                    "prompt_id": pkg.track_prompt.get(track),
                    "track": track,
                    "start_s": round(start, 1),
                    "start_utc": None if log.start_utc is None else round(log.start_utc + start, 1),
                    "log": Path(log.path).name,
                }
            )


def vehicle_of(log: FlightLog) -> str:
    """Which vehicle flew ``log``: the fleet's id from a ``patrol fly --fleet`` log's name (``V2-sortie-03-...``),
    else its MAVLink system id (``sysid 3``), else the log's file name.

    >>> import numpy as np
    >>> e = np.zeros(0)
    >>> vehicle_of(FlightLog("flights/V2-sortie-03-20261202T101500Z.tlog", None, e, e, e, e, e, e, e, e, (), (), ()))
    'V2'
    """
    m = _FLEET_LOG.match(Path(log.path).name)
    if m:
        return m.group(1)
    return f"sysid {log.system_id}" if log.system_id is not None else Path(log.path).name


_FLEET_LOG = re.compile(r"^([A-Za-z0-9_.]+)-sortie-\d+-\d{8}T\d{6}Z\.tlog$")


def run_audit(
    logs: list[FlightLog],
    pkg: PackageInfo,
    assume_playing: bool = False,
    points: int = 3000,
    thin_m: float = THIN_M,
    shielding: bool = True,
) -> list[CompoundAudit]:
    """Audit every compound of the package against all ``logs`` together; the package's buildings screen the
    speaker as in the plan's prediction (not with ``shielding`` False)."""
    from patrol.plan.coverage import sample_points

    audits = {
        c["id"]: CompoundAudit(
            c["id"],
            c.get("name", c["id"]),
            c.get("tier", ""),
            float(c["geometry"].area),
            sample_points(c["geometry"], points),
            predicted_heard_whole_share=c.get("predicted_heard_whole_share"),
            predicted_by_sortie=dict(c.get("predicted_heard_whole_by_sortie") or {}),
        )
        for c in pkg.compounds
    }
    if pkg.footprints:
        tree = shapely.STRtree(list(pkg.footprints))
        blocks = shapely.union_all(list(pkg.footprints))
        for c in pkg.compounds:
            a = audits[c["id"]]
            a.ground = coverage.open_ground(a.points, tree)
            a.open_ground_m2 = float(c["geometry"].difference(blocks).area)
    shield = Shield.of(pkg.buildings, pkg.speaker) if shielding else None
    for log in logs:
        audit_log(log, pkg, audits, assume_playing, thin_m=thin_m, shield=shield)
    return list(audits.values())


def _ground(a: CompoundAudit) -> np.ndarray:
    """The open-ground mask of a compound's grid (all points where the package has no buildings)."""
    return a.ground if a.ground is not None else np.ones(len(a.points), bool)


def uncovered_geojson(
    a: CompoundAudit, pkg: PackageInfo, geom: Polygon | MultiPolygon, shadowed: bool = False
) -> dict[str, Any] | None:
    """The open ground of a compound that did not hear a whole warning, as one WGS84 GeoJSON feature
    (``kind`` ``uncovered``); with ``shadowed``, only the part of it in the buildings' shadow (``kind``
    ``shadowed``: it would have heard a whole warning but for the roofs)."""
    lost = (a.unscreened & ~a.heard) if shadowed else ~a.heard
    miss = a.points[lost & _ground(a)]
    if len(miss) == 0:
        return None
    step = math.sqrt(a.area_m2 / max(len(a.points), 1))
    cells = shapely.box(miss[:, 0] - step / 2, miss[:, 1] - step / 2, miss[:, 0] + step / 2, miss[:, 1] + step / 2)
    area = shapely.union_all(cells).intersection(geom)
    if pkg.footprints:  # open ground only: people are not heard inside blocks
        area = area.difference(shapely.union_all(list(pkg.footprints)))
    area = area.simplify(step / 4)
    if area.is_empty:
        return None
    return {
        "type": "Feature",
        "properties": {"compound": a.id, "kind": "shadowed", "shadowed_m2": round(area.area, 1)}
        if shadowed
        else {"compound": a.id, "kind": "uncovered", "uncovered_m2": round(area.area, 1)},
        "geometry": shapely.geometry.mapping(pkg.frame.geom_to_wgs84(area)),
    }


def unreachable_geojson(
    a: CompoundAudit, pkg: PackageInfo, geom: Polygon | MultiPolygon, planned_m2: float | None = None
) -> dict[str, Any] | None:
    """The open ground of a compound the plan said no permitted hover reaches (in a no-fly buffer, or behind roofs
    from every position a hover may take), as one WGS84 GeoJSON feature of ``kind`` ``unreachable``: the package's
    own area (heard_field.geojson), on the compound's open ground, with the plan's figure ``planned_m2`` (the
    manifest's ``predicted_unreachable_m2``; the area's own where the manifest has none). Missed there, the plan
    could not help it; missed elsewhere (``uncovered``), the flight did. None where the plan reported none."""
    area = pkg.unreachable.get(a.id)
    if area is None:
        return None
    area = area.intersection(geom)
    if pkg.footprints:
        area = area.difference(shapely.union_all(list(pkg.footprints)))
    if area.is_empty:
        return None
    m2 = round(float(planned_m2 if planned_m2 is not None else area.area), 1)
    return {
        "type": "Feature",
        "properties": {"compound": a.id, "kind": "unreachable", "predicted_unreachable_m2": m2},
        "geometry": shapely.geometry.mapping(pkg.frame.geom_to_wgs84(area)),
    }


def report(audits: list[CompoundAudit], pkg: PackageInfo, logs: list[FlightLog], min_coverage: float) -> dict:
    """The report.json document."""
    rows = []
    for a in audits:
        n = max(len(a.points), 1)
        xte = np.concatenate(a.xte) if a.xte else np.zeros(0)
        rows.append(
            {
                "id": a.id,
                "name": a.name,
                "tier": a.tier,
                "area_m2": round(a.area_m2, 1),
                "in_range_share": round(float(a.in_range.sum()) / n, 4),
                "heard_whole_share": round(coverage.share(a.heard, _ground(a)), 4) if len(a.heard) else 0.0,
                "heard_whole_share_whole_area": round(float(a.heard.sum()) / n, 4),
                "shadowed_m2": round(a.shadowed_m2, 1),
                "predicted_heard_whole_share": a.predicted_heard_whole_share,
                "predicted_heard_whole_by_sortie": a.predicted_by_sortie,
                "time_over_s": round(a.time_over_s, 1),
                "prompts_played": a.prompts,
                "fence_breaches": a.breaches,
                "cross_track_m": {
                    "mean": round(float(xte.mean()), 2) if len(xte) else None,
                    "p95": round(float(np.percentile(xte, 95)), 2) if len(xte) else None,
                    "max": round(float(xte.max()), 2) if len(xte) else None,
                },
                "flown": bool(a.logs),
                "heard_whole_by_vehicle": {
                    v: round(coverage.share(m, _ground(a)), 4) for v, m in sorted(a.heard_by_vehicle.items())
                },
                "passes": (round(coverage.share(a.heard, _ground(a)), 4) if len(a.heard) else 0.0) >= min_coverage,
            }
        )
    return {
        "package": str(pkg.folder),
        "logs": [
            {
                "path": lg.path,
                "vehicle": vehicle_of(lg),
                "system_id": lg.system_id,
                "duration_s": round(lg.duration_s, 1),
                "start_utc": lg.start_utc,
                "plays": len(lg.plays),
                "warnings": list(lg.warnings),
            }
            for lg in logs
        ],
        "min_coverage": min_coverage,
        "method": "grid of about 3000 points per compound; heard whole = in range, not screened off by the "
        "buildings, for a whole clip play",
        "compounds": rows,
    }


def report_csv(doc: dict) -> str:
    """One row per compound."""
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["id", "name", "tier", "area_m2", "in_range_share", "heard_whole_share", "time_over_s", "fence_breaches"]
    w.writerow([_(h) for h in (*cols, "prompts_played", "cross_track_p95_m", "passes")])
    for c in doc["compounds"]:
        prompts = ";".join(sorted({str(p["prompt_id"]) for p in c["prompts_played"]}))
        w.writerow([*(c[k] for k in cols), prompts, c["cross_track_m"]["p95"], c["passes"]])
    return i18n.csv_bom() + buf.getvalue()


def _dash(v: object) -> str:
    return "-" if v is None else str(v)


def report_html(doc: dict, audits: list[CompoundAudit], pkg: PackageInfo, logs: list[FlightLog]) -> str:
    """A self-contained page (no scripts, no network): an SVG map of compounds, uncovered areas and tracks,
    and the table of report.json."""
    from html import escape

    geoms = {c["id"]: c["geometry"] for c in pkg.compounds}
    allg = shapely.union_all(list(geoms.values()))
    minx, miny, maxx, maxy = allg.buffer(50).bounds
    w, h = 900.0, 900.0 * (maxy - miny) / max(maxx - minx, 1.0)

    def pts(coords: Any) -> str:
        return " ".join(f"{(x - minx) / (maxx - minx) * w:.1f},{(maxy - y) / (maxy - miny) * h:.1f}" for x, y in coords)

    def poly_svg(g: Any, style: str, title: str = "") -> str:
        out = []
        for part in shapely.get_parts(g):
            if isinstance(part, Polygon):
                d = " ".join(f"M {pts(r.coords)} Z" for r in [part.exterior, *part.interiors])
                d = d.replace(",", " ")
                out.append(f'<path d="{d}" style="{style}" fill-rule="evenodd"><title>{escape(title)}</title></path>')
        return "".join(out)

    rows = {r["id"]: r for r in doc["compounds"]}
    svg = []
    for cid, g in geoms.items():
        if cid not in rows:
            svg.append(poly_svg(g, "fill:#ddd;stroke:#999;stroke-width:1", _("{id} (not audited)").format(id=cid)))
            continue
        share = rows[cid]["heard_whole_share"]
        hue = int(120 * max(min(share, 1.0), 0.0))
        svg.append(
            poly_svg(g, f"fill:hsl({hue},70%,60%);fill-opacity:.55;stroke:#333;stroke-width:1", f"{cid} {share:.1%}")
        )
    for a in audits:
        miss = a.points[~a.heard]
        if len(miss) and len(miss) < len(a.points):
            step = math.sqrt(a.area_m2 / max(len(a.points), 1))
            cells = shapely.union_all(
                shapely.box(miss[:, 0] - step / 2, miss[:, 1] - step / 2, miss[:, 0] + step / 2, miss[:, 1] + step / 2)
            )
            svg.append(
                poly_svg(
                    cells.intersection(geoms[a.id]),
                    "fill:#d00;fill-opacity:.6;stroke:none",
                    _("{id} not heard whole").format(id=a.id),
                )
            )
    for lg in logs:
        x, y = pkg.frame.to_local(lg.lon, lg.lat)
        keep = slice(None, None, max(len(lg.t_s) // 3000, 1))
        svg.append(
            f'<polyline class="track" points="{pts(zip(np.asarray(x)[keep], np.asarray(y)[keep], strict=True))}" '
            'style="fill:none;stroke:#1565c0;stroke-width:1.5"/>'
        )
    table = "".join(
        f"<tr class='{'ok' if r['passes'] else 'fail'}'><td>{escape(r['id'])}</td><td>{escape(r['name'])}</td>"
        f"<td>{r['tier']}</td><td>{r['area_m2']:.0f}</td><td>{r['in_range_share']:.1%}</td>"
        f"<td>{r['heard_whole_share']:.1%}</td><td>{r['time_over_s']:.0f}</td>"
        f"<td>{escape(', '.join(sorted({str(p['prompt_id']) for p in r['prompts_played']})))}</td>"
        f"<td>{r['fence_breaches']}</td><td>{_dash(r['cross_track_m']['p95'])}</td></tr>"
        for r in doc["compounds"]
    )

    def log_line(lg: dict) -> str:
        cues = _("{s} s, {n} speaker cues").format(s=f"{lg['duration_s']:.0f}", n=lg["plays"])
        warned = "; " + escape("; ".join(lg["warnings"])) if lg["warnings"] else ""
        return f"<li>{escape(lg['path'])}: {cues}{warned}</li>"

    logs_html = "".join(log_line(lg) for lg in doc["logs"])
    intro = _("Package {package}; threshold {share} of each compound hearing a whole warning.")
    intro = intro.format(package=escape(doc["package"]), share=f"{doc['min_coverage']:.0%}")
    legend = _(
        "Green compounds heard it everywhere, red cells did not hear a whole warning; the blue line is the flown track."
    )
    if i18n.language() == "en":
        legend = "\n" + legend  # the English page keeps its line break
    title, heading = _("patrol coverage audit"), _("Coverage audit")
    heads = "".join(f"<th>{_(t)}</th>" for t in AUDIT_HTML_HEADS[:5])
    heads2 = "".join(f"<th>{_(t)}</th>" for t in AUDIT_HTML_HEADS[5:])
    return f"""<!DOCTYPE html>
<html lang="{i18n.html_lang()}"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:14px sans-serif;margin:1.5em}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;
padding:3px 6px;text-align:right}} td:nth-child(2),td:nth-child(1){{text-align:left}} tr.fail{{background:#fdd}}
svg{{border:1px solid #999;background:#f8f8f8}}</style></head><body>
<h1>{heading}</h1>
<p>{intro}{legend}</p>
<ul>{logs_html}</ul>
<svg id="audit-map" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}">{"".join(svg)}</svg>
<table id="audit-table"><tr>{heads}
{heads2}</tr>
{table}</table></body></html>
"""


# The audit page's column heads (translated where shown).
AUDIT_HTML_HEADS = (
    N_("id"),
    N_("name"),
    N_("tier"),
    N_("area m²"),
    N_("in range"),
    N_("heard whole"),
    N_("time over s"),
    N_("prompts"),
    N_("fence breaches"),
    N_("cross-track p95 m"),
)
# The CSV's column heads, marked for the catalogue (report_csv translates them).
AUDIT_CSV_HEADS = (N_("area_m2"), N_("in_range_share"), N_("heard_whole_share"), N_("time_over_s"))
AUDIT_CSV_HEADS += (N_("fence_breaches"), N_("prompts_played"), N_("cross_track_p95_m"), N_("passes"))


def select_audits(
    audits: list[CompoundAudit], compounds: str = "", only_flown: bool = False, where: str = "the package"
) -> list[CompoundAudit]:
    """The audits to report: those of ``compounds`` (comma-separated ids) and, with ``only_flown``, those
    with a quarter or more of their area in range. An unknown id is refused with one line."""
    from patrol.errors import InputError

    if compounds:
        wanted = [c.strip() for c in compounds.split(",") if c.strip()]
        unknown = sorted(set(wanted) - {a.id for a in audits})
        if unknown:
            raise InputError(
                i18n._("--compounds: {unknown} not in {where}; ids are like {id}").format(
                    unknown=", ".join(unknown), where=where, id=audits[0].id
                )
            )
        audits = [a for a in audits if a.id in wanted]
    if only_flown:
        audits = [a for a in audits if a.in_range.mean() >= 0.25]
    return audits


def report_files(doc: dict, audits: list[CompoundAudit], pkg: PackageInfo, logs: list[FlightLog]) -> dict[str, str]:
    """The audit's output folder: report.json, report.csv, report.html and uncovered.geojson (per compound the
    open ground that did not hear a whole warning, the part of it in the buildings' shadow, and the open ground
    the plan said no permitted hover reaches)."""
    comps = {c["id"]: c for c in pkg.compounds}
    uncovered = []
    for a in audits:
        geom = comps[a.id]["geometry"]
        uncovered += [u for sh in (False, True) if (u := uncovered_geojson(a, pkg, geom, sh)) is not None]
        if (u := unreachable_geojson(a, pkg, geom, comps[a.id].get("predicted_unreachable_m2"))) is not None:
            uncovered.append(u)
    return {
        "report.json": json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
        "report.csv": report_csv(doc),
        "report.html": report_html(doc, audits, pkg, logs),
        "uncovered.geojson": json.dumps({"type": "FeatureCollection", "features": uncovered}) + "\n",
    }


def report_table(doc: dict, min_coverage: float) -> str:
    """The audit summary as a text table (interface language), one row per compound, failing ones marked."""
    heads = [_(h) for h in ("id", N_("heard_whole"), N_("in_range"), "time_over_s", "prompts")]
    width = max([i18n.width(heads[0]), *(i18n.width(c["id"]) for c in doc["compounds"])]) if doc["compounds"] else 2
    cols = [width, 10, 8, 11]
    if i18n.language() != "en":
        cols = [max(w, i18n.width(hd)) for w, hd in zip(cols, heads, strict=False)]
    head = [i18n.pad(heads[0], cols[0])] + [i18n.pad(hd, w, True) for hd, w in zip(heads[1:4], cols[1:], strict=True)]
    if i18n.language() == "en":  # byte for byte the table it always was
        head = [f"{'id':{width}}", "heard_whole", "in_range", "time_over_s"]
    rows = ["  ".join([*head, heads[4]])]
    for c in doc["compounds"]:
        prompts = ",".join(sorted({str(p["prompt_id"]) for p in c["prompts_played"]})) or "-"
        mark = "" if c["passes"] else "  < " + f"{min_coverage:.0%}"
        cells = [c["id"], f"{c['heard_whole_share']:.1%}", f"{c['in_range_share']:.1%}", f"{c['time_over_s']:.0f}"]
        padded = [i18n.pad(cells[0], cols[0])]
        padded += [i18n.pad(v, w, True) for v, w in zip(cells[1:], cols[1:], strict=True)]
        rows.append("  ".join([*padded, prompts]) + mark)
    return "\n".join(rows)
