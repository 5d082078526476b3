"""Sortie stage: split the patrol by battery endurance, predict flight time, build fences and rally points.

Time model (conservative, see docs/planning.md): every waypoint is a stop; a leg of length ``L`` at
cruise ``v`` with acceleration ``a`` takes ``L/v + v/a`` when ``L >= v²/a`` (accelerate, cruise,
decelerate) else ``2 sqrt(L/a)``; climb at ``climb_mps``; descent at ``descent_mps`` to 10 m, then
``land_speed_mps``; loiters add their time.

Wind (``Vehicle.wind_mps``, ``patrol plan --wind-mps``): ArduCopter holds its commanded ground speed in wind by
tilting into it, so the sweep and the cue timing stand, but the battery pays. The endurance model charges that
as a conservative headwind bound: every horizontal leg (lanes, transits and the flight home) is timed at the
commanded speed less the whole wind, as if the wind blew against the vehicle on every leg, whatever its
direction. A sortie is closed when that bound reaches the usable endurance, so it keeps its reserve in any
wind direction up to ``wind_mps``. Climbs, descents and loiters are charged as in still air.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from patrol.errors import PlanningError, SafetyError
from patrol.i18n import N_, _
from patrol.plan.airspace import Skyline, transit
from patrol.plan.route import avoid_zones, leg_time_s, nearest_outside
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


def step_speed(step: Step, patrol_speed_mps: float, vehicle: Vehicle) -> float:
    """Cruise speed used to reach ``step`` (transit speed outside compounds, the compound's patrol speed inside)."""
    if step.kind is StepKind.TRANSIT:
        return vehicle.transit_speed_mps
    return step.speed_mps if step.speed_mps is not None else patrol_speed_mps


MIN_HEADWAY_MPS = 1.0
"""The least ground speed the headwind bound accepts: less, and the vehicle may not make it home."""


# What a waypoint is for (StepKind's values), translated where an error names a waypoint.
STEP_KINDS = (N_("transit"), N_("lane"), N_("join"), N_("hotspot"))


def headwind_speed(speed_mps: float, vehicle: Vehicle) -> float:
    """The ground speed the endurance model charges a leg commanded at ``speed_mps``: less the whole wind.

    >>> headwind_speed(10.0, Vehicle(wind_mps=8.0))
    2.0
    """
    v = speed_mps - vehicle.wind_mps
    if v < MIN_HEADWAY_MPS:
        raise PlanningError(
            _(
                "--wind-mps {wind_mps}: into that wind a leg flown at {speed_mps} m/s makes {ground_mps} m/s over "
                "the ground (less than {least_mps}); do not fly, or raise --speed-mps"
            ).format(
                wind_mps=f"{vehicle.wind_mps:g}",
                speed_mps=f"{speed_mps:g}",
                ground_mps=f"{v:g}",
                least_mps=f"{MIN_HEADWAY_MPS:g}",
            )
        )
    return v


def path_time_s(home: XY, steps: Sequence[Step], patrol_speed_mps: float, vehicle: Vehicle) -> float:
    """Predicted time from take-off at ``home`` through ``steps`` and back to a landing at home.

    With ``vehicle.wind_mps`` every horizontal leg is charged at the headwind bound (module docstring).
    """
    if not steps:
        return 0.0
    alt = max(s.alt_m for s in steps)
    t = steps[0].alt_m / vehicle.climb_mps
    pos = home
    for s in steps:
        speed = headwind_speed(step_speed(s, patrol_speed_mps, vehicle), vehicle)
        t += leg_time_s(math.hypot(s.x_m - pos[0], s.y_m - pos[1]), speed, vehicle.accel_mps2)
        t += s.loiter_s
        pos = (s.x_m, s.y_m)
    back = headwind_speed(vehicle.transit_speed_mps, vehicle)
    t += leg_time_s(math.hypot(home[0] - pos[0], home[1] - pos[1]), back, vehicle.accel_mps2)
    t += max(alt - LAND_FLARE_M, 0.0) / vehicle.descent_mps + min(alt, LAND_FLARE_M) / vehicle.land_speed_mps
    return t


def transit_steps(
    a: XY,
    b: XY,
    zones: BaseGeometry | None,
    params: PatrolParams,
    sky: Skyline | None = None,
    a_alt: float | None = None,
    b_alt: float | None = None,
) -> list[Step]:
    """Transit waypoints between ``a`` and ``b``: round ``zones``, and over every roof on the way.

    Without ``sky`` (no buildings known) they fly at the transit altitude; with it, at a cruise altitude
    that clears every roof under the path, climbing in place at ``a`` and descending in place at ``b``
    where those are lower (see :func:`patrol.plan.airspace.transit`).
    """
    via = avoid_zones(a, b, zones)
    if sky is None:
        return [Step(StepKind.TRANSIT, x, y, params.transit_alt) for x, y in via]
    ta = params.transit_alt if a_alt is None else a_alt
    tb = params.transit_alt if b_alt is None else b_alt
    return transit(a, ta, b, tb, via, sky, params)


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
                _(
                    "compound {id}: a single waypoint is out of reach within the endurance; "
                    "move --home closer or raise --endurance-min"
                ).format(id=route.compound_id)
            )
        if len(cur) == 2 and not fits(cur):  # a fresh piece: its one leg alone is longer than a sortie
            raise PlanningError(
                _(
                    "compound {id}: one leg of its sweep does not fit a sortie within the endurance "
                    "(--wind-mps is charged as a headwind on every leg); raise --endurance-min, lower --wind-mps "
                    "or move --home closer"
                ).format(id=route.compound_id)
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
    sky: Skyline | None = None,
) -> list[list[tuple[Step, ...]]]:
    """Group compound routes (or pieces of one) into sorties that fit the usable endurance.

    Returns, per sortie, the compound step runs it flies, in order. Transit is added later.
    """
    usable = vehicle.usable_s

    def assemble(runs: Sequence[tuple[Step, ...]]) -> list[Step]:
        return sortie_steps(runs, home, zones, params, sky)

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
    """Inclusion polygon around everything the sortie flies (plus margin) that covers no no-fly zone,
    exclusion polygons for the zones near it, and the ceiling.

    A zone on the edge is cut out of the inclusion polygon. A zone inside it would leave a hole, which a
    fence polygon cannot have: a 2 m slit is cut from the hole to the outside along a direction no leg
    crosses (16 tried); if every direction is crossed the zone stays covered and only its exclusion
    polygon keeps the vehicle out.
    """
    pts = MultiPoint([home, *[(s.x_m, s.y_m) for s in steps]])
    inclusion = shapely.convex_hull(pts).buffer(params.fence_margin_m, quad_segs=2).simplify(1.0)
    if not isinstance(inclusion, Polygon):
        inclusion = shapely.convex_hull(inclusion)
    path = LineString([home, *[(s.x_m, s.y_m) for s in steps]]) if steps else Point(home)
    keep_clear = path.buffer(5.0)
    exclusions = []
    for z in nofly:
        for part in shapely.get_parts(z.geometry):
            if not part.intersects(inclusion):
                continue
            exclusions.append(Polygon(part.exterior))
            cut = inclusion.difference(part)
            if isinstance(cut, MultiPolygon):  # keep the piece the sortie flies in
                cut = max(cut.geoms, key=lambda g: g.intersection(keep_clear).area)
            if not isinstance(cut, Polygon) or cut.is_empty or not cut.covers(path):
                continue
            if cut.interiors:
                cut = _slit(cut, part, keep_clear)
            if cut is not None and not cut.interiors and cut.covers(path):
                inclusion = Polygon(cut.exterior).simplify(0.5)
    return Fence(Polygon(inclusion.exterior), tuple(exclusions), params.max_alt_m, params.fence_margin_m)


