"""Sweep stage: parallel lanes over a compound, spaced so every point is within half a lane spacing.

Lanes are found with an even-odd scanline over every ring (exterior and holes, every part), so
concave parts, holes and multi-part compounds are clipped exactly. Lanes are spread evenly across
the compound's width (``n = ceil(width / spacing)`` lanes, ``width / 2n`` in from each edge), so no
edge strip is left unswept, unlike a sweep that stops "while a whole swath fits". Spikes that fall
between lanes (stars, notches) get extra short lanes until every point is within ``spacing / 2``
of a lane (measured as distance, not just across-lane offset).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from patrol.types import Lanes

Segment = tuple[tuple[float, float], tuple[float, float]]


def ring_edges(geom: Polygon | MultiPolygon) -> np.ndarray:
    """All ring edges of a (multi)polygon as an ``(E, 4)`` array ``x1, y1, x2, y2``."""
    rings = shapely.get_rings(shapely.get_parts(geom))
    out = []
    for ring in rings:
        c = shapely.get_coordinates(ring)
        out.append(np.hstack([c[:-1], c[1:]]))
    return np.vstack(out) if out else np.zeros((0, 4))


def _rotate(edges: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotate edges by ``-angle`` so that lanes at ``angle`` become horizontal."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    x1 = edges[:, 0] * c + edges[:, 1] * s
    y1 = -edges[:, 0] * s + edges[:, 1] * c
    x2 = edges[:, 2] * c + edges[:, 3] * s
    y2 = -edges[:, 2] * s + edges[:, 3] * c
    return np.column_stack([x1, y1, x2, y2])


def _crossings(edges_rot: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``(len(ys), E)`` x of each edge's crossing with each line ``y`` (half-open in y), sorted, NaN last."""
    x1, y1, x2, y2 = edges_rot.T
    ylo, yhi = np.minimum(y1, y2), np.maximum(y1, y2)
    Y = ys[:, None]
    hit = (ylo[None, :] <= Y) & (yhi[None, :] > Y)
    with np.errstate(divide="ignore", invalid="ignore"):
        X = x1[None, :] + (Y - y1[None, :]) * (x2 - x1)[None, :] / (y2 - y1)[None, :]
    return np.sort(np.where(hit, X, np.nan), axis=1)


def scanline(edges_rot: np.ndarray, ys: np.ndarray) -> list[list[tuple[float, float]]]:
    """Inside intervals ``[(x_a, x_b), ...]`` of horizontal lines ``y`` by the even-odd rule."""
    X = _crossings(edges_rot, ys)
    out: list[list[tuple[float, float]]] = []
    for row in X:
        v = row[~np.isnan(row)]
        n = len(v) // 2 * 2
        out.append([(float(v[k]), float(v[k + 1])) for k in range(0, n, 2) if v[k + 1] - v[k] > 1e-6])
    return out


def lane_offsets(ymin: float, ymax: float, spacing_m: float) -> np.ndarray:
    """Evenly spread lane positions: ``ceil(width / spacing)`` lanes, half a gap in from each edge.

    Examples
    --------
    >>> lane_offsets(0.0, 100.0, 40.0).round(2).tolist()
    [16.67, 50.0, 83.33]
    """
    width = ymax - ymin
    n = max(1, math.ceil(width / spacing_m - 1e-9))
    gap = width / n
    return ymin + gap / 2 + gap * np.arange(n)


def _evaluate(edges: np.ndarray, angle: float, spacing_m: float) -> tuple[float, int, np.ndarray]:
    er = _rotate(edges, angle)
    ys = lane_offsets(float(er[:, [1, 3]].min()), float(er[:, [1, 3]].max()), spacing_m)
    X = _crossings(er, ys)
    n_even = X.shape[1] // 2 * 2
    d = X[:, 1:n_even:2] - X[:, 0:n_even:2]
    length = float(np.nansum(d))
    segs = int(np.count_nonzero(~np.isnan(d)))
    return length, segs, ys


