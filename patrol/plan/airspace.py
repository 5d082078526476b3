"""Obstacles and altitudes: roofs under every leg, per-compound patrol altitudes, climbs over buildings.

Pure functions over local metres. A leg's altitude changes linearly between its waypoints (as ArduPilot
flies it), so a leg clears a roof only if the *lower* end clears it; transit climbs in place before a
leg that needs it and descends in place after.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from patrol.errors import PlanningError
from patrol.i18n import N_, _
from patrol.inputs.compounds import compound_roof
from patrol.types import Building, Compound, PatrolParams, Step, StepKind

XY = tuple[float, float]
# Where a compound's roof height came from and what its altitude was set by, as the package records them (in
# English); translated where a message shows them.
BUILDINGS, COMPOUND_PROPERTY = N_("buildings"), N_("compound property")
ROOFS, REQUESTED = N_("roofs + clearance"), N_("requested altitude")


class Skyline:
    """Building footprints indexed for 'how high is the tallest roof near this geometry?'."""

    def __init__(self, buildings: Sequence[Building], lateral_m: float) -> None:
        self.buildings = tuple(buildings)
        self.lateral_m = lateral_m
        self.heights = np.array([b.height_m for b in buildings], dtype=float)
        self.tree = shapely.STRtree([b.geometry for b in buildings]) if buildings else None

    def near(self, geom: BaseGeometry, distance_m: float | None = None) -> np.ndarray:
        """Indices of buildings within ``distance_m`` (default: the lateral clearance) of ``geom``."""
        if self.tree is None:
            return np.zeros(0, dtype=int)
        d = self.lateral_m if distance_m is None else distance_m
        return self.tree.query(geom, predicate="dwithin", distance=d)

    def roof_under(self, geom: BaseGeometry, distance_m: float | None = None) -> float:
        """The tallest roof within ``distance_m`` of ``geom`` (0 where there is none)."""
        idx = self.near(geom, distance_m)
        return float(self.heights[idx].max()) if len(idx) else 0.0

    def leg_roof(self, a: XY, b: XY) -> float:
        """The tallest roof under the leg ``a -> b`` (within the lateral clearance)."""
        g = LineString([a, b]) if a != b else Point(a)
        return self.roof_under(g)


@dataclass(frozen=True)
class CompoundAltitude:
    """Why a compound is patrolled at its altitude."""

    alt_m: float
    roof_m: float
    roof_source: str  # "buildings", "compound property", "tier default (closed)"...
    limited_by: str  # "requested altitude" or "roofs + clearance"


def tier_roof(params: PatrolParams, tier: str) -> float:
    """The roof assumed for a compound of ``tier`` with no height data."""
    return dict(params.tier_roof_m).get(tier, max(h for _, h in params.tier_roof_m))


def compound_altitude(compound: Compound, sky: Skyline, params: PatrolParams, reach_m: float) -> CompoundAltitude:
    """The altitude a compound's patrol needs: the requested one, or higher to clear its roofs.

    Roofs count within ``reach_m`` of the compound (lanes run on past its edge) plus the lateral
    clearance. A compound with no height data at all gets its tier's default roof. Raises
    :class:`PlanningError` naming the compound when that altitude is above the ceiling.
    """
    own = compound_roof(compound)
    inside = sky.near(compound.geometry, 0.0)
    if own is None and len(inside) == 0:
        roof, source = tier_roof(params, compound.tier), f"tier default ({compound.tier})"
        shown = _("tier default ({tier})").format(tier=_(compound.tier))
        roof_b = sky.roof_under(compound.geometry, reach_m + sky.lateral_m)  # a taller neighbour under a run-on
        if roof_b > roof:
            roof, source = roof_b, BUILDINGS
            shown = _(source)
    else:
        roof_b = sky.roof_under(compound.geometry, reach_m + sky.lateral_m)
        roof_p = own[0] if own is not None else 0.0
        roof, source = max(roof_b, roof_p), (BUILDINGS if roof_b >= roof_p else COMPOUND_PROPERTY)
        shown = _(source)
    need = roof + params.clearance_m
    alt = max(params.alt_m, need)
    if alt > params.max_alt_m + 1e-9:
        raise PlanningError(
            _(
                "compound {id}: roofs of {roof_m} m ({source}) need {need_m} m with {clearance_m} m clearance, "
                "above the {ceiling_m} m ceiling; leave it out of the plan or patrol it another way (the ceiling is "
                "legal, not a setting to raise)"
            ).format(
                id=compound.id,
                roof_m=f"{roof:.0f}",
                source=shown,
                need_m=f"{need:.0f}",
                clearance_m=f"{params.clearance_m:g}",
                ceiling_m=f"{params.max_alt_m:g}",
            )
        )
    return CompoundAltitude(alt, roof, source, ROOFS if need > params.alt_m else REQUESTED)


def transit_altitude(path: Sequence[XY], sky: Skyline, params: PatrolParams) -> float:
    """One cruise altitude for a transit path that clears every roof under it (at least the transit altitude)."""
    need = max((sky.leg_roof(a, b) for a, b in itertools.pairwise(path)), default=0.0)
    alt = max(params.transit_alt, need + params.clearance_m if need > 0 else 0.0)
    if alt > params.max_alt_m + 1e-9:
        raise PlanningError(
            _(
                "a transit leg crosses roofs of {roof_m} m: it would need {alt_m} m, above the {ceiling_m} m "
                "ceiling; move --home or leave the compound behind those buildings out"
            ).format(roof_m=f"{need:.0f}", alt_m=f"{alt:.0f}", ceiling_m=f"{params.max_alt_m:g}")
        )
    return alt


def transit(
    a: XY, a_alt: float, b: XY, b_alt: float, via: Sequence[XY], sky: Skyline, params: PatrolParams
) -> list[Step]:
    """Transit steps from ``a`` (at ``a_alt``) to ``b`` (at ``b_alt``) through ``via``, clear of every roof.

    The cruise altitude clears every roof under the path; where an end is lower, the vehicle climbs
    (or descends) in place there, so no leg ramps through a building.
    """
    path = [a, *via, b]
    h = transit_altitude(path, sky, params)
    out: list[Step] = []
    if a_alt < h - 1e-6:
        out.append(Step(StepKind.TRANSIT, a[0], a[1], h))
    out += [Step(StepKind.TRANSIT, x, y, h) for x, y in via]
    if b_alt < h - 1e-6:
        out.append(Step(StepKind.TRANSIT, b[0], b[1], h))
    return out


@dataclass(frozen=True)
class LegClearance:
    """The worst vertical clearance of a sequence of legs, and where."""

    clearance_m: float
    roof_m: float
    leg: int  # index of the leg (0: from home to the first waypoint)


def worst_clearance(points: Sequence[tuple[float, float, float]], sky: Skyline) -> LegClearance:
    """Smallest ``min(alt at both ends) - roof under the leg`` over consecutive ``(x, y, alt)`` points."""
    best = LegClearance(math.inf, 0.0, -1)
    for k in range(len(points) - 1):
        (ax, ay, az), (bx, by, bz) = points[k], points[k + 1]
        roof = sky.leg_roof((ax, ay), (bx, by))
        if roof <= 0:
            continue
        c = min(az, bz) - roof
        if c < best.clearance_m:
            best = LegClearance(c, roof, k)
    return best


def leg_altitudes(steps: Sequence[Step], sky: Skyline, floor_m: float, clearance_m: float) -> tuple[Step, ...]:
    """``steps`` (one compound's route) each flown at the lowest altitude that clears the roofs under and beside
    its leg: at least ``floor_m`` and ``clearance_m`` over every roof within the lateral clearance of the leg
    into it (of the point, for the first step and a hover). ArduPilot changes altitude linearly along a leg, so
    where a leg must be higher than the step before it the vehicle climbs in place there first (a step at the
    same point, higher); a leg that is lower than the step before it descends along the way, never below its
    own need. A compound with one tower is so patrolled low except near the tower."""
    out: list[Step] = []
    for st in steps:
        xy = (st.x_m, st.y_m)
        if not out or (out[-1].x_m, out[-1].y_m) == xy:
            roof = sky.roof_under(Point(xy))
        else:
            roof = sky.leg_roof((out[-1].x_m, out[-1].y_m), xy)
        need = max(floor_m, roof + clearance_m if roof > 0 else 0.0)
        if out and need > out[-1].alt_m + 1e-6:
            prev = out[-1]
            out.append(Step(StepKind.JOIN, prev.x_m, prev.y_m, need, prev.compound_id, speed_mps=prev.speed_mps))
        out.append(dataclasses.replace(st, alt_m=need))
    return tuple(out)


def point_in_building(p: XY, sky: Skyline, distance_m: float) -> Building | None:
    """A building within ``distance_m`` of ``p``, if any."""
    idx = sky.near(Point(p), distance_m)
    return sky.buildings[int(idx[0])] if len(idx) else None
