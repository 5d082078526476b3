"""Read compound polygons, hotspots and no-fly zones from GeoJSON or KML.

``parse_features`` is pure (text in, :class:`~patrol.types.District` out); ``read_district``
adds the file reading. Every refusal is an :class:`~patrol.errors.InputError` whose message
names the file and the feature and says what to do.
"""

from __future__ import annotations

import dataclasses
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.types import HOTSPOT_KINDS, TIERS, Building, Compound, District, Hotspot, NoFlyZone

MAX_COMPOUND_AREA_M2 = 4_000_000.0
"""A compound larger than 4 km² is almost certainly a wrong polygon (a whole district or a CRS mix-up)."""
MAX_DISTRICT_SPAN_M = 50_000.0
"""Features further than 50 km from the rest are refused as misplaced (swapped or mistyped)."""
MIN_COMPOUND_AREA_M2 = 10.0
HOTSPOT_TOLERANCE_M = 20.0
DEFAULT_PRIORITY_BY_TIER = {"scattered": 1, "guarded": 2, "closed": 3}


@dataclass(frozen=True)
class RawFeature:
    """A feature as read from the file: lon/lat geometry and its properties."""

    index: int
    geometry: BaseGeometry
    properties: dict[str, Any]

    def label(self) -> str:
        """How messages name this feature: its id, else its name, else its position in the file."""
        for key in ("id", "name"):
            if self.properties.get(key) not in (None, ""):
                return f"feature {self.properties[key]!r}"
        return f"feature #{self.index + 1}"


def read_district(
    paths: Iterable[str | Path], nofly_paths: Iterable[str | Path] = (), building_paths: Iterable[str | Path] = ()
) -> District:
    """Read compound files (GeoJSON or KML) and optional no-fly files into one :class:`District`.

    Raises :class:`InputError` naming the file and feature for anything unusable; returns
    warnings (repaired rings and the like) in ``District.warnings``. A single path is accepted too.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    if isinstance(nofly_paths, str | Path):
        nofly_paths = [nofly_paths]
    if isinstance(building_paths, str | Path):
        building_paths = [building_paths]
    raw: list[tuple[str, RawFeature]] = []
    nofly_raw: list[tuple[str, RawFeature]] = []
    sources: list[str] = []
    for p in paths:
        for f in load_features(p):
            raw.append((str(p), f))
        sources.append(str(p))
    for p in nofly_paths:
        for f in load_features(p):
            props = dict(f.properties)
            props["nofly"] = True
            nofly_raw.append((str(p), RawFeature(f.index, f.geometry, props)))
        sources.append(str(p))
    building_raw: list[tuple[str, RawFeature]] = []
    for p in building_paths:
        sources.append(str(p))
        for f in load_features(p):
            if isinstance(f.geometry, Polygon | MultiPolygon):
                building_raw.append((str(p), RawFeature(f.index, f.geometry, {**f.properties, "_building": True})))
    district = build_district(raw + nofly_raw, tuple(sources))
    if not building_raw:
        return district
    buildings, warnings = read_buildings(building_raw, district)
    return dataclasses.replace(district, buildings=buildings, warnings=district.warnings + tuple(warnings))


LEVEL_M = 3.0
BUILDING_REACH_M = 2000.0  # buildings further than this from every compound are not kept


def _height(props: dict[str, Any], src: str, label: str) -> tuple[float, str] | None:
    """Roof height (m) from ``height`` / ``max_building_m`` or levels (3 m each), with the key used."""
    for key in ("height", "max_building_m"):
        v = props.get(key)
        if v not in (None, ""):
            try:
                h = float(str(v).lower().replace("m", "").strip())
            except ValueError:
                raise InputError(f"{src}: {label} has {key}={v!r}; give metres, e.g. 45") from None
            if not 0 < h < 700:
                raise InputError(f"{src}: {label} has {key}={h:g} m; a roof is between 0 and 700 m high")
            return h, key
    for key in ("building:levels", "levels"):
        v = props.get(key)
        if v not in (None, ""):
            try:
                n = float(v)
            except (TypeError, ValueError):
                raise InputError(f"{src}: {label} has {key}={v!r}; give a number of storeys") from None
            if not 0 < n < 200:
                raise InputError(f"{src}: {label} has {key}={n:g}; give a number of storeys from 1 to 199")
            return n * LEVEL_M, key
    return None


def read_buildings(raw: list[tuple[str, RawFeature]], district: District) -> tuple[tuple[Building, ...], list[str]]:
    """Footprints with heights, in the district's frame; those without a height are reported and skipped."""
    warnings = []
    out = []
    near = shapely.union_all([c.geometry for c in district.compounds]).buffer(BUILDING_REACH_M)
    missing = far = 0
    for src, f in raw:
        label = f.label()
        hs = _height(f.properties, src, label)
        if hs is None:
            missing += 1
            continue
        local = district.frame.geom_to_local(_polygonal(f.geometry, src, label, warnings))
        if not local.intersects(near):
            far += 1
            continue
        bid = str(f.properties.get("id", f"B{f.index + 1}"))
        out.append(Building(bid, local, hs[0], hs[1]))
    if missing:
        warnings.append(f"{missing} building(s) without height or building:levels skipped (the tier default applies)")
    if far:
        warnings.append(f"{far} building(s) more than {BUILDING_REACH_M / 1000:g} km from every compound ignored")
    return tuple(out), warnings


