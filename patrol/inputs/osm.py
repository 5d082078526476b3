"""OpenStreetMap extracts (.osm, .osm.bz2, .osm.pbf) to the GeoJSON files ``patrol plan`` reads, with pyosmium.

:func:`import_osm` reads one file and returns an :class:`OsmImport`: compounds (``landuse=residential`` ways
and multipolygon relations, holes kept; named areas tagged ``residential=*`` or ``place=neighbourhood`` /
``city_block`` that no landuse polygon already covers), their hotspots (gates and entrances on the
boundary, squares, markets, parks and pitches inside), buildings with roof heights, and candidate no-fly
zones for a person to confirm (never used unless passed with ``--nofly``). :func:`import_files` gives the
files to write; :func:`summary_lines` the counts an operator reads. OSM is WGS-84, and every file written
says so in its ``crs`` member, so ``patrol plan --crs gcj02`` leaves them where they are.

Ids are OSM's (``way/123``, ``relation/45``, ``node/6``); names keep ``name`` and ``name:zh``. Roof heights
come from ``height`` (units such as ``"45 m"`` or ``"12 ft"`` parsed), else ``building:levels`` x 3 m plus
``roof:height`` (or ``roof:levels`` x 3 m), else the tallest ``building:part`` inside with a height, else a
default that is reported: :data:`DEFAULT_LEVELS` storeys (the planner's closed-estate roof), or
:data:`SMALL_DEFAULT_LEVELS` for houses, garages and sheds. Bad values are reported by OSM id and skipped.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from patrol import i18n
from patrol.errors import InputError
from patrol.geo import LocalFrame
from patrol.inputs.compounds import LEVEL_M, MAX_COMPOUND_AREA_M2
from patrol.inputs.heights import parse_length_m
from patrol.types import PatrolParams

SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".o5m", ".osc")
DEFAULT_LEVELS = round(dict(PatrolParams().tier_roof_m)["closed"] / LEVEL_M)
"""Storeys given to a building with no height: the planner's closed-estate default (18 storeys, 54 m)."""
SMALL_DEFAULT_LEVELS = round(dict(PatrolParams().tier_roof_m)["scattered"] / LEVEL_M)
"""Storeys given to a small building (house, garage, shed) with no height: 3."""
SMALL_BUILDINGS = frozenset(
    (
        *("house", "detached", "semidetached_house", "terrace", "bungalow", "cabin", "hut", "shed", "garage"),
        *("garages", "carport", "kiosk", "roof", "toilets", "service", "greenhouse", "static_caravan"),
        *("farm_auxiliary", "container", "allotment_house"),
    )
)
DEFAULT_MIN_AREA_M2 = 500.0
MAX_GATES_PER_COMPOUND = 4
MAX_SQUARES_PER_COMPOUND = 2
"""Each hotspot is a loiter of several warnings: a city block with 30 doors keeps its 4 main gates, named and
``barrier=gate`` first, spread round the boundary (the rest are counted in the summary)."""
GATE_DISTANCE_M = 5.0
"""A gate or entrance node counts for a compound when it lies this close to the compound's boundary."""
HELIPAD_RADIUS_M = 100.0
AEROWAY_LINE_HALF_WIDTH_M = 50.0
POWER_LINE_HALF_WIDTH_M = {"line": 30.0, "minor_line": 15.0}
ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"
CRS84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
_SQUARE_TAGS = (("place", "square"), ("amenity", "marketplace"), ("leisure", "park"), ("leisure", "pitch"))
_NAMED_AREA_PLACES = ("neighbourhood", "city_block", "quarter")
_SCATTERED_RESIDENTIAL = ("rural", "single_family", "detached", "semi_detached", "terraced", "villa", "houses")


@dataclass
class ImportCounts:
    """What an import found: the figures :func:`summary_lines` prints."""

    compounds: int = 0
    holes: int = 0
    partial_compounds: int = 0
    skipped_small: int = 0
    skipped_large: int = 0
    skipped_unclosed: int = 0
    skipped_incomplete: int = 0
    skipped_filter: int = 0
    buildings: int = 0
    buildings_with_height: int = 0
    buildings_from_parts: int = 0
    buildings_default: int = 0
    buildings_default_small: int = 0
    building_parts: int = 0
    bad_values: int = 0
    gates: int = 0
    squares: int = 0
    hotspots_dropped: int = 0
    candidates: Counter = field(default_factory=Counter)


