"""The planning pipeline: district in, :class:`~patrol.types.Plan` out. Pure: no files, no printing."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from patrol.errors import PlanningError
from patrol.i18n import _
from patrol.plan.acoustics import audibility
from patrol.plan.airspace import CompoundAltitude, Skyline, compound_altitude, leg_altitudes, point_in_building
from patrol.plan.coverage import (
    PlayMemo,
    clip_plays,
    hear,
    in_range_share,
    open_ground,
    radius_table,
    sample_points,
    share,
)
from patrol.plan.fleet import assign_compounds, improve, layered, list_schedule, schedule_fleet, transit_layers
from patrol.plan.mission import build_mission
from patrol.plan.playback import ClipOf, planned_events, planned_track
from patrol.plan.route import (
    MIN_COVERED_SHARE,
    covered_share,
    order_compounds,
    priority_key,
    route_legs,
    sweep_and_route,
    sweep_area,
    widest_covering_spacing,
)
from patrol.plan.shadows import SHADOW_ROUNDS, HeardField, ShadowResponse, field_areas, shadow_loiters
from patrol.plan.shielding import Shield
from patrol.plan.sorties import (
    check_sortie,
    compound_runs,
    make_sorties,
    path_time_s,
    safe_alt_m,
    sortie_steps,
    split_sorties,
    step_speed,
)
from patrol.types import (
    Audibility,
    Building,
    Compound,
    CompoundRoute,
    Cue,
    CueEncoder,
    CueKind,
    District,
    FleetParams,
    FleetSchedule,
    FleetUnit,
    FleetVehicle,
    PatrolParams,
    Plan,
    Sortie,
    Speaker,
    Vehicle,
)


def default_home(district: District) -> tuple[float, float]:
    """Launch point when none is given: the centre of the compounds' bounding box, moved clear of them."""
    from patrol.plan.route import nearest_outside

    geoms = [c.geometry for c in district.compounds] + [z.geometry for z in district.nofly]
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return nearest_outside(((minx + maxx) / 2, (miny + maxy) / 2), geoms)


def replace_alt(params: PatrolParams, alt_m: float) -> PatrolParams:
    """``params`` with the patrol altitude of one compound."""
    return dataclasses.replace(params, alt_m=alt_m)


Flown = Callable[[int], tuple[tuple[float, float], float, Vehicle, Speaker]]
"""Sortie index -> launch point, patrol speed, airframe and speaker of the vehicle that flies it."""


def flown_by(
    schedule: FleetSchedule | None, units: Sequence[UnitPlan], plan: tuple[tuple[float, float], float, Vehicle, Speaker]
) -> Flown:
    """Who flies each sortie: its vehicle of the vehicles file where those differ, else the plan's (``plan``)."""
    if schedule is None or not schedule.units or not units or same_units(units):
        return lambda _i: plan
    by_sortie = {sl.sortie: units[schedule.vehicles.index(sl.vehicle)] for sl in schedule.slots}

    def of(i: int) -> tuple[tuple[float, float], float, Vehicle, Speaker]:
        u = by_sortie[i]
        return (u.unit.home_x_m, u.unit.home_y_m), u.unit.speed_mps, u.unit.vehicle, u.speaker

    return of


def timed_legs(
    sorties: list[Sortie],
    home: tuple[float, float],
    patrol_speed_mps: float,
    vehicle: Vehicle,
    flown: Flown | None = None,
):
    """Legs of every sortie as arrays ``p0, p1, duration_s`` at cruise speed (loiters as hovers), each from home
    (its own vehicle's launch point, speeds and airframe with ``flown``)."""
    legs = []
    for s in sorties:
        h, speed, v = (home, patrol_speed_mps, vehicle) if flown is None else flown(s.index)[:3]
        legs.append(route_legs(s.steps, lambda st, speed=speed, v=v: step_speed(st, speed, v), h))
    if not legs:
        return np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0)
    return tuple(np.concatenate(part) for part in zip(*legs, strict=True))


def default_clip_of(params: PatrolParams) -> ClipOf:
    """What the speaker plays for a cue when no prompt build says it: a clip of half the heard-whole window
    looped over each compound (the window is two clips), ``hotspot_repeats`` of it at a hotspot."""
    clip_s = params.prompt_s / 2.0

    def clip_of(cue: Cue) -> tuple[int, float, int] | None:
        if cue.kind == CueKind.LEAVE:
            return None
        return (1, clip_s, 0) if cue.kind == CueKind.ENTER else (2, clip_s, params.hotspot_repeats)

    return clip_of


