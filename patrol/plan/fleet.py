"""Fleet stage: several identical vehicles share one district's sorties, deconflicted. Pure: no I/O.

Scheduling (docs/fleet.md): list scheduling in priority order. Sorties are dispatched rank by rank (the
best ``(priority, tier)`` of their compounds, as :func:`patrol.plan.route.order_compounds` orders them),
longest first within a rank (LPT); each goes to the vehicle that would finish it first, no earlier than the
sortie dispatched before it started (so a higher-priority sortie never starts after a lower one) and
``swap_s`` after that vehicle's previous landing. A local-improvement pass then swaps pairs of sorties of
one rank in the dispatch order while that shortens the makespan (the time the last vehicle lands).

Deconfliction: every vehicle flies its transits at its own altitude layer, ``layer_m`` apart, above the
highest patrol altitude and inside the ceiling (:func:`transit_layers`); patrol work stays at the
acoustically chosen altitudes. The proof is the predicted 4D tracks (:func:`patrol.plan.playback.planned_track`
shifted by each slot's start) compared pairwise every ``step_s``: two vehicles less than ``layer_m`` apart
vertically must be at least ``separation_m`` apart horizontally. A conflict is fixed by trying the next
sortie of the same rank in the later one's place, else by holding the later sortie back; a plan that
would hold one sortie more than ``max_hold_s`` is refused with the conflict named (:class:`PlanningError`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from patrol.errors import PlanningError
from patrol.geo import LocalFrame
from patrol.i18n import _
from patrol.plan.playback import planned_track
from patrol.plan.route import priority_key
from patrol.types import Compound, CueKind, FleetParams, FleetSchedule, FleetSlot, FleetUnit, Sortie, Vehicle

XY = tuple[float, float]
HOLD_STEP_S = 15.0  # each deconfliction hold adds this much


def vehicle_ids(n: int) -> tuple[str, ...]:
    """Names of ``n`` identical vehicles: V1, V2, ...

    >>> vehicle_ids(3)
    ('V1', 'V2', 'V3')
    """
    return tuple(f"V{k}" for k in range(1, n + 1))


def transit_layers(n: int, work_alt_m: float, transit_alt_m: float, max_alt_m: float, layer_m: float) -> list[float]:
    """Transit altitude of each of ``n`` vehicles: ``layer_m`` apart, the lowest ``layer_m`` above the
    highest patrol altitude (and at least the transit altitude), none above ``max_alt_m``. Where the ceiling
    leaves fewer layers than vehicles they are reused in turn (the track check then keeps those apart
    horizontally); where it leaves none, every vehicle transits at ``transit_alt_m``.

    >>> transit_layers(3, 49.5, 40.0, 120.0, 15.0)
    [64.5, 79.5, 94.5]
    >>> transit_layers(5, 49.5, 40.0, 120.0, 15.0)
    [64.5, 79.5, 94.5, 109.5, 64.5]
    """
    base = max(work_alt_m + layer_m, transit_alt_m)
    if base > max_alt_m + 1e-9:
        return [transit_alt_m] * n
    count = math.floor((max_alt_m - base) / layer_m + 1e-9) + 1
    return [base + layer_m * (k % count) for k in range(n)]


@dataclass(frozen=True)
class Track:
    """A sortie's predicted track on an absolute time grid: ``t_s`` from the patrol start, ``xyz`` local."""

    sortie: int
    vehicle: int
    t_s: np.ndarray
    xyz: np.ndarray


@dataclass(frozen=True)
class Conflict:
    """Two vehicles closer than the separation: when, where (local metres), how far apart."""

    a: Track
    b: Track
    t_s: float
    x_m: float
    y_m: float
    horizontal_m: float
    vertical_m: float