@dataclass
class OsmImport:
    """GeoJSON features (WGS-84) of one import, its counts and what it reports."""

    source: str
    compounds: list[dict[str, Any]]
    hotspots: list[dict[str, Any]]
    buildings: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    counts: ImportCounts
    default_levels: float
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Raw:
    """Everything pyosmium gave that the import uses, copied out of its buffers."""

    areas: list[tuple[str, dict[str, str], BaseGeometry]] = field(default_factory=list)
    nodes: list[tuple[str, dict[str, str], Point]] = field(default_factory=list)
    lines: list[tuple[str, dict[str, str], LineString]] = field(default_factory=list)
    unclosed: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    residential_relations: dict[int, tuple[dict[str, str], list[tuple[int, str]]]] = field(default_factory=dict)
    member_ways: dict[int, list[tuple[float, float]] | None] = field(default_factory=dict)
    relation_areas: set[int] = field(default_factory=set)


def _osm_error(path: Path, exc: BaseException) -> InputError:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(
        i18n._(
            "{path}: not a readable OpenStreetMap file ({why}); export it again as .osm, .osm.bz2 or .osm.pbf "
            "(openstreetmap.org Export, Geofabrik, or overpass turbo's raw OSM data)"
        ).format(path=path, why=msg)
    )


def _check_path(path: Path) -> None:
    name = path.name.lower()
    if not path.exists():
        raise InputError(i18n._("{path}: file not found; give an .osm, .osm.bz2 or .osm.pbf extract").format(path=path))
    if path.is_dir():
        raise InputError(i18n._("{path}: is a folder; give an .osm, .osm.bz2 or .osm.pbf extract").format(path=path))
    if not name.endswith(SUFFIXES):
        raise InputError(
            i18n._(
                "{path}: not an OpenStreetMap extract by its name; give .osm, .osm.bz2 or .osm.pbf "
                "(GeoJSON exports go straight to `patrol plan`)"
            ).format(path=path)
        )


def _is_residential(tags: dict[str, str]) -> bool:
    if tags.get("landuse") == "residential":
        return True
    named = bool(tags.get("name") or tags.get("name:zh"))
    kind = "residential" in tags or tags.get("place") in _NAMED_AREA_PLACES
    return named and kind and "building" not in tags and tags.get("landuse") in (None, "residential")


def _read(path: Path) -> _Raw:
    """Two passes over the file with pyosmium: residential relations first, then everything else."""
    import osmium

    raw = _Raw()
    wkb = osmium.geom.WKBFactory()
    try:
        for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
            tags = dict(rel.tags)
            if tags.get("type") == "multipolygon" and _is_residential(tags):
                members = [(m.ref, m.role) for m in rel.members if m.type == "w"]
                raw.residential_relations[rel.id] = (tags, members)
        wanted = {ref for _, ms in raw.residential_relations.values() for ref, _ in ms}
        for o in osmium.FileProcessor(str(path)).with_locations().with_areas():
            if o.is_node():
                if len(o.tags) and o.location.valid():
                    raw.nodes.append((f"node/{o.id}", dict(o.tags), Point(o.location.lon, o.location.lat)))
            elif o.is_way():
                _keep_way(o, raw, wanted, wkb)
            elif o.is_area():
                tags = dict(o.tags)
                oid = f"{'way' if o.from_way() else 'relation'}/{o.orig_id()}"
                if not o.from_way():
                    raw.relation_areas.add(o.orig_id())
                try:
                    geom = shapely.from_wkb(wkb.create_multipolygon(o))
                except (RuntimeError, osmium.InvalidLocationError, shapely.errors.GEOSException):
                    continue
                raw.areas.append((oid, tags, geom))
    except (RuntimeError, ValueError, OSError) as exc:
        raise _osm_error(path, exc) from None
    return raw