def _slit(poly: Polygon, hole: Polygon, keep_clear: BaseGeometry) -> Polygon | None:
    """``poly`` with a 2 m slit from ``hole`` to its outside that no part of ``keep_clear`` touches."""
    c = hole.centroid
    reach = poly.exterior.hausdorff_distance(c) + 10.0
    for k in range(16):
        a = 2 * math.pi * k / 16
        ray = LineString([(c.x, c.y), (c.x + reach * math.cos(a), c.y + reach * math.sin(a))])
        slit = ray.difference(hole).buffer(1.0, cap_style="flat")
        if slit.intersects(keep_clear):
            continue
        out = poly.difference(slit)
        if isinstance(out, Polygon) and not out.interiors:
            return out
    return None


def check_sortie(home: XY, steps: Sequence[Step], fence: Fence, index: int) -> None:
    """Raise :class:`SafetyError` naming the waypoint if the sortie leaves its fence or breaks a limit."""
    inc = fence.inclusion
    shapely.prepare(inc)
    prev = home
    for k, s in enumerate(steps, start=1):
        if s.compound_id:
            where = _("sortie {sortie}, waypoint {k} ({kind} in {compound})").format(
                sortie=index, k=k, kind=_(s.kind.value), compound=s.compound_id
            )
        else:
            where = _("sortie {sortie}, waypoint {k} ({kind})").format(sortie=index, k=k, kind=_(s.kind.value))
        if not (0.0 < s.alt_m <= fence.max_alt_m):
            raise SafetyError(
                _("{where}: altitude {alt_m} m outside 0..{ceiling_m} m; lower --alt-m").format(
                    where=where, alt_m=f"{s.alt_m:.1f}", ceiling_m=f"{fence.max_alt_m:.0f}"
                )
            )
        if not inc.covers(Point(s.x_m, s.y_m)):
            raise SafetyError(_("{where}: outside the inclusion fence; not written").format(where=where))
        leg = LineString([prev, (s.x_m, s.y_m)]) if prev != (s.x_m, s.y_m) else Point(prev)
        for z in fence.exclusions:
            if leg.intersects(z):
                raise SafetyError(
                    _("{where}: the leg to it crosses an exclusion zone; not written").format(where=where)
                )
        prev = (s.x_m, s.y_m)


