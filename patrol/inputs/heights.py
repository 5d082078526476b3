"""Lengths as OpenStreetMap and operators write them: ``"45"``, ``"45 m"``, ``"12.13 m"``, ``"12 ft"``, ``6'6"``."""

from __future__ import annotations

import re

FOOT_M = 0.3048
INCH_M = 0.0254
_METRES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:m|metres?|meters?|米)?\s*$", re.IGNORECASE)
_FEET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:ft|feet|foot|')\s*(?:(\d+(?:\.\d+)?)\s*(?:in|\"|''))?\s*$", re.I)


def parse_length_m(value: object) -> float | None:
    """Metres from a number or a length with a unit (m, ft, feet and inches); ``None`` if it is not one.

    A decimal comma is read as a point. OSM's default unit is the metre.

    >>> [parse_length_m(v) for v in ("45", "12.13 m", "45m", "30", 30, "3,5", "tall", "-3", "")]
    [45.0, 12.13, 45.0, 30.0, 30.0, 3.5, None, None, None]
    >>> round(parse_length_m("12 ft"), 4), round(parse_length_m("6'6\\""), 4)
    (3.6576, 1.9812)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if value == value else None
    text = str(value).strip().replace(",", ".") if str(value).count(",") == 1 else str(value).strip()
    m = _METRES.match(text)
    if m:
        return float(m.group(1))
    m = _FEET.match(text)
    if m:
        return float(m.group(1)) * FOOT_M + (float(m.group(2)) * INCH_M if m.group(2) else 0.0)
    return None
