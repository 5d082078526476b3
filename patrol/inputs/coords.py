"""Points the operator types: ``LAT,LON`` or ``LAT,LON:CRS``, checked, moved to WGS-84, named in errors."""

from __future__ import annotations

from patrol import i18n
from patrol.errors import InputError
from patrol.inputs.crs import CRS_HELP, WGS84, crs_suggestion, normalise_crs, to_wgs84
from patrol.inputs.sources import check_crs


def parse_point(
    value: str | None, what: str = "--home", crs: str | None = None
) -> tuple[float | None, float | None, str]:
    """``(lat, lon, crs)`` in WGS-84 from ``"LAT,LON"`` or ``"LAT,LON:CRS"`` (``crs`` applies without a suffix).

    ``crs`` is the system the point was typed in (the suffix, else ``crs``, else ``wgs84``); the returned
    lat/lon are WGS-84 whatever it was. ``(None, None, crs)`` for an empty value. One line naming ``what``
    for anything else.

    >>> lat, lon, crs = parse_point("39.91334545536069,116.38404722455657:gcj02")
    >>> round(lat, 6), round(lon, 6), crs
    (39.911954, 116.377817, 'gcj02')
    """
    given = check_crs(crs, "--crs") if crs else WGS84
    if not value:
        return None, None, given
    text = value
    head, sep, tail = value.rpartition(":")
    if sep:
        canon = normalise_crs(tail)
        if canon is None:
            raise InputError(
                i18n._("{what} {value}: unknown coordinate system {tail}{crs_suggestion}; {crs_help}").format(
                    what=what,
                    value=repr(value),
                    tail=repr(tail),
                    crs_suggestion=crs_suggestion(tail),
                    crs_help=i18n._(CRS_HELP),
                )
            )
        given, text = canon, head
    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise InputError(
            i18n._(
                "{what} {value}: give LAT,LON in degrees (optionally :gcj02 or :bd09), e.g. {what} 38.4150,112.7300"
            ).format(what=what, value=repr(value))
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(
            i18n._("{what} {value}: LAT must be within ±90 and LON within ±180 (order is LAT,LON)").format(
                what=what, value=repr(value)
            )
        )
    w_lon, w_lat = to_wgs84(given, lon, lat)
    return float(w_lat), float(w_lon), given


def parse_latlon(value: str | None, what: str = "--home", crs: str | None = None) -> tuple[float | None, float | None]:
    """``(lat, lon)`` in WGS-84 from ``"LAT,LON"`` (or ``"LAT,LON:CRS"``; see :func:`parse_point`).

    >>> parse_latlon("38.4105,112.7270")
    (38.4105, 112.727)
    >>> parse_latlon(None)
    (None, None)
    """
    lat, lon, _ = parse_point(value, what, crs)
    return lat, lon
