"""Route stage: lanes joined into a path per compound, compounds ordered, transit around no-fly zones.

Within a compound, lanes are taken boustrophedon-style: from the end of one lane the next is the
nearest lane in an adjacent row that overlaps it (a cell of the decomposition), else the nearest
lane anywhere. Joins are straight where they stay inside the compound, else the shortest path
inside it (visibility graph over its vertices). Hotspots are inserted where they cost least.
Across compounds: priority first, then nearest neighbour and 2-opt on transit distance.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from patrol.types import Compound, CompoundRoute, Hotspot, Lanes, Step, StepKind

XY = tuple[float, float]


def _dist(a: XY, b: XY) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def _graph_path(nodes: list[XY], ii: np.ndarray, jj: np.ndarray, ok: np.ndarray) -> list[XY]:
    """Dijkstra from node 0 to node 1 over the edges ``(ii[k], jj[k])`` where ``ok[k]``; inner vertices."""
    n = len(nodes)
    adj: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for i, j in zip(ii[ok], jj[ok], strict=True):
        w = _dist(nodes[i], nodes[j])
        adj[i].append((j, w))
        adj[j].append((i, w))
    dist = [math.inf] * n
    prev = [-1] * n
    dist[0] = 0.0
    pq = [(0.0, 0)]
    while pq:
        d, u = heapq.heappop(pq)
        if u == 1:
            break
        if d > dist[u]:
            continue
        for v, w in adj[u]:
            if d + w < dist[v]:
                dist[v] = d + w
                prev[v] = u
                heapq.heappush(pq, (d + w, v))
    if math.isinf(dist[1]):
        return []
    path = []
    u = prev[1]
    while u > 0:
        path.append(nodes[u])
        u = prev[u]
    return path[::-1]


class InsidePaths:
    """Joins between lanes: inside the area where that costs little, straight across where it doesn't.

    Built once per compound: the area grown by ``tol_m`` is prepared and its vertices are the nodes
    of a visibility graph. A join leaves the compound only when the path inside is more than
    ``detour`` times longer than the straight line, and never across ``keep_out`` (no-fly buffers).
    """

    def __init__(
        self, area: BaseGeometry, tol_m: float = 0.5, keep_out: BaseGeometry | None = None, detour: float = 1.5
    ) -> None:
        self.grown = area.buffer(tol_m, quad_segs=2)
        shapely.prepare(self.grown)
        verts = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(area)))
        self.verts: list[XY] = list(dict.fromkeys(map(tuple, verts.tolist())))
        self.keep_out = keep_out if keep_out is not None and not keep_out.is_empty else None
        self.detour = detour
        self.parts = (
            [p.buffer(tol_m, quad_segs=1) for p in shapely.get_parts(area)] if len(shapely.get_parts(area)) > 1 else []
        )

    def _part(self, p: XY) -> int:
        pt = Point(p)
        return next((k for k, g in enumerate(self.parts) if g.covers(pt)), -1)

    def inside(self, a: XY, b: XY) -> list[XY]:
        """Intermediate vertices of the shortest path inside the area; empty if straight is inside or none exists."""
        if a == b or self.grown.covers(LineString([a, b])):
            return []
        if self.parts and self._part(a) != self._part(b):
            return []  # different parts of a multi-part compound: no path inside exists
        nodes: list[XY] = [a, b, *self.verts]
        ii, jj = np.triu_indices(len(nodes), 1)
        coords = np.array(nodes)
        lines = shapely.linestrings(np.stack([coords[ii], coords[jj]], axis=1))
        return _graph_path(nodes, ii, jj, shapely.covers(self.grown, lines))

    def _vertex_graph(self) -> np.ndarray:
        """Shortest inside distances between every pair of the area's vertices (computed once)."""
        if getattr(self, "_apsp", None) is None:
            from scipy.sparse.csgraph import shortest_path

            v = np.array(self.verts) if self.verts else np.zeros((0, 2))
            n = len(v)
            w = np.zeros((n, n))
            if n > 1:
                ii, jj = np.triu_indices(n, 1)
                lines = shapely.linestrings(np.stack([v[ii], v[jj]], axis=1))
                ok = shapely.covers(self.grown, lines)
                d = np.hypot(*(v[ii] - v[jj]).T)
                w[ii[ok], jj[ok]] = d[ok]
                w[jj[ok], ii[ok]] = d[ok]
            self._apsp = shortest_path(w, method="D", directed=False) if n else w
        return self._apsp

    def length(self, a: XY, b: XY) -> float:
        """Length of the join :meth:`path` would fly from ``a`` to ``b``, without building it.

        Straight where that stays inside (or where no inside path exists, between parts), else the
        shortest path inside unless it is more than ``detour`` times the straight line.
        """
        straight = _dist(a, b)
        if straight < 1e-9 or self.grown.covers(LineString([a, b])):
            return straight
        if self.parts and self._part(a) != self._part(b):
            return straight
        if not self.verts:
            return straight
        v = np.array(self.verts)
        seen = []
        for p in (a, b):
            lines = shapely.linestrings(np.stack([np.broadcast_to(p, v.shape), v], axis=1))
            vis = shapely.covers(self.grown, lines)
            seen.append((vis, np.hypot(*(v - np.asarray(p)).T)))
        (va, da), (vb, db) = seen
        if not va.any() or not vb.any():
            return straight
        D = self._vertex_graph()[np.ix_(va, vb)]
        inner = float((da[va][:, None] + D + db[vb][None, :]).min())
        return inner if inner <= self.detour * straight else straight

    def matrix(self, pts: np.ndarray) -> np.ndarray:
        """:meth:`length` between every pair of ``pts`` (``(N, 2)``), as an ``(N, N)`` array, vectorised."""
        n = len(pts)
        straight = np.hypot(pts[:, None, 0] - pts[None, :, 0], pts[:, None, 1] - pts[None, :, 1])
        out = straight.copy()
        if n < 2:
            return out
        ii, jj = np.triu_indices(n, 1)
        lines = shapely.linestrings(np.stack([pts[ii], pts[jj]], axis=1))
        covered = shapely.covers(self.grown, lines) | (straight[ii, jj] < 1e-9)
        if covered.all() or not self.verts:
            return out
        if self.parts:
            part = np.array([self._part(tuple(p)) for p in pts])
            same = part[ii] == part[jj]
        else:
            same = np.ones(len(ii), bool)
        need = ~covered & same
        if not need.any():
            return out
        v = np.array(self.verts)
        sight = shapely.linestrings(
            np.stack([np.repeat(pts, len(v), axis=0), np.tile(v, (n, 1))], axis=1)
        )  # every point to every vertex
        vis = shapely.covers(self.grown, sight).reshape(n, len(v))
        to_v = np.where(vis, np.hypot(pts[:, None, 0] - v[None, :, 0], pts[:, None, 1] - v[None, :, 1]), np.inf)
        via = (to_v[:, :, None] + self._vertex_graph()[None, :, :]).min(axis=1)  # point -> any vertex, inside
        a, b = ii[need], jj[need]
        inner = (via[a] + to_v[b]).min(axis=1)
        length = np.where(inner <= self.detour * straight[a, b], inner, straight[a, b])
        out[a, b] = length
        out[b, a] = length
        return out

    def path(self, a: XY, b: XY) -> list[XY]:
        """Intermediate vertices of the join from ``a`` to ``b`` (empty for a straight join)."""
        via = self.inside(a, b)
        if not via:
            return []
        straight = _dist(a, b)
        pts = [a, *via, b]
        inner = sum(_dist(p, q) for p, q in itertools.pairwise(pts))
        if inner <= self.detour * straight:
            return via
        if self.keep_out is not None and LineString([a, b]).intersects(self.keep_out):
            return via
        return []