def _keep_way(o: Any, raw: _Raw, wanted: set[int], wkb: Any) -> None:
    if o.id in wanted:
        coords = [(n.lon, n.lat) for n in o.nodes if n.location.valid()]
        raw.member_ways[o.id] = coords if len(coords) == len(o.nodes) else None
    tags = dict(o.tags) if len(o.tags) else {}
    if not tags:
        return
    if _is_residential(tags) and not o.is_closed():
        raw.unclosed.append((f"way/{o.id}", tags))
    if tags.get("power") in POWER_LINE_HALF_WIDTH_M or ("aeroway" in tags and not o.is_closed()):
        coords = [(n.lon, n.lat) for n in o.nodes if n.location.valid()]
        if len(coords) >= 2:
            raw.lines.append((f"way/{o.id}", tags, LineString(coords)))


def _from_members(tags: dict[str, str], members: list[tuple[int, str]], raw: _Raw) -> tuple[BaseGeometry | None, int]:
    """A relation's polygon from the member ways that are whole in the file, and how many outers are missing."""
    outers, inners, missing = [], [], 0
    for ref, role in members:
        coords = raw.member_ways.get(ref)
        if coords is None or len(coords) < 2:
            missing += role != "inner"
            continue
        (inners if role == "inner" else outers).append(LineString(coords))
    shells = [p for p in shapely.get_parts(shapely.polygonize(outers)) if p.area > 0]
    if not shells:
        return None, missing
    geom = shapely.union_all(shells)
    holes = [p for p in shapely.get_parts(shapely.polygonize(inners)) if p.area > 0]
    if holes:
        geom = geom.difference(shapely.union_all(holes))
    return geom, missing


def _names(tags: dict[str, str]) -> dict[str, str]:
    out = {k: tags[k] for k in ("name", "name:zh", "name:en") if tags.get(k)}
    if "name" not in out and "name:zh" in out:
        out["name"] = out["name:zh"]
    return out


def _tier(tags: dict[str, str]) -> tuple[str, str]:
    """The compound tier from its tags and name, and why (the operator should review it)."""
    res = tags.get("residential", "")
    name = tags.get("name:zh") or tags.get("name") or ""
    if res == "apartments":
        return "closed", "residential=apartments"
    if res in _SCATTERED_RESIDENTIAL or "别墅" in name or name.endswith("村"):
        return "scattered", f"residential={res}" if res else "name"
    if name.endswith("院") or any(k in name for k in ("生活区", "宿舍", "家属")):
        return "guarded", "name (院 / 生活区: a work-unit courtyard)"
    return "guarded", "default"


def _polys(geom: BaseGeometry) -> list[Polygon]:
    return [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]


def _feature(geom: BaseGeometry, props: dict[str, Any]) -> dict[str, Any]:
    g = shapely.set_precision(geom, 1e-7) if not isinstance(geom, Point) else geom
    doc = mapping(g)
    return {"type": "Feature", "id": props.get("id"), "properties": props, "geometry": doc}


def _matches(tags: dict[str, str], name: str | None) -> bool:
    if not name:
        return True
    needle = name.strip().lower()
    return any(needle in str(tags.get(k, "")).lower() for k in ("name", "name:zh", "name:en"))


