"""Sortie stage: split the patrol by battery endurance, predict flight time, build fences and rally points.

Time model (conservative, see docs/planning.md): every waypoint is a stop; a leg of length ``L`` at
cruise ``v`` with acceleration ``a`` takes ``L/v + v/a`` when ``L >= v²/a`` (accelerate, cruise,
decelerate) else ``2 sqrt(L/a)``; climb at ``climb_mps``; descent at ``descent_mps`` to 10 m, then
``land_speed_mps``; loiters add their time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from patrol.errors import PlanningError, SafetyError
from patrol.route import avoid_zones, nearest_outside
from patrol.types import (
    Compound,
    CompoundRoute,
    Cue,
    CueKind,
    Fence,
    NoFlyZone,
    PatrolParams,
    RallyPoint,
    Sortie,
    Step,
    StepKind,
    Vehicle,
)

XY = tuple[float, float]
LAND_FLARE_M = 10.0


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


def step_speed(step: Step, patrol_speed_mps: float, vehicle: Vehicle) -> float:
    """Cruise speed used to reach ``step`` (transit speed outside compounds, patrol speed inside)."""
    return vehicle.transit_speed_mps if step.kind is StepKind.TRANSIT else patrol_speed_mps


def path_time_s(home: XY, steps: Sequence[Step], patrol_speed_mps: float, vehicle: Vehicle) -> float:
    """Predicted time from take-off at ``home`` through ``steps`` and back to a landing at home."""
    if not steps:
        return 0.0
    alt = max(s.alt_m for s in steps)
    t = steps[0].alt_m / vehicle.climb_mps
    pos = home
    for s in steps:
        t += leg_time_s(
            math.hypot(s.x_m - pos[0], s.y_m - pos[1]), step_speed(s, patrol_speed_mps, vehicle), vehicle.accel_mps2
        )
        t += s.loiter_s
        pos = (s.x_m, s.y_m)
    t += leg_time_s(math.hypot(home[0] - pos[0], home[1] - pos[1]), vehicle.transit_speed_mps, vehicle.accel_mps2)
    t += max(alt - LAND_FLARE_M, 0.0) / vehicle.descent_mps + min(alt, LAND_FLARE_M) / vehicle.land_speed_mps
    return t


def transit_steps(a: XY, b: XY, zones: BaseGeometry | None, alt_m: float) -> list[Step]:
    """Transit waypoints strictly between ``a`` and ``b`` that route around ``zones``."""
    return [Step(StepKind.TRANSIT, x, y, alt_m) for x, y in avoid_zones(a, b, zones)]


def _chunks(route: CompoundRoute, fits) -> list[tuple[Step, ...]]:
    """Split one compound's steps into consecutive pieces that each fit a sortie on their own."""
    pieces: list[tuple[Step, ...]] = []
    cur: list[Step] = []
    for s in route.steps:
        if cur and not fits([*cur, s]):
            pieces.append(tuple(cur))
            cur = [cur[-1]] if cur[-1].kind is not StepKind.HOTSPOT else []
        cur.append(s)
        if len(cur) == 1 and not fits(cur):
            raise PlanningError(
                f"compound {route.compound_id}: a single waypoint is out of reach within the endurance; "
                "move --home closer or raise --endurance-min"
            )
    if cur:
        pieces.append(tuple(cur))
    return pieces


def split_sorties(
    routes: Sequence[CompoundRoute],
    home: XY,
    params: PatrolParams,
    vehicle: Vehicle,
    patrol_speed_mps: float,
    zones: BaseGeometry | None,
) -> list[list[tuple[Step, ...]]]:
    """Group compound routes (or pieces of one) into sorties that fit the usable endurance.

    Returns, per sortie, the compound step runs it flies, in order. Transit is added later.
    """
    usable = vehicle.usable_s
    alt_t = params.transit_alt

    def assemble(runs: Sequence[tuple[Step, ...]]) -> list[Step]:
        out: list[Step] = []
        pos = home
        for run in runs:
            out += transit_steps(pos, (run[0].x_m, run[0].y_m), zones, alt_t)
            out += run
            pos = (run[-1].x_m, run[-1].y_m)
        out += transit_steps(pos, home, zones, alt_t)
        return out

    def fits(runs: Sequence[tuple[Step, ...]]) -> bool:
        return path_time_s(home, assemble(runs), patrol_speed_mps, vehicle) <= usable

    sorties: list[list[tuple[Step, ...]]] = []
    cur: list[tuple[Step, ...]] = []
    for r in routes:
        if fits([*cur, r.steps]):
            cur.append(r.steps)
            continue
        if cur:
            sorties.append(cur)
            cur = []
        if fits([r.steps]):
            cur = [r.steps]
            continue
        pieces = _chunks(r, lambda steps: fits([tuple(steps)]))
        sorties.extend([[p] for p in pieces[:-1]])
        cur = [pieces[-1]]
    if cur:
        sorties.append(cur)
    return sorties