def predicted_fields(
    compounds: Sequence[Compound],
    sorties: Sequence[Sortie],
    home: tuple[float, float],
    patrol_speed_mps: float,
    vehicle: Vehicle,
    speaker: Speaker,
    params: PatrolParams,
    clip_of: ClipOf,
    points: int = 3000,
    buildings: Sequence[Building] = (),
    shielding: bool = True,
    keep_points: bool = True,
    flown: Flown | None = None,
    memo: dict[str, PlayMemo] | None = None,
) -> dict[str, tuple[HeardField, dict[int, float]]]:
    """Per compound, the predicted field (:class:`patrol.plan.shadows.HeardField`: its grid, open ground, heard
    whole by all sorties together, heard whole were there no buildings) and the share of its open ground each
    sortie alone gives (its own sorties, and the others it hears): :func:`patrol.plan.coverage.hear`, the
    audit's function, on each sortie's planned track (at its knots and play ends,
    :meth:`PlannedTrack.at_knots_and`) with the plays its cues make (:mod:`patrol.plan.playback`), screened by
    the buildings (:class:`patrol.plan.shielding.Shield`; not with ``shielding`` False). Silent legs count
    for nothing. Without ``keep_points`` the fields hold no grid (``(0, 2)``: the masks alone, for the figures;
    a city of 2,000 compounds would keep 100 MB of points). With ``flown`` each sortie is flown from its
    vehicle's launch point, at its speeds, with its speaker's level. ``memo`` (per compound id, kept between
    calls on the same district and buildings) saves screening a play again (:class:`coverage.PlayMemo`)."""
    flights = []
    for s in sorties:
        h, speed, v, spk = (home, patrol_speed_mps, vehicle, speaker) if flown is None else flown(s.index)
        tr = planned_track(s, h, speed, v)
        events = planned_events(s, tr.done_s, clip_of)
        clip_s = {}
        for cue in (c for _k, c in s.cues):
            if (got := clip_of(cue)) is not None:
                clip_s[got[0]] = got[1]
        plays = [(a, b) for a, b, _ in clip_plays(events, clip_s, float(tr.t_s[-1]))]
        t, xy, alt = tr.at_knots_and(plays)
        r = radius_table(spk, alt, params.radius_m)
        reach = r.max(initial=0.0)
        box = (*(xy.min(axis=0) - reach), *(xy.max(axis=0) + reach))
        flights.append((s, t, xy, alt, r, plays, box))
    out = {}
    tree = shapely.STRtree([b.geometry for b in buildings]) if len(buildings) else None
    shield = Shield.of(buildings, speaker) if shielding else None
    for c in compounds:
        pts = sample_points(c.geometry, points)
        ground = open_ground(pts, tree) if tree is not None else np.ones(len(pts), bool)
        heard = np.zeros(len(pts), bool)
        unscreened = np.zeros(len(pts), bool)
        by_sortie = {}
        minx, miny, maxx, maxy = c.geometry.bounds
        for s, t, xy, alt, r, plays, (x0, y0, x1, y1) in flights:
            if maxx < x0 or minx > x1 or maxy < y0 or miny > y1:
                continue  # this sortie never comes within earshot
            m = memo.setdefault(c.id, PlayMemo(len(pts))) if memo is not None and shield is not None else None
            h = hear(pts, t, xy, r, plays, alt_m=alt, shield=shield, memo=m)
            if h.heard.any() or c.id in s.compound_ids:
                by_sortie[s.index] = round(share(h.heard, ground), 4)
            heard |= h.heard
            unscreened |= h.heard if h.unscreened is None else h.unscreened
        cell_m = max(math.sqrt(c.geometry.area / points), 0.25) if not c.geometry.is_empty else 1.0  # sample_points'
        grid = pts if keep_points else np.zeros((0, 2))
        out[c.id] = (HeardField(grid, ground, heard, unscreened | heard, cell_m), by_sortie)
    return out


def predicted_hearing(
    compounds: Sequence[Compound],
    sorties: Sequence[Sortie],
    home: tuple[float, float],
    patrol_speed_mps: float,
    vehicle: Vehicle,
    speaker: Speaker,
    params: PatrolParams,
    clip_of: ClipOf,
    points: int = 3000,
    buildings: Sequence[Building] = (),
    shielding: bool = True,
) -> dict[str, tuple[float, dict[int, float], float, float]]:
    """Per compound, the predicted share heard whole (all sorties together) and the share each sortie alone
    gives, over its open ground (grid points outside every building footprint,
    :func:`patrol.plan.coverage.open_ground`), third the share over the whole area, and fourth the share of
    the open ground in the buildings' shadow (it would hear a whole warning but for the roofs between it and
    the track): the figures of :func:`predicted_fields`."""
    got = predicted_fields(
        compounds, sorties, home, patrol_speed_mps, vehicle, speaker, params, clip_of, points, buildings, shielding
    )
    return {cid: _figures(f, by) for cid, (f, by) in got.items()}


def shield_for(shield: Shield | None, speaker: Speaker) -> Shield | None:
    """``shield`` (the same buildings) for another speaker: its ear height and absorption."""
    if shield is None:
        return None
    return dataclasses.replace(
        shield, ear_h_m=speaker.listener_height_m, absorption_db_per_km=speaker.absorption_db_per_km
    )


def legs_near(legs: np.ndarray, compound: Compound, radius_m: float) -> np.ndarray:
    """The parts of ``legs`` (line geometries) inside ``compound``'s bounding box grown by ``radius_m``: every
    point of the compound within ``radius_m`` of a leg is as near a part of these, so its in-range share is
    unchanged, and a transit leg kilometres long is not buffered whole for each compound it passes."""
    if not len(legs):
        return legs
    minx, miny, maxx, maxy = compound.geometry.bounds
    parts = shapely.get_parts(
        shapely.clip_by_rect(legs, minx - radius_m, miny - radius_m, maxx + radius_m, maxy + radius_m)
    )
    return parts[shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING]


def _unreachable(f: HeardField, resp: ShadowResponse | None) -> float:
    """Share of the open ground still missed that no permitted hover reaches (0 without a response)."""
    if resp is None:
        return 0.0
    return share(resp.unreachable & f.missed, f.ground)