def _levels(tags: dict[str, str], oid: str, bad: list[str]) -> tuple[float, str] | None:
    """Roof height in metres from a building's own tags, and which tags gave it; bad values go to ``bad``."""
    if tags.get("height"):
        h = parse_length_m(tags["height"])
        if h is not None and 0 < h < 700:
            return h, "height"
        bad.append(f"{oid} height={tags['height']!r}")
    roof = 0.0
    if tags.get("roof:height"):
        r = parse_length_m(tags["roof:height"])
        if r is None or not 0 <= r < 100:
            bad.append(f"{oid} roof:height={tags['roof:height']!r}")
        else:
            roof = r
    elif tags.get("roof:levels"):
        try:
            roof = float(tags["roof:levels"]) * LEVEL_M
        except ValueError:
            bad.append(f"{oid} roof:levels={tags['roof:levels']!r}")
    if tags.get("building:levels"):
        try:
            n = float(tags["building:levels"].replace(",", "."))
        except ValueError:
            n = -1.0
        if 0 < n < 200:
            return n * LEVEL_M + roof, "building:levels" + ("+roof" if roof else "")
        bad.append(f"{oid} building:levels={tags['building:levels']!r}")
    return None


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``(min_lon, min_lat, max_lon, max_lat)`` from ``"MIN_LON,MIN_LAT,MAX_LON,MAX_LAT"``; one line naming --bbox.

    >>> parse_bbox("116.344,39.997,116.360,40.009")
    (116.344, 39.997, 116.36, 40.009)
    """
    if not text:
        return None
    try:
        a, b, c, d = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(
            i18n._("--bbox {text}: give MIN_LON,MIN_LAT,MAX_LON,MAX_LAT in degrees").format(text=repr(text))
        ) from None
    if not (-180 <= a < c <= 180 and -90 <= b < d <= 90):
        raise InputError(
            i18n._("--bbox {text}: give MIN_LON,MIN_LAT,MAX_LON,MAX_LAT with min below max (lon first)").format(
                text=repr(text)
            )
        )
    return a, b, c, d


def import_osm(
    path: str | Path,
    bbox: Sequence[float] | None = None,
    name: str | None = None,
    min_area_m2: float = DEFAULT_MIN_AREA_M2,
    default_levels: float | None = None,
) -> OsmImport:
    """Read an OSM extract into compounds, hotspots, buildings and candidate no-fly zones (WGS-84 GeoJSON).

    ``bbox`` is ``(min_lon, min_lat, max_lon, max_lat)``: only features that reach into it are kept;
    ``name`` keeps the compounds whose name (``name``, ``name:zh``, ``name:en``) contains it; compounds under
    ``min_area_m2`` are skipped. ``default_levels`` replaces :data:`DEFAULT_LEVELS` for buildings with no
    height. Raises :class:`InputError` (one line naming the file and the fix) for a file that is not an OSM
    extract and for one with no residential areas left.
    """
    p = Path(path)
    _check_path(p)
    raw = _read(p)
    levels = float(default_levels) if default_levels is not None else float(DEFAULT_LEVELS)
    if not 0 < levels < 200:
        raise InputError(
            i18n._("--default-levels {levels}: give a number of storeys from 1 to 199").format(
                levels=format(levels, "g")
            )
        )
    counts = ImportCounts()
    warnings: list[str] = []
    clip = shapely.box(*bbox) if bbox is not None else None
    everything = [g for _, _, g in raw.areas] + [g for _, _, g in raw.nodes]
    if not everything:
        raise InputError(
            i18n._("{p}: no areas or tagged nodes in the file; export an area with housing estates").format(p=p)
        )
    c = shapely.get_coordinates(shapely.GeometryCollection(everything[:5000]))
    frame = LocalFrame.around(c[:, 0], c[:, 1])
    compounds = _compounds(raw, frame, clip, name, min_area_m2, counts, warnings)
    if not compounds:
        raise InputError(_nothing_found(p, raw, bbox, name, min_area_m2, counts))
    hotspots = _hotspots(raw, compounds, frame, counts)
    buildings = _buildings(raw, clip, levels, counts, warnings)
    candidates = _candidates(raw, clip, frame, counts)
    return OsmImport(
        str(p),
        [_feature(g, props) for g, props in compounds],
        hotspots,
        buildings,
        candidates,
        counts,
        levels,
        warnings,
    )


def _nothing_found(
    p: Path, raw: _Raw, bbox: Sequence[float] | None, name: str | None, min_area_m2: float, n: ImportCounts
) -> str:
    found = sum(1 for _, t, _ in raw.areas if _is_residential(t)) + n.skipped_unclosed + n.skipped_incomplete
    if not found:
        return i18n._(
            "{path}: no residential areas (landuse=residential) in the file; export an area with housing estates, "
            "or draw the compounds on a map and give them to `patrol plan` directly"
        ).format(path=p)
    why = []
    if bbox is not None or name:
        why.append(i18n._("{skipped_filter} outside --bbox/--name").format(skipped_filter=n.skipped_filter))
    if n.skipped_small:
        why.append(
            i18n._("{skipped_small} under --min-area-m2 {min_area_m2}").format(
                skipped_small=n.skipped_small, min_area_m2=format(min_area_m2, "g")
            )
        )
    if n.skipped_large:
        why.append(
            i18n._("{skipped_large} over {n} km²").format(
                skipped_large=n.skipped_large, n=format(MAX_COMPOUND_AREA_M2 / 1e6, "g")
            )
        )
    if n.skipped_unclosed or n.skipped_incomplete:
        why.append(i18n._("{n} cut at the export's edge").format(n=n.skipped_unclosed + n.skipped_incomplete))
    return i18n._(
        "{path}: none of its {found} residential areas is left ({why}); loosen the filters or export a larger area"
    ).format(path=p, found=found, why=i18n._(", ").join(why))


def _compounds(
    raw: _Raw,
    frame: LocalFrame,
    clip: BaseGeometry | None,
    name: str | None,
    min_area_m2: float,
    counts: ImportCounts,
    warnings: list[str],
) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    found: list[tuple[str, dict[str, str], BaseGeometry]] = [(o, t, g) for o, t, g in raw.areas if _is_residential(t)]
    for rid, (tags, members) in raw.residential_relations.items():
        if rid in raw.relation_areas:
            continue
        geom, missing = _from_members(tags, members, raw)
        label = f"relation/{rid} {_names(tags).get('name', '')}".strip()
        if geom is None:
            counts.skipped_incomplete += 1
            warnings.append(
                i18n._("{label}: no outer ring is whole in the file (cut at the export's edge); skipped").format(
                    label=label
                )
            )
            continue
        counts.partial_compounds += 1
        warnings.append(
            i18n._(
                "{label}: {missing} outer way(s) missing from the file (cut at the export's edge); "
                "kept the {n_n} whole ring(s): export a larger area to patrol all of it"
            ).format(label=label, missing=missing, n_n=len(_polys(geom)))
        )
        found.append((f"relation/{rid}", {**tags, "patrol:partial": "yes"}, geom))
    for oid, tags in raw.unclosed:
        counts.skipped_unclosed += 1
        warnings.append(
            i18n._("{oid} {get}: its outline is not closed in the file; skipped").format(
                oid=oid, get=_names(tags).get("name", "")
            )
        )
    landuse = [g for _, t, g in found if t.get("landuse") == "residential"]
    landuse_union = shapely.union_all(landuse) if landuse else None
    out: list[tuple[BaseGeometry, dict[str, Any]]] = []
    seen: set[str] = set()
    for oid, tags, geom in found:
        if oid in seen:
            continue
        seen.add(oid)
        if (clip is not None and not geom.intersects(clip)) or not _matches(tags, name):
            counts.skipped_filter += 1
            continue
        over = landuse_union is not None and tags.get("landuse") != "residential"
        if over and geom.intersection(landuse_union).area > 0.5 * geom.area:
            continue  # a named area over landuse polygons already taken
        area = float(frame.geom_to_local(geom).area)
        if area < min_area_m2:
            counts.skipped_small += 1
            continue
        if area > MAX_COMPOUND_AREA_M2:
            counts.skipped_large += 1
            warnings.append(
                i18n._("{oid}: {n} km² is more than one compound; skipped (split it in OSM)").format(
                    oid=oid, n=format(area / 1e6, ".1f")
                )
            )
            continue
        tier, why = _tier(tags)
        props: dict[str, Any] = {"id": oid, **_names(tags), "tier": tier, "tier_from": why, "area_m2": round(area)}
        props.update({k: tags[k] for k in ("landuse", "residential", "place", "patrol:partial") if k in tags})
        props["source"] = ATTRIBUTION
        counts.compounds += 1
        counts.holes += sum(len(pg.interiors) for pg in _polys(geom))
        out.append((geom, props))
    return out


def _spread(cands: list[tuple[int, float, float, int]], keep: int) -> list[int]:
    """Indices of up to ``keep`` candidates ``(rank, x, y, index)``: the best-ranked, then the farthest from those."""
    if len(cands) <= keep:
        return [c[3] for c in cands]
    cands = sorted(cands)
    chosen = [cands[0]]
    while len(chosen) < keep:
        rest = [c for c in cands if c not in chosen]
        best = max(rest, key=lambda c: (min(math.hypot(c[1] - k[1], c[2] - k[2]) for k in chosen), -c[0]))
        chosen.append(best)
    return [c[3] for c in chosen]


def _hotspots(
    raw: _Raw, compounds: list[tuple[BaseGeometry, dict[str, Any]]], frame: LocalFrame, counts: ImportCounts
) -> list[dict[str, Any]]:
    """Gates on each compound's boundary and squares inside it, at most a few of each per compound."""
    local = [frame.geom_to_local(g) for g, _ in compounds]
    tree = shapely.STRtree(local)
    found: dict[tuple[int, str], list[tuple[int, float, float, int]]] = {}
    points: list[tuple[str, str, Point, dict[str, str], int]] = []

    def consider(oid: str, kind: str, pt_wgs: Point, tags: dict[str, str], k: int, lp: Point) -> None:
        rank = (0 if _names(tags) else 2) + (0 if tags.get("barrier") == "gate" or kind == "square" else 1)
        found.setdefault((k, kind), []).append((rank, lp.x, lp.y, len(points)))
        points.append((oid, kind, pt_wgs, tags, k))

    for oid, tags, pt in raw.nodes:
        gate = tags.get("barrier") == "gate" or "entrance" in tags
        square = any(tags.get(key) == v for key, v in _SQUARE_TAGS)
        if not (gate or square):
            continue
        x, y = frame.to_local(pt.x, pt.y)
        lp = Point(float(x), float(y))
        for k in tree.query(lp, predicate="dwithin", distance=GATE_DISTANCE_M):
            if gate and local[int(k)].boundary.distance(lp) <= GATE_DISTANCE_M:
                consider(oid, "gate", pt, tags, int(k), lp)
            elif square and local[int(k)].contains(lp):
                consider(oid, "square", pt, tags, int(k), lp)
    for oid, tags, geom in raw.areas:
        if any(tags.get(key) == v for key, v in _SQUARE_TAGS):
            rep = geom.point_on_surface()
            x, y = frame.to_local(rep.x, rep.y)
            lp = Point(float(x), float(y))
            for k in tree.query(lp, predicate="within"):
                consider(oid, "square", rep, tags, int(k), lp)
    out = []
    used: set[str] = set()
    for (k, kind), cands in sorted(found.items()):
        keep = _spread(cands, MAX_GATES_PER_COMPOUND if kind == "gate" else MAX_SQUARES_PER_COMPOUND)
        counts.hotspots_dropped += len(cands) - len(keep)
        for n in sorted(keep):
            oid, kind, pt, tags, k = points[n]
            cid = compounds[k][1]["id"]
            hid = oid if oid not in used else f"{oid}@{cid}"
            used.add(hid)
            props = {"id": hid, "hotspot": kind, "compound": cid}
            props.update(_names(tags))
            props["name"] = props.get("name") or f"{kind} {oid}"
            props["osm"] = ";".join(
                f"{t}={tags[t]}" for t in ("barrier", "entrance", "place", "amenity", "leisure") if t in tags
            )
            out.append(_feature(pt, props))
            counts.gates += kind == "gate"
            counts.squares += kind == "square"
    return out


