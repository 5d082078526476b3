"""Points the operator types: ``LAT,LON`` in degrees, checked and named in errors."""

from __future__ import annotations

from patrol.errors import InputError


def parse_latlon(value: str | None, what: str = "--home") -> tuple[float | None, float | None]:
    """``(lat, lon)`` from ``"LAT,LON"`` (``(None, None)`` for an empty value); one line naming ``what``.

    >>> parse_latlon("38.4105,112.7270")
    (38.4105, 112.727)
    >>> parse_latlon(None)
    (None, None)
    """
    if not value:
        return None, None
    try:
        lat_s, lon_s = value.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise InputError(f"{what} {value!r}: give LAT,LON in degrees, e.g. {what} 38.4150,112.7300") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"{what} {value!r}: LAT must be within ±90 and LON within ±180 (order is LAT,LON)")
    return lat, lon