def shortest_path_inside(a: XY, b: XY, area: BaseGeometry, tol_m: float = 0.5) -> list[XY]:
    """Shortest path from ``a`` to ``b`` that stays inside ``area`` (grown by ``tol_m``).

    Returns the intermediate vertices only (empty when the straight line stays inside or when no
    path inside exists, e.g. between two parts of a multi-part compound).
    """
    return InsidePaths(area, tol_m).inside(a, b)


def avoid_zones(a: XY, b: XY, zones: BaseGeometry | None) -> list[XY]:
    """Intermediate vertices of the shortest path from ``a`` to ``b`` around ``zones`` (none if clear).

    ``zones`` are the buffered no-fly areas; the path runs along their (slightly grown) boundaries.
    """
    if zones is None or zones.is_empty:
        return []
    key = (id(zones), a, b)
    hit = _AVOIDED.get(key)
    if hit is not None and hit[0] is zones:
        return list(hit[1])
    path = _avoid_zones(a, b, zones)
    if len(_AVOIDED) >= 50_000:
        _AVOIDED.clear()
    _AVOIDED[key] = (zones, tuple(path))
    return path


_AVOIDED: dict[tuple[int, XY, XY], tuple[BaseGeometry, tuple[XY, ...]]] = {}
"""Paths already found round one zone geometry (kept with the key so a reused id is not mistaken for it):
the fleet's compound assignment (:func:`patrol.plan.fleet.assign_compounds`) re-splits the same transits."""


def _avoid_zones(a: XY, b: XY, zones: BaseGeometry) -> list[XY]:
    seg = LineString([a, b])
    if not seg.intersects(zones):
        return []
    ring_pad = zones.buffer(1.0, quad_segs=3)
    verts = [tuple(p) for p in shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(ring_pad)))]
    nodes: list[XY] = [a, b, *dict.fromkeys(verts)]
    n = len(nodes)
    ii, jj = np.triu_indices(n, 1)
    coords = np.array(nodes)
    lines = shapely.linestrings(np.stack([coords[ii], coords[jj]], axis=1))
    blocked = shapely.intersects(zones, lines)
    return _graph_path(nodes, ii, jj, ~blocked)


def lane_cells(lanes: Lanes) -> list[list[tuple[XY, XY]]]:
    """Group lane segments into cells of a boustrophedon decomposition.

    Segments of consecutive rows belong to one cell when each overlaps only the other along the
    lane direction; a cell is flown back and forth without leaving it. Returned per cell, bottom
    row first, each segment as ``(low end, high end)`` along the lane direction. Lanes of a compound cut
    into cells of their own angles (:func:`patrol.plan.sweep.cell_sweep_lanes`) are grouped within each cell.
    """
    if not lanes.cell_of:
        return _cells_at(list(lanes.segments), lanes.angle_deg)
    out: list[list[tuple[XY, XY]]] = []
    for c, angle in enumerate(lanes.cell_angles_deg):
        segs = [seg for seg, k in zip(lanes.segments, lanes.cell_of, strict=True) if k == c]
        out += _cells_at(segs, angle)
    return out