def rel_track(sortie: Sortie, home: XY, patrol_speed_mps: float, vehicle: Vehicle, step_s: float) -> np.ndarray:
    """``(t, x, y, alt)`` rows of a sortie's planned track every ``step_s`` from its take-off (t = 0)."""
    tr = planned_track(sortie, home, patrol_speed_mps, vehicle)
    end = float(tr.t_s[-1])
    t = np.append(np.arange(0.0, end, step_s), end)
    return np.column_stack(
        [t, np.interp(t, tr.t_s, tr.xy[:, 0]), np.interp(t, tr.t_s, tr.xy[:, 1]), np.interp(t, tr.t_s, tr.alt_m)]
    )


def first_conflict(tracks: Sequence[Track], separation_m: float, layer_m: float) -> tuple[Conflict | None, float]:
    """The earliest moment two vehicles are closer than ``separation_m`` horizontally while less than
    ``layer_m`` apart vertically, and the least horizontal distance of any such pair (inf: never close)."""
    best: Conflict | None = None
    least = math.inf
    for i, a in enumerate(tracks):
        for b in tracks[i + 1 :]:
            if a.vehicle == b.vehicle or a.t_s[-1] < b.t_s[0] or b.t_s[-1] < a.t_s[0]:
                continue
            lo, hi = max(a.t_s[0], b.t_s[0]), min(a.t_s[-1], b.t_s[-1])
            t = np.union1d(a.t_s[(a.t_s >= lo) & (a.t_s <= hi)], b.t_s[(b.t_s >= lo) & (b.t_s <= hi)])
            pa = np.column_stack([np.interp(t, a.t_s, a.xyz[:, k]) for k in range(3)])
            pb = np.column_stack([np.interp(t, b.t_s, b.xyz[:, k]) for k in range(3)])
            dh = np.hypot(pa[:, 0] - pb[:, 0], pa[:, 1] - pb[:, 1])
            dz = np.abs(pa[:, 2] - pb[:, 2])
            stacked = dz < layer_m - 1e-6
            if stacked.any():
                least = min(least, float(dh[stacked].min()))
            bad = np.flatnonzero(stacked & (dh < separation_m - 1e-6))
            if len(bad) and (best is None or t[bad[0]] < best.t_s):
                k = int(bad[0])
                mid = (pa[k] + pb[k]) / 2
                best = Conflict(a, b, float(t[k]), float(mid[0]), float(mid[1]), float(dh[k]), float(dz[k]))
    return best, least


def list_schedule(
    order: Sequence[int], dur: Callable[[int, int], float], n: int, swap_s: float, release: dict[int, float]
) -> dict[int, tuple[int, float, float]]:
    """Per sortie ``(vehicle, start_s, end_s)``: each in ``order`` to the vehicle that finishes it first,
    starting no earlier than the sortie before it, its ``release`` time and ``swap_s`` after that vehicle's
    last landing."""
    free = [0.0] * n
    last = 0.0
    out: dict[int, tuple[int, float, float]] = {}
    for i in order:
        choice = None
        for v in range(n):
            s = max(free[v], last, release.get(i, 0.0))
            e = s + dur(i, v)
            if choice is None or (e, s) < (choice[2], choice[1]):
                choice = (v, s, e)
        assert choice is not None
        out[i] = choice
        free[choice[0]] = choice[2] + swap_s
        last = choice[1]
    return out


def _makespan(slots: dict[int, tuple[int, float, float]]) -> float:
    return max((e for _v, _s, e in slots.values()), default=0.0)


def improve(
    order: list[int], rank: dict[int, tuple[int, int]], dur: Callable[[int, int], float], n: int, swap_s: float
) -> list[int]:
    """``order`` after pairwise swaps of same-rank sorties that each shorten the makespan (first improvement)."""
    best = _makespan(list_schedule(order, dur, n, swap_s, {}))
    improved = True
    while improved:
        improved = False
        for i in range(len(order)):
            for j in range(i + 1, len(order)):
                if rank[order[i]] != rank[order[j]]:
                    continue
                cand = order.copy()
                cand[i], cand[j] = cand[j], cand[i]
                m = _makespan(list_schedule(cand, dur, n, swap_s, {}))
                if m < best - 1e-6:
                    order, best, improved = cand, m, True
    return order