def _figures(f: HeardField, by_sortie: dict[int, float]) -> tuple[float, dict[int, float], float, float]:
    return share(f.heard, f.ground), by_sortie, share(f.heard), share(f.shadowed, f.ground)


def fleet_sorties(
    ordered: Sequence[CompoundRoute],
    district: District,
    home: tuple[float, float],
    params: PatrolParams,
    vehicle: Vehicle,
    speed_mps: float,
    sky: Skyline | None,
    work_alt_m: float,
    fleet: FleetParams,
    names: Sequence[str] | None = None,
    units: Sequence[FleetUnit] = (),
) -> tuple[list[Sortie], FleetSchedule]:
    """Sorties split for the highest transit layer (so every vehicle's fits its endurance), each flown at its
    vehicle's layer, scheduled and deconflicted (:mod:`patrol.plan.fleet`)."""
    n = len(names) if names else fleet.vehicles
    layers = transit_layers(n, work_alt_m, params.transit_alt, params.max_alt_m, fleet.layer_m)
    top = max(layers)
    base = make_sorties(
        ordered, district.compounds, district.nofly, home, replace_transit(params, top), vehicle, speed_mps, sky
    )
    zones = (
        shapely.union_all([shapely.buffer(z.geometry, params.nofly_buffer_m) for z in district.nofly])
        if district.nofly
        else None
    )

    def variant(i: int, layer_m: float) -> Sortie:
        s = base[i - 1]
        if layer_m >= top:
            return s
        p = replace_transit(params, layer_m)
        steps = sortie_steps(compound_runs(s.steps), home, zones, p, sky)
        if [x.kind for x in steps] != [x.kind for x in s.steps]:
            return s  # the layer changes the route's shape: fly it at the top layer
        check_sortie(home, steps, s.fence, i)
        return layered(s, steps, safe_alt_m(home, steps, p, sky), path_time_s(home, steps, speed_mps, vehicle))

    ids = [s.index for s in base]
    return schedule_fleet(
        variant, ids, district.compounds, layers, home, speed_mps, vehicle, fleet, district.frame, names, units=units
    )


def replace_transit(params: PatrolParams, transit_alt_m: float) -> PatrolParams:
    """``params`` with another transit altitude (a fleet vehicle's layer)."""
    return dataclasses.replace(params, transit_alt_m=transit_alt_m)


def route_compounds(
    district: District,
    params: PatrolParams,
    speaker: Speaker,
    vehicle: Vehicle,
    aud: Audibility,
    sky: Skyline,
    zones: BaseGeometry | None,
    loiter_s: float,
    unheard: dict[str, str] | None = None,
) -> tuple[list[CompoundRoute], dict[str, Audibility], dict[str, CompoundAltitude], dict[str, BaseGeometry]]:
    """Every compound's sweep and route for one speaker and airframe (``aud`` their decision at ``--alt-m``),
    at the altitude its roofs allow, with its audibility there, and its sweepable area. A compound the speaker
    is not heard from at that altitude raises :class:`PlanningError` naming it, or, with ``unheard`` given, is
    left out and named there with the reason."""
    routes = []
    areas: dict[str, BaseGeometry] = {}
    auds: dict[str, Audibility] = {}
    alts: dict[str, CompoundAltitude] = {}
    for c in district.compounds:
        alt = compound_altitude(c, sky, params, reach_m=aud.overrun_m + aud.spacing_m)
        try:
            a_c = aud if alt.alt_m == params.alt_m else audibility(speaker, vehicle, replace_alt(params, alt.alt_m))
        except PlanningError as e:
            if unheard is None:
                raise PlanningError(
                    _("compound {id} ({limited_by} {alt_m} m): {error}").format(
                        id=c.id, limited_by=_(alt.limited_by), alt_m=f"{alt.alt_m:.0f}", error=e
                    )
                ) from None
            unheard[c.id] = f"{_(alt.limited_by)} {alt.alt_m:.0f} m: {e}"
            continue
        alts[c.id] = alt
        auds[c.id] = a_c
        area = sweep_area(c, zones)
        areas[c.id] = area
        _lanes, route = sweep_and_route(
            c,
            area,
            a_c.spacing_m,
            a_c.speed_mps,
            alt.alt_m,
            loiter_s,
            params.perimeter,
            keep_out=zones,
            overrun_m=a_c.overrun_m,
            radius_m=a_c.radius_m,
            prompt_s=params.prompt_s,
            pass_s=float(math.ceil(params.prompt_s - 1e-9)),
            accel_mps2=vehicle.accel_mps2,
        )
        if params.spacing_m is not None:
            _check_requested_spacing(c, area, route, a_c, alt.alt_m, loiter_s, params, zones)
        if a_c is not aud:
            steps = tuple(dataclasses.replace(st, speed_mps=a_c.speed_mps) for st in route.steps)
            route = dataclasses.replace(route, steps=steps)
        routes.append(route)
    return routes, auds, alts, areas


