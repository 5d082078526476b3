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
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import LineString

from patrol.errors import PlanningError
from patrol.plan.acoustics import audible_radius_m, received_level_db
from patrol.types import Building, Speaker

SPEED_OF_SOUND_MPS = 343.0
FREQ_HZ = 1000.0  # the frequency the screening is taken at (speech band, ISO 9613-2 octave 1 kHz)
MAX_SCREENING_DB = 20.0  # ISO 9613-2 caps single-diffraction screening at 20 dB


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
    order = 2 + np.argsort(t[2:], kind="stable")  # the ear first, the roof edges by distance, the source last
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
    :func:`patrol.plan.acoustics.audible_radius_m` at that altitude. A building never adds a point.
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
    if not buildings:
        return out
    tree = tree or shapely.STRtree([b.geometry for b in buildings])
    e = speaker.listener_height_m
    need = speaker.ambient_db + speaker.snr_db
    for i in np.flatnonzero(out):
        x, y = pts[i]
        delta = path_difference_m(source_xyz, (float(x), float(y), e), buildings, tree)
        if delta <= 0.0:
            continue
        slant = math.sqrt(float(d2[i]) + (source_xyz[2] - e) ** 2)
        out[i] = received_level_db(loud, slant) - float(maekawa_db(delta)) >= need
    return out