def safe_alt_m(home: XY, steps: Sequence[Step], params: PatrolParams, sky: Skyline | None) -> float:
    """An altitude that clears every roof in the sortie's area: for rally points and RTL_ALT."""
    if sky is None or not steps:
        return params.transit_alt
    area = MultiPoint([home, *[(s.x_m, s.y_m) for s in steps]]).convex_hull.buffer(params.fence_margin_m)
    roof = sky.roof_under(area)
    need = max(params.transit_alt, roof + params.clearance_m if roof > 0 else 0.0)
    return min(float(math.ceil(need - 1e-9)), params.max_alt_m)  # ArduPilot keeps rally altitudes in whole metres


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


def compound_runs(steps: Sequence[Step]) -> list[tuple[Step, ...]]:
    """A sortie's compound step runs back from its steps (what :func:`split_sorties` grouped and
    :func:`sortie_steps` joined with transit), transit left out: ``sortie_steps(compound_runs(s), ...)`` re-flies
    the same runs, e.g. at another transit layer."""
    runs: list[list[Step]] = []
    for st in steps:
        if st.kind is StepKind.TRANSIT:
            if runs and runs[-1]:
                runs.append([])
            continue
        if not runs:
            runs.append([])
        runs[-1].append(st)
    return [tuple(r) for r in runs if r]


def sortie_steps(
    runs: Sequence[tuple[Step, ...]], home: XY, zones: BaseGeometry | None, params: PatrolParams, sky: Skyline | None
) -> list[Step]:
    """Home, transit, the compound runs in order, transit, home (the last step is over home)."""
    out: list[Step] = []
    pos, pos_alt = home, 0.0
    for run in runs:
        out += transit_steps(pos, (run[0].x_m, run[0].y_m), zones, params, sky, pos_alt, run[0].alt_m)
        out += run
        pos, pos_alt = (run[-1].x_m, run[-1].y_m), run[-1].alt_m
    back = transit_steps(pos, home, zones, params, sky, pos_alt, 0.0)
    out += back
    if sky is None or not back or (back[-1].x_m, back[-1].y_m) != home:
        out.append(Step(StepKind.TRANSIT, home[0], home[1], max(params.transit_alt, pos_alt if sky else 0.0)))
    return out