def compound_roof(compound: Compound) -> tuple[float, str] | None:
    """A compound's own roof height property (``max_building_m`` or ``levels``), if it has one."""
    props = compound.properties
    got = _height({k: props.get(k) for k in ("max_building_m", "levels")}, "input", f"compound {compound.id}")
    return got


def load_features(path: str | Path) -> list[RawFeature]:
    """Read the features of one GeoJSON or KML file (chosen by content, not only by suffix)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: file not found; give the path of a GeoJSON or KML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read ({exc}); give a UTF-8 GeoJSON or KML file") from None
    stripped = text.lstrip()
    if p.suffix.lower() == ".kml" or stripped.startswith("<"):
        return parse_kml(text, str(p))
    return parse_geojson(text, str(p))


def parse_geojson(text: str, source: str = "<geojson>") -> list[RawFeature]:
    """Parse a GeoJSON FeatureCollection (or single Feature) into raw features."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON (line {exc.lineno}: {exc.msg}); fix the file") from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(f"{source}: expected a GeoJSON FeatureCollection")
    out: list[RawFeature] = []
    for i, feat in enumerate(doc.get("features") or []):
        props = dict((feat or {}).get("properties") or {})
        if "id" not in props and feat.get("id") is not None:
            props["id"] = feat["id"]
        geom_doc = (feat or {}).get("geometry")
        label = RawFeature(i, Point(), props).label()
        if not geom_doc:
            raise InputError(f"{source}: {label} has no geometry; remove it or draw it")
        try:
            geom = shape(geom_doc)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise InputError(f"{source}: {label} has malformed coordinates ({exc}); fix its geometry") from None
        out.append(RawFeature(i, geom, props))
    if not out:
        raise InputError(f"{source}: no features; draw at least one compound polygon")
    return out


_KML_NS = "{http://www.opengis.net/kml/2.2}"


def _kml_coords(text: str | None, source: str, label: str) -> list[tuple[float, float]]:
    pts = []
    for tok in (text or "").split():
        parts = tok.split(",")
        try:
            pts.append((float(parts[0]), float(parts[1])))
        except (ValueError, IndexError):
            raise InputError(f"{source}: {label} has a bad KML coordinate {tok!r}; use lon,lat[,alt]") from None
    return pts