def _buildings(
    raw: _Raw, clip: BaseGeometry | None, levels: float, counts: ImportCounts, warnings: list[str]
) -> list[dict[str, Any]]:
    bad: list[str] = []
    parts: list[tuple[BaseGeometry, float]] = []
    mains = []
    for oid, tags, geom in raw.areas:
        if clip is not None and not geom.intersects(clip):
            continue
        if tags.get("building:part") not in (None, "no"):
            counts.building_parts += 1
            got = _levels(tags, oid, bad)
            if got:
                parts.append((geom, got[0]))
        elif tags.get("building") not in (None, "no"):
            mains.append((oid, tags, geom))
    part_tree = shapely.STRtree([g for g, _ in parts]) if parts else None
    out = []
    for oid, tags, geom in mains:
        got = _levels(tags, oid, bad)
        props: dict[str, Any] = {"id": oid, **_names(tags), "building": tags["building"]}
        for k in ("building:levels", "roof:height", "roof:levels"):
            if k in tags:
                props[k] = tags[k]
        if got is None and part_tree is not None:
            inside = [parts[int(i)][1] for i in part_tree.query(geom.representative_point(), predicate="within")]
            inside += [parts[int(i)][1] for i in part_tree.query(geom, predicate="contains")]
            if inside:
                got = (max(inside), "building:part")
                counts.buildings_from_parts += 1
        if got is not None:
            counts.buildings_with_height += got[1] != "building:part"
            props.update(height=round(got[0], 2), height_from=got[1])
        else:
            small = tags["building"] in SMALL_BUILDINGS
            n = SMALL_DEFAULT_LEVELS if small else levels
            counts.buildings_default += 1
            counts.buildings_default_small += small
            props.update(height=round(n * LEVEL_M, 2), height_from=f"default ({n:g} storeys)")
        counts.buildings += 1
        out.append(_feature(geom, props))
    for geom, h in parts:  # parts with heights stand as footprints of their own
        out.append(_feature(geom, {"id": "building:part", "height": round(h, 2), "height_from": "building:part"}))
    if bad:
        counts.bad_values = len(bad)
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        warnings.append(
            i18n._("{n_bad} unreadable height value(s) ignored: {items}{more}").format(
                n_bad=len(bad), items="; ".join(bad[:5]), more=more
            )
        )
    return out


