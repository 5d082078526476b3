"""Read-back comparison: is what the vehicle holds what was sent, allowing for how ArduPilot stores it.

Pure (no I/O). Used by :mod:`patrol.vehicle.link` to confirm an upload whose last acknowledgement was
lost and by :mod:`patrol.vehicle.upload` to verify every list after it is sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.i18n import N_, _
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
# The lists' names (package.reader.TYPE_NAMES) and the compared fields, translated where a difference is told.
LIST_NAMES = (N_("mission"), N_("fence"), N_("rally"))
FIELDS = (N_("lat"), N_("lon"), N_("alt_m"), N_("param1"), N_("param2"), N_("param3"), N_("param4"))


def list_name(mission_type: int) -> str:
    """The name of a MAVLink mission list for a message, in the interface language (``mission``, ``fence``,
    ``rally``; the number of one patrol does not know)."""
    return _(TYPE_NAMES[mission_type]) if mission_type in TYPE_NAMES else str(mission_type)


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
    """Differences between what was sent and what was read back, one line per item (empty: equal), each a
    sentence in the interface language (``mission item 3: command 16 != 22`` in English).

    For missions, item 0 (home) is not compared: ArduPilot replaces it with its own home.
    """
    t = tol or Tolerance()
    name = list_name(mission_type)
    out = []
    if len(sent) != len(got):
        return [_("{list}: sent {sent} items, vehicle holds {got}").format(list=name, sent=len(sent), got=len(got))]
    start = 1 if mission_type == MISSION else 0
    for k in range(start, len(sent)):
        a, b = sent[k], got[k]
        diffs = []
        if a.command != b.command:
            diffs.append(_("command {sent} != {got}").format(sent=a.command, got=b.command))
        positioned = has_position(a) or mission_type != MISSION
        same_kind = a.frame in RELATIVE_FRAMES and b.frame in RELATIVE_FRAMES
        if (
            positioned and a.frame != b.frame and not same_kind
        ):  # a DO_ command's frame means nothing; ArduPilot gives 0
            diffs.append(_("frame {sent} != {got}").format(sent=a.frame, got=b.frame))
        for field, tl in (("lat", t.latlon_deg), ("lon", t.latlon_deg), ("alt_m", t.alt_m)):
            if not _same(getattr(a, field), getattr(b, field), tl):
                diffs.append(
                    _("{field} {sent} != {got}").format(
                        field=_(field), sent=repr(getattr(a, field)), got=repr(getattr(b, field))
                    )
                )
        for field in ("param1", "param2", "param3", "param4"):
            if field in IGNORED_PARAMS.get(a.command, ()):
                continue
            if not _same(getattr(a, field), getattr(b, field), t.param):
                diffs.append(
                    _("{field} {sent} != {got}").format(
                        field=_(field), sent=repr(getattr(a, field)), got=repr(getattr(b, field))
                    )
                )
        if diffs:
            out.append(_("{list} item {k}: {differences}").format(list=name, k=k, differences=_(", ").join(diffs)))
    return out
