"""The planning pipeline: district in, :class:`~patrol.types.Plan` out. Pure: no files, no printing."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import shapely

from patrol.errors import PlanningError
from patrol.plan.acoustics import audibility
from patrol.plan.airspace import CompoundAltitude, Skyline, compound_altitude, leg_altitudes, point_in_building
from patrol.plan.coverage import clip_plays, hear, in_range_share, open_ground, radius_table, sample_points, share
from patrol.plan.fleet import layered, schedule_fleet, transit_layers
from patrol.plan.mission import build_mission
from patrol.plan.playback import ClipOf, planned_events, planned_track
from patrol.plan.route import order_compounds, route_legs, sweep_and_route, sweep_area
from patrol.plan.shadows import SHADOW_ROUNDS, HeardField, ShadowResponse, field_areas, shadow_loiters
from patrol.plan.shielding import Shield
from patrol.plan.sorties import (
    check_sortie,
    compound_runs,
    make_sorties,
    path_time_s,
    safe_alt_m,
    sortie_steps,
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


def timed_legs(sorties: list[Sortie], home: tuple[float, float], patrol_speed_mps: float, vehicle: Vehicle):
    """Legs of every sortie as arrays ``p0, p1, duration_s`` at cruise speed (loiters as hovers), each from home."""
    legs = [route_legs(s.steps, lambda st: step_speed(st, patrol_speed_mps, vehicle), home) for s in sorties]
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
) -> dict[str, tuple[HeardField, dict[int, float]]]:
    """Per compound, the predicted field (:class:`patrol.plan.shadows.HeardField`: its grid, open ground, heard
    whole by all sorties together, heard whole were there no buildings) and the share of its open ground each
    sortie alone gives (its own sorties, and the others it hears): :func:`patrol.plan.coverage.hear`, the
    audit's function, on each sortie's planned track (at its knots and play ends,
    :meth:`PlannedTrack.at_knots_and`) with the plays its cues make (:mod:`patrol.plan.playback`), screened by
    the buildings (:class:`patrol.plan.shielding.Shield`; not with ``shielding`` False). Silent legs count
    for nothing. Without ``keep_points`` the fields hold no grid (``(0, 2)``: the masks alone, for the figures;
    a city of 2,000 compounds would keep 100 MB of points)."""
    flights = []
    for s in sorties:
        tr = planned_track(s, home, patrol_speed_mps, vehicle)
        events = planned_events(s, tr.done_s, clip_of)
        clip_s = {}
        for cue in (c for _, c in s.cues):
            if (got := clip_of(cue)) is not None:
                clip_s[got[0]] = got[1]
        plays = [(a, b) for a, b, _ in clip_plays(events, clip_s, float(tr.t_s[-1]))]
        t, xy, alt = tr.at_knots_and(plays)
        r = radius_table(speaker, alt, params.radius_m)
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
            h = hear(pts, t, xy, r, plays, alt_m=alt, shield=shield)
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
) -> tuple[list[Sortie], FleetSchedule]:
    """Sorties split for the highest transit layer (so every vehicle's fits its endurance), each flown at its
    vehicle's layer, scheduled and deconflicted (:mod:`patrol.plan.fleet`)."""
    layers = transit_layers(fleet.vehicles, work_alt_m, params.transit_alt, params.max_alt_m, fleet.layer_m)
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
    return schedule_fleet(variant, ids, district.compounds, layers, home, speed_mps, vehicle, fleet, district.frame)


def replace_transit(params: PatrolParams, transit_alt_m: float) -> PatrolParams:
    """``params`` with another transit altitude (a fleet vehicle's layer)."""
    return dataclasses.replace(params, transit_alt_m=transit_alt_m)


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
            raise PlanningError(f"{name} {alt:g} is outside 0..{params.max_alt_m:g} m (--max-alt-m); lower it")
    if not 0 <= vehicle.wind_mps < 40:
        raise PlanningError(f"--wind-mps {vehicle.wind_mps:g}: give the expected wind in m/s, from 0 to 40")
    if vehicle.usable_s <= 0:
        raise PlanningError(
            "--endurance-min with --reserve-pct leaves no flight time; raise endurance or lower reserve"
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
        raise PlanningError("--home lies inside a no-fly zone (or its buffer); choose a launch point outside")
    sky = Skyline(district.buildings, params.lateral_clearance_m)
    blocker = point_in_building(home, sky, params.home_clearance_m)
    if blocker is not None:
        raise PlanningError(
            f"--home is within {params.home_clearance_m:g} m of building {blocker.id} ({blocker.height_m:.0f} m); "
            "launch from open ground"
        )
    loiter_s = params.loiter_s if params.loiter_s is not None else params.hotspot_repeats * params.prompt_s
    loiter_s = float(math.ceil(loiter_s - 1e-9))  # ArduPilot keeps NAV_LOITER_TIME in whole seconds
    routes = []
    areas = {}
    auds: dict[str, Audibility] = {}
    alts: dict[str, CompoundAltitude] = {}
    for c in district.compounds:
        alt = compound_altitude(c, sky, params, reach_m=aud.overrun_m + aud.spacing_m)
        alts[c.id] = alt
        try:
            a_c = aud if alt.alt_m == params.alt_m else audibility(speaker, vehicle, replace_alt(params, alt.alt_m))
        except PlanningError as e:
            raise PlanningError(f"compound {c.id} ({alt.limited_by} {alt.alt_m:.0f} m): {e}") from None
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
        )
        if a_c is not aud:
            steps = tuple(dataclasses.replace(st, speed_mps=a_c.speed_mps) for st in route.steps)
            route = dataclasses.replace(route, steps=steps)
        routes.append(route)
    ordered = order_compounds(routes, district.compounds, home)
    if params.per_leg_alt:  # in the direction flown: a leg climbs in place before it, descends along the way
        for k, r in enumerate(ordered):
            alt = alts[r.compound_id]
            if alt.roof_source == "buildings" and alt.alt_m > params.alt_m:
                # the footprints set its altitude: each leg as low as its own roofs allow (up over towers)
                steps = leg_altitudes(r.steps, sky, params.alt_m, params.clearance_m)
                ordered[k] = dataclasses.replace(r, steps=steps)
    sky_or_none = sky if sky.buildings else None
    work_alt = max((a.alt_m for a in alts.values()), default=params.alt_m)
    clip_of = getattr(encoder, "clip", None) or default_clip_of(params)
    shield = Shield.of(district.buildings, speaker) if shielding else None

    def flown(ordered: list[CompoundRoute], only: Sequence[Compound] = district.compounds):
        """The sorties of ``ordered`` and the predicted fields of the compounds ``only``."""
        schedule = None
        if fleet is not None and fleet.vehicles > 1:
            sorties, schedule = fleet_sorties(
                ordered, district, home, params, vehicle, aud.speed_mps, sky_or_none, work_alt, fleet
            )
        else:
            sorties = make_sorties(
                ordered, district.compounds, district.nofly, home, params, vehicle, aud.speed_mps, sky_or_none
            )
        resolve = getattr(encoder, "resolve", None)
        if resolve is not None:  # the broadcast stage names the prompt each cue plays
            sorties = [dataclasses.replace(s, cues=tuple((k, resolve(c)) for k, c in s.cues)) for s in sorties]
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
        )
        return sorties, schedule, fields

    sorties, schedule, fields = flown(ordered)
    responses: dict[str, ShadowResponse] = {}
    full = True  # fields holds every compound's prediction for the sorties flown
    rounds = SHADOW_ROUNDS if shield is not None and params.shadow_loiters > 0 else 0
    for round_no in range(rounds):
        changed = []
        for k, r in enumerate(ordered):
            done = responses.get(r.compound_id)
            budget = params.shadow_loiters - (len(done.loiters) if done is not None else 0)
            if budget <= 0 or r.compound_id not in fields:
                continue
            got, resp = shadow_loiters(
                r,
                fields[r.compound_id][0],
                areas[r.compound_id],
                speaker,
                shield,
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
        # between rounds only the compounds just answered are predicted again (the others got nothing to fly)
        last = round_no == rounds - 1
        again = district.compounds if last else [c for c in district.compounds if c.id in changed]
        sorties, schedule, fields = flown(ordered, again)
        full = last
    if not full:
        sorties, schedule, fields = flown(ordered)
    hearing = {cid: _figures(f, by) for cid, (f, by) in fields.items()}
    missions = tuple(build_mission(s, frame, home, aud.speed_mps, vehicle.transit_speed_mps, encoder) for s in sorties)
    p0, p1, _dur = timed_legs(sorties, home, aud.speed_mps, vehicle)
    legs = shapely.linestrings(np.stack([p0, p1], axis=1)) if len(p0) else np.array([])
    leg_tree = shapely.STRtree(legs)
    sortie_of = {}
    for s in sorties:
        for cid in s.compound_ids:
            sortie_of.setdefault(cid, []).append(s.index)
    route_by_id = {r.compound_id: r for r in ordered}
    footprints = shapely.union_all([b.geometry for b in district.buildings]) if district.buildings else None
    stats = []
    for order_idx, r in enumerate(ordered, start=1):
        c = next(x for x in district.compounds if x.id == r.compound_id)
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
                "predicted_in_range_share": round(in_range_share(c.geometry, legs[near], a_c.radius_m), 4),
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
