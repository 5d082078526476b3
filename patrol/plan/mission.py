"""Mission stage: a sortie becomes MAVLink mission items (MAV_CMD numbers from pymavlink).

Layout of every sortie's mission (home is item 0 on the vehicle and is not part of this list)::

    NAV_TAKEOFF (transit altitude)
    DO_CHANGE_SPEED (transit)
    NAV_WAYPOINT ...                      transit, around no-fly zones
    [cue items: ENTER]  DO_CHANGE_SPEED (patrol)   after the first waypoint of a compound
    NAV_WAYPOINT ... / NAV_LOITER_TIME    lanes, joins, hotspot loiters ([cue items: HOTSPOT] before), the hover
                                          of a compound without lanes (its own pass)
    [cue items: LEAVE]  DO_CHANGE_SPEED (transit)  after the last waypoint of a compound
    NAV_WAYPOINT ...                      back towards home
    NAV_RETURN_TO_LAUNCH

DO commands run when the NAV command before them completes, so an ENTER cue starts the prompt as the
vehicle reaches the compound and a HOTSPOT cue starts it on the way to the loiter.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.geo import LocalFrame
from patrol.types import Cue, CueEncoder, CueKind, MissionItem, Sortie, Step, StepKind

FRAME_REL = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT
FRAME_MISSION = mav.MAV_FRAME_MISSION
SPEED_TYPE_GROUND = 1


class NoCues:
    """A cue encoder that inserts nothing (a plan without a speaker)."""

    def encode(self, cue: Cue) -> list[MissionItem]:
        """Return no items."""
        return []


def change_speed(speed_mps: float, note: str) -> MissionItem:
    """DO_CHANGE_SPEED to a ground speed (throttle unchanged)."""
    return MissionItem(mav.MAV_CMD_DO_CHANGE_SPEED, FRAME_MISSION, SPEED_TYPE_GROUND, speed_mps, -1.0, 0.0, note=note)


def _nav(step: Step, frame: LocalFrame) -> MissionItem:
    lon, lat = frame.to_wgs84(step.x_m, step.y_m)
    where = f"{step.kind.value}" + (f" {step.compound_id}" if step.compound_id else "")
    if step.kind is StepKind.HOTSPOT or step.loiter_s > 0:
        return MissionItem(
            mav.MAV_CMD_NAV_LOITER_TIME,
            FRAME_REL,
            step.loiter_s,
            0.0,
            0.0,
            0.0,
            float(lat),
            float(lon),
            step.alt_m,
            note=f"hotspot {step.hotspot_id}" if step.kind is StepKind.HOTSPOT else f"pass {step.compound_id}",
        )
    return MissionItem(
        mav.MAV_CMD_NAV_WAYPOINT, FRAME_REL, 0.0, 0.0, 0.0, 0.0, float(lat), float(lon), step.alt_m, note=where
    )


def build_mission(
    sortie: Sortie,
    frame: LocalFrame,
    home: tuple[float, float],
    patrol_speed_mps: float,
    transit_speed_mps: float,
    encoder: CueEncoder | None = None,
) -> tuple[MissionItem, ...]:
    """Mission items for one sortie, cues encoded by ``encoder`` (none when omitted)."""
    enc = encoder or NoCues()
    hlon, hlat = frame.to_wgs84(*home)
    takeoff_alt = sortie.steps[0].alt_m if sortie.steps else 10.0
    items: list[MissionItem] = [
        MissionItem(
            mav.MAV_CMD_NAV_TAKEOFF,
            FRAME_REL,
            0.0,
            0.0,
            0.0,
            0.0,
            float(hlat),
            float(hlon),
            takeoff_alt,
            note="takeoff",
        ),
        change_speed(transit_speed_mps, "transit speed"),
    ]
    cues_after: dict[int, list[Cue]] = {}
    for k, cue in sortie.cues:
        cues_after.setdefault(k, []).append(cue)
    for k, step in enumerate(sortie.steps):
        items.append(_nav(step, frame))
        for cue in cues_after.get(k, []):
            if cue.kind == CueKind.LEAVE:
                items.extend(enc.encode(cue))
                items.append(change_speed(transit_speed_mps, f"leave {cue.compound_id}"))
            elif cue.kind == CueKind.ENTER:
                items.extend(enc.encode(cue))
                speed = step.speed_mps if step.speed_mps is not None else patrol_speed_mps
                items.append(change_speed(speed, f"enter {cue.compound_id}"))
            else:
                items.extend(enc.encode(cue))
    items.append(MissionItem(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, FRAME_MISSION, note="return to launch"))
    return tuple(items)


def nav_items(items: Sequence[MissionItem]) -> list[MissionItem]:
    """The items that carry a position (waypoints, loiters, takeoff)."""
    positioned = {mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_CMD_NAV_LOITER_TIME, mav.MAV_CMD_NAV_TAKEOFF}
    return [i for i in items if i.command in positioned]