def build_fence(home: XY, steps: Sequence[Step], nofly: Sequence[NoFlyZone], params: PatrolParams) -> Fence:
    """Inclusion polygon around everything the sortie flies (plus margin), no-fly exclusions, ceiling."""
    pts = MultiPoint([home, *[(s.x_m, s.y_m) for s in steps]])
    inclusion = shapely.convex_hull(pts).buffer(params.fence_margin_m, quad_segs=2)
    inclusion = inclusion.simplify(1.0)
    if not isinstance(inclusion, Polygon):
        inclusion = shapely.convex_hull(inclusion)
    exclusions = []
    for z in nofly:
        for part in shapely.get_parts(z.geometry):
            if part.intersects(inclusion):
                exclusions.append(Polygon(part.exterior))
    return Fence(Polygon(inclusion.exterior), tuple(exclusions), params.max_alt_m, params.fence_margin_m)


def check_sortie(home: XY, steps: Sequence[Step], fence: Fence, index: int) -> None:
    """Raise :class:`SafetyError` naming the waypoint if the sortie leaves its fence or breaks a limit."""
    inc = fence.inclusion
    shapely.prepare(inc)
    prev = home
    for k, s in enumerate(steps, start=1):
        where = f"sortie {index}, waypoint {k} ({s.kind.value}{' in ' + s.compound_id if s.compound_id else ''})"
        if not (0.0 < s.alt_m <= fence.max_alt_m):
            raise SafetyError(f"{where}: altitude {s.alt_m:.1f} m outside 0..{fence.max_alt_m:.0f} m; lower --alt-m")
        if not inc.covers(Point(s.x_m, s.y_m)):
            raise SafetyError(f"{where}: outside the inclusion fence; not written")
        leg = LineString([prev, (s.x_m, s.y_m)]) if prev != (s.x_m, s.y_m) else Point(prev)
        for z in fence.exclusions:
            if leg.intersects(z):
                raise SafetyError(f"{where}: the leg to it crosses an exclusion zone; not written")
        prev = (s.x_m, s.y_m)


def rally_points(
    home: XY, steps: Sequence[Step], blocked: Sequence[BaseGeometry], alt_m: float, far_m: float = 300.0
) -> tuple[RallyPoint, ...]:
    """Home, plus a point clear of compounds and no-fly zones near the far end of the sortie."""
    out = [RallyPoint(home[0], home[1], alt_m)]
    if steps:
        d = np.array([math.hypot(s.x_m - home[0], s.y_m - home[1]) for s in steps])
        k = int(d.argmax())
        if d[k] > far_m:
            x, y = nearest_outside((steps[k].x_m, steps[k].y_m), blocked)
            out.append(RallyPoint(x, y, alt_m))
    return tuple(out)


def make_sorties(
    routes: Sequence[CompoundRoute],
    compounds: Sequence[Compound],
    nofly: Sequence[NoFlyZone],
    home: XY,
    params: PatrolParams,
    vehicle: Vehicle,
    patrol_speed_mps: float,
) -> list[Sortie]:
    """Sorties with transit, cues, fences and rally points, each checked against its own fence."""
    zones = shapely.union_all([shapely.buffer(z.geometry, params.nofly_buffer_m) for z in nofly]) if nofly else None
    by_id = {c.id: c for c in compounds}
    blocked = [c.geometry for c in compounds] + ([zones] if zones is not None else [])
    groups = split_sorties(routes, home, params, vehicle, patrol_speed_mps, zones)
    out: list[Sortie] = []
    for i, runs in enumerate(groups, start=1):
        steps: list[Step] = []
        cues: list[tuple[int, Cue]] = []
        pos = home
        for run in runs:
            steps += transit_steps(pos, (run[0].x_m, run[0].y_m), zones, params.transit_alt)
            c = by_id[run[0].compound_id or ""]
            first = len(steps)
            steps += run
            cues.append((first, Cue(CueKind.ENTER, c.id, tier=c.tier)))
            for k in range(first, len(steps)):
                s = steps[k]
                if s.kind is StepKind.HOTSPOT:
                    kind = next((h.kind for h in c.hotspots if h.id == s.hotspot_id), None)
                    cues.append((k - 1, Cue(CueKind.HOTSPOT, c.id, s.hotspot_id, kind, c.tier)))
            cues.append((len(steps) - 1, Cue(CueKind.LEAVE, c.id, tier=c.tier)))
            pos = (run[-1].x_m, run[-1].y_m)
        steps += transit_steps(pos, home, zones, params.transit_alt)
        steps.append(Step(StepKind.TRANSIT, home[0], home[1], params.transit_alt))
        fence = build_fence(home, steps, nofly, params)
        check_sortie(home, steps, fence, i)
        xy = np.array([home] + [(s.x_m, s.y_m) for s in steps])
        length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
        out.append(
            Sortie(
                index=i,
                compound_ids=tuple(dict.fromkeys(r[0].compound_id or "" for r in runs)),
                steps=tuple(steps),
                cues=tuple(sorted(cues, key=lambda t: t[0])),
                fence=fence,
                rally=rally_points(home, steps, blocked, params.transit_alt),
                predicted_time_s=path_time_s(home, steps, patrol_speed_mps, vehicle),
                length_m=length,
            )
        )
    return out
