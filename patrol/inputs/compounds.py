"""Read compound polygons, hotspots, no-fly zones and buildings from GeoJSON or KML, in any of patrol's CRSs.

``build_district`` is pure (WGS-84 raw features in, :class:`~patrol.types.District` out); ``read_district``
adds the file reading (:mod:`patrol.inputs.files`) and the move to WGS-84 (:mod:`patrol.inputs.sources`).
Every refusal is an :class:`~patrol.errors.InputError` whose message names the file and the feature and
says what to do.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from patrol import i18n
from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.inputs.files import RawFeature, load_features, parse_geojson, parse_kml
from patrol.inputs.heights import parse_length_m
from patrol.inputs.sources import alignment_warning, check_crs, load_input
from patrol.types import HOTSPOT_KINDS, TIERS, Building, Compound, District, Hotspot, InputFile, NoFlyZone

__all__ = ["RawFeature", "build_district", "load_features", "parse_geojson", "parse_kml", "read_district"]

MAX_COMPOUND_AREA_M2 = 4_000_000.0
"""A compound larger than 4 km² is almost certainly a wrong polygon (a whole district or a CRS mix-up)."""
MAX_DISTRICT_SPAN_M = 50_000.0
"""Features further than 50 km from the rest are refused as misplaced (swapped or mistyped)."""
MIN_COMPOUND_AREA_M2 = 10.0
HOTSPOT_TOLERANCE_M = 20.0
DEFAULT_PRIORITY_BY_TIER = {"scattered": 1, "guarded": 2, "closed": 3}
OSM_ID_KEYS = ("@id", "full_id", "osm_id")
"""Id fields of OpenStreetMap exports (overpass turbo, QuickOSM, ogr2ogr), used when a feature has no ``id``."""
_OSM_TYPES = {"n": "node", "w": "way", "r": "relation"}


def _as_list(v: Iterable[str | Path] | str | Path) -> list[str | Path]:
    return [v] if isinstance(v, str | Path) else list(v)


def read_district(
    paths: Iterable[str | Path] | str | Path,
    nofly_paths: Iterable[str | Path] | str | Path = (),
    building_paths: Iterable[str | Path] | str | Path = (),
    crs: str | None = None,
) -> District:
    """Read compound files (GeoJSON or KML), no-fly files and building files into one :class:`District`.

    Each path may carry its coordinate system as ``FILE:CRS`` (``zones.kml:gcj02``); otherwise the file's own
    ``crs`` declaration, else ``crs`` (``wgs84``, ``gcj02``, ``bd09``; default ``wgs84``) applies. Every
    coordinate is moved to WGS-84 before anything else; ``District.inputs`` records each file's CRS and where
    it came from. Raises :class:`InputError` naming the file and feature for anything unusable; returns
    warnings (repaired rings, a CRS mix-up between buildings and compounds, and the like) in
    ``District.warnings``. A single path is accepted too.
    """
    option = check_crs(crs) if crs else None
    raw: list[tuple[str, RawFeature]] = []
    records: list[InputFile] = []
    read_warnings: list[str] = []
    building_raw: list[tuple[str, RawFeature]] = []
    for role, specs in (("compounds", paths), ("nofly", nofly_paths), ("buildings", building_paths)):
        for spec in _as_list(specs):
            rec, feats, warns = load_input(spec, role, option)
            records.append(rec)
            read_warnings += warns
            for f in feats:
                if role == "nofly":
                    raw.append((rec.path, RawFeature(f.index, f.geometry, {**f.properties, "nofly": True})))
                elif role == "compounds":
                    raw.append((rec.path, f))
                elif isinstance(f.geometry, Polygon | MultiPolygon):
                    props = {**f.properties, "_building": True}
                    building_raw.append((rec.path, RawFeature(f.index, f.geometry, props)))
    sources = tuple(r.path for r in records)
    district = build_district(raw, sources)
    district = dataclasses.replace(district, inputs=tuple(records), warnings=tuple(read_warnings) + district.warnings)
    if not building_raw:
        return district
    warnings = _alignment(district, building_raw, records)
    buildings, more = read_buildings(building_raw, district)
    return dataclasses.replace(district, buildings=buildings, warnings=district.warnings + tuple(warnings + more))


def _alignment(district: District, building_raw: list[tuple[str, RawFeature]], records: list[InputFile]) -> list[str]:
    """The CRS plausibility warning for each building file (see :func:`~patrol.inputs.sources.alignment_warning`)."""
    crs_of = {r.path: r.crs for r in records}
    comp_crs = sorted({r.crs for r in records if r.role == "compounds"})
    comps = [c.geometry for c in district.compounds]
    lon0, lat0 = district.frame.lon0, district.frame.lat0
    out = []
    for src in dict.fromkeys(s for s, _ in building_raw):
        geoms = [district.frame.geom_to_local(f.geometry) for s, f in building_raw if s == src]
        w = alignment_warning(comps, geoms, lon0, lat0, src, "/".join(comp_crs), crs_of.get(src, "wgs84"))
        if w:
            out.append(w)
    return out


LEVEL_M = 3.0
BUILDING_REACH_M = 2000.0  # buildings further than this from every compound are not kept


def _height(props: dict[str, Any], src: str, label: str) -> tuple[float, str] | None:
    """Roof height (m) from ``height`` / ``max_building_m`` or levels (3 m each), with the key used.

    Heights may carry a unit (``"45 m"``, ``"12 ft"``); a ``height_from`` property (written by
    ``patrol import osm``) names where the height came from.
    """
    origin = props.get("height_from")
    for key in ("height", "max_building_m"):
        v = props.get(key)
        if v not in (None, ""):
            h = parse_length_m(v)
            if h is None:
                raise InputError(
                    i18n._("{src}: {label} has {key}={v}; give metres, e.g. 45 or 45 m (or feet: 150 ft)").format(
                        src=src, label=label, key=key, v=repr(v)
                    )
                )
            if not 0 < h < 700:
                raise InputError(
                    i18n._("{src}: {label} has {key}={h} m; a roof is between 0 and 700 m high").format(
                        src=src, label=label, key=key, h=format(h, "g")
                    )
                )
            return h, str(origin) if origin else key
    for key in ("building:levels", "levels"):
        v = props.get(key)
        if v not in (None, ""):
            try:
                n = float(v)
            except (TypeError, ValueError):
                raise InputError(
                    i18n._("{src}: {label} has {key}={v}; give a number of storeys").format(
                        src=src, label=label, key=key, v=repr(v)
                    )
                ) from None
            if not 0 < n < 200:
                raise InputError(
                    i18n._("{src}: {label} has {key}={n}; give a number of storeys from 1 to 199").format(
                        src=src, label=label, key=key, n=format(n, "g")
                    )
                )
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
        warnings.append(
            i18n._("{missing} building(s) without height or building:levels skipped (the tier default applies)").format(
                missing=missing
            )
        )
    if far:
        warnings.append(
            i18n._("{far} building(s) more than {n} km from every compound ignored").format(
                far=far, n=format(BUILDING_REACH_M / 1000, "g")
            )
        )
    return tuple(out), warnings


def compound_roof(compound: Compound) -> tuple[float, str] | None:
    """A compound's own roof height property (``max_building_m`` or ``levels``), if it has one."""
    props = compound.properties
    got = _height({k: props.get(k) for k in ("max_building_m", "levels")}, "input", f"compound {compound.id}")
    return got


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
            raise InputError(i18n._("{src}: {label} is empty; remove it or draw it").format(src=src, label=f.label()))
        if not np.all(np.isfinite(c)):
            raise InputError(
                i18n._("{src}: {label} has non-numeric coordinates; fix its geometry").format(src=src, label=f.label())
            )
        if not _lonlat_ok(f.geometry):
            raise InputError(
                i18n._(
                    "{src}: {label} has coordinates outside lon ±180 / lat ±90: latitude and longitude "
                    "look swapped or projected; GeoJSON wants [lon, lat] in WGS84 degrees"
                ).format(src=src, label=f.label())
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
                i18n._("its latitude and longitude look swapped; GeoJSON wants [lon, lat]")
                if swapped < MAX_DISTRICT_SPAN_M
                else i18n._("check its coordinates (WGS84 lon/lat degrees)")
            )
            raise InputError(
                i18n._("{src}: {label} lies {n} km from the other features: {hint}").format(
                    src=src, label=f.label(), n=format(d / 1000, ".0f"), hint=hint
                )
            )