def clock(t_s: float, start_clock_s: float | None) -> str:
    """``+HH:MM:SS`` from the start, or the wall-clock ``HH:MM:SS`` when the start time is known.

    >>> clock(3725, None), clock(3725, 9 * 3600)
    ('+01:02:05', '10:02:05')
    """
    t = round(t_s + (start_clock_s or 0.0))
    text = f"{t // 3600 % 24 if start_clock_s is not None else t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"
    return text if start_clock_s is not None else "+" + text


def schedule_fleet(
    variants: Callable[[int, float], Sortie],
    sortie_ids: Sequence[int],
    compounds: Sequence[Compound],
    layers_m: Sequence[float],
    home: XY,
    patrol_speed_mps: float,
    vehicle: Vehicle,
    fleet: FleetParams,
    frame: LocalFrame,
    names: Sequence[str] | None = None,
    fixed: Mapping[int, int] | None = None,
    units: Sequence[FleetUnit] = (),
) -> tuple[list[Sortie], FleetSchedule]:
    """Assign sorties to ``len(layers_m)`` vehicles and time them so their predicted tracks keep separation.

    ``variants(i, layer_alt_m)`` is sortie ``i`` flown with its transits at that layer. With ``fixed``
    (sortie -> vehicle: sorties planned for one vehicle of a vehicles file) each sortie goes to its vehicle
    only, and ``units`` give each vehicle's launch point, airframe and patrol speed. Promises: every
    sortie is assigned exactly once; no vehicle flies two sorties at once or without ``swap_s`` between
    them; sorties start in priority-rank order; every pair of vehicles less than ``layer_m`` apart vertically
    is at least ``separation_m`` apart horizontally at every ``step_s`` of the predicted tracks. Otherwise
    :class:`PlanningError` names the vehicles, the time and the place of the first conflict it could not fix.
    Returns the sorties as each is flown (its vehicle's layer) and the schedule.
    """
    n = len(layers_m)
    names = tuple(names) if names is not None else vehicle_ids(n)
    by_id = {c.id: c for c in compounds}
    cache: dict[tuple[int, float], tuple[Sortie, np.ndarray]] = {}

    def flown_by(v: int) -> tuple[XY, float, Vehicle]:
        if fixed is None or not units:
            return home, patrol_speed_mps, vehicle
        u = units[v]
        return (u.home_x_m, u.home_y_m), u.speed_mps, u.vehicle

    def own(i: int) -> int:
        return 0 if fixed is None else fixed[i]

    def get(i: int, v: int) -> tuple[Sortie, np.ndarray]:
        key = (i, layers_m[v])
        if key not in cache:
            s = variants(i, layers_m[v])
            cache[key] = (s, rel_track(s, *flown_by(v), fleet.step_s))
        return cache[key]

    def dur(i: int, v: int) -> float:
        if fixed is not None and fixed[i] != v:
            return math.inf  # planned for another vehicle: its launch point, battery and speeds
        return float(get(i, v)[1][-1, 0])

    rank = {i: min(priority_key(by_id[c]) for c in get(i, own(i))[0].compound_ids) for i in sortie_ids}
    order = sorted(sortie_ids, key=lambda i: (rank[i], -dur(i, own(i)), i))
    order = improve(order, rank, dur, n, fleet.swap_s)
    release: dict[int, float] = {}
    planned = list_schedule(order, dur, n, fleet.swap_s, release)
    base = {i: s for i, (_v, s, _e) in planned.items()}

    def tracks_of(slots: dict[int, tuple[int, float, float]]) -> list[Track]:
        out = []
        for i, (v, s, _e) in slots.items():
            rel = get(i, v)[1]
            out.append(Track(i, v, rel[:, 0] + s, rel[:, 1:]))
        return out

    for _attempt in range(10_000):
        slots = list_schedule(order, dur, n, fleet.swap_s, release)
        conflict, least = first_conflict(tracks_of(slots), fleet.separation_m, fleet.layer_m)
        if conflict is None:
            break
        later = conflict.b if slots[conflict.b.sortie][1] >= slots[conflict.a.sortie][1] else conflict.a
        if fixed is not None and slots[conflict.b.sortie][1] == slots[conflict.a.sortie][1]:
            # a tie: hold the one dispatched later; holding the earlier would drag the later along (it may not
            # start before it) and, bound to its own vehicle, it would take off beside it again
            later = max(conflict.a, conflict.b, key=lambda tr: order.index(tr.sortie))
        k = order.index(later.sortie)
        swapped = next(
            (
                [*order[:k], order[j], *order[k + 1 : j], order[k], *order[j + 1 :]]
                for j in range(k + 1, len(order))
                if rank[order[j]] == rank[order[k]] and order[j] not in release
            ),
            None,
        )
        if swapped is not None and release == {} and fixed is None:  # bound sorties: hold, do not reorder
            trial = list_schedule(swapped, dur, n, fleet.swap_s, release)
            c2, _least = first_conflict(tracks_of(trial), fleet.separation_m, fleet.layer_m)
            if c2 is None or c2.t_s > conflict.t_s + 1e-6:
                order = swapped
                continue
        hold = slots[later.sortie][1] + HOLD_STEP_S - base.get(later.sortie, 0.0)
        if hold > fleet.max_hold_s:
            lon, lat = frame.to_wgs84(conflict.x_m, conflict.y_m)
            text = (
                _(
                    "vehicles {a} (sortie {a_sortie}) and {b} (sortie {b_sortie}) come {apart_m} m apart (need "
                    "{separation_m} m, {vertical_m} m vertically) at {clock} near {lat},{lon}, and holding a sortie "
                    "{hold_min} min does not clear it; remove a vehicle from {path}, move a launch point, or lower "
                    "--separation-m"
                )
                if units  # a vehicles file: the fix is in its terms
                else _(
                    "vehicles {a} (sortie {a_sortie}) and {b} (sortie {b_sortie}) come {apart_m} m apart (need "
                    "{separation_m} m, {vertical_m} m vertically) at {clock} near {lat},{lon}, and holding a sortie "
                    "{hold_min} min does not clear it; lower --vehicles or --separation-m"
                )
            )
            raise PlanningError(
                text.format(
                    a=names[conflict.a.vehicle],
                    a_sortie=conflict.a.sortie,
                    b=names[conflict.b.vehicle],
                    b_sortie=conflict.b.sortie,
                    apart_m=f"{conflict.horizontal_m:.0f}",
                    separation_m=f"{fleet.separation_m:g}",
                    vertical_m=f"{conflict.vertical_m:.0f}",
                    clock=clock(conflict.t_s, fleet.start_clock_s),
                    lat=f"{float(lat):.6f}",
                    lon=f"{float(lon):.6f}",
                    hold_min=f"{fleet.max_hold_s / 60:g}",
                    path=units[0].spec.origin if units else "",
                )
            )
        release[later.sortie] = slots[later.sortie][1] + HOLD_STEP_S
    else:  # pragma: no cover - the hold bound ends the loop first
        raise PlanningError(
            _("fleet deconfliction did not settle; remove a vehicle from {path}").format(path=units[0].spec.origin)
            if units
            else _("fleet deconfliction did not settle; lower --vehicles")
        )
    flown = {i: get(i, v)[0] for i, (v, _s, _e) in slots.items()}
    heard: dict[str, float] = {}
    for i, (v, s, _e) in slots.items():
        sortie = flown[i]
        h, speed, airframe = flown_by(v)
        done = planned_track(sortie, h, speed, airframe).done_s
        for k, cue in sortie.cues:
            if cue.kind == CueKind.LEAVE:
                heard[cue.compound_id] = max(heard.get(cue.compound_id, 0.0), s + float(done[k]))
    total = sum(dur(i, own(i)) for i in sortie_ids) + fleet.swap_s * max(len(sortie_ids) - n, 0)
    ideal = max(total / n, max((dur(i, own(i)) for i in sortie_ids), default=0.0))
    sched = FleetSchedule(
        params=fleet,
        vehicles=names,
        layers_m=tuple(float(x) for x in layers_m),
        slots=tuple(
            FleetSlot(i, names[v], layers_m[v], round(s, 1), round(e, 1), round(s - base[i], 1))
            for i, (v, s, e) in sorted(slots.items(), key=lambda kv: (kv[1][1], kv[0]))
        ),
        makespan_s=round(_makespan(slots), 1),
        ideal_s=round(ideal, 1),
        min_separation_m=None if math.isinf(least) else round(least, 1),
        heard_at_s=tuple(sorted(((c, round(t, 1)) for c, t in heard.items()), key=lambda x: (x[1], x[0]))),
        units=tuple(units),
    )
    return [flown[i] for i in sorted(flown)], sched