def _rows(edges: np.ndarray, angle: float, spacing_m: float) -> tuple[float, int, float, int, np.ndarray]:
    """The lane rows of ``edges`` at ``angle``: ``(lane length, segments, join length, cells, row offsets)``.

    A join between consecutive rows with as many intervals each is flown from one's end to the other's,
    ``hypot(gap, shift)`` (half from each side: boustrophedon turns alternate); rows whose number of
    intervals differs start new boustrophedon cells, and their joins count one spacing per interval.
    """
    er = _rotate(edges, angle)
    ys = lane_offsets(float(er[:, [1, 3]].min()), float(er[:, [1, 3]].max()), spacing_m)
    X = _crossings(er, ys)
    n_even = X.shape[1] // 2 * 2
    A, B = X[:, 0:n_even:2], X[:, 1:n_even:2]
    d = B - A
    per_row = np.count_nonzero(~np.isnan(d), axis=1)
    length = float(np.nansum(d))
    segs = int(per_row.sum())
    if len(ys) < 2:
        return length, segs, 0.0, max(1, int(per_row[0]) if len(per_row) else 1), ys
    gap = float(ys[1] - ys[0])
    same = per_row[1:] == per_row[:-1]
    with np.errstate(invalid="ignore"):
        turn = 0.5 * (np.hypot(gap, A[1:] - A[:-1]) + np.hypot(gap, B[1:] - B[:-1]))
    join = float(np.nansum(turn[same])) + spacing_m * float(np.maximum(per_row[1:], per_row[:-1])[~same].sum())
    cells = int(per_row[0]) + int(np.abs(np.diff(per_row)).sum())
    return length, segs, join, max(cells, 1), ys


def _predicted_s(
    edges: np.ndarray, angle: float, spacing_m: float, speed_mps: float, turn_s: float, hop_s: float = 0.0
) -> float:
    """Predicted time to sweep ``edges`` at ``angle``: lanes and joins flown, two turns per lane, and
    ``hop_s`` for each transit between its boustrophedon cells."""
    length, segs, join, cells, _ys = _rows(edges, angle, spacing_m)
    return (length + join) / speed_mps + 2 * segs * turn_s + (cells - 1) * hop_s


def candidate_angles(geom: Polygon | MultiPolygon, spacing_m: float) -> np.ndarray:
    """Lane directions worth trying: the convex hull's edges and the compound's long edges."""
    edges = [ring_edges(shapely.convex_hull(geom))]
    own = ring_edges(geom)
    long_own = own[np.hypot(own[:, 2] - own[:, 0], own[:, 3] - own[:, 1]) > spacing_m]
    edges.append(long_own)
    e = np.vstack(edges)
    ang = np.mod(np.arctan2(e[:, 3] - e[:, 1], e[:, 2] - e[:, 0]), math.pi)
    ang = np.unique(np.round(np.degrees(ang), 0) % 180.0)
    return np.radians(ang) if len(ang) else np.array([0.0])


def _cost(length_m: float, segs: int, spacing_m: float, speed_mps: float, turn_s: float) -> float:
    """Predicted sweep time: lanes plus a join of about one spacing per lane, two turns per lane."""
    return (length_m + segs * spacing_m) / speed_mps + 2 * segs * turn_s


def ranked_angles(geom: Polygon | MultiPolygon, spacing_m: float, speed_mps: float, turn_s: float = 4.0) -> list[float]:
    """Candidate lane directions (radians), cheapest predicted sweep time first (before gap filling)."""
    edges = ring_edges(geom)
    scored = []
    for a in candidate_angles(geom, spacing_m):
        length, segs, _ = _evaluate(edges, float(a), spacing_m)
        scored.append((_cost(length, segs, spacing_m, speed_mps, turn_s), float(a)))
    scored.sort()
    return [a for _, a in scored]