def _polygonal(geom: BaseGeometry, src: str, label: str, warnings: list[str]) -> Polygon | MultiPolygon:
    if not isinstance(geom, Polygon | MultiPolygon):
        raise InputError(
            i18n._("{src}: {label} is a {geom_type}; compounds must be Polygon or MultiPolygon").format(
                src=src, label=label, geom_type=geom.geom_type
            )
        )
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        parts = [g for g in shapely.get_parts(fixed) if isinstance(g, Polygon) and g.area > 0]
        if isinstance(fixed, shapely.GeometryCollection) or not isinstance(fixed, Polygon | MultiPolygon):
            fixed = MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else Polygon())
        warnings.append(
            i18n._("{src}: {label} had an invalid ring ({reason}); repaired with make_valid").format(
                src=src, label=label, reason=reason
            )
        )
        geom = fixed
    return shapely.normalize(geom)


def _int_prop(v: Any, src: str, label: str, key: str) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        raise InputError(
            i18n._("{src}: {label} has {key}={v}; give a whole number").format(src=src, label=label, key=key, v=repr(v))
        ) from None


def _osm_id(props: dict[str, Any]) -> str | None:
    """``way/123`` (or as the export wrote it) from an OSM export's id fields, else ``None``.

    >>> _osm_id({"@id": "way/42"}), _osm_id({"full_id": "r45"}), _osm_id({"osm_id": 7, "osm_type": "way"})
    ('way/42', 'relation/45', 'way/7')
    """
    for key in OSM_ID_KEYS:
        v = props.get(key)
        if v in (None, ""):
            continue
        text = str(v).strip()
        if key == "full_id" and text[:1] in _OSM_TYPES and text[1:].isdigit():
            return f"{_OSM_TYPES[text[0]]}/{text[1:]}"
        kind = str(props.get("osm_type") or "").strip().lower()
        if key == "osm_id" and kind in ("node", "way", "relation"):
            return f"{kind}/{text}"
        return text
    return None


