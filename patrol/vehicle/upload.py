"""Put a sortie on a vehicle and prove it arrived: pre-upload checks, upload, read-back comparison.

Pure checks (:func:`check_sortie_upload`, and :mod:`patrol.vehicle.readback` for the read-back
comparison) have no I/O; :func:`upload_sortie` drives a :class:`~patrol.vehicle.link.Link`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import Point, Polygon

from patrol.errors import SafetyError
from patrol.geo import LocalFrame
from patrol.i18n import _
from patrol.package.reader import FENCE, MISSION, RALLY, TYPE_NAMES, SortieUpload, fence_polygons
from patrol.types import MissionItem
from patrol.vehicle.link import Link, LinkError
from patrol.vehicle.readback import compare_items, has_position


def check_sortie_upload(
    up: SortieUpload,
    vehicle_home: tuple[float, float] | None = None,
    max_home_offset_m: float = 100.0,
    max_alt_m: float | None = None,
) -> None:
    """Refuse (``SafetyError``, one line naming the item) a sortie a vehicle must not fly.

    Every positioned mission item and rally point must lie inside an inclusion polygon of the
    sortie's own fence and outside every exclusion polygon, at or below the altitude limit
    (``max_alt_m``, else the package's); the planned home must be within ``max_home_offset_m`` of
    the vehicle's home when that is known. The fence itself must be present.
    """
    frame = LocalFrame(up.home_lon, up.home_lat)
    polys = fence_polygons(up.fence)
    incl = [Polygon([frame.to_local(lon, lat) for lat, lon in ring]) for inc, ring in polys if inc]
    excl = [Polygon([frame.to_local(lon, lat) for lat, lon in ring]) for inc, ring in polys if not inc]
    limit = max_alt_m if max_alt_m is not None else up.max_alt_m
    if not incl:
        raise SafetyError(
            _("{name}: no inclusion fence; re-plan the package (patrol plan writes one per sortie)").format(
                name=up.name
            )
        )
    named = [(_("mission item {k}").format(k=k), it) for k, it in enumerate(up.mission, start=1)]
    named += [(_("rally point {k}").format(k=k), it) for k, it in enumerate(up.rally, start=1)]
    for label, it in named:
        if limit is not None and not math.isnan(it.alt_m) and it.alt_m > limit + 1e-6:
            raise SafetyError(
                _("{name}: {label} at {alt_m} m is above the {limit} m altitude limit").format(
                    name=up.name, label=label, alt_m=format(it.alt_m, "g"), limit=format(limit, "g")
                )
            )
        if not (has_position(it) or it.command == mav.MAV_CMD_NAV_RALLY_POINT):
            continue
        p = Point(frame.to_local(it.lon, it.lat))
        if not any(poly.buffer(0.5).covers(p) for poly in incl):
            raise SafetyError(
                _("{name}: {label} ({lat}, {lon}) is outside the inclusion fence").format(
                    name=up.name, label=label, lat=format(it.lat, ".7f"), lon=format(it.lon, ".7f")
                )
            )
        for z in excl:
            if z.contains(p):
                raise SafetyError(
                    _("{name}: {label} ({lat}, {lon}) is inside an exclusion zone").format(
                        name=up.name, label=label, lat=format(it.lat, ".7f"), lon=format(it.lon, ".7f")
                    )
                )
    if vehicle_home is not None:
        off = math.hypot(*frame.to_local(vehicle_home[1], vehicle_home[0]))
        if off > max_home_offset_m:
            raise SafetyError(
                _(
                    "{name}: planned home is {off} m from the vehicle's home (limit {max_home_offset_m} "
                    "m); launch from the planned point or re-plan with --home"
                ).format(name=up.name, off=format(off, ".0f"), max_home_offset_m=format(max_home_offset_m, "g"))
            )


def mission_with_home(up: SortieUpload) -> list[MissionItem]:
    """The mission list as ArduPilot numbers it: item 0 is home, then the sortie's items."""
    home = MissionItem(mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_FRAME_GLOBAL, lat=up.home_lat, lon=up.home_lon, alt_m=0.0)
    return [home, *up.mission]


Report = Callable[[str, int, int], None]


def upload_sortie(link: Link, up: SortieUpload, progress: Report | None = None, verify: bool = True) -> dict[str, int]:
    """Upload fence, rally points and mission of ``up``, then read each back and compare item by item.

    The fence goes first so that a vehicle never holds the new mission under an old fence.
    Returns the item count per type. Raises :class:`LinkError` on refusal, timeout or mismatch.
    """
    lists = {FENCE: list(up.fence), RALLY: list(up.rally), MISSION: mission_with_home(up)}
    counts = {}
    for mt, items in lists.items():
        name = TYPE_NAMES[mt]
        link.upload(items, mt, None if progress is None else (lambda i, n, name=name: progress(name, i, n)))
        counts[name] = len(items)
    if verify:
        for mt, items in lists.items():
            got = link.download(mt)
            diffs = compare_items(items, got, mt)
            if diffs:
                if diffs[1:]:
                    text = _("read-back differs: {difference} (and {more} more)")
                    raise LinkError(text.format(difference=diffs[0], more=len(diffs) - 1))
                raise LinkError(_("read-back differs: {difference}").format(difference=diffs[0]))
    return counts


def fence_params(up: SortieUpload, action: int = 1) -> dict[str, float]:
    """ArduPilot parameters a sortie needs: fence on, altitude and polygon fences, its limit, and RTL_ALT
    (centimetres) high enough to clear every roof in the sortie's area.

    ``action`` is ArduCopter's FENCE_ACTION: 1 RTL (land if RTL is impossible), 2 land,
    3 SmartRTL or RTL or land, 4 brake or land, 0 report only.
    """
    kinds = 1 | 4  # FENCE_TYPE bits: 1 maximum altitude, 2 circle around home, 4 polygons and circles
    params = {"FENCE_ENABLE": 1.0, "FENCE_TYPE": float(kinds), "FENCE_ACTION": float(action)}
    if up.max_alt_m is not None:
        params["FENCE_ALT_MAX"] = float(up.max_alt_m)
    if up.safe_alt_m is not None:  # a fence breach or failsafe RTL climbs over every roof before it turns home
        params["RTL_ALT"] = float(round(up.safe_alt_m * 100))
    return params


def vehicle_home(link: Link, timeout_s: float = 3.0) -> tuple[float, float] | None:
    """The vehicle's home (lat, lon), or None if it has none yet (no fix since boot)."""
    link.conn.mav.command_long_send(
        link.target_system, link.target_component, mav.MAV_CMD_GET_HOME_POSITION, 0, 0, 0, 0, 0, 0, 0, 0
    )
    m = link.recv(("HOME_POSITION",), timeout_s)
    return None if m is None else (m.latitude / 1e7, m.longitude / 1e7)


def download_sortie(link: Link, name: str) -> SortieUpload:
    """What the vehicle holds (mission, fence, rally) as a sortie named ``name``; home is mission item 0."""
    mission = link.download(MISSION)
    fence, rally = link.download(FENCE), link.download(RALLY)
    home = mission[0] if mission else None
    return SortieUpload(
        name,
        home.lat if home else 0.0,
        home.lon if home else 0.0,
        tuple(mission[1:]),
        tuple(fence),
        tuple(rally),
    )