def _buffered(frame: LocalFrame, geom: BaseGeometry, metres: float) -> BaseGeometry:
    return frame.geom_to_wgs84(frame.geom_to_local(geom).buffer(metres, quad_segs=4))


def _candidates(raw: _Raw, clip: BaseGeometry | None, frame: LocalFrame, counts: ImportCounts) -> list[dict]:
    """Candidate no-fly zones: polygons to confirm, each saying which tag made it and how it was grown."""
    helipads = [g for _, t, g in raw.nodes if t.get("aeroway") == "helipad" or t.get("emergency") == "landing_site"]
    helipads += [g for _, t, g in raw.areas if t.get("aeroway") == "helipad"]
    pad_tree = shapely.STRtree(helipads) if helipads else None
    found: list[tuple[str, dict[str, str], BaseGeometry, str, float]] = []
    for oid, tags, geom in raw.areas:
        if "aeroway" in tags:
            found.append((oid, tags, geom, f"aeroway={tags['aeroway']}", 0.0))
        elif tags.get("landuse") == "military" or "military" in tags:
            found.append((oid, tags, geom, f"military: {tags.get('military') or tags.get('landuse')}", 0.0))
        elif tags.get("amenity") == "hospital" and pad_tree is not None and len(pad_tree.query(geom, "intersects")):
            found.append((oid, tags, geom, "amenity=hospital with a helipad", 0.0))
    for oid, tags, pt in raw.nodes:
        if "aeroway" in tags and tags["aeroway"] in ("helipad", "aerodrome", "heliport"):
            found.append(
                (oid, tags, _buffered(frame, pt, HELIPAD_RADIUS_M), f"aeroway={tags['aeroway']}", HELIPAD_RADIUS_M)
            )
    for oid, tags, line in raw.lines:
        if tags.get("power") in POWER_LINE_HALF_WIDTH_M:
            w = POWER_LINE_HALF_WIDTH_M[tags["power"]]
            found.append((oid, tags, _buffered(frame, line, w), f"power={tags['power']} corridor", w))
        elif "aeroway" in tags:
            w = AEROWAY_LINE_HALF_WIDTH_M
            found.append((oid, tags, _buffered(frame, line, w), f"aeroway={tags['aeroway']}", w))
    out = []
    for oid, tags, geom, why, grown in found:
        if clip is not None and not geom.intersects(clip):
            continue
        props: dict[str, Any] = {"id": oid, **_names(tags), "nofly": True, "reason": why}
        props["status"] = "candidate: confirm on the ground or with the authority before use"
        if grown:
            props["grown_m"] = grown
        kind = "hospital helipad" if why.startswith("amenity=hospital") else why.split("=")[0].split(":")[0]
        counts.candidates["power line" if kind == "power" else kind] += 1
        out.append(_feature(geom, props))
    return out


