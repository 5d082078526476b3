"""Exports: a plan becomes a mission package folder, written atomically.

Package layout::

    sortie-01.plan        QGroundControl plan (mission, geoFence, rallyPoints)
    sortie-01.waypoints   QGC WPL 110 text (Mission Planner, MAVProxy, pymavlink mavwp)
    route.geojson         compounds, lanes, routes, hotspots, fences, rally points, home (WGS84)
    manifest.json         inputs with sha256, every parameter, audibility, per-compound figures

The folder is built beside its destination under a temporary name and renamed into place, so a
failure never leaves a half-written package.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import mapping

from patrol import __version__
from patrol.geo import LocalFrame
from patrol.paths import portable
from patrol.plan.summary import summary_csv
from patrol.speech.broadcast import Broadcast, broadcast_manifest
from patrol.types import FleetUnit, MissionItem, Plan, Sortie

PLAN_FIRMWARE_ARDUPILOT = 3
PLAN_VEHICLE_QUADROTOR = 2
ALTITUDE_MODE_RELATIVE = 1
_POSITIONED = {
    mav.MAV_CMD_NAV_WAYPOINT,
    mav.MAV_CMD_NAV_LOITER_TIME,
    mav.MAV_CMD_NAV_TAKEOFF,
    mav.MAV_CMD_NAV_LAND,
    mav.MAV_CMD_NAV_LOITER_UNLIM,
}


def _r(v: float, nd: int = 7) -> float:
    return round(float(v), nd)


def _num(v: float) -> float | None:
    """JSON-safe number: NaN becomes null, as QGroundControl writes it."""
    return None if isinstance(v, float) and math.isnan(v) else v


def plan_item(item: MissionItem, seq: int) -> dict[str, Any]:
    """One QGroundControl ``SimpleItem`` (``doJumpId`` is 1-based, like QGroundControl's)."""
    params = [
        _num(item.param1),
        _num(item.param2),
        _num(item.param3),
        _num(item.param4),
        _r(item.lat),
        _r(item.lon),
        _r(item.alt_m, 2),
    ]
    out: dict[str, Any] = {
        "autoContinue": bool(item.autocontinue),
        "command": int(item.command),
        "doJumpId": seq,
        "frame": int(item.frame),
        "params": params,
        "type": "SimpleItem",
    }
    if item.command in _POSITIONED:
        out["AMSLAltAboveTerrain"] = None
        out["Altitude"] = _r(item.alt_m, 2)
        out["AltitudeMode"] = ALTITUDE_MODE_RELATIVE
    return out


def _latlon_ring(frame: LocalFrame, ring: Any) -> list[list[float]]:
    c = shapely.get_coordinates(ring)[:-1]
    lon, lat = frame.to_wgs84(c[:, 0], c[:, 1])
    return [[_r(a), _r(b)] for a, b in zip(lat, lon, strict=True)]


def plan_json(plan: Plan, sortie: Sortie, items: Sequence[MissionItem]) -> dict[str, Any]:
    """The QGroundControl ``.plan`` document for one sortie."""
    f = plan.district.frame
    home, vehicle, speed_mps = plan.flown_by(sortie.index)
    hlon, hlat = f.to_wgs84(*home)
    polygons = [{"inclusion": True, "polygon": _latlon_ring(f, sortie.fence.inclusion.exterior), "version": 1}]
    polygons += [
        {"inclusion": False, "polygon": _latlon_ring(f, z.exterior), "version": 1} for z in sortie.fence.exclusions
    ]
    rally = []
    for rp in sortie.rally:
        lon, lat = f.to_wgs84(rp.x_m, rp.y_m)
        rally.append([_r(lat), _r(lon), _r(rp.alt_m, 2)])
    return {
        "fileType": "Plan",
        "geoFence": {"circles": [], "polygons": polygons, "version": 2},
        "groundStation": "QGroundControl",
        "mission": {
            "cruiseSpeed": vehicle.transit_speed_mps,
            "firmwareType": PLAN_FIRMWARE_ARDUPILOT,
            "globalPlanAltitudeMode": ALTITUDE_MODE_RELATIVE,
            "hoverSpeed": _r(speed_mps, 2),
            "items": [plan_item(it, k) for k, it in enumerate(items, start=1)],
            "plannedHomePosition": [_r(hlat), _r(hlon), 0],
            "vehicleType": PLAN_VEHICLE_QUADROTOR,
            "version": 2,
        },
        "rallyPoints": {"points": rally, "version": 2},
        "version": 1,
    }


def waypoints_text(plan: Plan, items: Sequence[MissionItem], sortie: int | None = None) -> str:
    """QGC WPL 110 text: line 0 is home (current=1; the launch point of ``sortie``'s vehicle), then the items,
    tab-separated."""
    f = plan.district.frame
    home = plan.flown_by(sortie)[0] if sortie is not None else (plan.home_x_m, plan.home_y_m)
    hlon, hlat = f.to_wgs84(*home)
    lines = [
        "QGC WPL 110",
        f"0\t1\t0\t{mav.MAV_CMD_NAV_WAYPOINT}\t0\t0\t0\t0\t{float(hlat):.8f}\t{float(hlon):.8f}\t0.000000\t1",
    ]
    for k, it in enumerate(items, start=1):
        p = [0.0 if math.isnan(v) else v for v in (it.param1, it.param2, it.param3, it.param4)]
        lines.append(
            f"{k}\t0\t{it.frame}\t{it.command}\t{p[0]:.6f}\t{p[1]:.6f}\t{p[2]:.6f}\t{p[3]:.6f}\t"
            f"{it.lat:.8f}\t{it.lon:.8f}\t{it.alt_m:.6f}\t{it.autocontinue}"
        )
    return "\n".join(lines) + "\n"


def _feature(geom: Any, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def route_geojson(plan: Plan) -> dict[str, Any]:
    """Everything a map needs, in WGS84: compounds, lanes, sortie paths, hotspots, fences, rally, home."""
    f = plan.district.frame
    to = f.geom_to_wgs84
    feats = []
    stats = {s["id"]: s for s in plan.compound_stats}
    for c in plan.district.compounds:
        props = {"layer": "compound", "id": c.id, "name": c.name, "tier": c.tier, "priority": c.priority}
        props.update({k: v for k, v in stats.get(c.id, {}).items() if k not in props})
        feats.append(_feature(to(c.geometry), props))
        for h in c.hotspots:
            feats.append(
                _feature(
                    to(shapely.Point(h.x_m, h.y_m)),
                    {"layer": "hotspot", "id": h.id, "kind": h.kind, "name": h.name, "compound": c.id},
                )
            )
    for z in plan.district.nofly:
        feats.append(_feature(to(z.geometry), {"layer": "nofly", "id": z.id, "name": z.name}))
    for r in plan.routes:
        if r.lanes.segments:
            lanes = shapely.MultiLineString([list(seg) for seg in r.lanes.segments])
            feats.append(
                _feature(
                    to(lanes),
                    {"layer": "lanes", "compound": r.compound_id, "angle_deg": round(r.lanes.angle_deg % 180, 1)},
                )
            )
    home = (plan.home_x_m, plan.home_y_m)
    for s in plan.sorties:
        coords = [plan.flown_by(s.index)[0]] + [(st.x_m, st.y_m) for st in s.steps]
        feats.append(
            _feature(
                to(shapely.LineString(coords)),
                {
                    "layer": "route",
                    "sortie": s.index,
                    "length_m": round(s.length_m, 1),
                    "predicted_time_s": round(s.predicted_time_s, 1),
                    "compounds": list(s.compound_ids),
                },
            )
        )
        feats.append(
            _feature(
                to(s.fence.inclusion), {"layer": "fence_inclusion", "sortie": s.index, "max_alt_m": s.fence.max_alt_m}
            )
        )
        for z in s.fence.exclusions:
            feats.append(_feature(to(z), {"layer": "fence_exclusion", "sortie": s.index}))
        for rp in s.rally:
            feats.append(
                _feature(to(shapely.Point(rp.x_m, rp.y_m)), {"layer": "rally", "sortie": s.index, "alt_m": rp.alt_m})
            )
        for k, cue in s.cues:
            st = s.steps[k]
            feats.append(
                _feature(
                    to(shapely.Point(st.x_m, st.y_m)), {"layer": "cue", "sortie": s.index, **dataclasses.asdict(cue)}
                )
            )
    feats.append(_feature(to(shapely.Point(*home)), {"layer": "home"}))
    for u in plan.fleet.units if plan.fleet is not None else ():
        if (u.home_x_m, u.home_y_m) != home:
            feats.append(_feature(to(shapely.Point(u.home_x_m, u.home_y_m)), {"layer": "launch", "vehicle": u.spec.id}))
    return {"type": "FeatureCollection", "features": feats}


def heard_field_geojson(plan: Plan) -> str:
    """``heard_field.geojson``: the predicted field per compound (layer ``heard_field``, ``kind`` heard, shadowed
    or unreachable: its open ground heard whole, in the buildings' shadow, and reached by no permitted hover),
    WGS84 to 1e-7 degrees (about a centimetre), written compactly: the areas have many vertices."""
    to = plan.district.frame.geom_to_wgs84
    feats = [
        _feature(shapely.set_precision(to(geom), 1e-7), {"layer": "heard_field", "compound": cid, "kind": kind})
        for cid, kind, geom in plan.heard_field
    ]
    return json.dumps({"type": "FeatureCollection", "features": feats}, separators=(",", ":")) + "\n"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_json(plan: Plan, command: str = "", settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inputs with hashes, every parameter, the acoustic decision, per-compound and per-sortie figures.

    ``settings`` (from ``patrol plan``) records every option's resolved value and the profile it came from.
    Paths are :func:`patrol.paths.portable`: no absolute path of the planning machine.
    """
    f = plan.district.frame
    hlon, hlat = f.to_wgs84(plan.home_x_m, plan.home_y_m)
    inputs = []
    crs_of = {i.path: i for i in plan.district.inputs}
    for src in plan.district.sources:
        p = Path(src)
        entry: dict[str, Any] = {"path": portable(src), "sha256": sha256_file(p) if p.exists() else None}
        if src in crs_of:
            entry.update(role=crs_of[src].role, crs=crs_of[src].crs, crs_from=crs_of[src].crs_from)
        inputs.append(entry)
    return {
        "patrol_version": __version__,
        "command": command,
        **({"settings": settings} if settings is not None else {}),
        "inputs": inputs,
        "frame": {"proj": "tmerc", "lon0": f.lon0, "lat0": f.lat0},
        "home": {"lat": _r(hlat), "lon": _r(hlon)},
        "parameters": {
            "patrol": dataclasses.asdict(plan.params),
            "speaker": dataclasses.asdict(plan.speaker),
            "vehicle": dataclasses.asdict(plan.vehicle),
        },
        "audibility": {
            k: (round(v, 3) if isinstance(v, float) else v) for k, v in dataclasses.asdict(plan.audibility).items()
        },
        "compounds": list(plan.compound_stats),
        "sorties": [
            {
                "index": s.index,
                "plan": f"sortie-{s.index:02d}.plan",
                "waypoints": f"sortie-{s.index:02d}.waypoints",
                "compounds": list(s.compound_ids),
                "mission_items": len(plan.missions[s.index - 1]),
                "length_m": round(s.length_m, 1),
                "predicted_time_s": round(s.predicted_time_s, 1),
                "usable_endurance_s": round(plan.flown_by(s.index)[1].usable_s, 1),
                "fence": {
                    "inclusion_vertices": len(s.fence.inclusion.exterior.coords) - 1,
                    "exclusions": len(s.fence.exclusions),
                    "max_alt_m": s.fence.max_alt_m,
                    "margin_m": s.fence.margin_m,
                },
                "rally_points": len(s.rally),
                "safe_alt_m": round(s.safe_alt_m, 1),
                "cues": [{"after_step": k, **dataclasses.asdict(c)} for k, c in s.cues],
            }
            for s in plan.sorties
        ],
        "warnings": list(plan.district.warnings),
    }


SCHEDULE_COLUMNS = ("vehicle", "sortie", "start", "end", "start_s", "end_s", "transit_alt_m", "hold_s", "compounds")


def fleet_json(plan: Plan) -> dict[str, Any]:
    """The fleet schedule of the manifest: who flies which sortie when, each vehicle's layer, the proof's figures."""
    from patrol.plan.fleet import clock

    f = plan.fleet
    assert f is not None
    by_index = {s.index: s for s in plan.sorties}
    start = f.params.start_clock_s
    vehicles = [{"id": v, "transit_alt_m": round(a, 1)} for v, a in zip(f.vehicles, f.layers_m, strict=True)]
    for row, u in zip(vehicles, f.units, strict=False):
        row.update(fleet_vehicle_json(plan, u))
    files = {"vehicles_file": portable(f.units[0].spec.origin)} if f.units else {}
    return {
        **files,
        "vehicles": vehicles,
        "swap_s": f.params.swap_s,
        "separation_m": f.params.separation_m,
        "layer_m": f.params.layer_m,
        "step_s": f.params.step_s,
        "start": clock(0.0, start) if start is not None else None,
        "makespan_s": f.makespan_s,
        "ideal_s": f.ideal_s,
        "min_separation_m": f.min_separation_m,
        "slots": [
            {
                "sortie": sl.sortie,
                "vehicle": sl.vehicle,
                "start_s": sl.start_s,
                "end_s": sl.end_s,
                "start": clock(sl.start_s, start),
                "end": clock(sl.end_s, start),
                "transit_alt_m": round(sl.transit_alt_m, 1),
                "hold_s": sl.hold_s,
                "compounds": list(by_index[sl.sortie].compound_ids),
            }
            for sl in f.slots
        ],
        "heard_at": [{"compound": c, "t_s": t, "time": clock(t, start)} for c, t in f.heard_at_s],
    }


def fleet_vehicle_json(plan: Plan, unit: FleetUnit) -> dict[str, Any]:
    """One vehicle of a vehicles file as planned: its launch point, battery, speeds, speaker level and MAVLink
    system id, and where each came from (the file, a patrol.toml profile, or the plan's own value)."""
    lon, lat = plan.district.frame.to_wgs84(unit.home_x_m, unit.home_y_m)
    v = unit.vehicle
    return {
        "launch": {"lat": _r(lat), "lon": _r(lon)},
        "endurance_min": v.endurance_min,
        "reserve_pct": v.reserve_pct,
        "usable_endurance_s": round(v.usable_s, 1),
        "max_speed_mps": v.max_speed_mps,
        "transit_speed_mps": v.transit_speed_mps,
        "patrol_speed_mps": round(unit.speed_mps, 2),
        "speaker_db": unit.spec.speaker_db,
        "sysid": unit.spec.sysid,
        "profile": unit.spec.profile,
        "from": dict(unit.spec.sources),
    }


def schedule_csv(fleet: dict[str, Any]) -> str:
    """``schedule.csv``: one row per slot of the manifest's fleet schedule, in start order."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    launch = {v["id"]: v["launch"] for v in fleet["vehicles"] if "launch" in v}
    w.writerow([*SCHEDULE_COLUMNS, *(("launch_lat", "launch_lon") if launch else ())])
    for sl in fleet["slots"]:
        at = launch.get(sl["vehicle"])
        row = [*(sl[k] for k in SCHEDULE_COLUMNS[:-1]), " ".join(sl["compounds"])]
        w.writerow([*row, *((at["lat"], at["lon"]) if at else ())])
    return buf.getvalue()


def _dump(obj: Any, indent: int = 1) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, tuple | set):
            return list(o)
        raise TypeError(type(o).__name__)

    return json.dumps(obj, indent=indent, ensure_ascii=False, default=default) + "\n"


def package_files(
    plan: Plan, command: str = "", broadcast: Broadcast | None = None, settings: dict[str, Any] | None = None
) -> dict[str, str | bytes]:
    """File name to content for every file of the package (pure; :func:`patrol.atomic.write_folder` writes them).

    With ``broadcast`` (the plan was made with its encoder) the prompt build goes into ``audio/`` and the
    manifest gains its ``broadcast`` section.
    """
    files: dict[str, str | bytes] = {}
    for s, items in zip(plan.sorties, plan.missions, strict=True):
        files[f"sortie-{s.index:02d}.plan"] = _dump(plan_json(plan, s, items))
        files[f"sortie-{s.index:02d}.waypoints"] = waypoints_text(plan, items, s.index)
    files["route.geojson"] = _dump(route_geojson(plan))
    manifest = manifest_json(plan, command, settings)
    if plan.fleet is not None:
        manifest["fleet"] = fleet_json(plan)
        files["schedule.csv"] = schedule_csv(manifest["fleet"])
    if broadcast is None:
        files["manifest.json"] = _dump(manifest)
    else:
        manifest["broadcast"] = broadcast_manifest(broadcast)
        files["manifest.json"] = _dump(manifest, indent=2)
        files.update({f"audio/{name}": content for name, content in broadcast.files.items()})
    files["compounds.csv"] = summary_csv(plan)
    if plan.heard_field:
        files["heard_field.geojson"] = heard_field_geojson(plan)
    if plan.district.buildings:
        to = plan.district.frame.geom_to_wgs84
        feats = [
            _feature(to(b.geometry), {"id": b.id, "height_m": round(b.height_m, 1), "from": b.source})
            for b in plan.district.buildings
        ]
        files["buildings.geojson"] = json.dumps({"type": "FeatureCollection", "features": feats}) + "\n"
    return files
