"""Chinese map coordinates: WGS-84, GCJ-02 (Amap, Tencent, Ovital on Amap) and BD-09 (Baidu), both ways.

Pure, numpy-vectorised functions (scalars or arrays of lon/lat degrees in, arrays out).

- ``wgs84_to_gcj02`` is the published (leaked) GCJ-02 forward formula with the Krasovsky 1940 constants
  (a = 6378245 m, e² = 0.00669342162296594323), the form every reference implementation agrees on.
- ``gcj02_to_wgs84`` inverts it by iteration (``w <- w - (f(w) - g)``) until the forward transform of the
  answer is within :data:`INVERSE_TOLERANCE_DEG` (about 0.1 mm) of the input; the one-step inverse many
  libraries use is wrong by up to 4.85 m.
- BD-09 is GCJ-02 plus Baidu's own rotation and shift; ``bd09_to_gcj02`` iterates too (the closed-form
  inverse is off by up to 0.2 m), and ``bd09_to_wgs84`` goes through GCJ-02.

Points outside mainland China are returned unchanged, as the Chinese map services leave them. The boundary
test, :func:`in_mainland_china`, is the union of six rectangles minus six rectangles that several
coordinate libraries share (about mainland China's outline, cut back from Taiwan, northern Vietnam,
Mongolia and Russia), minus two small polygons drawn for patrol round Hong Kong and Macau, plus two
pieces patrol adds back (the Paracel Islands, and Heihe on the Amur, which the Russia rectangle cuts
off; both are places gcoord's city list shifts). Its limits (the
readers act on them, see :func:`ambiguous_region`): within about 20 km of a land border the rectangles
can be wrong either way (parts of Mongolia, Korea, Myanmar, Laos, Kazakhstan count as inside; a few
Chinese border towns as outside); the Hong Kong and Macau outlines are good to about 2 km at the
Shenzhen and Zhuhai boundaries; and what a given service does in Hong Kong, Macau and Taiwan differs
(Baidu shifts all three, others do not), so a converted point there cannot be trusted either way.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(116.377817, 39.911954)   # Beijing, eviltransform's test vector
>>> round(float(lon), 9), round(float(lat), 9)
(116.384047225, 39.913345455)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(float(back[0]), 9), round(float(back[1]), 9)
(116.377817, 39.911954)
>>> wgs84_to_gcj02(2.2945, 48.8584)                   # Paris: outside China, unchanged
(array(2.2945), array(48.8584))
"""

from __future__ import annotations

import difflib
import math

import numpy as np
import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from patrol.i18n import N_, _

WGS84, GCJ02, BD09 = "wgs84", "gcj02", "bd09"
CRS_NAMES: tuple[str, ...] = (WGS84, GCJ02, BD09)
"""The coordinate systems patrol reads; everything inside patrol and everything it writes is WGS-84."""

CRS_ALIASES: dict[str, str] = {
    "wgs84": WGS84,
    "wgs-84": WGS84,
    "wgs": WGS84,
    "epsg:4326": WGS84,
    "crs84": WGS84,
    "cgcs2000": WGS84,  # Tianditu's datum: within centimetres of WGS-84, no offset
    "gcj02": GCJ02,
    "gcj-02": GCJ02,
    "gcj": GCJ02,
    "bd09": BD09,
    "bd-09": BD09,
    "bd09ll": BD09,
}

CRS_HELP = N_("use wgs84 (GPS, OpenStreetMap, Tianditu), gcj02 (Amap, Tencent) or bd09 (Baidu)")  # _(CRS_HELP) shown

A_KRASOVSKY_M = 6378245.0
EE_KRASOVSKY = 0.00669342162296594323
X_PI = math.pi * 3000.0 / 180.0
INVERSE_TOLERANCE_DEG = 1e-9
"""Iterated inverses stop when the forward transform of the answer is this close to the input (~0.1 mm)."""
MAX_ITERATIONS = 30