def _fc(features: list[dict[str, Any]], note: str) -> str:
    doc = {"type": "FeatureCollection", "crs": CRS84, "attribution": ATTRIBUTION, "note": note, "features": features}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def import_files(result: OsmImport) -> dict[str, str]:
    """File name to text for the import folder: compounds (with hotspots), buildings, candidate no-fly zones."""
    files = {
        "compounds.geojson": _fc(result.compounds + result.hotspots, f"patrol import osm {result.source}"),
        "buildings.geojson": _fc(result.buildings, "roof heights; defaults are marked in height_from"),
    }
    if result.candidates:
        files["nofly_candidates.geojson"] = _fc(
            result.candidates, "candidate no-fly zones: check each, delete what is not one, then pass with --nofly"
        )
    counts = {k: (dict(v) if isinstance(v, Counter) else v) for k, v in vars(result.counts).items()}
    report = {"source": result.source, "counts": counts, "default_levels": result.default_levels}
    files["import.json"] = json.dumps({**report, "warnings": result.warnings}, ensure_ascii=False, indent=1) + "\n"
    return files


# The kinds of candidate no-fly zone the import counts (import.json keeps them in English; translated when shown).
CANDIDATE_KINDS = (i18n.N_("aeroway"), i18n.N_("military"), i18n.N_("hospital helipad"), i18n.N_("power line"))