def _cells_at(segs: list[tuple[XY, XY]], angle_deg: float) -> list[list[tuple[XY, XY]]]:
    if not segs:
        return []
    ang = math.radians(angle_deg)
    c, s = math.cos(ang), math.sin(ang)
    recs = []
    for p, q in segs:
        u0, u1 = p[0] * c + p[1] * s, q[0] * c + q[1] * s
        row = -p[0] * s + p[1] * c
        lo, hi = (p, q) if u0 <= u1 else (q, p)
        recs.append((round(row, 3), min(u0, u1), max(u0, u1), lo, hi))
    rows = sorted({r[0] for r in recs})
    by_row: dict[float, list[int]] = {r: [] for r in rows}
    for k, r in enumerate(recs):
        by_row[r[0]].append(k)
    up: dict[int, list[int]] = {k: [] for k in range(len(recs))}
    down: dict[int, list[int]] = {k: [] for k in range(len(recs))}
    for r0, r1 in itertools.pairwise(rows):
        for a in by_row[r0]:
            for b in by_row[r1]:
                if min(recs[a][2], recs[b][2]) - max(recs[a][1], recs[b][1]) > 1e-6:
                    up[a].append(b)
                    down[b].append(a)
    cells: list[list[tuple[XY, XY]]] = []
    seen: set[int] = set()
    for r in rows:
        for k in sorted(by_row[r], key=lambda i: recs[i][1]):
            if k in seen:
                continue
            chain = [k]
            seen.add(k)
            cur = k
            while len(up[cur]) == 1 and len(down[up[cur][0]]) == 1 and up[cur][0] not in seen:
                cur = up[cur][0]
                chain.append(cur)
                seen.add(cur)
            cells.append([(recs[i][3], recs[i][4]) for i in chain])
    return cells


def _fly_cell(cell: list[tuple[XY, XY]], from_top: bool, start_high: bool) -> list[tuple[XY, XY]]:
    """Fly a cell row by row from the entry corner; each next row is entered at its nearer end."""
    rows = cell[::-1] if from_top else cell
    lo, hi = rows[0]
    out = [(hi, lo) if start_high else (lo, hi)]
    for lo, hi in rows[1:]:
        pos = out[-1][1]
        out.append((lo, hi) if _dist(pos, lo) <= _dist(pos, hi) else (hi, lo))
    return out


MAX_ORDERED_CELLS = 16  # above this, cells are taken nearest first without the 2-opt search


def order_lanes(lanes: Lanes, start: XY | None = None, dist=None) -> list[tuple[XY, XY]]:
    """Lane segments in flying order and direction: boustrophedon within cells, cells in a short order.

    Each cell is entered at one of its four corners (bottom or top row, either end) and flown back
    and forth to its far row. The nearest corner is taken each time; with three or more cells the
    order is then improved by 2-opt with the entry corners chosen jointly (dynamic programming over
    the four corners of each cell), measured by ``dist`` (default: straight lines;
    :func:`compound_route` passes the length of the join it will really fly), and kept only if shorter.
    """
    cells = lane_cells(lanes)
    if not cells:
        return []
    opts = [_cell_options(c) for c in cells]
    order, corners = _greedy_cells(opts, start)
    if 3 <= len(cells) <= MAX_ORDERED_CELLS:
        order, corners = _two_opt_cells(opts, start, dist or _dist, order, corners)
    return [lane for i, k in zip(order, corners, strict=True) for lane in opts[i][k][3]]


def _cell_options(cell: list[tuple[XY, XY]]) -> list[tuple[XY, XY, float, list[tuple[XY, XY]]]]:
    """The four ways to fly a cell: ``(entry, exit, length inside the cell, lanes in order)``."""
    out = []
    for from_top in (False, True):
        for start_high in (False, True):
            flown = _fly_cell(cell, from_top, start_high)
            inner = sum(_dist(a, b) for a, b in flown) + sum(
                _dist(flown[k][1], flown[k + 1][0]) for k in range(len(flown) - 1)
            )
            out.append((flown[0][0], flown[-1][1], inner, flown))
    return out


def _greedy_cells(opts: list, start: XY | None) -> tuple[list[int], list[int]]:
    """Nearest entry corner first, from ``start`` (or the first cell's first corner)."""
    left = set(range(len(opts)))
    pos = start if start is not None else opts[0][0][0]
    order, corners = [], []
    while left:
        best = None
        for i in sorted(left):
            for k in (0, 1, 2, 3):
                d = _dist(pos, opts[i][k][0])
                if best is None or d < best[0] - 1e-9:
                    best = (d, i, k)
        assert best is not None
        _, i, k = best
        order.append(i)
        corners.append(k)
        pos = opts[i][k][1]
        left.discard(i)
    return order, corners