# (lon_min, lat_min, lon_max, lat_max)
_INSIDE_BOXES = (
    (79.446200, 42.889900, 96.330000, 49.220400),
    (109.687200, 39.374200, 135.000200, 54.141500),
    (73.124600, 29.529700, 124.143255, 42.889900),
    (82.968400, 26.718600, 97.035200, 29.529700),
    (97.025300, 20.414096, 124.367395, 29.529700),
    (107.975793, 17.871542, 111.744104, 20.414096),
    (111.0, 15.7, 113.0, 17.2),  # the Paracel Islands (Sansha): added for patrol
)
_OUTSIDE_BOXES = (
    (119.921265, 21.785006, 122.497559, 25.398623),  # Taiwan
    (101.865200, 20.098800, 106.665000, 22.284000),  # northern Vietnam, Laos
    (106.452500, 20.487800, 108.051000, 21.542200),  # Vietnam's coast
    (109.032300, 50.325700, 119.127000, 55.817500),  # Mongolia, Russia
    (127.456800, 49.557400, 137.022700, 55.817500),  # Russia
    (131.266200, 42.569200, 137.022700, 44.892200),  # Russia (Primorye)
)
_HONG_KONG = Polygon(
    [
        (113.83, 22.20),
        (113.83, 22.35),
        (113.90, 22.44),
        (113.96, 22.50),
        (114.03, 22.505),
        (114.08, 22.515),
        (114.11, 22.53),
        (114.16, 22.56),
        (114.22, 22.555),
        (114.28, 22.56),
        (114.37, 22.48),
        (114.45, 22.40),
        (114.50, 22.15),
        (114.00, 22.13),
    ]
)
_MACAU = box(113.528, 22.109, 113.598, 22.217)
# Heihe and the Amur's Chinese bank, which the Russia rectangle above cuts off (drawn for patrol)
_HEIHE = Polygon([(127.4568, 49.5574), (127.4568, 50.30), (127.60, 50.22), (128.0, 49.90), (128.8, 49.5574)])
_TAIWAN = box(*_OUTSIDE_BOXES[0])

MAINLAND: BaseGeometry = shapely.union(
    shapely.difference(
        shapely.union_all([box(*b) for b in _INSIDE_BOXES]),
        shapely.union_all([*(box(*b) for b in _OUTSIDE_BOXES), _HONG_KONG, _MACAU]),
    ),
    _HEIHE,
)
"""The region :func:`in_mainland_china` tests against, lon/lat degrees."""
shapely.prepare(MAINLAND)
AMBIGUOUS: dict[str, BaseGeometry] = {"Hong Kong": _HONG_KONG, "Macau": _MACAU, "Taiwan": _TAIWAN}
"""Places where map services differ on whether they shift coordinates."""
EDGE_WARNING_DEG = 0.2
"""Points this close (about 20 km) to the edge of :data:`MAINLAND` on land may be classed wrongly."""


def normalise_crs(name: str) -> str | None:
    """The canonical name (``wgs84``, ``gcj02``, ``bd09``) of a CRS name or alias, else ``None``.

    >>> normalise_crs("GCJ-02"), normalise_crs("CGCS2000"), normalise_crs("mars")
    ('gcj02', 'wgs84', None)
    """
    return CRS_ALIASES.get(str(name).strip().lower())


def crs_suggestion(name: str) -> str:
    """``" (did you mean gcj02?)"`` for a near miss of a CRS name, else ``""``."""
    close = difflib.get_close_matches(str(name).strip().lower(), list(CRS_ALIASES), n=1, cutoff=0.6)
    return _(" (did you mean {crs}?)").format(crs=CRS_ALIASES[close[0]]) if close else ""


def in_mainland_china(lon: np.ndarray | float, lat: np.ndarray | float) -> np.ndarray:
    """True where a point lies inside :data:`MAINLAND`, where GCJ-02 and BD-09 apply.

    >>> in_mainland_china([116.4, 114.17, 113.55, 121.5, 2.29], [39.9, 22.3, 22.19, 25.03, 48.86]).tolist()
    [True, False, False, False, False]
    """
    return np.asarray(shapely.contains_xy(MAINLAND, np.asarray(lon, float), np.asarray(lat, float)), dtype=bool)


