"""The shape of a package's documents, checked once when the package is read.

A package is usually what ``patrol plan`` wrote, but it may have been edited by hand, copied half, or damaged;
every consumer (check, upload, fly, maps, audit) reads ``manifest.json``, ``route.geojson`` and
``buildings.geojson`` through :func:`patrol.package.reader.read_package`, which calls these checks so that a
damaged document is refused with one line naming the file and the field, never a ``KeyError`` later on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from patrol.errors import InputError
from patrol.i18n import _

_PATROL_NUMBERS = ("alt_m", "max_alt_m", "nofly_buffer_m")
_PATROL_OPTIONAL = ("clearance_m", "lateral_clearance_m", "home_clearance_m", "transit_alt_m", "fence_margin_m")
_SORTIE_OPTIONAL = ("safe_alt_m", "predicted_time_s", "usable_endurance_s")
_SPEAKER_FIELDS = ("level_db_at_1m", "ambient_db", "snr_db", "absorption_db_per_km", "listener_height_m")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check_manifest(man: Any, path: Path, fix: str) -> None:
    """Refuse a manifest missing or mistyping what the package's readers use (one line naming the field)."""

    def bad(field: str, want: str) -> InputError:
        return InputError(
            _("{path}: {field} is missing or not {want}; {fix}").format(path=path, field=field, want=want, fix=fix)
        )

    if not isinstance(man, dict):
        raise InputError(_("{path}: not a patrol manifest; {fix}").format(path=path, fix=fix))
    frame = man.get("frame")
    if not isinstance(frame, dict) or not all(_is_number(frame.get(k)) for k in ("lon0", "lat0")):
        raise bad("frame.lon0/lat0", _("a number"))
    if not (abs(frame["lon0"]) <= 180 and abs(frame["lat0"]) <= 90):
        raise bad("frame.lon0/lat0", _("a WGS-84 lon/lat"))
    params = man.get("parameters")
    if not isinstance(params, dict) or not isinstance(params.get("patrol"), dict):
        raise bad("parameters.patrol", _("an object"))
    for k in _PATROL_NUMBERS:
        if not _is_number(params["patrol"].get(k)):
            raise bad(f"parameters.patrol.{k}", _("a number"))
    for k in _PATROL_OPTIONAL:
        if params["patrol"].get(k) is not None and not _is_number(params["patrol"][k]):
            raise bad(f"parameters.patrol.{k}", _("a number"))
    speaker = params.get("speaker", {})
    if not isinstance(speaker, dict) or any(k not in _SPEAKER_FIELDS or not _is_number(v) for k, v in speaker.items()):
        raise bad("parameters.speaker", _("an object of numbers ({fields})").format(fields=", ".join(_SPEAKER_FIELDS)))
    home = man.get("home")
    if home is not None and (not isinstance(home, dict) or not all(_is_number(home.get(k)) for k in ("lon", "lat"))):
        raise bad("home", _("an object with lon and lat"))
    sorties = man.get("sorties", [])
    if not isinstance(sorties, list):
        raise bad("sorties", _("a list"))
    for k, s in enumerate(sorties, start=1):
        index = s.get("index") if isinstance(s, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= 99:
            raise bad(f"sorties[{k}].index", _("a sortie number from 1 to 99"))
        for key in _SORTIE_OPTIONAL:
            if s.get(key) is not None and not _is_number(s[key]):
                raise bad(f"sorties[{k}].{key}", _("a number"))
    compounds = man.get("compounds", [])
    if not isinstance(compounds, list) or not all(isinstance(c, dict) and "id" in c for c in compounds):
        raise bad("compounds", _("a list of objects with an id"))


def check_features(doc: Any, path: Path, fix: str, height: bool = False) -> tuple[dict[str, Any], ...]:
    """The features of a package GeoJSON whose geometry shapely reads; one line naming a damaged one.

    Features without a geometry or properties object are left out (as the reader always did); with ``height``
    (``buildings.geojson``) each must carry a positive ``height_m``.
    """
    from shapely.geometry import shape

    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise InputError(_("{path}: not a GeoJSON FeatureCollection; {fix}").format(path=path, fix=fix))
    out = []
    for k, feat in enumerate(doc["features"], start=1):
        if not (isinstance(feat, dict) and isinstance(feat.get("geometry"), dict)):
            continue
        if not isinstance(feat.get("properties"), dict):
            continue
        try:
            geom = shape(feat["geometry"])
            ok = not geom.is_empty and bool(all(math.isfinite(c) for c in geom.bounds))
        except Exception:  # shapely raises several types for malformed coordinates
            ok = False
        if not ok:
            raise InputError(
                _("{path}: feature {k} has a damaged or empty geometry; {fix}").format(path=path, k=k, fix=fix)
            )
        if height and not (_is_number(feat["properties"].get("height_m")) and feat["properties"]["height_m"] > 0):
            raise InputError(_("{path}: feature {k} has no positive height_m; {fix}").format(path=path, k=k, fix=fix))
        out.append(feat)
    return tuple(out)
