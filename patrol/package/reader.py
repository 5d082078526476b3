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
from patrol.i18n import _
from patrol.package.validate import check_features, check_manifest
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
    """A plan number (``null`` is NaN, as QGroundControl writes unused params); ValueError for anything else."""
    if v is None:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(_("{v} is not a number").format(v=repr(v)))
    return float(v)


def _finite(v: Any) -> float:
    x = _num(v)
    if not math.isfinite(x):
        raise ValueError(_("{v} is not a finite number").format(v=repr(v)))
    return x


def _table(doc: dict[str, Any], key: str, kind: type, name: str, where: str) -> Any:
    """``doc[key]`` of type ``kind`` (empty when absent); one line naming the plan and the key otherwise."""
    v = doc.get(key)
    if v is None:
        return kind()
    if not isinstance(v, kind):
        want = _("an object") if kind is dict else _("a list")
        raise InputError(
            _("{name}: {where}{key} is {name2}, not {want}; re-plan or re-save it in QGC").format(
                name=name, where=where, key=key, name2=type(v).__name__, want=want
            )
        )
    return v


def _item(it: Any, name: str, what: str, read: Any) -> Any:
    """``read(it)`` for one plan entry; a damaged entry becomes one line naming it (``mission item 3``)."""
    try:
        if not isinstance(it, dict | list):
            raise ValueError(_("it is {type}").format(type=type(it).__name__))
        return read(it)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        why = f"no {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        raise InputError(
            _("{name}: {what} is damaged ({why}); re-plan with patrol or re-save it in QGC").format(
                name=name, what=what, why=why[:80]
            )
        ) from None


_POSITIONED = (mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_CMD_NAV_LOITER_TIME)


def _mission_item(it: dict[str, Any], name: str, k: int) -> MissionItem:
    if it.get("type") != "SimpleItem":
        raise InputError(
            _(
                "{name}: mission item {k} is a {get} (a QGC pattern); open the plan in "
                "QGroundControl and save it, or re-plan with patrol"
            ).format(name=name, k=k, get=it.get("type"))
        )
    params = it.get("params", [])
    if not isinstance(params, list) or len(params) != 7:
        n = len(params) if isinstance(params, list) else type(params).__name__
        raise InputError(_("{name}: mission item {k} has {n} params, a SimpleItem has 7").format(name=name, k=k, n=n))
    p = [_num(v) for v in params]
    command, frame = it["command"], it["frame"]
    if isinstance(command, bool) or not isinstance(command, int) or not 0 <= command <= 65535:
        raise ValueError(_("command {command} is not a MAVLink command number").format(command=repr(command)))
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame <= 255:
        raise ValueError(_("frame {frame} is not a MAVLink frame number").format(frame=repr(frame)))
    if command in _POSITIONED and not all(math.isfinite(v) for v in p[4:7]):
        raise InputError(
            _("{name}: mission item {k} (command {command}) has no position (lat, lon, alt); re-plan it").format(
                name=name, k=k, command=command
            )
        )
    if command in _POSITIONED and not (abs(p[4]) <= 90 and abs(p[5]) <= 180):
        raise InputError(
            _("{name}: mission item {k} (command {command}) lies off the globe ({p}, {p2})").format(
                name=name, k=k, command=command, p=format(p[4], "g"), p2=format(p[5], "g")
            )
        )
    if command == mav.MAV_CMD_NAV_TAKEOFF and not math.isfinite(p[6]):
        raise InputError(_("{name}: mission item {k} (take-off) has no altitude; re-plan it").format(name=name, k=k))
    return MissionItem(
        command, frame, *p[:4], lat=p[4], lon=p[5], alt_m=p[6], autocontinue=1 if it.get("autoContinue", True) else 0
    )


def _lat_lon(v: Any) -> tuple[float, float]:
    lat, lon = _finite(v[0]), _finite(v[1])
    if not (abs(lat) <= 90 and abs(lon) <= 180):
        raise ValueError(_("({lat}, {lon}) is not a lat, lon").format(lat=format(lat, "g"), lon=format(lon, "g")))
    return lat, lon


def _fence_polygon(poly: dict[str, Any]) -> list[MissionItem]:
    ring = poly.get("polygon", [])
    if not isinstance(ring, list) or len(ring) < 3:
        raise ValueError(
            _("{value} vertices; a polygon needs 3").format(value=len(ring) if isinstance(ring, list) else "no")
        )
    cmd = (
        mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
        if poly.get("inclusion", True)
        else mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
    )
    pts = [_lat_lon(v) for v in ring]
    return [MissionItem(cmd, mav.MAV_FRAME_GLOBAL, float(len(ring)), lat=lat, lon=lon) for lat, lon in pts]