def _check_requested_spacing(
    c: Compound,
    area: BaseGeometry,
    route: CompoundRoute,
    a_c: Audibility,
    alt_m: float,
    loiter_s: float,
    params: PatrolParams,
    zones: BaseGeometry | None,
) -> None:
    """Refuse a requested lane spacing (``--spacing-m``) under which compound ``c``'s route leaves more than
    1 % of it out of range, naming the widest spacing that covers it."""
    target = area if not area.is_empty else c.geometry
    share = covered_share(route, target, a_c.radius_m)
    if share >= MIN_COVERED_SHARE:
        return

    def plan(spacing_m: float) -> CompoundRoute:
        return sweep_and_route(
            c, area, spacing_m, a_c.speed_mps, alt_m, loiter_s, params.perimeter, keep_out=zones,
            overrun_m=a_c.overrun_m, radius_m=a_c.radius_m, prompt_s=params.prompt_s,
        )[1]  # fmt: skip

    widest = widest_covering_spacing(plan, target, a_c.radius_m, a_c.spacing_m)
    raise PlanningError(
        _(
            "compound {id}: --spacing-m {spacing_m} leaves only {share} of it within {radius_m} m of the route; "
            "the widest spacing that covers it is {widest_m} m"
        ).format(
            id=c.id,
            spacing_m=f"{a_c.spacing_m:g}",
            share=f"{share:.1%}",
            radius_m=f"{a_c.radius_m:.0f}",
            widest_m=f"{math.floor(widest * 10) / 10:g}",
        )
    )


@dataclasses.dataclass
class UnitPlan:
    """One vehicle of a vehicles file as the planner sees it: where it launches, its airframe and speaker, and
    its routes of the compounds it can cover whole (with their audibility, altitude and sweepable area)."""

    unit: FleetUnit
    speaker: Speaker
    routes: dict[str, CompoundRoute]
    auds: dict[str, Audibility]
    alts: dict[str, CompoundAltitude]
    areas: dict[str, BaseGeometry]
    unheard: dict[str, str]


def plan_units(
    district: District,
    params: PatrolParams,
    speaker: Speaker,
    home: tuple[float, float],
    sky: Skyline,
    zones: BaseGeometry | None,
    loiter_s: float,
    specs: Sequence[FleetVehicle],
) -> list[UnitPlan]:
    """Each vehicle of a vehicles file resolved: its launch point in the local frame (the plan's ``home`` when it
    gives none), checked clear of no-fly zones and buildings and within its reach of a compound, and its own
    routes (its speaker level and top speed set the lanes). :class:`PlanningError` names the file and vehicle."""
    out = []
    for spec in specs:
        where = _("{path}: vehicle {id}").format(path=spec.origin, id=spec.id)
        if spec.launch_lon is not None and spec.launch_lat is not None:
            hx, hy = district.frame.to_local(spec.launch_lon, spec.launch_lat)
            h = (float(hx), float(hy))
        else:
            h = home
        if zones is not None and zones.contains(shapely.Point(h)):
            raise PlanningError(
                _("{where}: launch lies inside a no-fly zone (or its buffer); choose a point outside").format(
                    where=where
                )
            )
        blocker = point_in_building(h, sky, params.home_clearance_m)
        if blocker is not None:
            raise PlanningError(
                _("{where}: launch is within {clearance_m} m of building {id}; launch from open ground").format(
                    where=where, clearance_m=f"{params.home_clearance_m:g}", id=blocker.id
                )
            )
        v = spec.vehicle
        reach_m = v.usable_s * v.transit_speed_mps / 2
        near_m = min(float(shapely.Point(h).distance(c.geometry)) for c in district.compounds)
        if near_m > reach_m:
            raise PlanningError(
                _(
                    "{where}: launch is {near_km} km from the nearest compound, beyond its reach ({reach_km} km out "
                    "and back on its battery); check launch (LAT,LON, WGS-84)"
                ).format(where=where, near_km=f"{near_m / 1000:.1f}", reach_km=f"{reach_m / 1000:.1f}")
            )
        spk = dataclasses.replace(speaker, level_db_at_1m=spec.speaker_db)
        try:
            aud = audibility(spk, v, params)
        except PlanningError as e:
            raise PlanningError(_("{where}: {error}").format(where=where, error=e)) from None
        unheard: dict[str, str] = {}
        routes, auds, alts, areas = route_compounds(district, params, spk, v, aud, sky, zones, loiter_s, unheard)
        unit = FleetUnit(spec, h[0], h[1], aud.speed_mps)
        out.append(UnitPlan(unit, spk, {r.compound_id: r for r in routes}, auds, alts, areas, unheard))
    return out


def same_units(units: Sequence[UnitPlan]) -> bool:
    """Whether every vehicle of the file launches from one point with one airframe and speaker level: then any
    of them can fly any sortie, and the sorties are shared as among identical vehicles."""
    first = units[0]
    return all(
        (u.unit.home_x_m, u.unit.home_y_m, u.unit.vehicle, u.speaker)
        == (first.unit.home_x_m, first.unit.home_y_m, first.unit.vehicle, first.speaker)
        for u in units
    )


def unit_sorties(
    district: District,
    units: Sequence[UnitPlan],
    params: PatrolParams,
    sky: Skyline | None,
    zones: BaseGeometry | None,
    work_alt_m: float,
    fleet: FleetParams,
    home: tuple[float, float],
    vehicle: Vehicle,
) -> tuple[list[Sortie], FleetSchedule, list[list[str]]]:
    """Sorties of different vehicles (a vehicles file): compounds assigned to the vehicles first
    (:func:`patrol.plan.fleet.assign_compounds`, in priority order, each only to a vehicle that covers it whole
    and reaches it), then each vehicle's compounds split into sorties from its own launch point, at its own
    transit layer, by its own endurance and speeds; then scheduled and deconflicted as one fleet
    (:func:`split_units`). Third, the assignment: per vehicle, its compounds in priority order."""
    assign = assign_units(district, units, params, sky, zones, work_alt_m, fleet)
    return (*split_units(district, units, assign, params, sky, work_alt_m, fleet, home, vehicle), assign)


