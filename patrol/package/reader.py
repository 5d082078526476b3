"""Read a mission package back into MAVLink items: mission, fence and rally, as a vehicle holds them.

A QGroundControl ``.plan`` carries all three. The fence becomes ArduPilot's fence items
(``MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION`` / ``_EXCLUSION`` with the vertex count in param1,
``MAV_CMD_NAV_FENCE_CIRCLE_*`` with the radius in param1), the rally points ``MAV_CMD_NAV_RALLY_POINT``,
all in ``MAV_FRAME_GLOBAL`` as ArduPilot stores them (rally altitudes relative to home).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.errors import InputError
from patrol.types import MissionItem

MISSION = mav.MAV_MISSION_TYPE_MISSION
FENCE = mav.MAV_MISSION_TYPE_FENCE
RALLY = mav.MAV_MISSION_TYPE_RALLY
TYPE_NAMES = {MISSION: "mission", FENCE: "fence", RALLY: "rally"}


@dataclass(frozen=True)
class SortieUpload:
    """What one sortie puts on a vehicle: the three item lists and the limits they were planned under."""

    name: str
    home_lat: float
    home_lon: float
    mission: tuple[MissionItem, ...]
    fence: tuple[MissionItem, ...]
    rally: tuple[MissionItem, ...]
    max_alt_m: float | None = None
    safe_alt_m: float | None = None  # clears every roof in the sortie's area (RTL_ALT)

    def items(self, mission_type: int) -> tuple[MissionItem, ...]:
        """The items of one MAVLink mission type."""
        return {MISSION: self.mission, FENCE: self.fence, RALLY: self.rally}[mission_type]


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def plan_to_upload(doc: dict[str, Any], name: str = "plan") -> SortieUpload:
    """The MAVLink items of a QGroundControl plan document (SimpleItems only).

    Raises :class:`InputError` naming the item for anything a vehicle could not take.
    """
    if doc.get("fileType") != "Plan":
        raise InputError(f"{name}: not a QGroundControl plan (fileType is {doc.get('fileType')!r})")
    m = doc.get("mission", {})
    home = m.get("plannedHomePosition") or [0.0, 0.0, 0.0]
    mission = []
    for k, it in enumerate(m.get("items", []), start=1):
        if it.get("type") != "SimpleItem":
            raise InputError(
                f"{name}: mission item {k} is a {it.get('type')} (a QGC pattern); "
                "open the plan in QGroundControl and save it, or re-plan with patrol"
            )
        p = [_num(v) for v in it.get("params", [])]
        if len(p) != 7:
            raise InputError(f"{name}: mission item {k} has {len(p)} params, a SimpleItem has 7")
        mission.append(
            MissionItem(
                int(it["command"]),
                int(it["frame"]),
                *p[:4],
                lat=p[4],
                lon=p[5],
                alt_m=p[6],
                autocontinue=1 if it.get("autoContinue", True) else 0,
            )
        )
    fence = []
    gf = doc.get("geoFence", {})
    for k, poly in enumerate(gf.get("polygons", []), start=1):
        ring = poly.get("polygon", [])
        if len(ring) < 3:
            raise InputError(f"{name}: fence polygon {k} has {len(ring)} vertices; a polygon needs 3")
        cmd = (
            mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
            if poly.get("inclusion", True)
            else mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
        )
        fence += [MissionItem(cmd, mav.MAV_FRAME_GLOBAL, float(len(ring)), lat=lat, lon=lon) for lat, lon in ring]
    for circ in gf.get("circles", []):
        c = circ["circle"]
        cmd = (
            mav.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION
            if circ.get("inclusion", True)
            else mav.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION
        )
        fence.append(MissionItem(cmd, mav.MAV_FRAME_GLOBAL, float(c["radius"]), lat=c["center"][0], lon=c["center"][1]))
    rally = [
        MissionItem(mav.MAV_CMD_NAV_RALLY_POINT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT, lat=p[0], lon=p[1], alt_m=p[2])
        for p in doc.get("rallyPoints", {}).get("points", [])
    ]
    return SortieUpload(name, float(home[0]), float(home[1]), tuple(mission), tuple(fence), tuple(rally))


def read_sortie(package: str | Path, sortie: int) -> SortieUpload:
    """Sortie ``sortie`` (1-based) of a mission package folder written by ``patrol plan``.

    The altitude limit comes from the package's manifest when there is one.
    """
    pkg = Path(package)
    path = pkg / f"sortie-{sortie:02d}.plan" if pkg.is_dir() else pkg
    if not path.exists():
        have = sorted(p.name for p in pkg.glob("sortie-*.plan")) if pkg.is_dir() else []
        raise InputError(f"{path}: no such sortie; the package has {', '.join(have) or 'no sorties'}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: unreadable plan ({e}); re-run patrol plan") from None
    up = plan_to_upload(doc, str(path))
    manifest = path.parent / "manifest.json"
    max_alt = safe_alt = None
    if manifest.exists():
        try:
            man = json.loads(manifest.read_text(encoding="utf-8"))
            max_alt = float(man["parameters"]["patrol"]["max_alt_m"])
            s = next((x for x in man["sorties"] if x["index"] == sortie), {})
            safe_alt = float(s["safe_alt_m"]) if "safe_alt_m" in s else None
        except (KeyError, TypeError, ValueError, json.JSONDecodeError):
            max_alt = None
    return SortieUpload(up.name, up.home_lat, up.home_lon, up.mission, up.fence, up.rally, max_alt, safe_alt)


def fence_polygons(items: tuple[MissionItem, ...]) -> list[tuple[bool, list[tuple[float, float]]]]:
    """Fence items grouped back into ``(inclusion, [(lat, lon), ...])`` polygons."""
    out: list[tuple[bool, list[tuple[float, float]]]] = []
    k = 0
    while k < len(items):
        it = items[k]
        if it.command in (
            mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
            mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        ):
            n = max(round(it.param1), 1)
            ring = [(x.lat, x.lon) for x in items[k : k + n]]
            out.append((it.command == mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION, ring))
            k += n
        else:
            k += 1
    return out


def upload_to_plan(up: SortieUpload) -> dict:
    """A QGroundControl plan document holding ``up``'s mission, fence polygons/circles and rally points."""
    from patrol.package.writer import plan_item

    polygons = [
        {"inclusion": inc, "polygon": [[lat, lon] for lat, lon in ring], "version": 1}
        for inc, ring in fence_polygons(up.fence)
    ]
    circles = [
        {
            "circle": {"center": [it.lat, it.lon], "radius": it.param1},
            "inclusion": it.command == mav.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
            "version": 1,
        }
        for it in up.fence
        if it.command in (mav.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION, mav.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION)
    ]
    return {
        "fileType": "Plan",
        "geoFence": {"circles": circles, "polygons": polygons, "version": 2},
        "groundStation": "QGroundControl",
        "mission": {
            "cruiseSpeed": 15,
            "firmwareType": mav.MAV_AUTOPILOT_ARDUPILOTMEGA,
            "globalPlanAltitudeMode": 1,
            "hoverSpeed": 5,
            "items": [plan_item(it, k) for k, it in enumerate(up.mission, start=1)],
            "plannedHomePosition": [up.home_lat, up.home_lon, 0],
            "vehicleType": mav.MAV_TYPE_QUADROTOR,
            "version": 2,
        },
        "rallyPoints": {"points": [[it.lat, it.lon, it.alt_m] for it in up.rally], "version": 2},
        "version": 1,
    }


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary sibling renamed into place (never half-written)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place (never half-written)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def read_package_docs(folder: str | Path) -> tuple[dict, dict]:
    """A package's ``manifest.json`` and ``route.geojson``; one-line error naming what is missing or damaged."""
    f = Path(folder)
    try:
        man = json.loads((f / "manifest.json").read_text(encoding="utf-8"))
        geo = json.loads((f / "route.geojson").read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"{e.filename}: missing; give the folder `patrol plan` wrote") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{f}: damaged package ({e}); re-plan it") from None
    return man, geo