def _fence_circle(circ: dict[str, Any]) -> MissionItem:
    c = circ["circle"]
    inclusion = circ.get("inclusion", True)
    cmd = mav.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION if inclusion else mav.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION
    lat, lon = _lat_lon(c["center"])
    return MissionItem(cmd, mav.MAV_FRAME_GLOBAL, _finite(c["radius"]), lat=lat, lon=lon)


def _rally(p: list[Any]) -> MissionItem:
    (lat, lon), alt = _lat_lon(p), _finite(p[2])
    return MissionItem(mav.MAV_CMD_NAV_RALLY_POINT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT, lat=lat, lon=lon, alt_m=alt)


def plan_to_upload(doc: Any, name: str = "plan") -> SortieUpload:
    """The MAVLink items of a QGroundControl plan document (SimpleItems only).

    Raises :class:`InputError` naming the item for anything a vehicle could not take.
    """
    if not isinstance(doc, dict) or doc.get("fileType") != "Plan":
        got = doc.get("fileType") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(_("{name}: not a QGroundControl plan (fileType is {got})").format(name=name, got=repr(got)))
    m = _table(doc, "mission", dict, name, "")
    home = _item(m.get("plannedHomePosition") or [0.0, 0.0, 0.0], name, "plannedHomePosition", _lat_lon)
    mission = [
        _item(it, name, _("mission item {k}").format(k=k), lambda it, k=k: _mission_item(it, name, k))
        for k, it in enumerate(_table(m, "items", list, name, "mission."), start=1)
    ]
    gf = _table(doc, "geoFence", dict, name, "")
    fence: list[MissionItem] = []
    for k, poly in enumerate(_table(gf, "polygons", list, name, "geoFence."), start=1):
        fence += _item(poly, name, _("fence polygon {k}").format(k=k), _fence_polygon)
    for k, circ in enumerate(_table(gf, "circles", list, name, "geoFence."), start=1):
        fence.append(_item(circ, name, _("fence circle {k}").format(k=k), _fence_circle))
    points = _table(_table(doc, "rallyPoints", dict, name, ""), "points", list, name, "rallyPoints.")
    rally = [_item(p, name, _("rally point {k}").format(k=k), _rally) for k, p in enumerate(points, start=1)]
    return SortieUpload(name, home[0], home[1], tuple(mission), tuple(fence), tuple(rally))


def read_sortie(package: str | Path, sortie: int) -> SortieUpload:
    """Sortie ``sortie`` (1-based) of a package folder, or the bare QGroundControl ``.plan`` ``package``.

    A ``.plan`` inside a package folder takes its altitude limit and RTL altitude from the package's
    manifest, as :meth:`Package.sortie` does.
    """
    pkg = Path(package)
    if pkg.is_dir():
        return read_package(pkg).sortie(sortie)
    if not pkg.exists():
        raise InputError(_("{pkg}: no such sortie; the package has no sorties").format(pkg=pkg))
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
        raise InputError(_("{path}: unreadable plan ({e}); re-run patrol plan").format(path=path, e=e)) from None
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
            raise InputError(
                _("{path}: no such sortie; the package has {value}").format(
                    path=path, value=", ".join(have) or _("no sorties")
                )
            )
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
    fix = _("re-plan with `patrol plan GEOFENCE -o {f} --force`").format(f=f)
    if not f.is_dir():
        raise InputError(_("{f}: no mission package here; make one with `patrol plan GEOFENCE -o {f}`").format(f=f))
    docs: dict[str, Any] = {}
    for name in ("route.geojson", "manifest.json", "buildings.geojson", "heard_field.geojson"):
        path = f / name
        try:
            docs[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if name in ("buildings.geojson", "heard_field.geojson"):  # optional: no buildings, no field
                docs[name] = None
                continue
            raise InputError(_("{path}: not found; {fix}").format(path=path, fix=fix)) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(_("{path}: unreadable ({e}); {fix}").format(path=path, e=e, fix=fix)) from None
    route, manifest = docs["route.geojson"], docs["manifest.json"]
    check_manifest(manifest, f / "manifest.json", fix)
    features = check_features(route, f / "route.geojson", fix)
    if docs["buildings.geojson"] is not None:
        check_features(docs["buildings.geojson"], f / "buildings.geojson", fix, height=True)
    if docs["heard_field.geojson"] is not None:  # the predicted field's layer, with route.geojson's
        features = (*features, *check_features(docs["heard_field.geojson"], f / "heard_field.geojson", fix))
    build = None
    broadcast = manifest.get("broadcast")
    clips = (broadcast.get("clips") if isinstance(broadcast, dict) else None) or "audio/manifest.json"
    if isinstance(clips, str) and (f / clips).exists():
        try:
            build = read_build((f / clips).parent)
        except (InputError, KeyError, TypeError):
            build = None
    return Package(f, manifest, features, docs["buildings.geojson"], build)