def _two_opt_cells(
    opts: list, start: XY | None, dist, order: list[int], corners: list[int]
) -> tuple[list[int], list[int]]:
    """2-opt over the cell order, the four entry corners of every cell chosen by dynamic programming.

    ``dist`` is a function of two points or an object with ``matrix(points)`` (vectorised); every join
    the search may need (any exit corner to any entry corner) is measured once, up front.
    """
    n = len(opts)
    pts = [o[k] for c in opts for o in c for k in (0, 1)]  # entry, exit of every option of every cell
    P = np.array(pts, float)
    matrix = getattr(dist, "__self__", None)
    if matrix is not None and hasattr(matrix, "matrix"):
        D = matrix.matrix(P)
    else:
        D = np.array([[dist(tuple(a), tuple(b)) for b in P] for a in P])
    ent = np.arange(n * 4).reshape(n, 4) * 2  # row of each option's entry point in D
    ext = ent + 1
    inner = np.array([[o[2] for o in c] for c in opts])
    trans = D[ext[:, :, None, None], ent[None, None, :, :]]  # [cell a, opt k, cell b, opt l]
    if start is not None:
        sp = np.array(start, float)
        first = np.array([[float(np.hypot(*(np.array(o[0]) - sp))) for o in c] for c in opts])
        if matrix is not None and hasattr(matrix, "matrix"):
            first = matrix.matrix(np.vstack([sp[None, :], P]))[0, 1:][ent]
    else:
        first = np.zeros((n, 4))

    def best_corners(order: list[int]) -> tuple[float, list[int]]:
        cost = first[order[0]] + inner[order[0]]
        back = []
        for prev, cur in itertools.pairwise(order):
            tot = cost[:, None] + trans[prev, :, cur, :]  # [k prev option, l cur option]
            arg = tot.argmin(axis=0)
            cost = tot[arg, np.arange(4)] + inner[cur]
            back.append(arg)
        k = int(cost.argmin())
        choice = [k]
        for arg in reversed(back):
            k = int(arg[k])
            choice.append(k)
        return float(cost.min()), choice[::-1]

    def cost_of(order: list[int], corners: list[int]) -> float:
        total = float(first[order[0], corners[0]])
        for m, (i, k) in enumerate(zip(order, corners, strict=True)):
            total += inner[i, k]
            if m + 1 < len(order):
                total += trans[i, k, order[m + 1], corners[m + 1]]
        return float(total)

    greedy_cost = cost_of(order, corners)
    best, best_k = best_corners(order)
    best_order = order
    for _ in range(4):  # passes: each is n^2/2 reversals
        improved = False
        for i in range(n - 1):
            for j in range(i + 1, n):
                cand = best_order[:i] + best_order[i : j + 1][::-1] + best_order[j + 1 :]
                c, ch = best_corners(cand)
                if c < best - 1e-6:
                    best, best_k, best_order, improved = c, ch, cand, True
        if not improved:
            break
    return (best_order, best_k) if best < greedy_cost - 1e-6 else (order, corners)


def _run_on(a: XY, b: XY, overrun_m: float, keep_out: BaseGeometry | None) -> XY:
    """``b`` moved ``overrun_m`` further along the direction ``a -> b``, short of ``keep_out``."""
    d = _dist(a, b)
    if overrun_m <= 0 or d < 1e-9:
        return b
    ux, uy = (b[0] - a[0]) / d, (b[1] - a[1]) / d
    end = (b[0] + ux * overrun_m, b[1] + uy * overrun_m)
    if keep_out is not None and LineString([b, end]).intersects(keep_out):
        hit = LineString([b, end]).intersection(keep_out)
        first = min(_dist(b, q) for q in shapely.get_coordinates(hit))
        if first <= 1.0:
            return b
        end = (b[0] + ux * (first - 1.0), b[1] + uy * (first - 1.0))
    return end


def _insert_hotspots(points: list[tuple[StepKind, XY, Hotspot | None]], hotspots: Sequence[Hotspot]) -> None:
    """Visit each hotspot as an out-and-back spur from the nearest point of the path.

    The spur leaves the path where it passes closest to the hotspot and returns to the same
    point, so lanes keep their line (a lane bent towards a gate would leave a strip between it
    and its neighbour that hears less than a whole prompt).
    """
    for h in hotspots:
        hp = (h.x_m, h.y_m)
        if len(points) == 1:
            points.append((StepKind.HOTSPOT, hp, h))
            continue
        best_i, best_cost, best_at = 1, math.inf, points[0][1]
        for i in range(1, len(points)):
            p, q = points[i - 1][1], points[i][1]
            at = closest_on_segment(p, q, hp)
            cost = _dist(at, hp)
            if cost < best_cost - 1e-9:
                best_i, best_cost, best_at = i, cost, at
        kind = points[best_i][0] if points[best_i][0] is not StepKind.HOTSPOT else StepKind.JOIN
        spur = [(kind, best_at, None), (StepKind.HOTSPOT, hp, h), (kind, best_at, None)]
        if _dist(best_at, hp) < 1e-6:
            spur = [(StepKind.HOTSPOT, hp, h)]
        points[best_i:best_i] = spur