def assign_units(
    district: District,
    units: Sequence[UnitPlan],
    params: PatrolParams,
    sky: Skyline | None,
    zones: BaseGeometry | None,
    work_alt_m: float,
    fleet: FleetParams,
) -> list[list[str]]:
    """Compounds shared among different vehicles (:func:`patrol.plan.fleet.assign_compounds`): per vehicle, its
    compounds in priority order, each given only to a vehicle that covers it whole and reaches it.
    :class:`PlanningError` names a vehicle that can carry no sortie and a compound no vehicle can patrol."""
    n = len(units)
    layers = transit_layers(n, work_alt_m, params.transit_alt, params.max_alt_m, fleet.layer_m)
    by_id = {c.id: c for c in district.compounds}
    ids = [c.id for c in sorted(district.compounds, key=priority_key)]
    unit_params = [replace_transit(params, layers[v]) for v in range(n)]

    quick: dict[tuple[int, tuple[str, ...]], list[tuple[tuple[int, int], float]] | None] = {}

    def durations(v: int, cids: tuple[str, ...]) -> list[tuple[tuple[int, int], float]] | None:
        """Rank and predicted time of each sortie vehicle ``v`` would fly for ``cids`` (None: it cannot)."""
        if (v, cids) not in quick:
            u = units[v]
            h, p = (u.unit.home_x_m, u.unit.home_y_m), unit_params[v]
            routes = order_compounds([u.routes[c] for c in cids], district.compounds, h)
            try:
                groups = split_sorties(routes, h, p, u.unit.vehicle, u.unit.speed_mps, zones, sky)
                quick[(v, cids)] = [
                    (
                        min(priority_key(by_id[r[0].compound_id or ""]) for r in runs),
                        float(
                            planned_track(
                                SimpleNamespace(steps=tuple(sortie_steps(runs, h, zones, p, sky))),  # type: ignore[arg-type]
                                h,
                                u.unit.speed_mps,
                                u.unit.vehicle,
                            ).t_s[-1]
                        ),
                    )
                    for runs in groups
                ]
            except PlanningError:
                quick[(v, cids)] = None
        return quick[(v, cids)]

    def reach_s(v: int, cid: str) -> float | None:
        """Vehicle ``v``'s time for compound ``cid`` alone (its sorties and the swaps between them), None where it
        cannot fly it: its speaker is not heard whole from the compound's altitude, or a waypoint or one leg of
        the sweep is beyond its battery from its launch point."""
        if cid not in units[v].routes:
            return None
        got = durations(v, (cid,))
        return None if got is None else sum(t for _r, t in got) + fleet.swap_s * (len(got) - 1)

    est = {(c, v): t for c in ids for v in range(n) if (t := reach_s(v, c)) is not None}
    for v, u in enumerate(units):
        if not any((c, v) in est for c in ids):
            why = "; ".join(f"{c}: {w}" for c, w in list(u.unheard.items())[:2]) or _("every compound out of its reach")
            raise PlanningError(
                _(
                    "{path}: vehicle {id} can carry no sortie ({why}); raise its endurance or speaker_db, move its "
                    "launch, or remove it"
                ).format(path=u.unit.spec.origin, id=u.unit.spec.id, why=why)
            )
    for c in ids:
        if not any((c, v) in est for v in range(n)):
            raise PlanningError(
                _(
                    "compound {id}: no vehicle of {path} can patrol it whole (out of reach, or the speaker not heard "
                    "from its altitude); add a vehicle that can, or move a launch point"
                ).format(id=c, path=units[0].unit.spec.origin)
            )

    def evaluate(assign: list[list[str]]) -> list[float]:
        rows = []
        for v, cids in enumerate(assign):
            got = durations(v, tuple(cids)) if cids else []
            if got is None:
                return [math.inf] * n
            rows += [(v, rank, t) for rank, t in got]
        order = sorted(range(len(rows)), key=lambda k: (rows[k][1], -rows[k][2], k))

        def dur(k: int, v: int) -> float:
            return rows[k][2] if rows[k][0] == v else math.inf

        order = improve(order, {k: rows[k][1] for k in range(len(rows))}, dur, n, fleet.swap_s)
        slots = list_schedule(order, dur, n, fleet.swap_s, {})
        ends = [0.0] * n
        for v, _s, e in slots.values():
            ends[v] = max(ends[v], e)
        return ends

    return assign_compounds(ids, est, n, evaluate)