def transit_plays(transit_xy: Sequence[XY], sortie_compounds: Sequence[Compound], others: Sequence[Compound]) -> bool:
    """Whether the speaker plays over a transit between two compounds of a sortie: it does where the path
    passes over a compound of the sortie (those residents hear it) and over no other compound (a compound
    of another sortie or left out is not disturbed, as the speaker is silent over it on every transit)."""
    geoms = [c.geometry for c in (*sortie_compounds, *others)]
    mine = np.arange(len(geoms)) < len(sortie_compounds)
    return _plays_over(transit_xy, shapely.STRtree(geoms), mine)


def _plays_over(transit_xy: Sequence[XY], tree: shapely.STRtree, mine: np.ndarray) -> bool:
    """:func:`transit_plays` with the compounds in ``tree`` (``mine``: per compound of the tree, of the sortie):
    the path meets some compound and every one it meets is the sortie's."""
    if len(transit_xy) < 2:
        return False
    hits = tree.query(LineString(transit_xy), predicate="intersects")
    return bool(len(hits)) and bool(mine[hits].all())


def _plays_on(
    cues: list[tuple[int, Cue]], steps: Sequence[Step], flown: Sequence[Compound], tree: shapely.STRtree, ids: list[str]
) -> list[tuple[int, Cue]]:
    """``cues`` with each LEAVE but the last marked ``plays_on`` where :func:`transit_plays` says so (``tree``:
    every compound's geometry, ``ids`` their ids in its order)."""
    flown_ids = {c.id for c in flown}
    mine = np.array([i in flown_ids for i in ids], bool)
    enters = sorted(k for k, c in cues if c.kind == CueKind.ENTER)
    out = []
    for k, cue in cues:
        nxt = next((e for e in enters if e > k), None)
        if cue.kind == CueKind.LEAVE and nxt is not None:
            xy = [(s.x_m, s.y_m) for s in steps[k : nxt + 1]]
            if _plays_over(xy, tree, mine):
                cue = dataclasses.replace(cue, plays_on=True)
        out.append((k, cue))
    return out


def make_sorties(
    routes: Sequence[CompoundRoute],
    compounds: Sequence[Compound],
    nofly: Sequence[NoFlyZone],
    home: XY,
    params: PatrolParams,
    vehicle: Vehicle,
    patrol_speed_mps: float,
    sky: Skyline | None = None,
) -> list[Sortie]:
    """Sorties with transit, cues, fences and rally points, each checked against its own fence."""
    zones = shapely.union_all([shapely.buffer(z.geometry, params.nofly_buffer_m) for z in nofly]) if nofly else None
    by_id = {c.id: c for c in compounds}
    blocked = [c.geometry for c in compounds] + ([zones] if zones is not None else [])
    if sky is not None:  # rally points on open ground
        blocked += [b.geometry.buffer(params.home_clearance_m) for b in sky.buildings]
    groups = split_sorties(routes, home, params, vehicle, patrol_speed_mps, zones, sky)
    tree, ids = shapely.STRtree([c.geometry for c in compounds]), [c.id for c in compounds]
    out: list[Sortie] = []
    for i, runs in enumerate(groups, start=1):
        steps = sortie_steps(runs, home, zones, params, sky)
        cues: list[tuple[int, Cue]] = []
        k0 = 0
        for run in runs:
            first = next(k for k in range(k0, len(steps)) if steps[k] is run[0])
            last = first + len(run) - 1
            c = by_id[run[0].compound_id or ""]
            cues.append((first, Cue(CueKind.ENTER, c.id, tier=c.tier)))
            for k in range(first, last + 1):
                s = steps[k]
                if s.kind is StepKind.HOTSPOT:
                    kind = next((h.kind for h in c.hotspots if h.id == s.hotspot_id), None)
                    cues.append((k - 1, Cue(CueKind.HOTSPOT, c.id, s.hotspot_id, kind, c.tier)))
            cues.append((last, Cue(CueKind.LEAVE, c.id, tier=c.tier)))
            k0 = last + 1
        cues = _plays_on(cues, steps, [by_id[r[0].compound_id or ""] for r in runs], tree, ids)
        fence = build_fence(home, steps, nofly, params)
        safe = safe_alt_m(home, steps, params, sky)
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
                rally=rally_points(home, steps, blocked, safe),
                predicted_time_s=path_time_s(home, steps, patrol_speed_mps, vehicle),
                length_m=length,
                safe_alt_m=safe,
            )
        )
    return out