def closest_on_segment(p: XY, q: XY, x: XY) -> XY:
    """The point of the segment ``p``-``q`` nearest to ``x``."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    L2 = dx * dx + dy * dy
    if L2 < 1e-12:
        return p
    t = min(1.0, max(0.0, ((x[0] - p[0]) * dx + (x[1] - p[1]) * dy) / L2))
    return (p[0] + t * dx, p[1] + t * dy)


def compound_route(
    compound: Compound,
    lanes: Lanes,
    area: BaseGeometry,
    alt_m: float,
    loiter_s: float,
    perimeter: bool = False,
    start: XY | None = None,
    keep_out: BaseGeometry | None = None,
    overrun_m: float = 0.0,
    pass_s: float = 0.0,
    inside: InsidePaths | None = None,
) -> CompoundRoute:
    """The patrol path over one compound: ordered lanes, joins inside ``area``, hotspot loiters.

    ``area`` is the sweepable part of the compound (no-fly buffers removed); joins stay inside it
    unless that is a long detour, and never cross ``keep_out``. With ``perimeter`` a loop half a
    lane spacing inside the outer boundary is flown first. Each lane runs on ``overrun_m`` past
    both of its ends (shortened where that would enter ``keep_out``) so that residents on the edge
    hear a whole prompt (:func:`patrol.plan.acoustics.lane_overrun_m`); the turn to the next lane of
    the same cell is flown out there, longer joins start and end at the lane's own ends. A compound without
    lanes (all of it within a no-fly buffer, or too small to sweep) gets a pass of its own (:func:`_own_pass`).
    ``inside`` is the join finder over ``area`` and ``keep_out`` when the caller already has one (several
    candidate routes of one compound share it).
    """
    inside = inside if inside is not None else InsidePaths(area, keep_out=keep_out)
    ordered = order_lanes(lanes, start, inside.length)
    pts: list[tuple[StepKind, XY, Hotspot | None]] = []
    if perimeter and not area.is_empty:
        inset = area.buffer(-lanes.spacing_m / 2.0, quad_segs=2)
        for part in shapely.get_parts(inset):
            if isinstance(part, Polygon) and not part.is_empty:
                ring = list(part.exterior.coords)
                pts.extend((StepKind.JOIN, (float(x), float(y)), None) for x, y in ring)
    prev_end: XY | None = None
    for a, b in ordered:
        a_out, b_out = _run_on(b, a, overrun_m, keep_out), _run_on(a, b, overrun_m, keep_out)
        if pts:
            last = pts[-1][1]
            src = prev_end if prev_end is not None else last
            if prev_end is not None and _dist(prev_end, a) <= 1.5 * lanes.spacing_m:
                chain: list[XY] = []  # a short turn between neighbouring lanes, flown beyond the edge
            else:
                chain = inside.path(src, a)
            legs = [last, *chain, a_out]
            if keep_out is not None and any(
                LineString([p, q]).intersects(keep_out) for p, q in itertools.pairwise(legs)
            ):
                chain = [*([src] if src != last else []), *inside.path(src, a), *([a] if a != a_out else [])]
            pts.extend((StepKind.JOIN, v, None) for v in chain)
        pts.append((StepKind.LANE, a_out, None))
        pts.append((StepKind.LANE, b_out, None))
        prev_end = b
    if not pts:
        return _own_pass(compound, area, alt_m, loiter_s, keep_out, pass_s, lanes)
    _insert_hotspots(pts, compound.hotspots)
    steps = tuple(
        Step(
            kind,
            float(xy[0]),
            float(xy[1]),
            alt_m,
            compound.id,
            loiter_s if kind is StepKind.HOTSPOT else 0.0,
            h.id if h is not None else None,
        )
        for kind, xy, h in _dedupe(pts)
    )
    return CompoundRoute(compound.id, steps, lanes)


def _own_pass(
    compound: Compound,
    area: BaseGeometry,
    alt_m: float,
    loiter_s: float,
    keep_out: BaseGeometry | None,
    pass_s: float,
    lanes: Lanes,
) -> CompoundRoute:
    """The route of a compound with no lanes of its own: fly to the point nearest its middle that is clear of
    ``keep_out``, and hover there ``pass_s`` seconds (two steps, so the cue that starts the speaker runs on
    arrival and the one that stops it after the hover); then its hotspots."""
    rp = area.representative_point() if not area.is_empty else compound.geometry.representative_point()
    xy = (rp.x, rp.y) if keep_out is None or keep_out.is_empty else nearest_outside((rp.x, rp.y), keep_out, 2.0)
    pts: list[tuple[StepKind, XY, Hotspot | None]] = [(StepKind.LANE, xy, None)]
    _insert_hotspots(pts, compound.hotspots)
    steps = [Step(StepKind.LANE, float(xy[0]), float(xy[1]), alt_m, compound.id)]
    if pass_s > 0:
        steps.append(Step(StepKind.LANE, float(xy[0]), float(xy[1]), alt_m, compound.id, float(pass_s)))
    for kind, q, h in pts[1:]:
        steps.append(
            Step(kind, float(q[0]), float(q[1]), alt_m, compound.id, loiter_s if h is not None else 0.0,
                 h.id if h is not None else None)
        )  # fmt: skip
    return CompoundRoute(compound.id, tuple(steps), lanes)


def _dedupe(pts: list[tuple[StepKind, XY, Hotspot | None]]) -> list[tuple[StepKind, XY, Hotspot | None]]:
    out: list[tuple[StepKind, XY, Hotspot | None]] = []
    for p in pts:
        if (
            out
            and p[0] is not StepKind.HOTSPOT
            and out[-1][0] is not StepKind.HOTSPOT
            and _dist(out[-1][1], p[1]) < 0.05
        ):
            continue
        out.append(p)
    return out


def reversed_route(route: CompoundRoute) -> CompoundRoute:
    """The same route flown backwards."""
    return CompoundRoute(route.compound_id, tuple(reversed(route.steps)), route.lanes)


def priority_key(compound: Compound) -> tuple[int, int]:
    """Sort key: explicit priority first, then tier (scattered, guarded, closed)."""
    tier_rank = {"scattered": 0, "guarded": 1, "closed": 2}[compound.tier]
    return (compound.priority, tier_rank)


def order_group(points: np.ndarray, start: XY, max_passes: int = 50) -> list[int]:
    """Visiting order for ``points`` from ``start``: nearest neighbour, then 2-opt (open path).

    2-opt reverses ``order[i..j]`` when ``d(p[i-1], p[j]) + d(p[i], p[j+1])`` is shorter than the
    two edges it replaces (no edge after the last point: the path is open); the gain of every ``j``
    for one ``i`` is computed at once.
    """
    n = len(points)
    if n <= 1:
        return list(range(n))
    left = np.ones(n, bool)
    pos = np.array(start, float)
    order: list[int] = []
    for _ in range(n):
        d = np.hypot(*(points - pos).T)
        d[~left] = np.inf
        k = int(d.argmin())
        order.append(k)
        left[k] = False
        pos = points[k]
    for _ in range(max_passes):
        path = np.vstack([np.asarray(start, float)[None, :], points[order]])  # path[0] is the start
        improved = False
        for i in range(1, n):
            a, b = path[i - 1], path[i]
            j = np.arange(i + 1, n + 1)
            c = path[j]
            nxt = np.vstack([path[j[:-1] + 1], np.full((1, 2), np.nan)])
            old = np.hypot(*(b - a)) + np.nan_to_num(np.hypot(*(nxt - c).T), nan=0.0)
            new = np.hypot(*(c - a).T) + np.nan_to_num(np.hypot(*(nxt - b).T), nan=0.0)
            gain = old - new
            k = int(gain.argmax())
            if gain[k] > 1e-6:
                jj = int(j[k])
                order[i - 1 : jj] = order[i - 1 : jj][::-1]
                path[i : jj + 1] = path[i : jj + 1][::-1]
                improved = True
        if not improved:
            break
    return order


def order_compounds(routes: Sequence[CompoundRoute], compounds: Sequence[Compound], home: XY) -> list[CompoundRoute]:
    """Compound routes in patrol order (priority groups, short transit), each turned to start nearest."""
    by_id = {c.id: c for c in compounds}
    groups: dict[tuple[int, int], list[CompoundRoute]] = {}
    for r in routes:
        groups.setdefault(priority_key(by_id[r.compound_id]), []).append(r)
    out: list[CompoundRoute] = []
    pos = home
    for key in sorted(groups):
        grp = groups[key]
        centres = np.array([[np.mean([s.x_m for s in r.steps]), np.mean([s.y_m for s in r.steps])] for r in grp])
        for k in order_group(centres, pos):
            r = grp[k]
            if _dist(pos, r.end) < _dist(pos, r.start):
                r = reversed_route(r)
            out.append(r)
            pos = r.end
    return out


def sweep_area(compound: Compound, nofly_zones: BaseGeometry | None) -> Polygon | MultiPolygon:
    """The part of a compound that may be flown over: the compound minus buffered no-fly zones."""
    geom = compound.geometry
    if nofly_zones is not None and not nofly_zones.is_empty and geom.intersects(nofly_zones):
        geom = geom.difference(nofly_zones)
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and g.area > 1.0]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def nearest_outside(p: XY, blocked: Sequence[BaseGeometry] | BaseGeometry, pad_m: float = 10.0) -> XY:
    """``p`` itself if it is clear of ``blocked``, else the nearest point ``pad_m`` outside it.

    ``blocked`` may be one geometry or many; only those within 500 m of ``p`` are considered.
    """
    pt = Point(p)
    geoms = np.array(list(shapely.get_parts(blocked)) if isinstance(blocked, BaseGeometry) else list(blocked))
    if len(geoms) == 0:
        return p
    near = geoms[shapely.dwithin(geoms, pt, 500.0)]
    if len(near) == 0:
        return p
    local = shapely.union_all(near)
    if not local.buffer(pad_m / 2).contains(pt):
        return p
    ring = local.buffer(pad_m, quad_segs=4).boundary
    q = ring.interpolate(ring.project(pt))
    return (q.x, q.y)


def route_length_m(route: CompoundRoute) -> float:
    """Length of the path a compound route flies (lanes, joins, spurs), metres."""
    xy = [(s.x_m, s.y_m) for s in route.steps]
    return float(sum(_dist(a, b) for a, b in itertools.pairwise(xy)))


JOINT_ANGLES = 3  # directions routed for a compound of three or more cells (benchmarks/bench_sweep.py)
REPAIR_POINTS = 800  # ground points a route is checked at for whole prompts (about one per 12 m2 of 1 ha)
REPAIR_SPURS = 6  # most out-and-back spurs added to one compound's route


def route_legs(
    steps: Sequence[Step], speed_of: Callable[[Step], float], start: XY | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The timed legs ``(p0, p1, dur_s)`` flown from ``start`` (else the first step) through ``steps``.

    Each move to a step takes its length over ``speed_of(step)``; a loiter is a hover leg (``p0 == p1``)
    of its time. The planner's prediction of the whole district and the heard-whole repair of one route
    both time their legs here.
    """
    p0, p1, dur = [], [], []
    pos = start if start is not None else ((steps[0].x_m, steps[0].y_m) if steps else (0.0, 0.0))
    for st in steps:
        q = (st.x_m, st.y_m)
        p0.append(pos)
        p1.append(q)
        dur.append(_dist(pos, q) / speed_of(st))
        if st.loiter_s > 0:
            p0.append(q)
            p1.append(q)
            dur.append(st.loiter_s)
        pos = q
    return np.array(p0, float).reshape(-1, 2), np.array(p1, float).reshape(-1, 2), np.array(dur, float)


