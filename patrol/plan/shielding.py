"""Buildings and rotor noise in the acoustic model: what a listener at ear height really hears.

Model (docs/acoustics.md, "Buildings and rotor noise"):

- **Shielding.** A building is a prism (footprint, flat roof at ``height_m``). Where the straight path from
  the speaker to an ear (``Speaker.listener_height_m`` above the ground) passes through a prism, sound
  reaches the ear over the roofs: the path is the taut string over the roof profile in the vertical plane
  through speaker and ear, ``delta`` metres longer than the direct path. The level drops by Maekawa's
  barrier attenuation ``10 log10(3 + 20 N)`` with the Fresnel number ``N = 2 delta / lambda`` at 1 kHz
  (``lambda`` = 0.343 m), capped at 20 dB, the cap ISO 9613-2 puts on single diffraction. An unobstructed
  path loses nothing, so with no buildings the model is the disc of :func:`patrol.plan.acoustics.audible_radius_m`.
- **Rotor noise.** The airframe is a second source at the speaker, ``rotor_db`` at 1 m, added to the ambient
  noise by energy. It spreads, is absorbed and is screened like the speaker's sound, so the speaker-to-rotor
  ratio is the same everywhere: the rotor lowers the speaker's useful level by a constant
  :func:`rotor_penalty_db` (and masks it everywhere when the speaker is not ``snr_db`` above the rotor).

Limits: no reflections (courtyard walls would add level: the model is conservative there), no ground
effect, no diffraction around the sides of a building (only over it), flat ground at the home's level,
one frequency (1 kHz, where speech intelligibility lives), the rotor screened as the speaker is.

In use: :class:`Shield` (the buildings as :func:`patrol.plan.coverage.hear` takes them) screens the planner's
prediction and the audit alike, every speaker-ear path at once (:func:`screened`); :func:`path_difference_m`
is the per-path reference it is tested against. The rotor penalty is not applied by plan or audit (there is
no measured default to cite, so no ``--rotor-db``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString

from patrol.errors import PlanningError
from patrol.plan.acoustics import audible_radius_m, received_level_db
from patrol.types import Building, Speaker

SPEED_OF_SOUND_MPS = 343.0
FREQ_HZ = 1000.0  # the frequency the screening is taken at (speech band, ISO 9613-2 octave 1 kHz)
MAX_SCREENING_DB = 20.0  # ISO 9613-2 caps single-diffraction screening at 20 dB
EDGE_ROWS = 2_000_000  # path x edge rows tested at once (about 0.5 GB of temporaries)
PATHS_AT_ONCE = 200_000  # paths screened at once


def maekawa_db(path_difference_m: np.ndarray | float, freq_hz: float = FREQ_HZ) -> np.ndarray:
    """Barrier attenuation (dB) for a path ``path_difference_m`` longer than the direct one.

    ``10 log10(3 + 20 N)``, ``N = 2 delta f / c``, capped at :data:`MAX_SCREENING_DB`; 0 where the path
    difference is 0 or less (an unobstructed path).

    >>> float(maekawa_db(0.0)), round(float(maekawa_db(0.343)), 2), float(maekawa_db(100.0))
    (0.0, 16.33, 20.0)
    """
    d = np.asarray(path_difference_m, float)
    n = 2.0 * np.maximum(d, 0.0) * freq_hz / SPEED_OF_SOUND_MPS
    att = np.minimum(10.0 * np.log10(3.0 + 20.0 * n), MAX_SCREENING_DB)
    return np.where(d > 0.0, att, 0.0)


def rotor_penalty_db(speaker: Speaker, rotor_db: float | None) -> float:
    """How many dB the rotor noise takes off the speaker's useful level (``inf``: masked everywhere).

    Speaker and rotor fall off alike, so ``S >= snr + (A (+) R)`` at every distance is
    ``S + 10 log10(1 - 10^((snr + R1 - L1) / 10)) >= A + snr``. ``None``: no rotor noise, 0 dB.

    >>> rotor_penalty_db(Speaker(), None)
    0.0
    >>> round(rotor_penalty_db(Speaker(level_db_at_1m=100.0, snr_db=10.0), 86.0), 2)
    2.2
    """
    if rotor_db is None:
        return 0.0
    q = 10.0 ** ((speaker.snr_db + rotor_db - speaker.level_db_at_1m) / 10.0)
    return math.inf if q >= 1.0 else -10.0 * math.log10(1.0 - q)


def _upper_hull_length(t: np.ndarray, z: np.ndarray) -> float:
    """Length of the upper convex hull (taut string) from the first to the last of points sorted by ``t``."""
    hull: list[tuple[float, float]] = []
    for p in zip(t.tolist(), z.tolist(), strict=True):
        while len(hull) >= 2:
            (ax, az), (bx, bz) = hull[-2], hull[-1]
            if (bx - ax) * (p[1] - az) - (bz - az) * (p[0] - ax) >= 0.0:  # b lies on or below a->p
                hull.pop()
            else:
                break
        hull.append(p)
    h = np.array(hull)
    return float(np.hypot(*np.diff(h, axis=0).T).sum())


def path_difference_m(
    source_xyz: tuple[float, float, float],
    ear_xyz: tuple[float, float, float],
    buildings: Sequence[Building],
    tree: shapely.STRtree | None = None,
) -> float:
    """How much longer (m) the path over the roofs is than the straight one; 0 where nothing is in the way.

    The roofs cut by the vertical plane through source and ear, seen from the ear, form a profile; the sound
    goes over its upper convex hull. ``tree`` is an STRtree of the footprints (built when ``None``).
    """
    sx, sy, sz = source_xyz
    ex, ey, ez = ear_xyz
    g = math.hypot(sx - ex, sy - ey)
    if not buildings or g < 1e-9:
        return 0.0
    line = LineString([(ex, ey), (sx, sy)])
    tree = tree or shapely.STRtree([b.geometry for b in buildings])
    ts, zs = [0.0, g], [ez, sz]
    for k in tree.query(line, predicate="intersects"):
        b = buildings[int(k)]
        cut = line.intersection(b.geometry)
        for part in getattr(cut, "geoms", [cut]):
            for x, y in np.asarray(part.coords)[:, :2] if not part.is_empty else ():
                ts.append(math.hypot(x - ex, y - ey))
                zs.append(b.height_m)
    t, z = np.array(ts), np.array(zs)
    above = z > ez + (sz - ez) * t / g + 1e-9  # roof edges above the straight line
    if not above[2:].any():
        return 0.0
    order = 2 + np.lexsort((z[2:], t[2:]))  # the ear first, the roof edges by distance (lower first), the source last
    order = np.concatenate([[0], order, [1]])
    return max(_upper_hull_length(t[order], z[order]) - math.hypot(g, sz - ez), 0.0)


def heard_from(
    speaker: Speaker,
    source_xyz: tuple[float, float, float],
    ears_xy: np.ndarray,
    buildings: Sequence[Building] = (),
    rotor_db: float | None = None,
    tree: shapely.STRtree | None = None,
) -> np.ndarray:
    """Per ground point of ``ears_xy`` ``(N, 2)``: does it hear the speaker at ``source_xyz`` (metres, ``z``
    above the ground) over the ambient and rotor noise, through the buildings?

    With no buildings and no rotor this is exactly today's disc: ground distance within
    :func:`patrol.plan.acoustics.audible_radius_m` at that altitude. A building never adds a point. The
    screening is the bulk :func:`screened` (``tree`` is accepted for compatibility and not needed).
    """
    pts = np.asarray(ears_xy, float).reshape(-1, 2)
    out = np.zeros(len(pts), bool)
    pen = rotor_penalty_db(speaker, rotor_db)
    if not math.isfinite(pen):
        return out
    loud = Speaker(
        speaker.level_db_at_1m - pen,
        speaker.ambient_db,
        speaker.snr_db,
        speaker.absorption_db_per_km,
        speaker.listener_height_m,
    )
    try:
        r = audible_radius_m(loud, source_xyz[2])[1]
    except PlanningError:  # too high to be heard at all
        return out
    d2 = (pts[:, 0] - source_xyz[0]) ** 2 + (pts[:, 1] - source_xyz[1]) ** 2
    out = d2 <= r * r
    if not buildings or not out.any():
        return out
    idx = np.flatnonzero(out)
    e = speaker.listener_height_m
    slant = np.sqrt(d2[idx] + (source_xyz[2] - e) ** 2)
    margin = np.array([received_level_db(loud, float(d)) for d in slant]) - (speaker.ambient_db + speaker.snr_db)
    src = np.broadcast_to(np.asarray(source_xyz, float), (len(idx), 3))
    out[idx[screened(Screens.of(buildings), pts[idx], src, e, margin)]] = False
    return out


GRAZING_DB = float(10.0 * np.log10(3.0))  # Maekawa's attenuation at grazing incidence: the least a shadow costs


@dataclass(frozen=True, eq=False)
class Screens:
    """Building prisms prepared for screening many speaker-to-ear paths at once (:func:`screened`).

    ``edges`` holds every ring edge of every footprint ``(x0, y0, x1, y1)``, those of building ``k`` at
    ``first_edge[k]:first_edge[k + 1]``; the footprints are indexed by STRtrees per height band (``bands``:
    the band's tallest roof, the buildings' indices, their tree), so that a path is looked up only over the
    stretch near the ear where it is low enough to pass through a roof of that band. One band by default:
    the lines a band needs cost more to build than the shorter look-ups save.
    """

    height_m: np.ndarray
    bbox: np.ndarray  # (B, 4) minx, miny, maxx, maxy of each footprint
    edges: np.ndarray
    first_edge: np.ndarray
    bands: tuple[tuple[float, np.ndarray, shapely.STRtree], ...]

    @staticmethod
    def of(buildings: Sequence[Building], bands: int = 1) -> Screens:
        """The screens of ``buildings`` (footprints in local metres, polygons with holes or multipolygons)."""
        geoms = np.array([b.geometry for b in buildings], dtype=object)
        heights = np.array([float(b.height_m) for b in buildings], float)
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        xy, pt_ring = shapely.get_coordinates(rings, return_index=True)
        same = pt_ring[1:] == pt_ring[:-1]  # consecutive vertices of one ring make an edge
        edges = np.column_stack([xy[:-1][same], xy[1:][same]])
        edge_bld = part_of[ring_of[pt_ring[:-1][same]]]
        order = np.argsort(edge_bld, kind="stable")
        edges, edge_bld = edges[order], edge_bld[order]
        first = np.searchsorted(edge_bld, np.arange(len(geoms) + 1))
        out = []
        if len(geoms):
            by_h = np.argsort(heights, kind="stable")
            for chunk in np.array_split(by_h, min(bands, len(geoms))):
                out.append((float(heights[chunk].max()), chunk, shapely.STRtree(geoms[chunk])))
        bbox = shapely.bounds(geoms).reshape(-1, 4)
        return Screens(heights, bbox, edges, first, tuple(out))


def _meets_box(
    box: np.ndarray, x0: np.ndarray, y0: np.ndarray, dx: np.ndarray, dy: np.ndarray, reach: np.ndarray
) -> np.ndarray:
    """Per row: does the segment ``(x0, y0) + s (dx, dy)``, ``0 <= s <= reach``, touch the box (slab test)?"""
    lo, hi = np.zeros(len(x0)), np.asarray(reach, float).copy()
    for o, d, bmin, bmax in ((x0, dx, box[:, 0], box[:, 2]), (y0, dy, box[:, 1], box[:, 3])):
        flat = np.abs(d) < 1e-12
        dd = np.where(flat, 1.0, d)
        a, b = (bmin - o) / dd, (bmax - o) / dd
        lo = np.where(flat, np.where((o >= bmin) & (o <= bmax), lo, np.inf), np.maximum(lo, np.minimum(a, b)))
        hi = np.where(flat, hi, np.minimum(hi, np.maximum(a, b)))
    return lo <= hi + 1e-12


def _roof_points(
    screens: Screens, ears_xy: np.ndarray, sources_xyz: np.ndarray, ear_h_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The roof edges above the line of sight of every path ``ear -> source``: ``(path, t_m, z_m)``, ``t`` the
    ground distance from the ear (the points :func:`path_difference_m` takes its hull over)."""
    e = ear_h_m
    ex, ey = ears_xy[:, 0], ears_xy[:, 1]
    sx, sy, sz = sources_xyz[:, 0], sources_xyz[:, 1], sources_xyz[:, 2]
    cand_p, cand_b = [], []
    for top_m, members, tree in screens.bands:
        if top_m <= e:
            continue  # no roof of this band rises above an ear
        rise = sz - e
        u = np.where(sz > top_m, (top_m - e) / np.where(rise > 0, rise, 1.0) * (1.0 + 1e-6) + 1e-9, 1.0)
        u = np.minimum(u, 1.0)
        ends = np.column_stack([ex + (sx - ex) * u, ey + (sy - ey) * u])
        lines = shapely.linestrings(np.stack([ears_xy, ends], axis=1))
        p, k = tree.query(lines)  # bounding boxes only: the exact test is below
        cand_p.append(p)
        cand_b.append(members[k])
    if not cand_p:
        return np.zeros(0, int), np.zeros(0), np.zeros(0)
    cp, cb = np.concatenate(cand_p), np.concatenate(cand_b)
    # the stretch of each path low enough to pass through this roof, against the footprint's bounding box
    hb = screens.height_m[cb]
    rise = sz[cp] - e
    reach = np.where(sz[cp] > hb, (hb - e) / np.where(rise > 0, rise, 1.0), 1.0)
    keep = (hb > e) & _meets_box(screens.bbox[cb], ex[cp], ey[cp], sx[cp] - ex[cp], sy[cp] - ey[cp], reach)
    cp, cb = cp[keep], cb[keep]
    n_edges = screens.first_edge[cb + 1] - screens.first_edge[cb]
    # path x edge rows in chunks of at most EDGE_ROWS: a long path over a city block meets thousands of edges
    bounds = np.searchsorted(np.cumsum(n_edges), np.arange(EDGE_ROWS, int(n_edges.sum()), EDGE_ROWS))
    parts = [
        _roof_hits(screens, ears_xy, sources_xyz, ear_h_m, cp[a:b], cb[a:b])
        for a, b in itertools.pairwise([0, *np.unique(bounds).tolist(), len(cp)])
        if b > a
    ]
    if not parts:
        return np.zeros(0, int), np.zeros(0), np.zeros(0)
    return tuple(np.concatenate(col) for col in zip(*parts, strict=True))  # type: ignore[return-value]