def merge_row(
    row: list[tuple[float, float]], y: float, max_gap_m: float, keep_out_rot: BaseGeometry | None
) -> list[tuple[float, float]]:
    """Join intervals of one lane row across gaps shorter than ``max_gap_m`` (a notch, a hole).

    Flying straight across a short gap is shorter than going round it; a gap whose crossing would
    touch ``keep_out_rot`` (buffered no-fly zones, in the rotated frame) is never crossed.
    """
    if not row:
        return row
    out = [row[0]]
    for a, b in row[1:]:
        pa, pb = out[-1]
        gap = a - pb
        if gap <= max_gap_m and (keep_out_rot is None or not LineString([(pb, y), (a, y)]).intersects(keep_out_rot)):
            out[-1] = (pa, b)
        else:
            out.append((a, b))
    return out


def _lanes_at(
    geom: Polygon | MultiPolygon,
    edges: np.ndarray,
    angle: float,
    spacing_m: float,
    max_gap_m: float,
    keep_out: BaseGeometry | None,
    radius_m: float | None = None,
) -> list[tuple[float, float, float]]:
    er = _rotate(edges, angle)
    ys = lane_offsets(float(er[:, [1, 3]].min()), float(er[:, [1, 3]].max()), spacing_m)
    rows = scanline(er, ys)
    keep_rot = _rotate_geom(keep_out, angle) if keep_out is not None and not keep_out.is_empty else None
    segs = [
        (float(y), a, b)
        for y, row in zip(ys, rows, strict=True)
        for a, b in merge_row(row, float(y), max_gap_m, keep_rot)
    ]
    return segs + _fill_gaps(geom, er, segs, angle, spacing_m, radius_m=radius_m)


def _rotate_geom(geom: BaseGeometry, angle: float) -> BaseGeometry:
    c, s = math.cos(angle), math.sin(angle)
    return shapely.transform(geom, lambda p: np.column_stack([p[:, 0] * c + p[:, 1] * s, -p[:, 0] * s + p[:, 1] * c]))


def sweep_lanes(
    compound_id: str,
    geom: Polygon | MultiPolygon,
    spacing_m: float,
    speed_mps: float,
    angle_deg: float | None = None,
    turn_s: float = 4.0,
    tries: int = 3,
    max_gap_m: float | None = None,
    keep_out: BaseGeometry | None = None,
    radius_m: float | None = None,
) -> Lanes:
    """Lanes over ``geom`` (local metres) such that every point is within ``spacing_m / 2`` of one.

    The direction is the one of the ``tries`` cheapest candidates (hull and long edges) whose
    lanes, gap-filling included, cost least time; ``angle_deg`` forces one.

    Parameters
    ----------
    compound_id : the compound the lanes belong to.
    geom : the area to sweep (already minus no-fly buffers).
    spacing_m, speed_mps : from :func:`patrol.plan.acoustics.choose_spacing_speed`.
    angle_deg : force a lane direction (degrees counter-clockwise from east); chosen when omitted.
    max_gap_m : lanes fly straight across gaps (notches, holes) up to this long; default 2 spacings.
    keep_out : areas a lane must never cross (buffered no-fly zones), local metres.
    radius_m : the audible ground radius; with it, no point is left farther than ``0.9 radius_m`` from a
        lane (or half a spacing, if that is more), however wide the spacing, so every point is in range.

    Returns
    -------
    Lanes whose segments run in the lane direction, lowest lane first.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> lanes = sweep_lanes("a", box(0, 0, 200, 100), 40.0, 5.0)
    >>> len(lanes.segments), round(lanes.angle_deg) % 180
    (3, 0)
    """
    if geom.is_empty:
        return Lanes(compound_id, 0.0, spacing_m, ())
    edges = ring_edges(geom)
    angles = (
        [math.radians(angle_deg)]
        if angle_deg is not None
        else ranked_angles(geom, spacing_m, speed_mps, turn_s)[:tries]
    )
    best: tuple[float, float, list[tuple[float, float, float]]] | None = None
    for angle in angles:
        gap = 2.0 * spacing_m if max_gap_m is None else max_gap_m
        segs = _lanes_at(geom, edges, angle, spacing_m, gap, keep_out, radius_m)
        cost = _cost(sum(b - a for _, a, b in segs), len(segs), spacing_m, speed_mps, turn_s)
        if best is None or cost < best[0] - 1e-9:
            best = (cost, angle, segs)
    assert best is not None
    _, angle, segs_rot = best
    segs_rot.sort(key=lambda t: (round(t[0], 6), t[1]))
    c, s = math.cos(angle), math.sin(angle)

    def back(x: float, y: float) -> tuple[float, float]:
        return (x * c - y * s, x * s + y * c)

    segments = tuple((back(a, y), back(b, y)) for y, a, b in segs_rot)
    return Lanes(compound_id, math.degrees(angle), spacing_m, segments)