def split_units(
    district: District,
    units: Sequence[UnitPlan],
    assign: Sequence[Sequence[str]],
    params: PatrolParams,
    sky: Skyline | None,
    work_alt_m: float,
    fleet: FleetParams,
    home: tuple[float, float],
    vehicle: Vehicle,
) -> tuple[list[Sortie], FleetSchedule]:
    """Each vehicle's compounds of ``assign`` (its routes as :class:`UnitPlan` holds them, hovers over the
    shadow included) split into sorties from its own launch point, at its own transit layer, by its own
    endurance and speeds, numbered in priority order; then scheduled and deconflicted as one fleet
    (:func:`patrol.plan.fleet.schedule_fleet`, each sortie bound to its vehicle). :class:`PlanningError`
    names the file and the vehicle whose compounds cannot be flown, or the conflict."""
    n = len(units)
    layers = transit_layers(n, work_alt_m, params.transit_alt, params.max_alt_m, fleet.layer_m)
    by_id = {c.id: c for c in district.compounds}
    unit_params = [replace_transit(params, layers[v]) for v in range(n)]
    rows = []
    for v, cids in enumerate(assign):
        u = units[v]
        h = (u.unit.home_x_m, u.unit.home_y_m)
        routes = order_compounds([u.routes[c] for c in cids], district.compounds, h)
        try:
            got = make_sorties(
                routes, district.compounds, district.nofly, h, unit_params[v], u.unit.vehicle, u.unit.speed_mps, sky
            )
        except PlanningError as e:
            raise PlanningError(
                _("{path}: vehicle {id}: {error}").format(path=u.unit.spec.origin, id=u.unit.spec.id, error=e)
            ) from None
        rows += [(v, x, min(priority_key(by_id[c]) for c in x.compound_ids)) for x in got]
    rows.sort(key=lambda r: (r[2], r[0], r[1].index))
    sorties = [dataclasses.replace(x, index=k) for k, (_v, x, _r) in enumerate(rows, start=1)]
    fixed = {k: v for k, (v, _x, _r) in enumerate(rows, start=1)}
    by_index = {s.index: s for s in sorties}
    names = [u.unit.spec.id for u in units]
    speed0 = units[0].unit.speed_mps
    return schedule_fleet(
        lambda i, _layer: by_index[i],
        [s.index for s in sorties],
        district.compounds,
        layers,
        home,
        speed0,
        vehicle,
        fleet,
        district.frame,
        names=names,
        fixed=fixed,
        units=[u.unit for u in units],
    )


def flown_routes(
    sorties: Sequence[Sortie], schedule: FleetSchedule, units: Sequence[UnitPlan]
) -> tuple[list[CompoundRoute], dict[str, Audibility], dict[str, CompoundAltitude], dict[str, BaseGeometry]]:
    """Each compound's route, audibility, altitude and area as the vehicle that patrols it planned them, in the
    order the sorties fly them."""
    vehicle_of = {sl.sortie: schedule.vehicles.index(sl.vehicle) for sl in schedule.slots}
    ordered: list[CompoundRoute] = []
    auds: dict[str, Audibility] = {}
    alts: dict[str, CompoundAltitude] = {}
    areas: dict[str, BaseGeometry] = {}
    for s in sorted(sorties, key=lambda x: x.index):
        u = units[vehicle_of[s.index]]
        for c in s.compound_ids:
            if c not in auds:
                ordered.append(u.routes[c])
                auds[c], alts[c], areas[c] = u.auds[c], u.alts[c], u.areas[c]
    return ordered, auds, alts, areas