def layered(sortie: Sortie, steps: Sequence, safe_alt_m: float, predicted_time_s: float) -> Sortie:
    """``sortie`` with the steps of its layered variant (same count and kinds, so its cues still index them)."""
    rally = tuple(dataclasses.replace(r, alt_m=safe_alt_m) for r in sortie.rally)
    return dataclasses.replace(
        sortie, steps=tuple(steps), safe_alt_m=safe_alt_m, predicted_time_s=predicted_time_s, rally=rally
    )


def assign_compounds(
    ids: Sequence[str],
    est: Mapping[tuple[str, int], float],
    n: int,
    evaluate: Callable[[list[list[str]]], list[float]],
    rounds: int = 12,
    budget: int = 300,
) -> list[list[str]]:
    """Compounds ``ids`` (in priority order) shared among ``n`` different vehicles: per vehicle, its compounds in
    that order.

    ``est[(c, v)]`` is vehicle ``v``'s time for compound ``c`` alone (from its launch point, with its battery
    and speeds); a pair that is missing is a compound that vehicle cannot fly (out of its reach, or its speaker
    is not heard whole from the compound's altitude), and it is never given that compound. Greedy first: each
    compound to the vehicle whose load plus its time is least. Then ``evaluate`` (the vehicles' real finish
    times for an assignment: sorties split by each vehicle's endurance and list-scheduled in priority order;
    inf where it cannot be flown) guides a local search: one compound moves to another vehicle while that
    lowers the makespan (then the other finish times), the best move of each round, for at most ``rounds``
    moves and ``budget`` evaluations (a large district stops early with the best found). The compounds of
    the vehicle that lands last are tried first.
    """
    pos = {c: k for k, c in enumerate(ids)}
    load = [0.0] * n
    out: list[list[str]] = [[] for _ in range(n)]
    for c in ids:
        v = min((v for v in range(n) if (c, v) in est), key=lambda v: (load[v] + est[(c, v)], v))
        out[v].append(c)
        load[v] += est[(c, v)]

    def key(ends: list[float]) -> tuple[float, ...]:
        return tuple(sorted(ends, reverse=True))

    ends = evaluate(out)
    best = key(ends)
    spent = 1
    for _round in range(rounds):
        move = None
        for src in sorted(range(n), key=lambda v: -ends[v]):
            for c in out[src]:
                for v in range(n):
                    if v == src or (c, v) not in est:
                        continue
                    trial = [list(x) for x in out]
                    trial[src].remove(c)
                    trial[v] = sorted([*trial[v], c], key=pos.__getitem__)
                    if spent >= budget:
                        break
                    got = evaluate(trial)
                    spent += 1
                    k = key(got)
                    if k < best and (move is None or k < move[0]):
                        move = (k, trial, got)
        if move is None:
            break
        best, out, ends = move
    return out
