"""Read the features of one GeoJSON or KML file, and the coordinate system the file says it is in.

``load_file`` returns a :class:`LoadedFile`: the raw lon/lat features (as written, in whatever coordinate
system the file uses) and the file's own CRS declaration, if it has one. A GeoJSON file declares it with a
top-level ``crs`` member, either a plain name (``"crs": "gcj02"``) or the GeoJSON 2008 form that QGIS and
GDAL write (``{"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}``); a KML file with
a ``<Data name="crs">`` in the Document's ``ExtendedData``. Every refusal is an
:class:`~patrol.errors.InputError` naming the file and the feature and saying what to do.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from patrol.errors import InputError
from patrol.i18n import _
from patrol.inputs.crs import BD09, CRS_HELP, GCJ02, WGS84, crs_suggestion, normalise_crs

# CRS names other tools write, read as patrol's names (EPSG:4490 is CGCS2000, Tianditu's datum).
_DECLARED_WGS84 = ("crs84", "epsg::4326", "epsg:4326", "epsg::4490", "epsg:4490", "wgs84", "wgs 84", "cgcs2000")


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


@dataclass(frozen=True)
class LoadedFile:
    """One input file's features (coordinates as written) and the CRS it declares (``None``: it says nothing)."""

    path: Path
    features: list[RawFeature]
    declared_crs: str | None = None


def declared_crs(value: Any, source: str) -> str | None:
    """patrol's name for a file's own ``crs`` declaration (a name or a GeoJSON 2008 ``crs`` object).

    >>> declared_crs("GCJ-02", "a.geojson"), declared_crs({"type": "name",
    ...     "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "a.geojson")
    ('gcj02', 'wgs84')
    """
    if value in (None, ""):
        return None
    name = value
    if isinstance(value, dict):
        props = value.get("properties")
        name = props.get("name", "") if isinstance(props, dict) else ""
    text = str(name).strip()
    canon = normalise_crs(text)
    if canon is not None:
        return canon
    low = text.lower()
    if any(low.endswith(k) or low == k for k in _DECLARED_WGS84):
        return WGS84
    if "gcj" in low:
        return GCJ02
    if "bd09" in low or "bd-09" in low:
        return BD09
    raise InputError(
        _(
            "{source}: declares crs {text}{crs_suggestion}, which patrol cannot read; give "
            "lon/lat degrees and {crs_help}"
        ).format(source=source, text=repr(text), crs_suggestion=crs_suggestion(text), crs_help=_(CRS_HELP))
    )


def load_file(path: str | Path) -> LoadedFile:
    """Read one GeoJSON or KML file (chosen by content, not only by suffix)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(_("{p}: file not found; give the path of a GeoJSON or KML file").format(p=p)) from None
    except IsADirectoryError:
        raise InputError(_("{p}: is a folder; give the path of a GeoJSON or KML file").format(p=p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(_("{p}: cannot read ({exc}); give a UTF-8 GeoJSON or KML file").format(p=p, exc=exc)) from None
    stripped = text.lstrip()
    if p.suffix.lower() == ".kml" or stripped.startswith("<"):
        feats, crs = _parse_kml(text, str(p))
    else:
        feats, crs = _parse_geojson(text, str(p))
    return LoadedFile(p, feats, crs)


def load_features(path: str | Path) -> list[RawFeature]:
    """The features of one GeoJSON or KML file (see :func:`load_file` for its CRS declaration too)."""
    return load_file(path).features


def parse_geojson(text: str, source: str = "<geojson>") -> list[RawFeature]:
    """Parse a GeoJSON FeatureCollection (or single Feature) into raw features."""
    return _parse_geojson(text, source)[0]


def _parse_geojson(text: str, source: str) -> tuple[list[RawFeature], str | None]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            _("{source}: not valid JSON (line {lineno}: {msg}); fix the file").format(
                source=source, lineno=exc.lineno, msg=exc.msg
            )
        ) from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc], "crs": doc.get("crs")}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(_("{source}: expected a GeoJSON FeatureCollection").format(source=source))
    crs = declared_crs(doc.get("crs"), source)
    features = doc.get("features")
    if features is None:
        features = []
    if not isinstance(features, list):
        raise InputError(
            _("{source}: 'features' is {kind}, not a list of GeoJSON Features; fix the file").format(
                source=source, kind=_kind(features)
            )
        )
    out: list[RawFeature] = []
    for i, feat in enumerate(features):
        out.append(_geojson_feature(feat, i, source))
    if not out:
        raise InputError(_("{source}: no features; draw at least one compound polygon").format(source=source))
    return out, crs


def _kind(value: Any) -> str:
    """How a message names a JSON value of the wrong type: ``7 (a number)``, ``a list``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return _("{value} (a boolean)").format(value=str(value).lower())
    if isinstance(value, int | float):
        return _("{value} (a number)").format(value=repr(value))
    if isinstance(value, str):
        return _("{value} (a string)").format(value=repr(value[:40]))
    return _("a list") if isinstance(value, list) else _("an object")