def plan_patrol(
    district: District,
    params: PatrolParams | None = None,
    speaker: Speaker | None = None,
    vehicle: Vehicle | None = None,
    encoder: CueEncoder | None = None,
    fleet: FleetParams | None = None,
    shielding: bool = True,
) -> Plan:
    """Plan a patrol of every compound in ``district``.

    Promises: every sortie's waypoints lie inside its inclusion fence and outside every no-fly zone
    (buffered by ``nofly_buffer_m``) and at or below ``max_alt_m``, otherwise a
    :class:`~patrol.errors.SafetyError` is raised and nothing is returned; sorties fit the usable
    endurance; lanes are spaced so the worst point hears ``prompt_s`` whole. With ``fleet`` of more than
    one vehicle the sorties are shared and timed so the predicted tracks keep separation
    (:func:`patrol.plan.fleet.schedule_fleet`; ``Plan.fleet``), else a :class:`PlanningError` names the conflict.
    The predicted heard-whole shares count the buildings' shadows (``shielding``; docs/acoustics.md).
    """
    params = params or PatrolParams()
    speaker = speaker or Speaker()
    vehicle = vehicle or Vehicle()
    for name, alt in (("--alt-m", params.alt_m), ("--transit-alt-m", params.transit_alt)):
        if not 0 < alt <= params.max_alt_m:
            raise PlanningError(
                _("{option} {alt_m} is outside 0..{ceiling_m} m (--max-alt-m); lower it").format(
                    option=name, alt_m=f"{alt:g}", ceiling_m=f"{params.max_alt_m:g}"
                )
            )
    if not 0 <= vehicle.wind_mps < 40:
        raise PlanningError(
            _("--wind-mps {wind_mps}: give the expected wind in m/s, from 0 to 40").format(
                wind_mps=f"{vehicle.wind_mps:g}"
            )
        )
    if vehicle.usable_s <= 0:
        raise PlanningError(
            _("--endurance-min with --reserve-pct leaves no flight time; raise endurance or lower reserve")
        )
    aud = audibility(speaker, vehicle, params)
    frame = district.frame
    if params.home_lon is not None and params.home_lat is not None:
        hx, hy = frame.to_local(params.home_lon, params.home_lat)
        home = (float(hx), float(hy))
    else:
        home = default_home(district)
    zones = (
        shapely.union_all([shapely.buffer(z.geometry, params.nofly_buffer_m) for z in district.nofly])
        if district.nofly
        else None
    )
    if zones is not None and zones.contains(shapely.Point(home)):
        raise PlanningError(_("--home lies inside a no-fly zone (or its buffer); choose a launch point outside"))
    sky = Skyline(district.buildings, params.lateral_clearance_m)
    blocker = point_in_building(home, sky, params.home_clearance_m)
    if blocker is not None:
        raise PlanningError(
            _("--home is within {clearance_m} m of building {id} ({height_m} m); launch from open ground").format(
                clearance_m=f"{params.home_clearance_m:g}", id=blocker.id, height_m=f"{blocker.height_m:.0f}"
            )
        )
    loiter_s = params.loiter_s if params.loiter_s is not None else params.hotspot_repeats * params.prompt_s
    loiter_s = float(math.ceil(loiter_s - 1e-9))  # ArduPilot keeps NAV_LOITER_TIME in whole seconds
    units = []
    if fleet is not None and fleet.units:
        units = plan_units(district, params, speaker, home, sky, zones, loiter_s, fleet.units)
    shared = bool(units) and same_units(units)
    if shared:  # one launch point, airframe and speaker for all: the sorties are shared as among identical ones
        u = units[0]
        vehicle, speaker, home = u.unit.vehicle, u.speaker, (u.unit.home_x_m, u.unit.home_y_m)
        if u.unit.spec.launch_lon is not None:
            params = dataclasses.replace(params, home_lon=u.unit.spec.launch_lon, home_lat=u.unit.spec.launch_lat)
        aud = audibility(speaker, vehicle, params)
    sky_or_none = sky if sky.buildings else None
    hetero = bool(units) and not shared  # different vehicles: each splits its own compounds
    fixed: tuple[list[Sortie], FleetSchedule | None] | None = None
    assign: list[list[str]] = []
    unit_of: dict[str, int] = {}  # compound -> the vehicle of the file that patrols it
    if hetero:
        unit_alt = max((a.alt_m for u in units for a in u.alts.values()), default=params.alt_m)
        planned = unit_sorties(district, units, params, sky_or_none, zones, unit_alt, fleet, home, vehicle)
        fixed, assign = (planned[0], planned[1]), planned[2]
        unit_of = {c: v for v, cids in enumerate(assign) for c in cids}
        ordered, auds, alts, areas = flown_routes(fixed[0], fixed[1], units)
    else:
        routes, auds, alts, areas = route_compounds(district, params, speaker, vehicle, aud, sky, zones, loiter_s)
        ordered = order_compounds(routes, district.compounds, home)
        if params.per_leg_alt:  # in the direction flown: a leg climbs in place before it, descends along the way
            for k, r in enumerate(ordered):
                alt = alts[r.compound_id]
                if alt.roof_source == "buildings" and alt.alt_m > params.alt_m:
                    # the footprints set its altitude: each leg as low as its own roofs allow (up over towers)
                    steps = leg_altitudes(r.steps, sky, params.alt_m, params.clearance_m)
                    ordered[k] = dataclasses.replace(r, steps=steps)
    work_alt = max((a.alt_m for a in alts.values()), default=params.alt_m)
    clip_of = getattr(encoder, "clip", None) or default_clip_of(params)
    shield = Shield.of(district.buildings, speaker) if shielding else None
    names = [x.unit.spec.id for x in units] if units else None
    rounds = SHADOW_ROUNDS if shield is not None and params.shadow_loiters > 0 else 0
    memo: dict[str, PlayMemo] | None = {} if rounds else None  # the rounds predict the same plays again

    def fly_and_hear(ordered: list[CompoundRoute], only: Sequence[Compound] = district.compounds):
        """The sorties of ``ordered``, their schedule, who flies each, and the predicted fields of ``only``."""
        if fixed is not None:
            sorties, schedule = fixed
        elif fleet is not None and (fleet.vehicles > 1 or shared):
            sorties, schedule = fleet_sorties(
                ordered, district, home, params, vehicle, aud.speed_mps, sky_or_none, work_alt, fleet, names,
                [x.unit for x in units],
            )  # fmt: skip
        else:
            schedule = None
            sorties = make_sorties(
                ordered, district.compounds, district.nofly, home, params, vehicle, aud.speed_mps, sky_or_none
            )
        resolve = getattr(encoder, "resolve", None)
        if resolve is not None:  # the broadcast stage names the prompt each cue plays
            sorties = [dataclasses.replace(s, cues=tuple((k, resolve(c)) for k, c in s.cues)) for s in sorties]
        flown = flown_by(schedule, units, (home, aud.speed_mps, vehicle, speaker))
        fields = predicted_fields(
            only,
            sorties,
            home,
            aud.speed_mps,
            vehicle,
            speaker,
            params,
            clip_of,
            buildings=district.buildings,
            shielding=shielding,
            keep_points=shield is not None,
            flown=flown,
            memo=memo,
        )
        return sorties, schedule, flown, fields

    sorties, schedule, flown, fields = fly_and_hear(ordered)
    responses: dict[str, ShadowResponse] = {}
    full = True  # fields holds every compound's prediction for the sorties flown
    for round_no in range(rounds):
        changed = []
        for k, r in enumerate(ordered):
            done = responses.get(r.compound_id)
            budget = params.shadow_loiters - (len(done.loiters) if done is not None else 0)
            if budget <= 0 or r.compound_id not in fields:
                continue
            # the speaker of the vehicle that flies it (its level sets the audible radius the hovers reach)
            spk = units[unit_of[r.compound_id]].speaker if hetero else speaker
            got, resp = shadow_loiters(
                r,
                fields[r.compound_id][0],
                areas[r.compound_id],
                spk,
                shield if spk is speaker else shield_for(shield, spk),
                sky_or_none,
                params.clearance_m,
                float(math.ceil(params.prompt_s - 1e-9)),
                keep_out=zones,
                radius_override_m=params.radius_m,
                target=params.shadow_target,
                max_loiters=budget,
            )
            prev = done.loiters if done is not None else ()
            responses[r.compound_id] = ShadowResponse(prev + resp.loiters, resp.unreachable)
            if resp.loiters:
                ordered[k] = got
                changed.append(r.compound_id)
        if not changed:
            break
        if hetero:  # each vehicle's sorties re-split on its hovers' time, then scheduled and deconflicted again
            now = {x.compound_id: x for x in ordered}
            units = [
                dataclasses.replace(u, routes={**u.routes, **{c: now[c] for c in assign[v]}})
                for v, u in enumerate(units)
            ]
            fixed = split_units(district, units, assign, params, sky_or_none, unit_alt, fleet, home, vehicle)
            ordered = flown_routes(fixed[0], fixed[1], units)[0]
        # between rounds only the compounds just answered are predicted again (the others got nothing to fly)
        last = round_no == rounds - 1
        again = district.compounds if last else [c for c in district.compounds if c.id in changed]
        sorties, schedule, flown, fields = fly_and_hear(ordered, again)
        full = last
    if not full:
        sorties, schedule, flown, fields = fly_and_hear(ordered)
    hearing = {cid: _figures(f, by) for cid, (f, by) in fields.items()}
    missions = tuple(
        build_mission(s, frame, flown(s.index)[0], flown(s.index)[1], flown(s.index)[2].transit_speed_mps, encoder)
        for s in sorties
    )
    p0, p1, _dur = timed_legs(sorties, home, aud.speed_mps, vehicle, flown)
    legs = shapely.linestrings(np.stack([p0, p1], axis=1)) if len(p0) else np.array([])
    leg_tree = shapely.STRtree(legs)
    sortie_of = {}
    for s in sorties:
        for cid in s.compound_ids:
            sortie_of.setdefault(cid, []).append(s.index)
    route_by_id = {r.compound_id: r for r in ordered}
    footprints = shapely.union_all([b.geometry for b in district.buildings]) if district.buildings else None
    stats = []
    by_id = {c.id: c for c in district.compounds}
    for order_idx, r in enumerate(ordered, start=1):
        c = by_id[r.compound_id]
        xy = np.array([(s.x_m, s.y_m) for s in route_by_id[c.id].steps])
        length = float(np.hypot(*np.diff(xy, axis=0).T).sum()) if len(xy) > 1 else 0.0
        t_patrol = sum(
            math.hypot(b.x_m - a.x_m, b.y_m - a.y_m) / auds[c.id].speed_mps + b.loiter_s
            for a, b in zip(r.steps[:-1], r.steps[1:], strict=True)
        )
        a_c = auds[c.id]
        ground_m2 = float(c.geometry.difference(footprints).area) if footprints is not None else c.area_m2
        near = np.sort(leg_tree.query(c.geometry, predicate="dwithin", distance=a_c.radius_m))
        stats.append(
            {
                "id": c.id,
                "name": c.name,
                "tier": c.tier,
                "priority": c.priority,
                "order": order_idx,
                "area_m2": round(c.area_m2, 1),
                "sweepable_area_m2": round(float(areas[c.id].area), 1),
                "lanes": len(r.lanes.segments),
                "lane_angle_deg": round(r.lanes.angle_deg % 180.0, 1),
                "route_length_m": round(length, 1),
                "hotspots": [h.id for h in c.hotspots],
                "predicted_in_range_share": round(
                    in_range_share(c.geometry, legs_near(legs[near], c, a_c.radius_m), a_c.radius_m), 4
                ),
                "predicted_heard_whole_share": round(hearing[c.id][0], 4),
                "predicted_heard_whole_by_sortie": hearing[c.id][1],
                "predicted_heard_whole_share_whole_area": round(hearing[c.id][2], 4),
                "open_ground_m2": round(ground_m2, 1),
                "predicted_shadowed_m2": round(hearing[c.id][3] * ground_m2, 1),
                "shadow_loiters": len(resp.loiters) if (resp := responses.get(c.id)) is not None else 0,
                "predicted_unreachable_m2": round(_unreachable(fields[c.id][0], resp) * ground_m2, 1),
                "alt_m": round(alts[c.id].alt_m, 1),
                "roof_m": round(alts[c.id].roof_m, 1),
                "roof_source": alts[c.id].roof_source,
                "alt_limited_by": alts[c.id].limited_by,
                "radius_m": round(a_c.radius_m, 1),
                "spacing_m": round(a_c.spacing_m, 1),
                "speed_mps": round(a_c.speed_mps, 2),
                "predicted_time_s": round(t_patrol, 1),
                "sorties": sortie_of.get(c.id, []),
            }
        )
    unreach = {cid: r.unreachable for cid, r in responses.items()}
    return Plan(
        district=district,
        params=params,
        speaker=speaker,
        vehicle=vehicle,
        audibility=aud,
        home_x_m=home[0],
        home_y_m=home[1],
        routes=tuple(ordered),
        sorties=tuple(sorties),
        missions=missions,
        compound_stats=tuple(stats),
        heard_field=tuple(  # with buildings only: without them the field is the swath's (and a city has 2,000)
            (cid, kind, geom)
            for cid, (f, _by) in (fields.items() if shield is not None else ())
            for kind, geom in field_areas(f, unreach.get(cid)).items()
        ),
        fleet=schedule,
    )
