"""The planner's answer to the buildings' shadows: loiters where a courtyard does not hear a whole warning.

The prediction (:func:`patrol.plan.pipeline.predicted_fields`, the audit's :func:`patrol.plan.coverage.hear`
with the buildings' :class:`~patrol.plan.shielding.Shield`) gives, per compound, the grid points of its open
ground that hear a whole warning. Where it falls short of the target share, :func:`shadow_loiters` adds
hovers over the ground left out: a point of open ground always hears a speaker straight above it (its
vertical path meets no roof), so each missed point inside the flyable area is a place a hover can reach it
from; the hover lasts the heard-whole window (two clips of the loop: one whole clip plays within it), and a
hover is chosen greedily where it gives a whole warning (within the radius, not screened off) to the most
missed ground. Each is flown as an out-and-back spur from the nearest point of the compound's path, within
the compound's playing speaker (between its ENTER and LEAVE cues), at the route's highest altitude (climbed
to in place where the path is lower), never across a
no-fly buffer nor over a roof closer than the clearance. The loiters stop when the target is reached, when
the best one would add less than ``min_gain_share`` of the open ground, or at ``max_loiters``; what is still
missed is reported, and the part of it no permitted hover reaches (in a no-fly buffer, behind roofs from every
position) separately, as ``unreachable``. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from patrol.plan.airspace import Skyline
from patrol.plan.coverage import radius_table
from patrol.plan.route import closest_on_segment
from patrol.plan.shielding import Shield
from patrol.types import CompoundRoute, Speaker, Step, StepKind

XY = tuple[float, float]

SHADOW_TARGET = 0.99  # share of a compound's open ground that should hear a whole warning
MAX_SHADOW_LOITERS = 24  # most hovers added to one compound
MIN_GAIN_SHARE = 0.0025  # a hover that would add less than this share of the open ground is not flown
CANDIDATES = 200  # hover positions weighed per compound (the flyable missed points, evenly thinned)
SCORED_EARS = 800  # missed points each is scored on (evenly thinned)
SCREENED_PAIRS = 40_000  # about as many hover-ear pairs within a disc screened per compound and round
SHADOW_ROUNDS = 2  # rounds of loiters, each judged on the prediction of the sorties re-split with the last


@dataclass(frozen=True)
class HeardField:
    """The predicted field of one compound: its grid (:func:`patrol.plan.coverage.sample_points`) and, per
    point, open ground, heard whole, and heard whole were there no buildings (``unscreened``)."""

    points: np.ndarray
    ground: np.ndarray
    heard: np.ndarray
    unscreened: np.ndarray
    cell_m: float = 1.0  # the grid's spacing: each point stands for a square this wide

    @property
    def shadowed(self) -> np.ndarray:
        """Open ground that would hear a whole warning but for the roofs."""
        return self.ground & self.unscreened & ~self.heard

    @property
    def missed(self) -> np.ndarray:
        """Open ground that does not hear a whole warning."""
        return self.ground & ~self.heard


@dataclass(frozen=True)
class ShadowResponse:
    """What :func:`shadow_loiters` added to one compound and what it could not reach."""

    loiters: tuple[XY, ...]  # hover positions, in the order they were chosen
    unreachable: np.ndarray  # per grid point: missed open ground no permitted hover gives a whole warning


FIELD_KINDS = ("heard", "shadowed", "unreachable")  # the predicted field's areas, as the map shows them


def field_areas(field: HeardField, unreachable: np.ndarray | None = None) -> dict[str, BaseGeometry]:
    """The predicted field as areas (the grid cells of its points, merged, outlines simplified by half a
    cell): open ground heard whole, shadowed (missed but for the roofs), and of that the part no permitted
    hover reaches (``unreachable``, from :class:`ShadowResponse`). Kinds with no point are left out."""
    unreach = np.zeros(len(field.points), bool) if unreachable is None else unreachable & field.missed
    masks = {
        "heard": field.ground & field.heard,
        "shadowed": field.shadowed & ~unreach,
        "unreachable": unreach,
    }
    h = field.cell_m / 2.0
    origin = field.points.min(axis=0) if len(field.points) else np.zeros(2)
    out = {}
    for kind, m in masks.items():
        if not m.any():
            continue
        area = _cells(field.points[m], origin, field.cell_m).simplify(h)
        if not area.is_empty:
            out[kind] = area
    return out


def _cells(points: np.ndarray, origin: np.ndarray, cell_m: float) -> BaseGeometry:
    """The union of the grid cells of ``points`` (a regular grid from ``origin``), merged row by row first."""
    ij = np.round((points - origin) / cell_m).astype(np.int64)
    order = np.lexsort((ij[:, 0], ij[:, 1]))
    ij = ij[order]
    new_run = np.ones(len(ij), bool)
    new_run[1:] = (ij[1:, 1] != ij[:-1, 1]) | (ij[1:, 0] != ij[:-1, 0] + 1)
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:], len(ij)) - 1
    x0 = origin[0] + (ij[starts, 0] - 0.5) * cell_m
    x1 = origin[0] + (ij[ends, 0] + 0.5) * cell_m
    y0 = origin[1] + (ij[starts, 1] - 0.5) * cell_m  # edges from whole cell numbers: neighbours' edges are equal
    y1 = origin[1] + (ij[starts, 1] + 0.5) * cell_m
    return shapely.union_all(shapely.box(x0, y0, x1, y1))


def hover_cover(
    positions: np.ndarray, ears: np.ndarray, alt_m: float, radius_m: float, shield: Shield | None
) -> np.ndarray:
    """``(K, U)``: True where a hover at ``positions[k]`` (``alt_m`` above the ground, audible ``radius_m``
    around) gives the ear ``ears[u]`` a whole warning: within the radius and not screened off by the roofs
    (:meth:`Shield.blocked`, the prediction's own test)."""
    k, u = len(positions), len(ears)
    cover = np.zeros((k, u), bool)
    if k == 0 or u == 0 or radius_m <= 0:
        return cover
    d2 = (positions[:, None, 0] - ears[None, :, 0]) ** 2 + (positions[:, None, 1] - ears[None, :, 1]) ** 2
    ii, jj = np.nonzero(d2 <= radius_m * radius_m)
    if shield is not None and len(ii):
        blocked = shield.blocked(ears[jj], positions[ii], np.full(len(ii), alt_m), np.full(len(ii), radius_m))
        ii, jj = ii[~blocked], jj[~blocked]
    cover[ii, jj] = True
    return cover


def hover_reaches(
    positions: np.ndarray, ears: np.ndarray, alt_m: float, radius_m: float, shield: Shield | None
) -> np.ndarray:
    """``(U,)``: True where some hover at ``positions`` gives the ear ``ears[u]`` a whole warning: the answer of
    ``hover_cover(...).any(axis=0)``, the nearest hovers screened first and an ear no further once one reaches it
    (in waves of 1, 2, 4, ... hovers an ear)."""
    k, u = len(positions), len(ears)
    out = np.zeros(u, bool)
    if k == 0 or u == 0 or radius_m <= 0:
        return out
    d2 = (positions[None, :, 0] - ears[:, None, 0]) ** 2 + (positions[None, :, 1] - ears[:, None, 1]) ** 2
    inside = d2 <= radius_m * radius_m
    if shield is None:
        return inside.any(axis=1)
    order = np.argsort(np.where(inside, d2, np.inf), axis=1, kind="stable")  # nearest first, those outside last
    n_in = inside.sum(axis=1)
    a, wave = 0, 1
    while len(live := np.flatnonzero(~out & (n_in > a))):
        cols = order[live, a : a + wave]
        ii, kk = np.repeat(live, cols.shape[1]), cols.ravel()
        ii, kk = ii[inside[ii, kk]], kk[inside[ii, kk]]
        blocked = shield.blocked(ears[ii], positions[kk], np.full(len(ii), alt_m), np.full(len(ii), radius_m))
        out[ii[~blocked]] = True
        a, wave = a + wave, wave * 2
    return out


def _spur_at(steps: list[Step], target: XY) -> tuple[int, XY]:
    """Where a spur to ``target`` leaves the path: before step ``i`` (1..len-1, so between the compound's
    first and last steps, where its speaker plays), at the nearest point of the leg into it."""
    best_i, best_d, best_at = 1, math.inf, (steps[0].x_m, steps[0].y_m)
    for i in range(1, len(steps)):
        at = closest_on_segment((steps[i - 1].x_m, steps[i - 1].y_m), (steps[i].x_m, steps[i].y_m), target)
        d = math.hypot(at[0] - target[0], at[1] - target[1])
        if d < best_d - 1e-9:
            best_i, best_d, best_at = i, d, at
    return best_i, best_at


def shadow_loiters(
    route: CompoundRoute,
    field: HeardField,
    area: BaseGeometry,
    speaker: Speaker,
    shield: Shield | None,
    sky: Skyline | None,
    clearance_m: float,
    hover_s: float,
    keep_out: BaseGeometry | None = None,
    radius_override_m: float | None = None,
    target: float = SHADOW_TARGET,
    max_loiters: int = MAX_SHADOW_LOITERS,
    min_gain_share: float = MIN_GAIN_SHARE,
) -> tuple[CompoundRoute, ShadowResponse]:
    """``route`` with hovers of ``hover_s`` over the open ground its compound's ``field`` leaves without a
    whole warning, chosen greedily (most missed ground given a whole warning first) until the heard share of
    the open ground reaches ``target``, the best hover would add less than ``min_gain_share`` of it, or
    ``max_loiters`` are flown (module docstring). Hovers lie in ``area`` (the compound's flyable part); a spur
    that would cross ``keep_out`` or pass within the lateral clearance of a roof less than ``clearance_m``
    below the path's altitude is not flown. The response names the hovers and the missed ground no permitted
    hover reaches. A route of fewer than two steps is returned as it is.
    """
    missed = field.missed
    none = ShadowResponse((), np.zeros(len(field.points), bool))
    n_ground = int(field.ground.sum())
    if len(route.steps) < 2 or n_ground == 0 or not missed.any():
        return route, none
    alt_m = max(st.alt_m for st in route.steps if st.compound_id == route.compound_id)  # the route's highest
    radius_m = float(radius_table(speaker, np.array([alt_m]), radius_override_m)[0])
    U = np.flatnonzero(missed)
    ears = field.points[U]
    flyable = shapely.contains_xy(area, ears[:, 0], ears[:, 1]) if not area.is_empty else np.zeros(len(U), bool)
    if keep_out is not None and not keep_out.is_empty:
        flyable &= ~shapely.contains_xy(keep_out, ears[:, 0], ears[:, 1])
    cand_idx = np.flatnonzero(flyable)
    if len(cand_idx) > CANDIDATES:
        cand_idx = cand_idx[np.linspace(0, len(cand_idx) - 1, CANDIDATES).round().astype(int)]
    scored = np.arange(len(U))  # the missed points a hover is scored on (evenly thinned: each stands for ``weight``)
    if len(U) > SCORED_EARS:
        scored = np.linspace(0, len(U) - 1, SCORED_EARS).round().astype(int)
    span = np.ptp(ears, axis=0) if len(ears) > 1 else np.zeros(2)
    within = min(1.0, math.pi * radius_m**2 / max(float(span[0] * span[1]), 1.0))  # share of pairs in a disc
    if len(cand_idx) * len(scored) * within > SCREENED_PAIRS:  # a wide disc (a loud speaker): thin both more
        f = math.sqrt(SCREENED_PAIRS / (len(cand_idx) * len(scored) * within))
        cand_idx = cand_idx[np.linspace(0, len(cand_idx) - 1, max(int(len(cand_idx) * f), 1)).round().astype(int)]
        scored = scored[np.linspace(0, len(scored) - 1, max(int(len(scored) * f), 1)).round().astype(int)]
    weight = len(U) / len(scored)
    cover = hover_cover(ears[cand_idx], ears[scored], alt_m, radius_m, shield)
    hidden = np.flatnonzero(~flyable | (radius_m <= 0))  # only these can be out of every hover's reach
    reachable = np.ones(len(U), bool)
    reachable[hidden] = hover_reaches(ears[cand_idx], ears[hidden], alt_m, radius_m, shield)
    unreachable = np.zeros(len(field.points), bool)
    unreachable[U[~reachable]] = True
    heard_n = int((field.ground & field.heard).sum())
    need = (math.ceil(target * n_ground - 1e-9) - heard_n) / weight
    min_gain = max(1.0, math.ceil(min_gain_share * n_ground - 1e-9) / weight)
    steps = list(route.steps)
    left = np.ones(len(scored), bool)
    loiters: list[XY] = []
    while need > 0 and len(loiters) < max_loiters:
        gains = (cover & left).sum(axis=1)
        k = int(gains.argmax()) if len(gains) else 0
        if not len(gains) or gains[k] < min_gain:
            break
        tip = (float(ears[cand_idx[k], 0]), float(ears[cand_idx[k], 1]))
        i, at = _spur_at(steps, tip)
        spur = LineString([at, tip]) if math.dist(at, tip) > 1e-6 else None
        if spur is not None and (
            (keep_out is not None and spur.intersects(keep_out))
            or (sky is not None and sky.leg_roof(at, tip) + clearance_m > alt_m + 1e-6)
        ):
            cover[k] = False  # not flown: try the next best
            continue
        ref = steps[i]  # the leg into it: ``at`` is flown at its altitude or higher (a leg only descends on the way)
        join = Step(StepKind.JOIN, at[0], at[1], ref.alt_m, ref.compound_id, speed_mps=ref.speed_mps)
        high = dataclasses.replace(join, alt_m=alt_m)  # the hover's altitude, climbed to in place
        hover = dataclasses.replace(high, kind=StepKind.LANE, x_m=tip[0], y_m=tip[1], loiter_s=float(hover_s))
        up = [join, high] if alt_m > ref.alt_m + 1e-6 else [join]
        steps[i:i] = [*up, hover, high] if spur is not None else [*up[1:], hover]
        loiters.append(tip)
        need -= int(gains[k])
        left &= ~cover[k]
    if not loiters:
        return route, ShadowResponse((), unreachable)
    return dataclasses.replace(route, steps=tuple(steps)), ShadowResponse(tuple(loiters), unreachable)