def _geojson_feature(feat: Any, i: int, source: str) -> RawFeature:
    """One GeoJSON Feature object as a :class:`RawFeature`; one line naming the feature for anything else."""
    if not isinstance(feat, dict):
        raise InputError(
            _("{source}: feature #{n} is {kind}, not a GeoJSON Feature object; fix or remove it").format(
                source=source, n=i + 1, kind=_kind(feat)
            )
        )
    raw_props = feat.get("properties")
    if raw_props is None:
        raw_props = {}
    if not isinstance(raw_props, dict):
        label = f"feature {feat['id']!r}" if isinstance(feat.get("id"), str | int) else f"feature #{i + 1}"
        raise InputError(
            _(
                '{source}: {label} has properties {kind}; properties must be an object ({{"id": ..., '
                '"tier": ...}}) or null'
            ).format(source=source, label=label, kind=_kind(raw_props))
        )
    props = dict(raw_props)
    if "id" not in props and feat.get("id") is not None:
        props["id"] = feat["id"]
    geom_doc = feat.get("geometry")
    label = RawFeature(i, Point(), props).label()
    if not geom_doc:
        raise InputError(
            _("{source}: {label} has no geometry; remove it or draw it").format(source=source, label=label)
        )
    if not isinstance(geom_doc, dict):
        raise InputError(
            _("{source}: {label} has geometry {kind}, not a GeoJSON geometry object; fix it").format(
                source=source, label=label, kind=_kind(geom_doc)
            )
        )
    try:
        geom = shape(geom_doc)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        msg = " ".join(str(exc).split())[:120]
        raise InputError(
            _("{source}: {label} has malformed coordinates ({msg}); fix its geometry").format(
                source=source, label=label, msg=msg
            )
        ) from None
    return RawFeature(i, geom, props)


_KML_NS = "{http://www.opengis.net/kml/2.2}"


def _kml_coords(text: str | None, source: str, label: str) -> list[tuple[float, float]]:
    pts = []
    for tok in (text or "").split():
        parts = tok.split(",")
        try:
            pts.append((float(parts[0]), float(parts[1])))
        except (ValueError, IndexError):
            raise InputError(
                _("{source}: {label} has a bad KML coordinate {tok}; use lon,lat[,alt]").format(
                    source=source, label=label, tok=repr(tok)
                )
            ) from None
    return pts


def parse_kml(text: str, source: str = "<kml>") -> list[RawFeature]:
    """Parse KML Placemarks (Polygon, MultiGeometry, Point) with ExtendedData properties."""
    return _parse_kml(text, source)[0]


def _parse_kml(text: str, source: str) -> tuple[list[RawFeature], str | None]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(
            _("{source}: not valid KML/XML ({exc}); fix the file").format(source=source, exc=exc)
        ) from None
    ns = _KML_NS if root.tag.startswith(_KML_NS) else ""
    crs = None
    for doc in root.iter(f"{ns}Document"):
        for data in doc.findall(f"{ns}ExtendedData/{ns}Data"):
            if data.get("name", "").strip().lower() == "crs":
                crs = declared_crs(data.findtext(f"{ns}value") or "", source)
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
                raise InputError(
                    _("{source}: {label} has a polygon with fewer than 3 points; redraw it").format(
                        source=source, label=label
                    )
                )
            polys.append(Polygon(shell, [h for h in holes if len(h) >= 3]))
        points = [pt for pt in pm.iter(f"{ns}Point")]
        if polys:
            geom: BaseGeometry = polys[0] if len(polys) == 1 else MultiPolygon(polys)
        elif points:
            c = _kml_coords(points[0].findtext(f"{ns}coordinates"), source, label)
            if not c:
                raise InputError(
                    _("{source}: {label} is a Point with no coordinates; fix it").format(source=source, label=label)
                )
            geom = Point(c[0])
        else:
            raise InputError(
                _("{source}: {label} has no Polygon or Point; only those are read").format(source=source, label=label)
            )
        out.append(RawFeature(i, geom, props))
    if not out:
        raise InputError(_("{source}: no Placemarks; draw at least one compound polygon").format(source=source))
    return out, crs