def heard_repair(
    route: CompoundRoute,
    area: BaseGeometry,
    speed_mps: float,
    radius_m: float,
    prompt_s: float,
    keep_out: BaseGeometry | None = None,
) -> CompoundRoute:
    """``route`` with out-and-back spurs to the ground it leaves without a whole prompt.

    Lanes a spacing apart with their run-on hear every point of a convex outline whole; a sharp corner
    or a narrow strip between two lanes' ends can still be in range only in two short pieces. The route is
    checked at ``REPAIR_POINTS`` grid points of ``area``; while one hears less than ``prompt_s`` without a
    break, a spur is flown from the nearest point of the path out to it and back (up to ``REPAIR_SPURS``;
    the out-and-back alone keeps it in range for at least ``2 radius_m / speed``, more than a prompt at any
    speed the planner chooses). A spur that would cross ``keep_out`` is not flown: that ground stays
    unheard and the plan's prediction says so.
    """
    from patrol.plan.coverage import longest_heard_s, sample_points

    if area.is_empty or len(route.steps) < 2:
        return route
    pts = sample_points(area, REPAIR_POINTS)
    steps = list(route.steps)
    skip = np.zeros(len(pts), bool)
    for _ in range(REPAIR_SPURS):
        p0, p1, dur = route_legs(steps, lambda st: st.speed_mps or speed_mps)
        heard = longest_heard_s(pts, p0, p1, dur, radius_m)
        short = (heard < prompt_s - 1e-6) & ~skip
        if not short.any():
            break
        k = int(np.flatnonzero(short)[np.argmin(heard[short])])
        target = (float(pts[k, 0]), float(pts[k, 1]))
        best_i, best_d, best_at = 1, math.inf, (steps[0].x_m, steps[0].y_m)
        for i in range(1, len(steps)):
            at = closest_on_segment((steps[i - 1].x_m, steps[i - 1].y_m), (steps[i].x_m, steps[i].y_m), target)
            if (d := _dist(at, target)) < best_d - 1e-9:
                best_i, best_d, best_at = i, d, at
        if keep_out is not None and LineString([best_at, target]).intersects(keep_out):
            skip[k] = True
            continue
        ref = steps[best_i]
        join = Step(StepKind.JOIN, best_at[0], best_at[1], ref.alt_m, ref.compound_id, speed_mps=ref.speed_mps)
        tip = dataclasses.replace(join, x_m=target[0], y_m=target[1])
        steps[best_i:best_i] = [join, tip, join] if best_d > 0.05 else [tip]
    return dataclasses.replace(route, steps=tuple(steps))