def _roof_hits(
    screens: Screens, ears_xy: np.ndarray, sources_xyz: np.ndarray, ear_h_m: float, cp: np.ndarray, cb: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_roof_points` for the candidate pairs ``(path cp[i], building cb[i])``: the exact tests."""
    e = ear_h_m
    ex, ey = ears_xy[:, 0], ears_xy[:, 1]
    sx, sy, sz = sources_xyz[:, 0], sources_xyz[:, 1], sources_xyz[:, 2]
    hb = screens.height_m[cb]
    n_edges = screens.first_edge[cb + 1] - screens.first_edge[cb]
    row = np.repeat(np.arange(len(cp)), n_edges)
    start = np.repeat(np.cumsum(n_edges) - n_edges, n_edges)
    ed = screens.edges[screens.first_edge[cb][row] + (np.arange(len(row)) - start)]
    pe = cp[row]
    x0, y0, x1, y1 = ed[:, 0], ed[:, 1], ed[:, 2], ed[:, 3]
    qx, qy = x0 - ex[pe], y0 - ey[pe]
    dx, dy = sx[pe] - ex[pe], sy[pe] - ey[pe]
    fx, fy = x1 - x0, y1 - y0
    den = dx * fy - dy * fx
    ok = den != 0.0
    den = np.where(ok, den, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):  # a near-parallel edge: far off, no hit
        s = (qx * fy - qy * fx) / den  # along the path, 0 at the ear, 1 at the source
        w = (qx * dy - qy * dx) / den  # along the edge
    h = hb[row]
    hit = ok & (s >= 0.0) & (s <= 1.0) & (w >= 0.0) & (w <= 1.0)
    hit &= h > e + (sz[pe] - e) * s + 1e-9
    g = np.hypot(sx - ex, sy - ey)
    out_p, out_t, out_z = [pe[hit]], [s[hit] * g[pe[hit]]], [h[hit]]
    # an end inside a footprint (even-odd over its rings): a roof straight above the ear, or above the source
    bb = screens.bbox[cb]
    for px, py, lift, at_t in ((ex, ey, np.full(len(sz), e), None), (sx, sy, sz, g)):
        maybe = (hb > lift[cp] + 1e-9) & (px[cp] >= bb[:, 0]) & (px[cp] <= bb[:, 2])
        maybe &= (py[cp] >= bb[:, 1]) & (py[cp] <= bb[:, 3])
        if not maybe.any():
            continue
        r = np.flatnonzero(maybe[row])
        cross = (y0[r] > py[pe[r]]) != (y1[r] > py[pe[r]])
        xc = x0[r] + (py[pe[r]] - y0[r]) * fx[r] / np.where(fy[r] != 0.0, fy[r], 1.0)
        odd = np.bincount(row[r][cross & (px[pe[r]] < xc)], minlength=len(cp)) % 2 == 1
        out_p.append(cp[odd])
        out_t.append(np.zeros(int(odd.sum())) if at_t is None else at_t[cp[odd]])
        out_z.append(hb[odd])
    return np.concatenate(out_p), np.concatenate(out_t), np.concatenate(out_z)


def _hull_excess_m(
    path: np.ndarray, t: np.ndarray, z: np.ndarray, g_m: np.ndarray, source_z_m: np.ndarray, ear_h_m: float
) -> np.ndarray:
    """Per path (``g_m``, ``source_z_m``: ground length and source height of each), the length of the taut string
    from the ear over its roof points ``(path, t, z)`` to the source, less the straight line: gift wrapping
    on the upper hull, every path at once."""
    n = len(g_m)
    order = np.lexsort((z, t, path))  # by path, then distance; of equal distance the higher last
    path, t, z = path[order], t[order], z[order]
    counts = np.bincount(path, minlength=n)
    k = int(counts.max(initial=0)) + 1
    col = np.arange(len(path)) - np.repeat(np.cumsum(counts) - counts, counts)
    T = np.full((n, k), np.nan)
    Z = np.full((n, k), np.nan)
    T[path, col] = t
    Z[path, col] = z
    T[np.arange(n), counts] = g_m  # the source closes every row
    Z[np.arange(n), counts] = source_z_m
    cur = np.full(n, -1)
    ct, cz = np.zeros(n), np.full(n, float(ear_h_m))
    length = np.zeros(n)
    live = np.arange(n)
    cols = np.arange(k)
    while len(live):
        dt = T[live] - ct[live, None]
        dz = Z[live] - cz[live, None]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            slope = np.where(dt > 1e-12, dz / dt, np.where(dz > 0.0, np.inf, -np.inf))
        slope[cols[None, :] <= cur[live, None]] = -np.inf
        slope[np.isnan(slope)] = -np.inf
        last = counts[live]
        slope[np.arange(len(live)), last] = np.maximum(slope[np.arange(len(live)), last], -1e300)  # always reachable
        nxt = k - 1 - np.argmax(slope[:, ::-1], axis=1)  # the steepest; of equals the farthest
        nt, nz = T[live, nxt], Z[live, nxt]
        length[live] += np.hypot(nt - ct[live], nz - cz[live])
        ct[live], cz[live], cur[live] = nt, nz, nxt
        live = live[nxt != last]
    return np.maximum(length - np.hypot(g_m, source_z_m - ear_h_m), 0.0)


def path_differences_m(screens: Screens, ears_xy: np.ndarray, sources_xyz: np.ndarray, ear_h_m: float) -> np.ndarray:
    """:func:`path_difference_m` for many paths at once: per pair ``ears_xy[i]`` ``(P, 2)`` at ``ear_h_m`` and
    ``sources_xyz[i]`` ``(P, 3)``, how much longer (m) the path over the roofs is than the straight one."""
    ears = np.asarray(ears_xy, float).reshape(-1, 2)
    src = np.asarray(sources_xyz, float).reshape(-1, 3)
    out = np.zeros(len(ears))
    if len(ears) == 0 or len(screens.height_m) == 0:
        return out
    p, t, z = _roof_points(screens, ears, src, ear_h_m)
    hit = np.unique(p)
    if len(hit) == 0:
        return out
    g = np.hypot(src[hit, 0] - ears[hit, 0], src[hit, 1] - ears[hit, 1])
    out[hit] = _hull_excess_m(np.searchsorted(hit, p), t, z, g, src[hit, 2], ear_h_m)
    return out


def screened(
    screens: Screens, ears_xy: np.ndarray, sources_xyz: np.ndarray, ear_h_m: float, margin_db: np.ndarray
) -> np.ndarray:
    """Per path ``ear -> source`` (as :func:`path_differences_m`): True where the buildings take the warning
    below the needed level, the path having ``margin_db`` dB to spare in the open.

    A path in the clear loses nothing; one through a roof loses :func:`maekawa_db` of its path difference,
    at least :data:`GRAZING_DB` and at most :data:`MAX_SCREENING_DB`, so the hull is computed only for the
    paths whose margin lies between the two. Never True for a path in the clear.
    """
    ears = np.asarray(ears_xy, float).reshape(-1, 2)
    src = np.asarray(sources_xyz, float).reshape(-1, 3)
    margin = np.broadcast_to(np.asarray(margin_db, float), (len(ears),))
    out = np.zeros(len(ears), bool)
    if len(ears) == 0 or len(screens.height_m) == 0:
        return out
    live = np.flatnonzero(margin < MAX_SCREENING_DB)  # more to spare than any screen takes: never screened
    if len(live) > PATHS_AT_ONCE:  # bounded memory: each path may meet many roofs
        for a in range(0, len(live), PATHS_AT_ONCE):
            at = live[a : a + PATHS_AT_ONCE]
            out[at] = screened(screens, ears[at], src[at], ear_h_m, margin[at])
        return out
    if len(live) == 0:
        return out
    p, t, z = _roof_points(screens, ears[live], src[live], ear_h_m)
    p = live[p]
    shadow = np.zeros(len(ears), bool)
    shadow[p] = True
    out = shadow & (margin < GRAZING_DB)
    doubt = np.flatnonzero(shadow & (margin >= GRAZING_DB) & (margin < MAX_SCREENING_DB))
    if len(doubt):
        keep = np.isin(p, doubt)
        g = np.hypot(src[doubt, 0] - ears[doubt, 0], src[doubt, 1] - ears[doubt, 1])
        delta = _hull_excess_m(np.searchsorted(doubt, p[keep]), t[keep], z[keep], g, src[doubt, 2], ear_h_m)
        out[doubt] = maekawa_db(delta) > margin[doubt]
    return out


@dataclass(frozen=True, eq=False)
class Shield:
    """The buildings as the coverage stage uses them (:func:`patrol.plan.coverage.hear`): which ears inside a
    track sample's disc the roofs screen off. One object for the planner's prediction and the audit."""

    screens: Screens
    ear_h_m: float = 1.5
    absorption_db_per_km: float = 5.0

    @staticmethod
    def of(buildings: Sequence[Building], speaker: Speaker) -> Shield | None:
        """The shield of ``buildings`` for ``speaker`` (its ear height and absorption); ``None`` for no buildings."""
        if not buildings:
            return None
        return Shield(Screens.of(buildings), speaker.listener_height_m, speaker.absorption_db_per_km)

    def margin_db(self, slant_m: np.ndarray, edge_slant_m: np.ndarray) -> np.ndarray:
        """dB to spare at ``slant_m`` from a speaker heard out to ``edge_slant_m`` (spreading and absorption)."""
        d = np.maximum(slant_m, 1.0)
        edge = np.maximum(edge_slant_m, 1.0)
        return 20.0 * np.log10(edge / d) + self.absorption_db_per_km * (edge - d) / 1000.0

    def blocked(
        self, ears_xy: np.ndarray, src_xy: np.ndarray, src_alt_m: np.ndarray, radius_m: np.ndarray
    ) -> np.ndarray:
        """Per pair of an ear ``ears_xy[i]`` and a speaker at ``src_xy[i]``, ``src_alt_m[i]`` above the ground
        whose disc (``radius_m[i]``, at ear height) holds the ear: True where the roofs screen the ear off.

        The ear's margin is the level it gets in the open above the level at the disc's edge (the needed
        one), so an ear within the radius given by ``--radius-m`` has that radius' margin too.
        """
        ears = np.asarray(ears_xy, float).reshape(-1, 2)
        src = np.column_stack([np.asarray(src_xy, float).reshape(-1, 2), np.asarray(src_alt_m, float)])
        h = np.maximum(src[:, 2] - self.ear_h_m, 0.0)
        g = np.hypot(src[:, 0] - ears[:, 0], src[:, 1] - ears[:, 1])
        margin = self.margin_db(np.hypot(g, h), np.hypot(np.asarray(radius_m, float), h))
        return screened(self.screens, ears, src, self.ear_h_m, margin)
