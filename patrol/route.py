"""Route stage: lanes joined into a path per compound, compounds ordered, transit around no-fly zones.

Within a compound, lanes are taken boustrophedon-style: from the end of one lane the next is the
nearest lane in an adjacent row that overlaps it (a cell of the decomposition), else the nearest
lane anywhere. Joins are straight where they stay inside the compound, else the shortest path
inside it (visibility graph over its vertices). Hotspots are inserted where they cost least.
Across compounds: priority first, then nearest neighbour and 2-opt on transit distance.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

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


def shortest_path_inside(a: XY, b: XY, area: BaseGeometry, tol_m: float = 0.5) -> list[XY]:
    """Shortest path from ``a`` to ``b`` that stays inside ``area`` (grown by ``tol_m``).

    Returns the intermediate vertices only (empty when the straight line stays inside or when no
    path inside exists, e.g. between two parts of a multi-part compound).
    """
    grown = area.buffer(tol_m, quad_segs=2)
    shapely.prepare(grown)
    if grown.covers(LineString([a, b])):
        return []
    verts = [tuple(p) for p in shapely.get_coordinates(shapely.get_rings(shapely.get_parts(area)))]
    nodes: list[XY] = [a, b, *dict.fromkeys(verts)]
    n = len(nodes)
    ii, jj = np.triu_indices(n, 1)
    coords = np.array(nodes)
    lines = shapely.linestrings(np.stack([coords[ii], coords[jj]], axis=1))
    ok = shapely.covers(grown, lines)
    return _graph_path(nodes, ii, jj, ok)


def avoid_zones(a: XY, b: XY, zones: BaseGeometry | None) -> list[XY]:
    """Intermediate vertices of the shortest path from ``a`` to ``b`` around ``zones`` (none if clear).

    ``zones`` are the buffered no-fly areas; the path runs along their (slightly grown) boundaries.
    """
    if zones is None or zones.is_empty:
        return []
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


def order_lanes(lanes: Lanes, start: XY | None = None) -> list[tuple[XY, XY]]:
    """Lane segments in flying order and direction (boustrophedon within cells, nearest next)."""
    segs = list(lanes.segments)
    if not segs:
        return []
    ang = math.radians(lanes.angle_deg)
    c, s = math.cos(ang), math.sin(ang)
    # rotated coordinates: lane offset (row) and along-lane interval
    rows = [(-p[0] * s + p[1] * c, sorted((p[0] * c + p[1] * s, q[0] * c + q[1] * s))) for p, q in segs]
    row_keys = sorted({round(r, 3) for r, _ in rows})
    row_index = {k: i for i, k in enumerate(row_keys)}
    ridx = [row_index[round(r, 3)] for r, _ in rows]
    left = set(range(len(segs)))
    pos = start if start is not None else segs[0][0]
    if start is None:
        first = min(left, key=lambda k: (ridx[k], rows[k][1][0]))
    else:
        first = min(left, key=lambda k: min(_dist(pos, segs[k][0]), _dist(pos, segs[k][1])))
    out: list[tuple[XY, XY]] = []
    cur = first
    while True:
        left.discard(cur)
        a, b = segs[cur]
        if _dist(pos, b) < _dist(pos, a):
            a, b = b, a
        out.append((a, b))
        pos = b
        if not left:
            break
        lo, hi = rows[cur][1]
        near = [
            k
            for k in left
            if abs(ridx[k] - ridx[cur]) == 1 and rows[k][1][0] <= hi + 1e-6 and rows[k][1][1] >= lo - 1e-6
        ]
        pool = near if near else left
        cur = min(pool, key=lambda k: min(_dist(pos, segs[k][0]), _dist(pos, segs[k][1])))
    return out


def _insert_hotspots(points: list[tuple[StepKind, XY, Hotspot | None]], hotspots: Sequence[Hotspot]) -> None:
    for h in hotspots:
        hp = (h.x_m, h.y_m)
        if len(points) == 1:
            points.append((StepKind.HOTSPOT, hp, h))
            continue
        best_i, best_cost = 1, math.inf
        for i in range(1, len(points)):
            p, q = points[i - 1][1], points[i][1]
            cost = _dist(p, hp) + _dist(hp, q) - _dist(p, q)
            if cost < best_cost:
                best_i, best_cost = i, cost
        points.insert(best_i, (StepKind.HOTSPOT, hp, h))


def compound_route(
    compound: Compound,
    lanes: Lanes,
    area: BaseGeometry,
    alt_m: float,
    loiter_s: float,
    perimeter: bool = False,
    start: XY | None = None,
) -> CompoundRoute:
    """The patrol path over one compound: ordered lanes, joins inside ``area``, hotspot loiters.

    ``area`` is the sweepable part of the compound (no-fly buffers removed). With ``perimeter`` a
    loop half a lane spacing inside the outer boundary is flown first.
    """
    ordered = order_lanes(lanes, start)
    pts: list[tuple[StepKind, XY, Hotspot | None]] = []
    if perimeter and not area.is_empty:
        inset = area.buffer(-lanes.spacing_m / 2.0, quad_segs=2)
        for part in shapely.get_parts(inset):
            if isinstance(part, Polygon) and not part.is_empty:
                ring = list(part.exterior.coords)
                pts.extend((StepKind.JOIN, (float(x), float(y)), None) for x, y in ring)
    for a, b in ordered:
        if pts:
            for v in shortest_path_inside(pts[-1][1], a, area):
                pts.append((StepKind.JOIN, v, None))
        pts.append((StepKind.LANE, a, None))
        pts.append((StepKind.LANE, b, None))
    if not pts:
        rp = area.representative_point() if not area.is_empty else compound.geometry.representative_point()
        pts.append((StepKind.LANE, (rp.x, rp.y), None))
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


def _tour_len(order: list[int], pts: np.ndarray, start: XY) -> float:
    p = np.vstack([np.array(start)[None, :], pts[order]])
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


def order_group(points: np.ndarray, start: XY) -> list[int]:
    """Visiting order for ``points`` from ``start``: nearest neighbour, then 2-opt (open path)."""
    n = len(points)
    if n <= 1:
        return list(range(n))
    left = set(range(n))
    pos = np.array(start)
    order: list[int] = []
    while left:
        k = min(left, key=lambda i: float(np.hypot(*(points[i] - pos))))
        order.append(k)
        left.discard(k)
        pos = points[k]
    improved = True
    best = _tour_len(order, points, start)
    while improved:
        improved = False
        for i in range(n - 1):
            for j in range(i + 1, n):
                cand = order[:i] + order[i : j + 1][::-1] + order[j + 1 :]
                length = _tour_len(cand, points, start)
                if length < best - 1e-6:
                    order, best, improved = cand, length, True
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


def nearest_outside(p: XY, blocked: BaseGeometry, pad_m: float = 10.0) -> XY:
    """``p`` itself if it is clear of ``blocked``, else the nearest point ``pad_m`` outside it."""
    pt = Point(p)
    if blocked.is_empty or not blocked.buffer(pad_m / 2).contains(pt):
        return p
    ring = blocked.buffer(pad_m, quad_segs=4).boundary
    q = ring.interpolate(ring.project(pt))
    return (q.x, q.y)