def _vertices_within(rot_geom: BaseGeometry, segs_rot: list[tuple[float, float, float]], tol: float) -> bool:
    """Fast pre-check: the boundary, sampled every ``tol / 4``, lies within ``tol`` of a lane.

    Interior points between lane rows are within half a spacing of a row by construction; what a
    row misses lies next to the boundary (notch tips, spikes), so dense boundary samples decide
    whether the slower buffer test is needed. The coverage property test and the benchmark check
    the result on sampled points.
    """
    rings = shapely.get_rings(shapely.get_parts(rot_geom))
    pts = shapely.get_coordinates(shapely.segmentize(rings, tol / 4.0))
    seg = np.array(segs_rot)
    y, a, b = seg[:, 0][None, :], seg[:, 1][None, :], seg[:, 2][None, :]
    px, py = pts[:, 0][:, None], pts[:, 1][:, None]
    dx = np.maximum(np.maximum(a - px, px - b), 0.0)
    d2 = dx * dx + (py - y) ** 2
    return bool(np.all(d2.min(axis=1) <= tol * tol))


def _blunt_convex(geom: Polygon | MultiPolygon, min_corner_deg: float = 80.0) -> bool:
    """Whether ``geom`` is one convex polygon (to 0.1 % of its hull) with no corner sharper than ``min_corner_deg``
    (the tip of a sharp corner lies beyond the reach of the row nearest it: a cell cut from a star's spike)."""
    if not isinstance(geom, Polygon) or geom.interiors or geom.area < 0.999 * shapely.convex_hull(geom).area:
        return False
    c = shapely.get_coordinates(shapely.convex_hull(geom).exterior)[:-1]
    if len(c) < 3:
        return False
    u, w = np.roll(c, 1, axis=0) - c, np.roll(c, -1, axis=0) - c
    cos = (u * w).sum(axis=1) / (np.hypot(*u.T) * np.hypot(*w.T) + 1e-12)
    return bool(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).min() >= min_corner_deg)


def _reaches_out(part: BaseGeometry, lines: BaseGeometry, radius_m: float | None) -> bool:
    """Whether a sliver left between the lanes' reach and the boundary (the tip of a sharp corner) has a
    vertex more than ``0.95 radius_m`` from every lane: too small to count by area, but out of range."""
    if radius_m is None:
        return False
    pts = shapely.points(shapely.get_coordinates(part))
    return len(pts) > 0 and bool(shapely.distance(pts, lines).max() > 0.95 * radius_m)


