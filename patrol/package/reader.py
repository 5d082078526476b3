"""The one reader of a mission package: its documents, and its sorties as MAVLink items.

:func:`read_package` reads and checks a package folder once (``manifest.json``, ``route.geojson``,
``buildings.geojson``, the prompt build in ``audio/``) into a :class:`Package`, which the pre-flight
check, upload, fly, the companion player, the maps and the audit all use; each names a missing or
damaged file in one line with the fix. :meth:`Package.sortie` (and :func:`read_sortie`, which also
takes a bare ``.plan``) gives what one sortie puts on a vehicle.

A QGroundControl ``.plan`` carries mission, fence and rally. The fence becomes ArduPilot's fence items
(``MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION`` / ``_EXCLUSION`` with the vertex count in param1,
``MAV_CMD_NAV_FENCE_CIRCLE_*`` with the radius in param1), the rally points ``MAV_CMD_NAV_RALLY_POINT``,
all in ``MAV_FRAME_GLOBAL`` as ArduPilot stores them (rally altitudes relative to home).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.speech.catalogue import Build, read_build
from patrol.types import Building, MissionItem, Speaker

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
    """Sortie ``sortie`` (1-based) of a package folder, or the bare QGroundControl ``.plan`` ``package``.

    A ``.plan`` inside a package folder takes its altitude limit and RTL altitude from the package's
    manifest, as :meth:`Package.sortie` does.
    """
    pkg = Path(package)
    if pkg.is_dir():
        return read_package(pkg).sortie(sortie)
    if not pkg.exists():
        raise InputError(f"{pkg}: no such sortie; the package has no sorties")
    up = _read_plan(pkg)
    if (pkg.parent / "manifest.json").exists():
        try:
            man = json.loads((pkg.parent / "manifest.json").read_text(encoding="utf-8"))
            return _with_limits(up, man, sortie)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return up
    return up


def _read_plan(path: Path) -> SortieUpload:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: unreadable plan ({e}); re-run patrol plan") from None
    return plan_to_upload(doc, str(path))


def _with_limits(up: SortieUpload, man: dict, sortie: int) -> SortieUpload:
    """``up`` with the ceiling and RTL altitude the manifest records for sortie ``sortie`` (if it does)."""
    max_alt = safe_alt = None
    try:
        max_alt = float(man["parameters"]["patrol"]["max_alt_m"])
        s = next((x for x in man["sorties"] if x["index"] == sortie), {})
        safe_alt = float(s["safe_alt_m"]) if "safe_alt_m" in s else None
    except (KeyError, TypeError, ValueError):
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


@dataclass(frozen=True)
class Package:
    """A mission package folder as ``patrol plan`` wrote it, read once.

    ``manifest`` and ``features`` (those of ``route.geojson`` with a geometry and properties) are the
    documents as written; the properties and methods are typed views of them. ``build`` is the prompt
    build in ``audio/`` (None when planned with ``--speaker none`` or when it cannot be read).
    """

    folder: Path
    manifest: dict[str, Any]
    features: tuple[dict[str, Any], ...]
    buildings_doc: dict[str, Any] | None
    build: Build | None

    def layer(self, name: str) -> list[dict[str, Any]]:
        """The route.geojson features of one layer (compound, route, cue, hotspot, nofly, home, ...)."""
        return [f for f in self.features if f["properties"].get("layer") == name]

    @property
    def frame(self) -> LocalFrame:
        """The local metric frame the package was planned in."""
        fr = self.manifest["frame"]
        return LocalFrame(float(fr["lon0"]), float(fr["lat0"]))

    @property
    def home(self) -> tuple[float, float]:
        """The planned launch point, ``(lon, lat)``."""
        h = self.manifest.get("home") or {}
        if "lon" in h and "lat" in h:
            return float(h["lon"]), float(h["lat"])
        for f in self.layer("home"):
            lon, lat = f["geometry"]["coordinates"][:2]
            return float(lon), float(lat)
        import shapely
        from shapely.geometry import shape

        lon, lat = shapely.union_all([shape(f["geometry"]) for f in self.features]).centroid.coords[0]
        return float(lon), float(lat)

    @property
    def params(self) -> dict[str, Any]:
        """The planning parameters (``PatrolParams`` as recorded)."""
        return dict(self.manifest["parameters"]["patrol"])

    @property
    def speaker(self) -> Speaker:
        """The acoustic model the package was planned with."""
        return Speaker(**self.manifest["parameters"]["speaker"])

    @property
    def broadcast(self) -> dict[str, Any]:
        """The broadcast section of the manifest (empty when planned with ``--speaker none``)."""
        return dict(self.manifest.get("broadcast") or {})

    @property
    def sortie_indices(self) -> list[int]:
        """The sortie numbers of the package, in order."""
        return [int(s["index"]) for s in self.manifest.get("sorties", [])]

    def sortie_doc(self, index: int) -> dict[str, Any]:
        """The manifest's record of sortie ``index`` (empty when it has none)."""
        return next((s for s in self.manifest.get("sorties", []) if s.get("index") == index), {})

    def sortie(self, index: int) -> SortieUpload:
        """What sortie ``index`` puts on a vehicle, with the ceiling and RTL altitude of the manifest."""
        path = self.folder / f"sortie-{index:02d}.plan"
        if not path.exists():
            have = sorted(p.name for p in self.folder.glob("sortie-*.plan"))
            raise InputError(f"{path}: no such sortie; the package has {', '.join(have) or 'no sorties'}")
        return _with_limits(_read_plan(path), self.manifest, index)

    def buildings(self, frame: LocalFrame | None = None) -> list[Building]:
        """The building footprints the package was planned over, in ``frame`` (default: the package's)."""
        if not self.buildings_doc:
            return []
        from shapely.geometry import shape

        fr = frame or self.frame
        out = []
        for k, f in enumerate(self.buildings_doc.get("features", [])):
            props = f["properties"]
            geom = fr.geom_to_local(shape(f["geometry"]))
            out.append(Building(str(props.get("id", k)), geom, float(props["height_m"]), "package"))
        return out


def read_package(folder: str | Path) -> Package:
    """Read the package folder ``folder``; :class:`InputError` names a missing or damaged file and the fix."""
    f = Path(folder)
    fix = f"re-plan with `patrol plan GEOFENCE -o {f} --force`"
    if not f.is_dir():
        raise InputError(f"{f}: no mission package here; make one with `patrol plan GEOFENCE -o {f}`")
    docs: dict[str, Any] = {}
    for name in ("route.geojson", "manifest.json", "buildings.geojson"):
        path = f / name
        try:
            docs[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if name == "buildings.geojson":
                docs[name] = None
                continue
            raise InputError(f"{path}: not found; {fix}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: unreadable ({e}); {fix}") from None
    route, manifest = docs["route.geojson"], docs["manifest.json"]
    if not isinstance(route, dict) or not isinstance(route.get("features"), list):
        raise InputError(f"{f / 'route.geojson'}: not a GeoJSON FeatureCollection; {fix}")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("frame"), dict):
        raise InputError(f"{f / 'manifest.json'}: not a patrol manifest; {fix}")
    features = tuple(
        feat
        for feat in route["features"]
        if isinstance(feat, dict) and feat.get("geometry") and isinstance(feat.get("properties"), dict)
    )
    build = None
    clips = (manifest.get("broadcast") or {}).get("clips") or "audio/manifest.json"
    if (f / clips).exists():
        try:
            build = read_build((f / clips).parent)
        except (InputError, KeyError, TypeError):
            build = None
    return Package(f, manifest, features, docs["buildings.geojson"], build)
