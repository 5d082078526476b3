"""Read-back comparison: is what the vehicle holds what was sent, allowing for how ArduPilot stores it.

Pure (no I/O). Used by :mod:`patrol.vehicle.link` to confirm an upload whose last acknowledgement was
lost and by :mod:`patrol.vehicle.upload` to verify every list after it is sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.package.reader import MISSION, TYPE_NAMES
from patrol.types import MissionItem

NAV_WITH_POSITION = {
    mav.MAV_CMD_NAV_WAYPOINT,
    mav.MAV_CMD_NAV_LOITER_TIME,
    mav.MAV_CMD_NAV_LOITER_UNLIM,
    mav.MAV_CMD_NAV_LOITER_TURNS,
    mav.MAV_CMD_NAV_TAKEOFF,
    mav.MAV_CMD_NAV_LAND,
    mav.MAV_CMD_NAV_SPLINE_WAYPOINT,
}
# Fields ArduPilot does not store as sent (seen reading back from ArduCopter SITL): the loiter radius
# of NAV_LOITER_TIME comes back as 1 (a copter loiters on the spot, radius unused).
IGNORED_PARAMS = {mav.MAV_CMD_NAV_LOITER_TIME: ("param3",)}
RELATIVE_FRAMES = {mav.MAV_FRAME_GLOBAL_RELATIVE_ALT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT}


def _has_position(it: MissionItem) -> bool:
    return it.command in NAV_WITH_POSITION and not (it.lat == 0 and it.lon == 0)


def has_position(it: MissionItem) -> bool:
    """True for a NAV item that flies to (or from) a position given by its lat/lon."""
    return it.command in NAV_WITH_POSITION and not (it.lat == 0 and it.lon == 0)


@dataclass(frozen=True)
class Tolerance:
    """How closely a read-back item must match: ArduPilot stores altitudes in cm and lat/lon in 1e-7 deg."""

    latlon_deg: float = 1.5e-7
    alt_m: float = 0.011
    param: float = 1e-3


def _same(a: float, b: float, tol: float) -> bool:
    a = 0.0 if math.isnan(a) else a
    b = 0.0 if math.isnan(b) else b
    return abs(a - b) <= tol


def compare_items(
    sent: Sequence[MissionItem], got: Sequence[MissionItem], mission_type: int, tol: Tolerance | None = None
) -> list[str]:
    """Differences between what was sent and what was read back, one line per item (empty: equal).

    For missions, item 0 (home) is not compared: ArduPilot replaces it with its own home.
    """
    t = tol or Tolerance()
    name = TYPE_NAMES.get(mission_type, str(mission_type))
    out = []
    if len(sent) != len(got):
        return [f"{name}: sent {len(sent)} items, vehicle holds {len(got)}"]
    start = 1 if mission_type == MISSION else 0
    for k in range(start, len(sent)):
        a, b = sent[k], got[k]
        diffs = []
        if a.command != b.command:
            diffs.append(f"command {a.command} != {b.command}")
        positioned = has_position(a) or mission_type != MISSION
        same_kind = a.frame in RELATIVE_FRAMES and b.frame in RELATIVE_FRAMES
        if positioned and a.frame != b.frame and not same_kind:
            diffs.append(f"frame {a.frame} != {b.frame}")  # a DO_ command's frame means nothing; ArduPilot gives 0
        for field, tl in (("lat", t.latlon_deg), ("lon", t.latlon_deg), ("alt_m", t.alt_m)):
            if not _same(getattr(a, field), getattr(b, field), tl):
                diffs.append(f"{field} {getattr(a, field)!r} != {getattr(b, field)!r}")
        for field in ("param1", "param2", "param3", "param4"):
            if field in IGNORED_PARAMS.get(a.command, ()):
                continue
            if not _same(getattr(a, field), getattr(b, field), t.param):
                diffs.append(f"{field} {getattr(a, field)!r} != {getattr(b, field)!r}")
        if diffs:
            out.append(f"{name} item {k}: " + ", ".join(diffs))
    return out
