"""The data types every stage passes on. Frozen dataclasses; units in field names.

Geometry inside these types is in the local metric frame (:class:`patrol.geo.LocalFrame`),
metres east/north of the frame origin. WGS84 appears only where a field says ``lon``/``lat``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol

from shapely.geometry import MultiPolygon, Polygon

from patrol.geo import LocalFrame

Tier = Literal["closed", "guarded", "scattered"]
TIERS: tuple[str, ...] = ("scattered", "guarded", "closed")
"""Tiers in default patrol order: unmanaged scattered buildings need patrol most."""

HotspotKind = Literal["gate", "square"]
HOTSPOT_KINDS: tuple[str, ...] = ("gate", "square")


@dataclass(frozen=True)
class Hotspot:
    """A place inside a compound where people gather (a gate, a square): the patrol loiters there."""

    id: str
    kind: str
    compound_id: str
    name: str
    x_m: float
    y_m: float


@dataclass(frozen=True, eq=False)
class Compound:
    """A residential compound (小区 / 院落): the unit of patrol work."""

    id: str
    name: str
    tier: str
    priority: int
    geometry: Polygon | MultiPolygon
    hotspots: tuple[Hotspot, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def area_m2(self) -> float:
        """Area of the compound (holes excluded) in square metres."""
        return float(self.geometry.area)


@dataclass(frozen=True, eq=False)
class NoFlyZone:
    """An area the vehicle must never enter (a hospital helipad, a government compound)."""

    id: str
    name: str
    geometry: Polygon | MultiPolygon


@dataclass(frozen=True, eq=False)
class Building:
    """A building footprint (local metres) with its roof height above the ground, in metres."""

    id: str
    geometry: Polygon | MultiPolygon
    height_m: float
    source: str  # "height", "building:levels" or "levels"


@dataclass(frozen=True)
class InputFile:
    """One input file as read: its path, its role, the coordinate system its coordinates were in and why.

    ``role`` is ``compounds``, ``nofly`` or ``buildings``; ``crs`` is ``wgs84``, ``gcj02`` or ``bd09``;
    ``crs_from`` is ``FILE:CRS`` (the command line's suffix), ``file`` (its own declaration), ``--crs`` or
    ``default``. Everything patrol keeps and writes is WGS-84 whatever ``crs`` was.
    """

    path: str
    role: str
    crs: str
    crs_from: str


@dataclass(frozen=True, eq=False)
class District:
    """Everything read from the input files, in one local frame."""

    frame: LocalFrame
    compounds: tuple[Compound, ...]
    nofly: tuple[NoFlyZone, ...] = ()
    sources: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    buildings: tuple[Building, ...] = ()
    inputs: tuple[InputFile, ...] = ()


@dataclass(frozen=True)
class Speaker:
    """The loudspeaker and the listening conditions (see docs/acoustics.md for defaults)."""

    level_db_at_1m: float = 100.0
    ambient_db: float = 55.0
    snr_db: float = 10.0
    absorption_db_per_km: float = 5.0
    listener_height_m: float = 1.5


@dataclass(frozen=True)
class Vehicle:
    """The airframe's limits (ArduCopter defaults: WPNAV_SPEED, WPNAV_ACCEL, WPNAV_SPEED_UP/DN)."""

    max_speed_mps: float = 10.0
    min_speed_mps: float = 1.0
    accel_mps2: float = 2.5
    climb_mps: float = 2.5
    descent_mps: float = 1.5
    land_speed_mps: float = 0.5
    transit_speed_mps: float = 10.0
    endurance_min: float = 25.0
    reserve_pct: float = 20.0
    wind_mps: float = 0.0  # steady wind (or gust peak) charged as a headwind on every leg (docs/planning.md)

    @property
    def usable_s(self) -> float:
        """Flight time available for one sortie, after the reserve."""
        return self.endurance_min * 60.0 * (1.0 - self.reserve_pct / 100.0)

    @classmethod
    def with_top_speed(
        cls, max_speed_mps: float, endurance_min: float, reserve_pct: float, wind_mps: float = 0.0
    ) -> Vehicle:
        """A vehicle that patrols at up to ``max_speed_mps`` and transits at that speed (at least 1 m/s)."""
        return cls(
            max_speed_mps=max_speed_mps,
            endurance_min=endurance_min,
            reserve_pct=reserve_pct,
            transit_speed_mps=max(max_speed_mps, 1.0),
            wind_mps=wind_mps,
        )


@dataclass(frozen=True)
class PatrolParams:
    """Everything the operator chooses for a patrol, with the defaults the CLI shows."""

    alt_m: float = 40.0
    transit_alt_m: float | None = None
    prompt_s: float = 6.0
    hotspot_repeats: int = 3
    loiter_s: float | None = None  # hotspot loiter; default hotspot_repeats * prompt_s
    radius_m: float | None = None
    speed_mps: float | None = None
    spacing_m: float | None = None
    perimeter: bool = False
    overrun_m: float | None = None
    max_alt_m: float = 120.0
    fence_margin_m: float = 30.0
    nofly_buffer_m: float = 30.0
    clearance_m: float = 15.0  # vertical clearance over any roof
    lateral_clearance_m: float = 10.0  # a roof this close to a leg counts as under it
    home_clearance_m: float = 10.0  # no building this close to the launch point
    # roof height assumed for a compound with neither a height property nor buildings: closed compounds are
    # modern high-rise estates (18 storeys), guarded ones 1980s-90s work-unit courtyards (6), scattered
    # ones old low-rise houses (3)
    tier_roof_m: tuple[tuple[str, float], ...] = (("closed", 54.0), ("guarded", 18.0), ("scattered", 9.0))
    home_lon: float | None = None
    home_lat: float | None = None
    home_crs: str = "wgs84"  # the system --home was typed in; home_lon/home_lat are WGS-84 whatever it was
    # the buildings' shadows (patrol.plan.shadows): hovers are added over a compound's open ground left without
    # a whole warning until this share of it hears one, at most shadow_loiters of them (0: none)
    shadow_target: float = 0.99
    shadow_loiters: int = 24
    # each leg of a compound whose footprints set its altitude flown as low as its own roofs allow (docs/airspace.md)
    per_leg_alt: bool = True

    @property
    def transit_alt(self) -> float:
        """Altitude for legs between compounds (defaults to the patrol altitude)."""
        return self.alt_m if self.transit_alt_m is None else self.transit_alt_m


@dataclass(frozen=True)
class Audibility:
    """What the acoustic model decided: how far the warning carries and how to sweep with it."""

    slant_range_m: float
    radius_m: float
    spacing_m: float
    speed_mps: float
    worst_heard_s: float
    limited_by: str
    overrun_m: float = 0.0


@dataclass(frozen=True)
class Lanes:
    """Sweep lanes over one compound, clipped to it, in local metres.

    Parallel at ``angle_deg``, unless the compound was cut into cells swept each at its own angle: then
    ``cell_of[k]`` is the cell of segment ``k`` and ``cell_angles_deg[c]`` the lane direction of cell ``c``
    (``angle_deg`` is that of the largest cell).
    """

    compound_id: str
    angle_deg: float
    spacing_m: float
    segments: tuple[tuple[tuple[float, float], tuple[float, float]], ...]
    cell_of: tuple[int, ...] = ()
    cell_angles_deg: tuple[float, ...] = ()

    @property
    def length_m(self) -> float:
        """Total length of the lanes alone (no joins)."""
        return float(sum(((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5 for a, b in self.segments))


class StepKind(str, Enum):
    """What a point of a route is for."""

    TRANSIT = "transit"
    LANE = "lane"
    JOIN = "join"
    HOTSPOT = "hotspot"


@dataclass(frozen=True)
class Step:
    """One point the vehicle flies to, in local metres, with what happens there."""

    kind: StepKind
    x_m: float
    y_m: float
    alt_m: float
    compound_id: str | None = None
    loiter_s: float = 0.0
    hotspot_id: str | None = None
    speed_mps: float | None = None  # cruise speed towards this step when it differs from the plan's


@dataclass(frozen=True)
class CompoundRoute:
    """The patrol path over one compound: lanes joined in order, hotspot loiters inserted."""

    compound_id: str
    steps: tuple[Step, ...]
    lanes: Lanes

    @property
    def start(self) -> tuple[float, float]:
        return (self.steps[0].x_m, self.steps[0].y_m)

    @property
    def end(self) -> tuple[float, float]:
        return (self.steps[-1].x_m, self.steps[-1].y_m)


class CueKind:
    """Where in a sortie a broadcast cue belongs (filled in by the broadcast stage)."""

    ENTER = "enter"
    LEAVE = "leave"
    HOTSPOT = "hotspot"


@dataclass(frozen=True)
class Cue:
    """A point in the mission where the speaker should start, stop or play a prompt."""

    kind: str
    compound_id: str
    hotspot_id: str | None = None
    hotspot_kind: str | None = None
    tier: str | None = None
    prompt_id: str | None = None
    # LEAVE only: the speaker keeps playing over the transit that follows, because it passes over compounds of
    # the sortie (and over no other compound); the next ENTER changes the prompt
    plays_on: bool = False


@dataclass(frozen=True, eq=False)
class Fence:
    """A sortie's geofence: one inclusion polygon, exclusion polygons, an altitude ceiling."""

    inclusion: Polygon
    exclusions: tuple[Polygon, ...]
    max_alt_m: float
    margin_m: float


@dataclass(frozen=True)
class RallyPoint:
    """A safe place to return to instead of home, in local metres."""

    x_m: float
    y_m: float
    alt_m: float


@dataclass(frozen=True, eq=False)
class Sortie:
    """One flight: take off from home, patrol some compounds (or part of one), return to launch."""

    index: int
    compound_ids: tuple[str, ...]
    steps: tuple[Step, ...]
    cues: tuple[tuple[int, Cue], ...]
    fence: Fence
    rally: tuple[RallyPoint, ...]
    predicted_time_s: float
    length_m: float
    safe_alt_m: float = 0.0  # clears every roof in the sortie's area: rally points and RTL_ALT


@dataclass(frozen=True)
class MissionItem:
    """One MAVLink mission item (MISSION_ITEM_INT fields), lat/lon in degrees, alt in metres."""

    command: int
    frame: int
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat: float = 0.0
    lon: float = 0.0
    alt_m: float = 0.0
    autocontinue: int = 1
    note: str = ""


class CueEncoder(Protocol):
    """Turns a cue into the mission commands that trigger the speaker (the broadcast stage's hook)."""

    def encode(self, cue: Cue) -> list[MissionItem]:
        """Return the mission items to insert where the cue falls (may be empty)."""
        ...


@dataclass(frozen=True, eq=False)
class Plan:
    """The whole result of planning: what exports write and what the summary reports."""

    district: District
    params: PatrolParams
    speaker: Speaker
    vehicle: Vehicle
    audibility: Audibility
    home_x_m: float
    home_y_m: float
    routes: tuple[CompoundRoute, ...]
    sorties: tuple[Sortie, ...]
    missions: tuple[tuple[MissionItem, ...], ...]
    compound_stats: tuple[dict[str, Any], ...]
    fleet: FleetSchedule | None = None  # several vehicles at once (patrol.plan.fleet); None: one vehicle
    # the predicted field per compound: (compound id, kind, local-metre area), kind heard | shadowed | unreachable
    # (open ground heard whole; in the buildings' shadow; of that, reached by no permitted hover)
    heard_field: tuple[tuple[str, str, Any], ...] = ()

    def flown_by(self, sortie: int) -> tuple[tuple[float, float], Vehicle, float]:
        """Launch point (local), airframe and patrol speed of the vehicle that flies ``sortie``: its fleet
        vehicle's where the fleet came from a vehicles file, else the plan's."""
        f = self.fleet
        if f is not None and f.units:
            slot = next(sl for sl in f.slots if sl.sortie == sortie)
            u = f.units[f.vehicles.index(slot.vehicle)]
            return (u.home_x_m, u.home_y_m), u.vehicle, u.speed_mps
        return (self.home_x_m, self.home_y_m), self.vehicle, self.audibility.speed_mps


@dataclass(frozen=True)
class FleetVehicle:
    """One vehicle of a vehicles file (``patrol plan --fleet-file``; docs/fleet.md): its id, where it takes off
    (WGS-84; None: the plan's home), its airframe and speaker level, and where each value came from
    (``sources``: key -> ``"fleet.toml"``, ``"vehicle.m300"`` or ``"plan"``). ``origin`` names the file."""

    id: str
    vehicle: Vehicle
    speaker_db: float
    launch_lon: float | None = None
    launch_lat: float | None = None
    sysid: int | None = None
    profile: str | None = None
    sources: tuple[tuple[str, str], ...] = ()
    origin: str = "vehicles file"


@dataclass(frozen=True)
class FleetUnit:
    """A fleet vehicle as planned: its :class:`FleetVehicle`, launch point in the local frame and patrol speed."""

    spec: FleetVehicle
    home_x_m: float
    home_y_m: float
    speed_mps: float

    @property
    def vehicle(self) -> Vehicle:
        return self.spec.vehicle


@dataclass(frozen=True)
class FleetParams:
    """How several vehicles share a patrol (``patrol plan --vehicles N``, or ``--fleet-file``; docs/fleet.md).

    Without ``units`` the ``vehicles`` are identical (the plan's airframe and home); with them, one per unit.
    """

    vehicles: int = 1
    swap_s: float = 300.0  # battery swap and checks between two sorties of one vehicle
    separation_m: float = 50.0  # least horizontal distance between two vehicles not layered apart
    layer_m: float = 15.0  # vertical distance that separates two vehicles' transit layers
    start_clock_s: float | None = None  # wall-clock start of the patrol, seconds after midnight (--start)
    max_hold_s: float = 900.0  # the most deconfliction may hold one sortie back before the plan is refused
    step_s: float = 1.0  # time step of the pairwise track check
    units: tuple[FleetVehicle, ...] = ()  # the vehicles file's vehicles (empty: ``vehicles`` identical ones)


@dataclass(frozen=True)
class FleetSlot:
    """One sortie of the fleet schedule: who flies it, when (seconds from the patrol start), at which layer."""

    sortie: int
    vehicle: str
    transit_alt_m: float
    start_s: float
    end_s: float
    hold_s: float = 0.0  # how long deconfliction held it back from its list-schedule start


@dataclass(frozen=True)
class FleetSchedule:
    """The fleet plan: slots, each vehicle's transit layer, makespan against the ideal, and the separation proof."""

    params: FleetParams
    vehicles: tuple[str, ...]
    layers_m: tuple[float, ...]  # per vehicle: its transit altitude layer
    slots: tuple[FleetSlot, ...]
    makespan_s: float
    ideal_s: float
    min_separation_m: float | None  # least horizontal distance of two vehicles not layered apart (None: never)
    heard_at_s: tuple[tuple[str, float], ...]  # per compound: when its last sortie leaves it
    units: tuple[FleetUnit, ...] = ()  # per vehicle, from a vehicles file (empty: identical vehicles at home)