def sweep_and_route(
    compound: Compound,
    area: BaseGeometry,
    spacing_m: float,
    speed_mps: float,
    alt_m: float,
    loiter_s: float,
    perimeter: bool = False,
    keep_out: BaseGeometry | None = None,
    overrun_m: float = 0.0,
    radius_m: float | None = None,
    prompt_s: float | None = None,
    pass_s: float = 0.0,
    accel_mps2: float = 2.5,
) -> tuple[Lanes, CompoundRoute]:
    """The lanes and route of one compound, with the lane direction and the cell order chosen jointly.

    The sweep's own choice (the cheapest of three candidate directions by lanes and turns) stands for a
    compound it sweeps in one or two cells. A shape that cuts it into three or more cells (stars, notched
    outlines, several holes) pays in transits between cells, which only the route knows: then the
    ``JOINT_ANGLES`` most promising directions (by lanes and turns) and, for an outline without holes, its
    cuts into cells of their own directions (:func:`_cell_variants`) are each routed, cells ordered by 2-opt,
    and the route of least predicted time (:func:`route_time_s`, as the sorties' endurance model times it,
    with ``accel_mps2``) is kept; a candidate whose lanes alone take longer is not routed. Every candidate
    covers every point within half a spacing of a lane.
    With ``radius_m`` and ``prompt_s`` the kept route is then repaired where ground would hear only part of a
    prompt (:func:`heard_repair`).
    """
    from patrol.plan.sweep import cell_sweep_lanes, ranked_angles, sweep_lanes

    target = area if not area.is_empty else compound.geometry

    inside = InsidePaths(target, keep_out=keep_out)

    def route_for(lanes: Lanes) -> CompoundRoute:
        return compound_route(
            compound, lanes, target, alt_m, loiter_s, perimeter, keep_out=keep_out, overrun_m=overrun_m,
            pass_s=pass_s, inside=inside,
        )  # fmt: skip

    def repaired(lanes: Lanes, route: CompoundRoute) -> tuple[Lanes, CompoundRoute]:
        if radius_m is None or prompt_s is None:
            return lanes, route
        return lanes, heard_repair(route, target, speed_mps, radius_m, prompt_s, keep_out)

    lanes = sweep_lanes(compound.id, area, spacing_m, speed_mps, keep_out=keep_out, radius_m=radius_m)
    route = route_for(lanes)
    if area.is_empty or len(lane_cells(lanes)) < 3:
        return repaired(lanes, route)
    best = (route_time_s(route, speed_mps, accel_mps2), lanes, route)
    candidates: list[Lanes] = []
    for a in ranked_angles(area, spacing_m, speed_mps)[:JOINT_ANGLES]:
        deg = math.degrees(float(a))
        if abs((deg - lanes.angle_deg + 90.0) % 180.0 - 90.0) < 0.5:
            continue  # the sweep's own choice, routed above
        candidates.append(
            sweep_lanes(compound.id, area, spacing_m, speed_mps, deg, keep_out=keep_out, radius_m=radius_m)
        )
    for cells in _cell_variants(area, spacing_m, speed_mps):
        cand = cell_sweep_lanes(
            compound.id, area, spacing_m, speed_mps, keep_out=keep_out, radius_m=radius_m, cells=cells
        )
        if cand is not None:
            candidates.append(cand)
    for cand in sorted(candidates, key=lambda ln: _least_time_s(ln, speed_mps, accel_mps2)):
        if _least_time_s(cand, speed_mps, accel_mps2) >= best[0]:
            break  # its lanes and turns alone take longer than the best route found
        r = route_for(cand)
        if (t := route_time_s(r, speed_mps, accel_mps2)) < best[0] - 1e-6:
            best = (t, cand, r)
    return repaired(best[1], best[2])