def _fill_gaps(
    geom: Polygon | MultiPolygon,
    edges_rot: np.ndarray,
    segs_rot: list[tuple[float, float, float]],
    angle: float,
    spacing_m: float,
    max_rounds: int = 3,
    radius_m: float | None = None,
) -> list[tuple[float, float, float]]:
    """Extra short lanes through parts of ``geom`` further than ``tol`` from every lane.

    ``tol`` is 0.6 spacing, between half a spacing (where the heard-whole rule holds exactly) and the
    audible radius (0.71 spacing at the optimum): spike tips get a lane, corners do not. With lanes
    spaced wider than that optimum, 0.6 spacing would exceed the radius itself and leave corners out
    of range, so ``tol`` is then at most 0.9 of ``radius_m`` (never under half a spacing, which every
    point between two rows already meets).
    """
    tol = 0.6 * spacing_m
    if radius_m is not None:
        tol = min(tol, max(0.9 * radius_m, 0.5 * spacing_m * 1.001))
    if not segs_rot:
        return []
    if tol >= 0.6 * spacing_m - 1e-9 and _blunt_convex(geom):
        return []  # convex without sharp corners, and lanes no wider than the optimum: rows reach every point
    rot_geom = _rotate_geom(geom, angle)
    if _vertices_within(rot_geom, segs_rot, tol):
        return []
    extra: list[tuple[float, float, float]] = []
    min_area = 0.01 * spacing_m * spacing_m
    for _ in range(max_rounds):
        allsegs = segs_rot + extra
        lines = shapely.multilinestrings([[(a, y), (b, y)] for y, a, b in allsegs])
        reach = shapely.buffer(lines, tol * 1.001, quad_segs=4)
        gaps = shapely.difference(rot_geom, reach)
        parts = [g for g in shapely.get_parts(gaps) if g.area > min_area or _reaches_out(g, lines, radius_m)]
        if not parts:
            break
        added = False
        for g in parts:
            minx, miny, maxx, maxy = g.bounds
            ys = np.array([(miny + maxy) / 2.0])
            for a, b in scanline(edges_rot, ys)[0]:
                lo, hi = max(a, minx - tol), min(b, maxx + tol)
                if hi > lo + 1e-6:
                    extra.append((float(ys[0]), lo, hi))
                    added = True
        if not added:
            break
    # drop duplicates from several gaps sharing one line
    uniq = {(round(y, 6), round(a, 6), round(b, 6)): (y, a, b) for y, a, b in extra}
    return list(uniq.values())


def convex_pieces(geom: Polygon | MultiPolygon, convex_share: float = 0.995) -> list[Polygon]:
    """``geom`` cut into nearly convex pieces along diagonals between its vertices (Hertel-Mehlhorn).

    The constrained Delaunay triangles of ``geom`` (holes and parts respected) are joined across their
    shared diagonals, longest diagonal first, while the joined piece fills at least ``convex_share`` of its
    convex hull. The pieces tile ``geom`` exactly.
    """
    tris = [t for t in shapely.get_parts(shapely.constrained_delaunay_triangles(geom)) if t.area > 1e-6]
    parent = list(range(len(tris)))
    piece: dict[int, Polygon] = dict(enumerate(tris))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for _length, i, j in _diagonals(tris):
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        u = shapely.union(piece[ri], piece[rj])
        if isinstance(u, Polygon) and u.area >= convex_share * shapely.convex_hull(u).area:
            parent[rj] = ri
            piece[ri] = u
            del piece[rj]
    return [piece[k] for k in sorted(piece)]


def _diagonals(polys: list[Polygon]) -> list[tuple[float, int, int]]:
    """``(length, i, j)`` of every edge shared by two of ``polys``, longest first."""
    owner: dict[tuple[tuple[float, float], tuple[float, float]], int] = {}
    out = []
    for i, p in enumerate(polys):
        c = np.round(shapely.get_coordinates(p.exterior), 6)
        for a, b in itertools.pairwise(c):
            key = (tuple(a), tuple(b)) if tuple(a) <= tuple(b) else (tuple(b), tuple(a))
            j = owner.pop(key, None)
            if j is None:
                owner[key] = i
            elif j != i:
                out.append((float(np.hypot(*(a - b))), j, i))
    out.sort(reverse=True)
    return out


def _best_cost(
    geom: Polygon | MultiPolygon,
    spacing_m: float,
    speed_mps: float,
    turn_s: float,
    hop_s: float,
    angles: Sequence[float] | None = None,
) -> tuple[float, float]:
    """``(predicted time, direction)`` of sweeping ``geom`` on its own at the cheapest of ``angles`` (radians;
    default :func:`candidate_angles`), before gap filling: :func:`_predicted_s` with ``hop_s`` per transit
    between the boustrophedon cells its rows fall into."""
    edges = ring_edges(geom)
    tried = candidate_angles(geom, spacing_m) if angles is None else angles
    return min((_predicted_s(edges, float(a), spacing_m, speed_mps, turn_s, hop_s), float(a)) for a in tried)


MAX_CELL_VERTICES = 400  # outlines with more vertices are not cut into cells (each merge is weighed on all of them)
MAX_CELLS = 40  # nor outlines that fall into more convex pieces than this