def ambiguous_region(lon: float, lat: float) -> str | None:
    """Where a shifted coordinate cannot be trusted: ``"Hong Kong"``, ``"Macau"``, ``"Taiwan"``,
    ``"border"`` (within :data:`EDGE_WARNING_DEG` of the test's edge), or ``None``.

    >>> ambiguous_region(114.17, 22.30), ambiguous_region(116.40, 39.90), ambiguous_region(79.5, 45.0)
    ('Hong Kong', None, 'border')
    """
    pt = shapely.Point(lon, lat)
    for name, geom in AMBIGUOUS.items():
        if geom.covers(pt):
            return name
    if MAINLAND.boundary.distance(pt) < EDGE_WARNING_DEG and MAINLAND.buffer(EDGE_WARNING_DEG).covers(pt):
        return "border"
    return None


def _delta_deg(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS-84 ``lon``, ``lat``."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    magic = 1.0 - EE_KRASOVSKY * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((A_KRASOVSKY_M * (1.0 - EE_KRASOVSKY)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (A_KRASOVSKY_M / sqrt_magic * np.cos(rad) * pi)
    return dlon, dlat


def _arrays(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.copy(), lat_a.copy()


def _mask(lon: np.ndarray, lat: np.ndarray, inside: np.ndarray | bool | None) -> np.ndarray:
    if inside is None:
        return in_mainland_china(lon, lat)
    return np.broadcast_to(np.asarray(inside, dtype=bool), lon.shape)


def wgs84_to_gcj02(
    lon: np.ndarray | float, lat: np.ndarray | float, inside: np.ndarray | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 ``(lon, lat)`` of WGS-84 points; points outside mainland China come back unchanged.

    ``inside`` overrides the boundary test (``True``: shift every point, e.g. all the vertices of one
    outline, so that an outline crossing the boundary is not torn).
    """
    lon_a, lat_a = _arrays(lon, lat)
    m = _mask(lon_a, lat_a, inside)
    dlon, dlat = _delta_deg(lon_a[m], lat_a[m])
    lon_a[m] += dlon
    lat_a[m] += dlat
    return lon_a, lat_a


def gcj02_to_wgs84(
    lon: np.ndarray | float, lat: np.ndarray | float, inside: np.ndarray | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 ``(lon, lat)`` of GCJ-02 points, the exact inverse of :func:`wgs84_to_gcj02` (iterated).

    The answer's forward transform is within :data:`INVERSE_TOLERANCE_DEG` of the input (about 0.1 mm;
    it converges in 3-5 steps). ``inside`` as in :func:`wgs84_to_gcj02`; by default a GCJ-02 point is
    tested where it lies (the shift is at most about 700 m).

    >>> lon, lat = gcj02_to_wgs84(116.404, 39.915)  # coordtransform's input; its one-step answer is 6 cm off
    >>> f = wgs84_to_gcj02(lon, lat)
    >>> abs(float(f[0]) - 116.404) < 1e-9 and abs(float(f[1]) - 39.915) < 1e-9
    True
    """
    g_lon, g_lat = _arrays(lon, lat)
    m = _mask(g_lon, g_lat, inside)
    out_lon, out_lat = g_lon.copy(), g_lat.copy()
    gx, gy = g_lon[m], g_lat[m]
    wx, wy = gx.copy(), gy.copy()
    for _step in range(MAX_ITERATIONS):
        dx, dy = _delta_deg(wx, wy)
        ex, ey = wx + dx - gx, wy + dy - gy
        wx, wy = wx - ex, wy - ey
        if ex.size == 0 or max(float(np.max(np.abs(ex))), float(np.max(np.abs(ey)))) < INVERSE_TOLERANCE_DEG:
            break
    out_lon[m], out_lat[m] = wx, wy
    return out_lon, out_lat


def _gcj_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(
    lon: np.ndarray | float, lat: np.ndarray | float, inside: np.ndarray | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 ``(lon, lat)`` of GCJ-02 points (Baidu's forward formula); outside mainland China unchanged.

    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)   # coordtransform's test vector
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.410369494, 39.921336994)
    """
    lon_a, lat_a = _arrays(lon, lat)
    m = _mask(lon_a, lat_a, inside)
    lon_a[m], lat_a[m] = _gcj_to_bd(lon_a[m], lat_a[m])
    return lon_a, lat_a


def bd09_to_gcj02(
    lon: np.ndarray | float, lat: np.ndarray | float, inside: np.ndarray | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 ``(lon, lat)`` of BD-09 points: the exact (iterated) inverse of :func:`gcj02_to_bd09`.

    >>> lon, lat = bd09_to_gcj02(112.9778, 22.915835)  # AMap's official convert API: 112.97124803, 22.91014091
    >>> round(float(lon), 7), round(float(lat), 7)
    (112.971248, 22.9101409)
    """
    b_lon, b_lat = _arrays(lon, lat)
    m = _mask(b_lon, b_lat, inside)
    out_lon, out_lat = b_lon.copy(), b_lat.copy()
    bx, by = b_lon[m], b_lat[m]
    gx, gy = bx - 0.0065, by - 0.006
    for _step in range(MAX_ITERATIONS):
        fx, fy = _gcj_to_bd(gx, gy)
        ex, ey = fx - bx, fy - by
        gx, gy = gx - ex, gy - ey
        if ex.size == 0 or max(float(np.max(np.abs(ex))), float(np.max(np.abs(ey)))) < INVERSE_TOLERANCE_DEG:
            break
    out_lon[m], out_lat[m] = gx, gy
    return out_lon, out_lat


def wgs84_to_bd09(
    lon: np.ndarray | float, lat: np.ndarray | float, inside: np.ndarray | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 of WGS-84 points, through GCJ-02."""
    lon_a, lat_a = _arrays(lon, lat)
    m = _mask(lon_a, lat_a, inside)
    return gcj02_to_bd09(*wgs84_to_gcj02(lon_a, lat_a, m), m)


def bd09_to_wgs84(
    lon: np.ndarray | float, lat: np.ndarray | float, inside: np.ndarray | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 of BD-09 points, through GCJ-02 (both steps iterated)."""
    lon_a, lat_a = _arrays(lon, lat)
    m = _mask(lon_a, lat_a, inside)
    return gcj02_to_wgs84(*bd09_to_gcj02(lon_a, lat_a, m), m)


def to_wgs84(
    crs: str, lon: np.ndarray | float, lat: np.ndarray | float, inside: np.ndarray | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 of points given in ``crs`` (a canonical name from :data:`CRS_NAMES`)."""
    if crs == GCJ02:
        return gcj02_to_wgs84(lon, lat, inside)
    if crs == BD09:
        return bd09_to_wgs84(lon, lat, inside)
    return _arrays(lon, lat)


def from_wgs84(
    crs: str, lon: np.ndarray | float, lat: np.ndarray | float, inside: np.ndarray | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Points in ``crs`` of WGS-84 points (the inverse of :func:`to_wgs84`)."""
    if crs == GCJ02:
        return wgs84_to_gcj02(lon, lat, inside)
    if crs == BD09:
        return wgs84_to_bd09(lon, lat, inside)
    return _arrays(lon, lat)


def geom_to_wgs84(crs: str, geom: BaseGeometry, inside: bool | None = None) -> BaseGeometry:
    """A lon/lat shapely geometry given in ``crs``, moved to WGS-84 (every vertex with the same ``inside``)."""
    if crs == WGS84:
        return geom
    return shapely.transform(geom, lambda c: np.column_stack(to_wgs84(crs, c[:, 0], c[:, 1], inside)))


def gcj_shift_m(lon: float, lat: float) -> tuple[float, float]:
    """East and north metres from a WGS-84 point to its GCJ-02 position (0, 0 outside mainland China).

    >>> e, n = gcj_shift_m(116.377817, 39.911954)
    >>> round(e), round(n)
    (532, 154)
    """
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    east = (float(g_lon) - lon) * math.cos(math.radians(lat)) * 111_320.0
    north = (float(g_lat) - lat) * 110_574.0
    return east, north