def summary_lines(result: OsmImport) -> list[str]:
    """What the operator reads after an import: the counts, the defaults used and what to check (each line a
    sentence in the interface language; an optional clause carries its own punctuation)."""
    _ = i18n._
    n = result.counts
    inner = _("{n} holes kept").format(n=n.holes)
    if n.partial_compounds:
        inner += _(", {n} cut at the export's edge").format(n=n.partial_compounds)
    if n.skipped_small or n.skipped_large:
        inner += _("; skipped: {small} too small, {large} too large").format(
            small=n.skipped_small, large=n.skipped_large
        )
    if n.skipped_unclosed + n.skipped_incomplete:
        inner += _(", {n} incomplete").format(n=n.skipped_unclosed + n.skipped_incomplete)
    built = _("buildings: {n}, {with_height} with height or levels").format(
        n=n.buildings, with_height=n.buildings_with_height
    )
    if n.buildings_from_parts:
        built += _(", {n} from their building:parts").format(n=n.buildings_from_parts)
    if n.building_parts:
        built += _(" ({n} building:part outlines)").format(n=n.building_parts)
    lines = [_("compounds: {n} ({details})").format(n=n.compounds, details=inner), built]
    if n.buildings_default:
        lines.append(
            _(
                "heights: {n} of {buildings} buildings have none and got a default: {big} given {levels} storeys "
                "({levels_m} m), {small} houses, garages and sheds {small_levels} storeys ({small_m} m); "
                "give --default-levels N if you know the district"
            ).format(
                n=n.buildings_default,
                buildings=n.buildings,
                big=n.buildings_default - n.buildings_default_small,
                levels=f"{result.default_levels:g}",
                levels_m=f"{result.default_levels * LEVEL_M:g}",
                small=n.buildings_default_small,
                small_levels=SMALL_DEFAULT_LEVELS,
                small_m=f"{SMALL_DEFAULT_LEVELS * LEVEL_M:g}",
            )
        )
    spots = _("hotspots: {n} ({gates} gates and entrances, {squares} squares, markets, parks").format(
        n=n.gates + n.squares, gates=n.gates, squares=n.squares
    )
    if n.hotspots_dropped:
        spots += _("; {n} more left out: at most {gates} gates and {squares} squares a compound").format(
            n=n.hotspots_dropped, gates=MAX_GATES_PER_COMPOUND, squares=MAX_SQUARES_PER_COMPOUND
        )
    lines.append(spots + _(")"))
    cands = _(", ").join(_("{n} {kind}").format(n=v, kind=_(k)) for k, v in sorted(n.candidates.items())) or _("none")
    if n.candidates:
        text = _("candidate no-fly zones: {n} ({kinds}): review nofly_candidates.geojson, then pass it with --nofly")
    else:
        text = _("candidate no-fly zones: {n} ({kinds})")
    lines.append(text.format(n=sum(n.candidates.values()), kinds=cands))
    return lines


__all__ = ["ImportCounts", "OsmImport", "import_files", "import_osm", "summary_lines"]
