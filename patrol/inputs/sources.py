"""Which coordinate system each input file is in, moving its features to WGS-84, and the alignment check.

An input is named on the command line as ``FILE`` or ``FILE:CRS`` (``zones.kml:gcj02``). Its CRS is, in
order: the ``:CRS`` suffix; else the file's own declaration (:mod:`patrol.inputs.files`); else ``--crs``
(default ``wgs84``). A suffix that contradicts the file's declaration is refused: one of them is wrong and
patrol cannot tell which. Features are moved to WGS-84 whole (every vertex of a feature on the same side
of the mainland-China boundary test, decided at its first vertex), and a feature in Hong Kong, Macau or
Taiwan given in GCJ-02 or BD-09 is refused, because map services differ there (see
:mod:`patrol.inputs.crs`). Everything here is pure apart from :func:`load_input`, which reads the file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from patrol.errors import InputError
from patrol.i18n import N_, _
from patrol.inputs.crs import (
    BD09,
    CRS_HELP,
    GCJ02,
    WGS84,
    ambiguous_region,
    crs_suggestion,
    from_wgs84,
    geom_to_wgs84,
    in_mainland_china,
    normalise_crs,
)
from patrol.inputs.files import LoadedFile, RawFeature, load_file
from patrol.types import InputFile

# Where a file's CRS came from, as the manifest records it.
FROM_SUFFIX, FROM_FILE, FROM_OPTION, FROM_DEFAULT = "FILE:CRS", "file", "--crs", "default"

ALIGN_MIN_BUILDINGS = 10
ALIGN_MIN_SHARE = 0.3
"""The alignment warning needs this share of footprints inside compounds once shifted (and twice the share
as read plus 0.1): buildings and compounds that fit only when moved by a datum offset are a CRS mix-up."""


def check_crs(name: str, what: str = "--crs") -> str:
    """The canonical name of a CRS given on the command line; one line naming ``what`` otherwise.

    >>> check_crs("GCJ-02")
    'gcj02'
    """
    canon = normalise_crs(name)
    if canon is None:
        raise InputError(
            _("{what} {name}: unknown coordinate system{crs_suggestion}; {crs_help}").format(
                what=what, name=repr(name), crs_suggestion=crs_suggestion(name), crs_help=_(CRS_HELP)
            )
        )
    return canon


def split_crs_suffix(spec: str | Path) -> tuple[Path, str | None]:
    """``(path, crs)`` of ``FILE`` or ``FILE:CRS``; a path that exists as written is never split.

    >>> split_crs_suffix("zones.kml:GCJ02"), split_crs_suffix("zones.kml")
    ((PosixPath('zones.kml'), 'gcj02'), (PosixPath('zones.kml'), None))
    """
    text = str(spec)
    head, sep, tail = text.rpartition(":")
    if not sep or not head or Path(text).exists() or any(c in tail for c in "/\\."):
        return Path(text), None
    canon = normalise_crs(tail)
    if canon is None:
        raise InputError(
            _(
                "{text}: unknown coordinate system {tail}{crs_suggestion} after the file name; "
                "{crs_help}, e.g. {head}:gcj02"
            ).format(text=text, tail=repr(tail), crs_suggestion=crs_suggestion(tail), crs_help=_(CRS_HELP), head=head)
        )
    return Path(head), canon


def resolve_crs(path: Path, suffix: str | None, declared: str | None, option: str | None) -> tuple[str, str]:
    """``(crs, where it came from)`` for one file: suffix, else the file's declaration, else ``--crs``."""
    if suffix and declared and suffix != declared:
        raise InputError(
            _(
                "{path}: the file says its coordinates are {declared} but the command line says "
                "{path}:{suffix}; check which is right and remove the other"
            ).format(path=path, declared=declared, suffix=suffix)
        )
    if suffix:
        return suffix, FROM_SUFFIX
    if declared:
        return declared, FROM_FILE
    if option:
        return option, FROM_OPTION
    return WGS84, FROM_DEFAULT


def _first_lonlat(geom: BaseGeometry) -> tuple[float, float] | None:
    c = shapely.get_coordinates(geom)
    if c.size == 0 or not np.all(np.isfinite(c[0])):
        return None
    return float(c[0, 0]), float(c[0, 1])