def _least_time_s(lanes: Lanes, speed_mps: float, accel_mps2: float) -> float:
    """About the least :func:`route_time_s` of a route over ``lanes`` by :func:`order_lanes`: the lanes, the
    step from each row of a cell to the next (at least the distance between their lines) and a stop there."""
    steps = turns = 0.0
    for cell in lane_cells(lanes):
        for (p, q), (a, _b) in itertools.pairwise(cell):
            L = _dist(p, q)
            if L > 1e-9:
                steps += abs((q[0] - p[0]) * (a[1] - p[1]) - (q[1] - p[1]) * (a[0] - p[0])) / L
            turns += 1
    return (lanes.length_m + steps) / speed_mps + min(TURN_S, speed_mps / accel_mps2) * turns


def _cell_variants(area: BaseGeometry, spacing_m: float, speed_mps: float) -> list[list[Polygon]]:
    """The cuts of ``area`` into cells worth routing: its convex pieces, and those joined while that is
    predicted faster (:func:`patrol.plan.sweep.sweep_cells`); each with two cells or more, none twice."""
    from patrol.plan.sweep import MAX_CELL_VERTICES, MAX_CELLS, convex_pieces, sweep_cells

    if area.area < CELL_MIN_AREA_SPACINGS * spacing_m * spacing_m:
        return []  # a few lanes wide: one direction does about as well, and cutting costs time
    if (
        len(shapely.get_coordinates(area)) > MAX_CELL_VERTICES
        or shapely.get_num_interior_rings(shapely.get_parts(area)).any()
    ):
        return []  # holes: cut round them into many pieces, never faster (benchmarks/bench_sweep.py)
    pieces = convex_pieces(area)
    if not 2 <= len(pieces) <= MAX_CELLS:
        return []
    out = [pieces]
    merged = sweep_cells(area, spacing_m, speed_mps, pieces=pieces)
    if 2 <= len(merged) < len(pieces):
        out.append(merged)
    return out


CELL_MIN_AREA_SPACINGS = 15.0  # least area, in square spacings, of a compound cut into cells of their own angles
TURN_S = 4.0  # the most a stop between rows adds to the least time of a candidate (sweep.py's turn_s)


def leg_time_s(length_m: float, speed_mps: float, accel_mps2: float) -> float:
    """Time to fly a leg from a stop to a stop.

    Examples
    --------
    >>> leg_time_s(100.0, 10.0, 2.5)
    14.0
    >>> round(leg_time_s(10.0, 10.0, 2.5), 3)
    4.0
    """
    if length_m <= 0:
        return 0.0
    if length_m >= speed_mps * speed_mps / accel_mps2:
        return length_m / speed_mps + speed_mps / accel_mps2
    return 2.0 * math.sqrt(length_m / accel_mps2)


def route_time_s(route: CompoundRoute, speed_mps: float, accel_mps2: float = 2.5) -> float:
    """Predicted time to fly a compound route as the sorties' endurance model times it: every leg from a
    stop to a stop (:func:`leg_time_s`) at the step's own speed, else ``speed_mps``."""
    t = 0.0
    for a, b in itertools.pairwise(route.steps):
        t += leg_time_s(_dist((a.x_m, a.y_m), (b.x_m, b.y_m)), b.speed_mps or speed_mps, accel_mps2)
    return t


MIN_COVERED_SHARE = 0.99  # least share of a compound within range of its route at a requested (--spacing-m) spacing


def covered_share(route: CompoundRoute, area: BaseGeometry, radius_m: float) -> float:
    """Share (0..1) of ``area`` within ``radius_m`` of the path ``route`` flies."""
    from patrol.plan.coverage import in_range_share

    xy = np.array([(s.x_m, s.y_m) for s in route.steps], float).reshape(-1, 2)
    return in_range_share(area, xy, radius_m) if len(xy) else 0.0


def widest_covering_spacing(
    plan: Callable[[float], CompoundRoute],
    area: BaseGeometry,
    radius_m: float,
    spacing_m: float,
    step_m: float = 0.5,
    min_share: float = MIN_COVERED_SHARE,
) -> float:
    """The widest lane spacing, ``spacing_m`` or narrower in steps of ``step_m``, at which the route
    ``plan(spacing)`` keeps at least ``min_share`` of ``area`` within ``radius_m`` (``step_m`` if none does).
    Only a refused request searches: each step plans the compound again.
    """
    s = spacing_m
    while s > step_m:
        if covered_share(plan(s), area, radius_m) >= min_share:
            return s
        s -= step_m
    return step_m