def parse_kml(text: str, source: str = "<kml>") -> list[RawFeature]:
    """Parse KML Placemarks (Polygon, MultiGeometry, Point) with ExtendedData properties."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(f"{source}: not valid KML/XML ({exc}); fix the file") from None
    ns = _KML_NS if root.tag.startswith(_KML_NS) else ""
    out: list[RawFeature] = []
    for i, pm in enumerate(root.iter(f"{ns}Placemark")):
        props: dict[str, Any] = {}
        name = pm.find(f"{ns}name")
        if name is not None and name.text:
            props["name"] = name.text.strip()
        if pm.get("id"):
            props["id"] = pm.get("id")
        for data in pm.iter(f"{ns}Data"):
            val = data.find(f"{ns}value")
            props[data.get("name", "")] = val.text.strip() if val is not None and val.text else ""
        for sd in pm.iter(f"{ns}SimpleData"):
            props[sd.get("name", "")] = (sd.text or "").strip()
        label = RawFeature(i, Point(), props).label()
        polys = []
        for poly in pm.iter(f"{ns}Polygon"):
            outer = poly.find(f"{ns}outerBoundaryIs/{ns}LinearRing/{ns}coordinates")
            shell = _kml_coords(outer.text if outer is not None else None, source, label)
            holes = [
                _kml_coords(c.text, source, label)
                for c in poly.findall(f"{ns}innerBoundaryIs/{ns}LinearRing/{ns}coordinates")
            ]
            if len(shell) < 3:
                raise InputError(f"{source}: {label} has a polygon with fewer than 3 points; redraw it")
            polys.append(Polygon(shell, [h for h in holes if len(h) >= 3]))
        points = [pt for pt in pm.iter(f"{ns}Point")]
        if polys:
            geom: BaseGeometry = polys[0] if len(polys) == 1 else MultiPolygon(polys)
        elif points:
            c = _kml_coords(points[0].findtext(f"{ns}coordinates"), source, label)
            if not c:
                raise InputError(f"{source}: {label} is a Point with no coordinates; fix it")
            geom = Point(c[0])
        else:
            raise InputError(f"{source}: {label} has no Polygon or Point; only those are read")
        out.append(RawFeature(i, geom, props))
    if not out:
        raise InputError(f"{source}: no Placemarks; draw at least one compound polygon")
    return out


def _truthy(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() in ("true", "yes", "1")) or v == 1


def _lonlat_ok(geom: BaseGeometry) -> bool:
    c = shapely.get_coordinates(geom)
    return bool(np.all(np.abs(c[:, 0]) <= 180) and np.all(np.abs(c[:, 1]) <= 90))


def _check_ranges(raw: list[tuple[str, RawFeature]]) -> None:
    """Refuse lat/lon-swapped or misplaced features, by range and by distance from the rest."""
    centres = []
    for src, f in raw:
        c = shapely.get_coordinates(f.geometry)
        if c.size == 0:
            raise InputError(f"{src}: {f.label()} is empty; remove it or draw it")
        if not np.all(np.isfinite(c)):
            raise InputError(f"{src}: {f.label()} has non-numeric coordinates; fix its geometry")
        if not _lonlat_ok(f.geometry):
            raise InputError(
                f"{src}: {f.label()} has coordinates outside lon ±180 / lat ±90: latitude and longitude "
                "look swapped or projected; GeoJSON wants [lon, lat] in WGS84 degrees"
            )
        centres.append(c.mean(axis=0))
    arr = np.array(centres)
    med = np.median(arr, axis=0)
    coslat = math.cos(math.radians(float(med[1])))
    for (src, f), c in zip(raw, arr, strict=True):
        d = math.hypot((c[0] - med[0]) * 111_320 * coslat, (c[1] - med[1]) * 110_540)
        if len(raw) >= 2 and d > MAX_DISTRICT_SPAN_M:
            swapped = math.hypot((c[1] - med[0]) * 111_320 * coslat, (c[0] - med[1]) * 110_540)
            hint = (
                "its latitude and longitude look swapped; GeoJSON wants [lon, lat]"
                if swapped < MAX_DISTRICT_SPAN_M
                else "check its coordinates (WGS84 lon/lat degrees)"
            )
            raise InputError(f"{src}: {f.label()} lies {d / 1000:.0f} km from the other features: {hint}")


def _polygonal(geom: BaseGeometry, src: str, label: str, warnings: list[str]) -> Polygon | MultiPolygon:
    if not isinstance(geom, Polygon | MultiPolygon):
        raise InputError(f"{src}: {label} is a {geom.geom_type}; compounds must be Polygon or MultiPolygon")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        parts = [g for g in shapely.get_parts(fixed) if isinstance(g, Polygon) and g.area > 0]
        if isinstance(fixed, shapely.GeometryCollection) or not isinstance(fixed, Polygon | MultiPolygon):
            fixed = MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else Polygon())
        warnings.append(f"{src}: {label} had an invalid ring ({reason}); repaired with make_valid")
        geom = fixed
    return shapely.normalize(geom)


def _int_prop(v: Any, src: str, label: str, key: str) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        raise InputError(f"{src}: {label} has {key}={v!r}; give a whole number") from None


def build_district(raw: list[tuple[str, RawFeature]], sources: tuple[str, ...] = ()) -> District:
    """Turn raw lon/lat features into compounds, hotspots and no-fly zones in one local frame."""
    if not any(isinstance(f.geometry, Polygon | MultiPolygon) for _, f in raw):
        where = sources[0] if sources else "input"
        raise InputError(f"{where}: no Polygon or MultiPolygon features; compounds must be polygons")
    _check_ranges(raw)
    allc = np.vstack([shapely.get_coordinates(f.geometry) for _, f in raw])
    frame = LocalFrame.around(allc[:, 0], allc[:, 1])
    warnings: list[str] = []
    compounds: list[dict[str, Any]] = []
    nofly: list[NoFlyZone] = []
    hotspot_feats: list[tuple[str, RawFeature]] = []
    seen_ids: dict[str, str] = {}
    for src, f in raw:
        props = f.properties
        label = f.label()
        if isinstance(f.geometry, Point):
            if props.get("hotspot") is None:
                warnings.append(f"{src}: {label} is a Point without 'hotspot'; ignored")
                continue
            hotspot_feats.append((src, f))
            continue
        geom = _polygonal(f.geometry, src, label, warnings)
        local = frame.geom_to_local(geom)
        if local.is_empty or local.area < MIN_COMPOUND_AREA_M2:
            raise InputError(f"{src}: {label} is empty or degenerate ({local.area:.1f} m²); remove it or redraw it")
        if _truthy(props.get("nofly")):
            zid = str(props.get("id", f"nofly-{f.index + 1}"))
            nofly.append(NoFlyZone(zid, str(props.get("name", zid)), local))
            continue
        if local.area > MAX_COMPOUND_AREA_M2:
            raise InputError(
                f"{src}: {label} covers {local.area / 1e6:.1f} km², more than a compound can "
                f"({MAX_COMPOUND_AREA_M2 / 1e6:.0f} km²); split it or check its coordinates"
            )
        cid = props.get("id")
        if cid in (None, ""):
            cid = f"C{f.index + 1:03d}"
            warnings.append(f"{src}: {label} has no 'id'; using {cid}")
        cid = str(cid)
        if cid in seen_ids:
            raise InputError(f"{src}: compound id {cid!r} appears twice (also in {seen_ids[cid]}); make ids unique")
        seen_ids[cid] = src
        tier = str(props.get("tier", "scattered")).strip().lower()
        if tier not in TIERS:
            raise InputError(f"{src}: {label} has tier={tier!r}; use one of closed, guarded, scattered")
        prio = props.get("priority")
        priority = DEFAULT_PRIORITY_BY_TIER[tier] if prio in (None, "") else _int_prop(prio, src, label, "priority")
        compounds.append(
            {
                "id": cid,
                "name": str(props.get("name", cid)),
                "tier": tier,
                "priority": priority,
                "geometry": local,
                "properties": {k: v for k, v in props.items() if k not in ("id", "name", "tier", "priority")},
                "hotspots": [],
            }
        )
    by_id = {c["id"]: c for c in compounds}
    for n, (src, f) in enumerate(hotspot_feats):
        props = f.properties
        label = f.label()
        kind = str(props.get("hotspot")).strip().lower()
        if kind not in HOTSPOT_KINDS:
            raise InputError(f"{src}: {label} has hotspot={kind!r}; use gate or square")
        cid = str(props.get("compound", ""))
        if cid not in by_id:
            raise InputError(
                f"{src}: hotspot {label} names compound {cid!r}, which is not in the input; fix 'compound'"
            )
        x, y = frame.to_local(f.geometry.x, f.geometry.y)
        pt = Point(float(x), float(y))
        dist = by_id[cid]["geometry"].distance(pt)
        if dist > HOTSPOT_TOLERANCE_M:
            raise InputError(
                f"{src}: hotspot {label} lies {dist:.0f} m outside compound {cid!r}; move it inside or fix 'compound'"
            )
        hid = str(props.get("id", f"{cid}-H{n + 1}"))
        by_id[cid]["hotspots"].append(Hotspot(hid, kind, cid, str(props.get("name", hid)), float(x), float(y)))
    built = tuple(
        Compound(c["id"], c["name"], c["tier"], c["priority"], c["geometry"], tuple(c["hotspots"]), c["properties"])
        for c in compounds
    )
    if not built:
        where = sources[0] if sources else "input"
        raise InputError(f"{where}: only no-fly zones and points were found; add compound polygons")
    return District(frame, built, tuple(nofly), sources, tuple(warnings))