def sweep_cells(
    geom: Polygon | MultiPolygon,
    spacing_m: float,
    speed_mps: float,
    turn_s: float = 4.0,
    cell_s: float | None = None,
    pieces: list[Polygon] | None = None,
) -> list[Polygon]:
    """``geom`` cut into cells that are each cheaper to sweep at their own lane direction.

    Starts from :func:`convex_pieces` and joins two neighbouring cells while one sweep of both is predicted
    faster (:func:`_cost`, lanes and turns at the cheapest direction) than two sweeps and a transit between
    them, which costs ``cell_s`` (default: two spacings flown and two turns). A convex outline is one cell;
    ``pieces`` are its convex pieces when the caller has them already.
    """
    if geom.is_empty or len(shapely.get_coordinates(geom)) > MAX_CELL_VERTICES:
        return [geom] if not geom.is_empty else []
    if geom.area >= 0.995 * shapely.convex_hull(geom).area:
        return [geom]
    hop = cell_s if cell_s is not None else 2.0 * spacing_m / speed_mps + 2.0 * turn_s
    pieces = pieces if pieces is not None else convex_pieces(geom)
    if len(pieces) > MAX_CELLS:
        return [geom]
    memo: dict[frozenset[int], tuple[Polygon | None, float, float]] = {}
    cells = {frozenset([k]): p for k, p in enumerate(pieces)}
    for m, p in cells.items():
        memo[m] = (p, *_best_cost(p, spacing_m, speed_mps, turn_s, hop))
    while len(cells) > 1:
        keys = list(cells)
        best: tuple[float, frozenset[int], frozenset[int]] | None = None
        for _length, i, j in _diagonals([cells[m] for m in keys]):
            a, b = keys[i], keys[j]
            u = a | b
            if u not in memo:  # one sweep of both, at the direction of either (weighing every one is slow)
                poly = shapely.union(cells[a], cells[b])
                ok = isinstance(poly, Polygon)
                ab = (memo[a][2], memo[b][2])
                memo[u] = (poly, *_best_cost(poly, spacing_m, speed_mps, turn_s, hop, ab)) if ok else (None, 0.0, 0.0)
            poly, cu, _angle = memo[u]
            gain = memo[a][1] + memo[b][1] + hop - cu
            if poly is not None and gain > 1e-9 and (best is None or gain > best[0]):
                best = (gain, a, b)
        if best is None:
            break
        _, a, b = best
        u = a | b
        poly = memo[u][0]
        assert poly is not None
        cells[u] = poly
        for m in (a, b):
            del cells[m]
    return sorted(cells.values(), key=lambda p: -p.area)


def cell_sweep_lanes(
    compound_id: str,
    geom: Polygon | MultiPolygon,
    spacing_m: float,
    speed_mps: float,
    turn_s: float = 4.0,
    keep_out: BaseGeometry | None = None,
    radius_m: float | None = None,
    cells: list[Polygon] | None = None,
) -> Lanes | None:
    """Lanes over ``geom`` cut into cells (:func:`sweep_cells`, or ``cells``), each swept at its own direction.

    Each cell gets :func:`sweep_lanes` of its own, so every point of ``geom`` is as near a lane as that
    promises; the result records which cell each segment belongs to. ``None`` when ``geom`` is one cell.
    """
    cells = cells if cells is not None else sweep_cells(geom, spacing_m, speed_mps, turn_s)
    if len(cells) < 2:
        return None
    segments: list[Segment] = []
    cell_of: list[int] = []
    angles: list[float] = []
    for k, cell in enumerate(sorted(cells, key=lambda p: -p.area)):
        lanes = sweep_lanes(
            compound_id, cell, spacing_m, speed_mps, turn_s=turn_s, keep_out=keep_out, radius_m=radius_m
        )
        segments += lanes.segments
        cell_of += [k] * len(lanes.segments)
        angles.append(lanes.angle_deg)
    return Lanes(compound_id, angles[0], spacing_m, tuple(segments), tuple(cell_of), tuple(angles))