def to_wgs84_features(features: Sequence[RawFeature], crs: str, source: str) -> tuple[list[RawFeature], list[str]]:
    """The features moved from ``crs`` to WGS-84 (each whole), and warnings for points near the boundary.

    Raises :class:`InputError` for a GCJ-02 / BD-09 feature in Hong Kong, Macau or Taiwan.
    """
    if crs == WGS84:
        return list(features), []
    out, border = [], []
    for f in features:
        first = _first_lonlat(f.geometry)
        if first is None or not (abs(first[0]) <= 180 and abs(first[1]) <= 90):
            out.append(f)  # the range check names it
            continue
        where = ambiguous_region(*first)
        if where in ("Hong Kong", "Macau", "Taiwan"):
            raise InputError(
                _(
                    "{source}: {label} lies in {where}, where map services differ on whether they shift "
                    "coordinates, so {crs} there cannot be trusted; give this file in WGS-84 "
                    "(OpenStreetMap, Tianditu, a GPS) as FILE:wgs84"
                ).format(source=source, label=f.label(), where=where, crs=crs)
            )
        if where == "border":
            border.append(f.label())
        inside = bool(in_mainland_china(*first))
        out.append(RawFeature(f.index, geom_to_wgs84(crs, f.geometry, inside), f.properties))
    warnings = []
    if border:
        warnings.append(
            _(
                "{source}: {n_border} feature(s) ({items}) lie within about 20 km of the edge of "
                "patrol's mainland-China test, where {crs} may or may not have been applied; check a "
                "known point on the review map before flying (docs/inputs.md)"
            ).format(source=source, n_border=len(border), items=", ".join(border[:3]), crs=crs)
        )
    return out, warnings


def load_input(spec: str | Path, role: str, option_crs: str | None) -> tuple[InputFile, list[RawFeature], list[str]]:
    """Read one input named ``FILE`` or ``FILE:CRS``: its record, its features in WGS-84, and warnings."""
    path, suffix = split_crs_suffix(spec)
    loaded: LoadedFile = load_file(path)
    crs, origin = resolve_crs(path, suffix, loaded.declared_crs, option_crs)
    feats, warnings = to_wgs84_features(loaded.features, crs, str(path))
    return InputFile(str(path), role, crs, origin), feats, warnings


def _shift_vectors_m(lon: float, lat: float) -> list[tuple[str, float, float]]:
    """Datum offsets at a WGS-84 point, in metres east/north: GCJ-02, BD-09 and BD-09 over GCJ-02."""
    coslat = math.cos(math.radians(lat))
    g = from_wgs84(GCJ02, lon, lat)
    b = from_wgs84(BD09, lon, lat)
    gx, gy = (float(g[0]) - lon) * 111_320.0 * coslat, (float(g[1]) - lat) * 110_574.0
    bx, by = (float(b[0]) - lon) * 111_320.0 * coslat, (float(b[1]) - lat) * 110_574.0
    out = []
    pairs = (
        (N_("WGS-84 and GCJ-02"), gx, gy),
        (N_("WGS-84 and BD-09"), bx, by),
        (N_("GCJ-02 and BD-09"), bx - gx, by - gy),
    )
    for name, x, y in pairs:
        if math.hypot(x, y) > 1.0:
            out += [(name, x, y), (name, -x, -y)]
    return out


def _share_inside(tree: shapely.STRtree, x: np.ndarray, y: np.ndarray) -> float:
    if not len(x):
        return 0.0
    hits = tree.query(shapely.points(x, y), predicate="within")
    return len(np.unique(hits[0])) / len(x)


def alignment_warning(
    compounds_local: Sequence[BaseGeometry],
    buildings_local: Sequence[BaseGeometry],
    lon: float,
    lat: float,
    source: str,
    crs_compounds: str,
    crs_buildings: str,
) -> str | None:
    """A warning when the buildings fit the compounds far better moved by a datum offset than as read.

    ``compounds_local`` and ``buildings_local`` are in one local metric frame centred near WGS-84 ``lon``,
    ``lat``. The fit is the share of footprints whose centroid lies inside a compound; the candidate moves
    are the GCJ-02, BD-09 and BD-over-GCJ offsets there, both ways. ``None`` when the data cannot judge
    (fewer than :data:`ALIGN_MIN_BUILDINGS` footprints, or outside China) or the files agree.
    """
    if len(buildings_local) < ALIGN_MIN_BUILDINGS or not compounds_local:
        return None
    tree = shapely.STRtree(list(compounds_local))
    cents = shapely.get_coordinates(shapely.centroid(np.asarray(list(buildings_local), dtype=object)))
    as_read = _share_inside(tree, cents[:, 0], cents[:, 1])
    best = (as_read, "", 0.0)
    for name, dx, dy in _shift_vectors_m(lon, lat):
        share = _share_inside(tree, cents[:, 0] + dx, cents[:, 1] + dy)
        if share > best[0]:
            best = (share, name, math.hypot(dx, dy))
    share, name, dist = best
    if not name or share < ALIGN_MIN_SHARE or share < 2 * as_read + 0.1:
        return None
    return _(
        "{source}: its buildings line up with the compounds only when moved {dist_m} m (the offset between "
        "{name} here): {as_read} of footprints lie in a compound as read, {moved} moved; one file is "
        "probably in another coordinate system than patrol read it in (compounds as {crs_compounds}, buildings "
        "as {crs_buildings}): check --crs and FILE:CRS (docs/inputs.md)"
    ).format(
        source=source,
        dist_m=f"{dist:.0f}",
        name=_(name),
        as_read=f"{as_read:.0%}",
        moved=f"{share:.0%}",
        crs_compounds=crs_compounds,
        crs_buildings=crs_buildings,
    )