def build_district(raw: list[tuple[str, RawFeature]], sources: tuple[str, ...] = ()) -> District:
    """Turn raw lon/lat features into compounds, hotspots and no-fly zones in one local frame."""
    if not any(isinstance(f.geometry, Polygon | MultiPolygon) for _, f in raw):
        where = sources[0] if sources else "input"
        raise InputError(
            i18n._("{where}: no Polygon or MultiPolygon features; compounds must be polygons").format(where=where)
        )
    _check_ranges(raw)
    allc = np.vstack([shapely.get_coordinates(f.geometry) for _, f in raw])
    frame = LocalFrame.around(allc[:, 0], allc[:, 1])
    warnings: list[str] = []
    compounds: list[dict[str, Any]] = []
    nofly: list[NoFlyZone] = []
    hotspot_feats: list[tuple[str, RawFeature]] = []
    seen_ids: dict[str, str] = {}
    missing_ids: dict[str, list[tuple[str, str]]] = {}
    for src, f in raw:
        props = f.properties
        label = f.label()
        if isinstance(f.geometry, Point):
            if props.get("hotspot") is None:
                warnings.append(
                    i18n._("{src}: {label} is a Point without 'hotspot'; ignored").format(src=src, label=label)
                )
                continue
            hotspot_feats.append((src, f))
            continue
        geom = _polygonal(f.geometry, src, label, warnings)
        local = frame.geom_to_local(geom)
        if local.is_empty or local.area < MIN_COMPOUND_AREA_M2:
            raise InputError(
                i18n._("{src}: {label} is empty or degenerate ({area} m²); remove it or redraw it").format(
                    src=src, label=label, area=format(local.area, ".1f")
                )
            )
        if _truthy(props.get("nofly")):
            zid = str(props.get("id", f"nofly-{f.index + 1}"))
            nofly.append(NoFlyZone(zid, str(props.get("name", zid)), local))
            continue
        if local.area > MAX_COMPOUND_AREA_M2:
            raise InputError(
                i18n._(
                    "{src}: {label} covers {n} km², more than a compound can ({n2} km²); split it or "
                    "check its coordinates"
                ).format(
                    src=src,
                    label=label,
                    n=format(local.area / 1e6, ".1f"),
                    n2=format(MAX_COMPOUND_AREA_M2 / 1e6, ".0f"),
                )
            )
        cid = props.get("id")
        if cid in (None, ""):
            cid = _osm_id(props)
        if cid in (None, ""):
            cid = f"C{f.index + 1:03d}"
            missing_ids.setdefault(src, []).append((label, cid))
        cid = str(cid)
        if cid in seen_ids:
            raise InputError(
                i18n._("{src}: compound id {cid} appears twice (also in {seen_ids}); make ids unique").format(
                    src=src, cid=repr(cid), seen_ids=seen_ids[cid]
                )
            )
        seen_ids[cid] = src
        tier = str(props.get("tier", "scattered")).strip().lower()
        if tier not in TIERS:
            raise InputError(
                i18n._("{src}: {label} has tier={tier}; use one of closed, guarded, scattered").format(
                    src=src, label=label, tier=repr(tier)
                )
            )
        _height({k: props.get(k) for k in ("max_building_m", "levels")}, src, label)  # refused here, with the file
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
    for src, lst in missing_ids.items():
        named = ", ".join(f"{lb} as {cid}" for lb, cid in lst[:3]) + (", ..." if len(lst) > 3 else "")
        warnings.append(
            i18n._(
                "{src}: {n_lst} compound(s) have no 'id' ({named}); ids by position change when the "
                "file is edited: give each an 'id' (or export with OSM ids: @id, osm_id, full_id)"
            ).format(src=src, n_lst=len(lst), named=named)
        )
    by_id = {c["id"]: c for c in compounds}
    for n, (src, f) in enumerate(hotspot_feats):
        props = f.properties
        label = f.label()
        kind = str(props.get("hotspot")).strip().lower()
        if kind not in HOTSPOT_KINDS:
            raise InputError(
                i18n._("{src}: {label} has hotspot={kind}; use gate or square").format(
                    src=src, label=label, kind=repr(kind)
                )
            )
        cid = str(props.get("compound", ""))
        if cid not in by_id:
            raise InputError(
                i18n._("{src}: hotspot {label} names compound {cid}, which is not in the input; fix 'compound'").format(
                    src=src, label=label, cid=repr(cid)
                )
            )
        x, y = frame.to_local(f.geometry.x, f.geometry.y)
        pt = Point(float(x), float(y))
        dist = by_id[cid]["geometry"].distance(pt)
        if dist > HOTSPOT_TOLERANCE_M:
            raise InputError(
                i18n._(
                    "{src}: hotspot {label} lies {dist} m outside compound {cid}; move it inside or fix 'compound'"
                ).format(src=src, label=label, dist=format(dist, ".0f"), cid=repr(cid))
            )
        hid = str(props.get("id", f"{cid}-H{n + 1}"))
        by_id[cid]["hotspots"].append(Hotspot(hid, kind, cid, str(props.get("name", hid)), float(x), float(y)))
    built = tuple(
        Compound(c["id"], c["name"], c["tier"], c["priority"], c["geometry"], tuple(c["hotspots"]), c["properties"])
        for c in compounds
    )
    if not built:
        where = sources[0] if sources else "input"
        raise InputError(
            i18n._("{where}: only no-fly zones and points were found; add compound polygons").format(where=where)
        )
    return District(frame, built, tuple(nofly), sources, tuple(warnings))
