"""Coverage: how much of a compound is in range of a track, and how much hears a whole prompt.

One computation for the planner (predicted, on the planned track and the plays its cues make) and the
audit (flown, on the logged track and the plays the speaker reported): :func:`clip_plays` turns speaker
events into the intervals a whole clip played, :func:`hear` finds, on a compound's grid, the points in
range of the track and those in range for the whole of one play.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from patrol.errors import PlanningError
from patrol.plan.acoustics import audible_radius_m
from patrol.plan.shielding import Shield
from patrol.types import Speaker

MAX_GAP_S = 2.0  # a gap in the track longer than this breaks a run: nothing can be claimed across it
REPEAT_GAP_S = 1.0  # the applet's and the player's pause between the repeats of a played clip
# hear() works on points x samples arrays of at most about this many cells (a quarter of a million: 1 MB of
# float32): a chunk of 4,096 points by thousands of samples is tens of MB, out of every cache, and costs half as
# much again in CPU (and more when other processes share the caches) for the same answer
CHUNK_CELLS = 1 << 18


def in_range_share(area: Polygon | MultiPolygon, path: np.ndarray | BaseGeometry, radius_m: float) -> float:
    """Share (0..1) of ``area`` within ``radius_m`` of ``path``.

    ``path`` is an ``(N, 2)`` polyline in metres, a shapely geometry, or an array of geometries (legs).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> round(in_range_share(box(0, 0, 100, 20), np.array([[0, 10], [100, 10]]), 10.0), 3)
    1.0
    """
    if area.is_empty or area.area <= 0:
        return 0.0
    if isinstance(path, BaseGeometry):
        line = path
    else:
        arr = np.asarray(path)
        if arr.size == 0:
            return 0.0
        if arr.dtype == object:
            line = shapely.multilinestrings(list(arr)) if len(arr) > 1 else arr[0]
        else:
            pts = arr.astype(float)
            line = Point(pts[0]) if len(pts) == 1 else LineString(pts)
    reach = shapely.buffer(line, radius_m, quad_segs=16)
    return float(shapely.intersection(area, reach).area / area.area)


def sample_points(area: Polygon | MultiPolygon, target: int = 3000) -> np.ndarray:
    """A regular grid of about ``target`` points inside ``area`` (cell centres), ``(N, 2)``."""
    if area.is_empty:
        return np.zeros((0, 2))
    minx, miny, maxx, maxy = area.bounds
    step = max(math.sqrt(area.area / target), 0.25)
    xs = np.arange(minx + step / 2, maxx, step)
    ys = np.arange(miny + step / 2, maxy, step)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.contains_xy(area, gx, gy)
    pts = np.column_stack([gx[inside], gy[inside]])
    if len(pts) == 0:
        rp = area.representative_point()
        pts = np.array([[rp.x, rp.y]])
    return pts


def open_ground(points: np.ndarray, footprints: Sequence[BaseGeometry] | shapely.STRtree) -> np.ndarray:
    """Per point of ``points`` ``(N, 2)``: True where it is open ground (inside no building footprint).

    The heard-whole share that counts is taken over these points: people stand in courtyards and lanes,
    not inside blocks. ``footprints`` are local-metre geometries or an STRtree of them; none: all open.

    >>> from shapely.geometry import box
    >>> open_ground(np.array([[1.0, 1.0], [5.0, 5.0]]), [box(0, 0, 2, 2)]).tolist()
    [False, True]
    """
    pts = np.asarray(points, float).reshape(-1, 2)
    keep = np.ones(len(pts), bool)
    tree = footprints if isinstance(footprints, shapely.STRtree) else None
    if tree is None:
        if len(footprints) == 0 or len(pts) == 0:
            return keep
        tree = shapely.STRtree(list(footprints))
    if len(pts) == 0 or len(tree.geometries) == 0:
        return keep
    idx = tree.query(shapely.points(pts), predicate="within")
    keep[idx[0]] = False
    return keep


def share(mask: np.ndarray, where: np.ndarray | None = None) -> float:
    """Share (0..1) of ``mask`` that is True over the points ``where`` is True (all points when ``None``);
    0 over no points."""
    m = np.asarray(mask, bool) if where is None else np.asarray(mask, bool)[np.asarray(where, bool)]
    return float(m.mean()) if len(m) else 0.0


def longest_heard_s(
    points: np.ndarray, p0: np.ndarray, p1: np.ndarray, dur_s: np.ndarray, radius_m: float
) -> np.ndarray:
    """For each point, the longest unbroken time (s) within ``radius_m`` of a vehicle flying the legs.

    Legs run ``p0[k] -> p1[k]`` at constant speed taking ``dur_s[k]`` seconds, back to back; a leg
    with ``p0 == p1`` is a hover (loiter). A break in the legs (``p0[k] != p1[k-1]``) ends every run.
    """
    n = len(points)
    best = np.zeros(n)
    run_start = np.full(n, np.nan)
    run_end = np.full(n, np.nan)
    t = 0.0
    r2 = radius_m * radius_m
    prev_end: np.ndarray | None = None
    for a, b, T in zip(p0, p1, dur_s, strict=True):
        if prev_end is not None and np.hypot(*(a - prev_end)) > 1e-6:
            best = np.fmax(best, run_end - run_start)
            run_start[:] = np.nan
            run_end[:] = np.nan
            t += 1e6
        d = b - a
        L2 = float(d @ d)
        f = points - a
        if L2 < 1e-12:
            has = (f * f).sum(axis=1) <= r2
            t0 = np.full(n, t)
            t1 = np.full(n, t + T)
        else:
            uc = (f @ d) / L2
            perp2 = (f * f).sum(axis=1) - uc * uc * L2
            has = perp2 <= r2
            half = np.sqrt(np.maximum(r2 - perp2, 0.0) / L2)
            u0 = np.clip(uc - half, 0.0, 1.0)
            u1 = np.clip(uc + half, 0.0, 1.0)
            has &= u1 > u0
            t0 = t + u0 * T
            t1 = t + u1 * T
        cont = has & (np.abs(run_end - t0) < 1e-6)
        new = has & ~cont
        stop = ~has
        ended = (new | stop) & ~np.isnan(run_start)
        best[ended] = np.fmax(best[ended], run_end[ended] - run_start[ended])
        run_start[new] = t0[new]
        run_end[has] = t1[has]
        run_start[stop] = np.nan
        run_end[stop] = np.nan
        t += T
        prev_end = b
    return np.fmax(best, np.nan_to_num(run_end - run_start, nan=0.0))


SpeakerEvent = tuple[float, str, int, int]  # (t_s, action, track, repeats); action loop | resume | play | stop


def clip_plays(
    events: Sequence[SpeakerEvent], clip_s: Mapping[int, float], end_s: float
) -> list[tuple[float, float, int]]:
    """Intervals ``(start_s, end_s, track)`` when a whole clip played, from the speaker's events.

    A loop (or a resumed loop) repeats its clip back to back until the next event; a play repeats it
    ``repeats`` times with a 1 s gap (the applet's and the player's behaviour); a stop ends both.
    Tracks without a known clip length play nothing.

    >>> clip_plays([(0.0, "loop", 1, 0), (10.0, "play", 1, 3), (30.0, "stop", 0, 0)], {1: 4.0}, 60.0)
    [(0.0, 4.0, 1), (4.0, 8.0, 1), (10.0, 14.0, 1), (15.0, 19.0, 1), (20.0, 24.0, 1)]
    """
    out = []
    evs = sorted(events, key=lambda e: e[0])
    for k, (t0, action, track, repeats) in enumerate(evs):
        dur = clip_s.get(track)
        if action == "stop" or dur is None or dur <= 0:
            continue
        until = evs[k + 1][0] if k + 1 < len(evs) else end_s
        if action in ("loop", "resume"):
            t = t0
            while t + dur <= until + 1e-6:
                out.append((t, t + dur, track))
                t += dur
        else:
            for r in range(max(repeats, 1)):
                a = t0 + r * (dur + REPEAT_GAP_S)
                if a + dur > until + 1e-6:
                    break
                out.append((a, a + dur, track))
    return out


def radius_table(speaker: Speaker, alt_m: np.ndarray, override_m: float | None = None) -> np.ndarray:
    """Audible ground radius (m) at each altitude above home: the model's slant range to an ear at street
    level (0 where nothing is heard, and at 2 m or lower: on the ground), or ``override_m`` (``--radius-m``)."""
    alt = np.asarray(alt_m, float)
    if override_m is not None:
        r = np.full(len(alt), float(override_m))
    else:
        hs, rs = _radius_curve(speaker)
        r = np.interp(np.clip(alt, 0.0, 300.0), hs, rs)
    return np.where(alt > 2.0, r, 0.0)


@functools.lru_cache(maxsize=16)
def _radius_curve(speaker: Speaker) -> tuple[np.ndarray, np.ndarray]:
    """The audible ground radius every metre from 0 to 300 m above the ground."""
    hs = np.arange(0.0, 301.0, 1.0)
    rs = np.zeros_like(hs)
    for k, h in enumerate(hs):
        try:
            rs[k] = audible_radius_m(speaker, float(h))[1]
        except PlanningError:
            rs[k] = 0.0
    return hs, rs


@dataclass(frozen=True)
class Hearing:
    """What one track gave one compound's grid points (see :func:`hear`)."""

    in_range: np.ndarray  # per point: within the radius of some sample (the disc, buildings or not)
    heard: np.ndarray  # per point: heard (in the disc, not screened off) at every sample of one whole play
    plays_reached: list[int]  # indices of the plays during which some sample had a point in range
    samples: int  # track samples near enough to the points to matter (0: the track never came near)
    unscreened: np.ndarray | None = None  # per point: heard whole were there no buildings (None: as ``heard``)

    @property
    def shadowed(self) -> np.ndarray:
        """Per point: would hear a whole warning but for the buildings (the shadows the track leaves)."""
        return np.zeros(len(self.heard), bool) if self.unscreened is None else self.unscreened & ~self.heard


def hear(
    points: np.ndarray,
    t_s: np.ndarray,
    xy: np.ndarray,
    radius_m: np.ndarray,
    plays: Sequence[tuple[float, float]] | None,
    breaks: np.ndarray | None = None,
    window_s: float = 0.0,
    chunk: int = 4096,
    alt_m: np.ndarray | None = None,
    shield: Shield | None = None,
    memo: PlayMemo | None = None,
) -> Hearing:
    """Which of ``points`` are in range of a track, and which heard a whole clip play: the one function
    for heard whole, used by the planner's prediction and by the audit.

    Parameters
    ----------
    points : ``(N, 2)`` listeners (a compound's grid, :func:`sample_points`), local metres.
    t_s, xy, radius_m : the track: sample times (increasing), positions ``(M, 2)`` and the audible ground
        radius at each sample (:func:`radius_table` of its altitude).
    plays : ``(start_s, end_s)`` of every whole clip play (:func:`clip_plays`). A point heard a warning
        whole when it was within the radius at every sample during one play, and the samples cover the
        play: two or more, within :data:`MAX_GAP_S` of both ends, no break between them. ``None``: the
        speaker is taken to play all the time and a point must be in range ``window_s`` without a break.
    breaks : per sample, True where the track breaks before it (a telemetry gap); the first sample always.
    alt_m, shield : the track's height above the ground at each sample and the buildings
        (:class:`patrol.plan.shielding.Shield`): a point in the disc of a sample is heard from it only where
        the roofs between them leave the warning loud enough (:meth:`Shield.blocked`). Without ``shield``
        the disc alone, exactly as before. ``Hearing.unscreened`` keeps what the disc alone gives.
    memo : what earlier calls on the same ``points`` found screened or clear, play by play
        (:class:`PlayMemo`); it is read and added to. The answer is the same with or without it.

    Only samples whose disc can reach the points' bounding box are used; distances are float32 in
    coordinates centred on the points, so they keep millimetres. Points are taken ``chunk`` at a time, fewer
    where the samples are many (:data:`CHUNK_CELLS`); the answer does not depend on it.

    >>> pts = np.array([[0.0, 0.0], [0.0, 30.0]])
    >>> t = np.arange(0.0, 21.0)
    >>> track = np.column_stack([t - 10.0, np.zeros_like(t)])
    >>> h = hear(pts, t, track, np.full(len(t), 20.0), [(0.0, 4.0), (8.0, 12.0)])
    >>> h.in_range.tolist(), h.heard.tolist(), h.plays_reached
    ([True, False], [True, False], [0, 1])
    """
    n = len(points)
    in_range, heard = np.zeros(n, bool), np.zeros(n, bool)
    t_all = np.asarray(t_s, float)
    r_all = np.asarray(radius_m, float)
    brk = np.zeros(len(t_all), bool) if breaks is None else np.asarray(breaks, bool).copy()
    if len(brk):
        brk[0] = True
    if n == 0 or len(t_all) == 0:
        return Hearing(in_range, heard, [], 0)
    rr = r_all.max(initial=0.0)
    minx, miny, maxx, maxy = _bounds(points)
    x, y = xy[:, 0], xy[:, 1]
    near = np.flatnonzero((x >= minx - rr) & (x <= maxx + rr) & (y >= miny - rr) & (y <= maxy + rr))
    m = len(near)
    if m == 0:
        return Hearing(in_range, heard, [], 0)
    st = t_all[near]
    seg_break = brk[near] | np.concatenate([[True], np.diff(near) > 1])
    c0 = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    P = (points - c0).astype(np.float32)
    sx, sy = (xy[near] - c0).astype(np.float32).T
    r2 = (r_all[near] ** 2).astype(np.float32)
    iv = np.array([(a, b) for a, b in (plays or ())], float).reshape(-1, 2)
    i0 = np.searchsorted(st, iv[:, 0], "left")
    i1 = np.searchsorted(st, iv[:, 1], "right")
    nb = np.concatenate([[0], np.cumsum(seg_break)])
    whole = (i1 - i0 >= 2) & ~(st[i0.clip(0, m - 1)] - iv[:, 0] > MAX_GAP_S)
    whole &= ~(iv[:, 1] - st[(i1 - 1).clip(0, m - 1)] > MAX_GAP_S) & (nb[i1] == nb[(i0 + 1).clip(0, m)])
    j0, j1 = i0[whole], i1[whole]
    reached = np.zeros(m, bool)
    unscreened = np.zeros(n, bool)
    if shield is not None:
        if alt_m is None:
            raise ValueError("hear: a shield needs the track's alt_m")
        src_alt = np.asarray(alt_m, float)[near]
        src_xy, src_r = xy[near], r_all[near]
    count_type = np.int16 if m < 32767 else np.int32
    chunk = max(256, min(chunk, CHUNK_CELLS // m))  # arrays that stay in the cache; not too many shield calls
    for lo in range(0, n, chunk):
        Pc = P[lo : lo + chunk]
        d2 = np.subtract.outer(Pc[:, 0], sx)
        d2 *= d2
        dy = np.subtract.outer(Pc[:, 1], sy)
        dy *= dy
        d2 += dy
        inr = d2 <= r2
        in_range[lo : lo + chunk] = inr.any(axis=1)
        if plays is not None:
            reached |= inr.any(axis=0)
        rows, full = _whole(inr, st, seg_break, plays is None, window_s, j0, j1, count_type)
        if shield is None:
            heard[lo : lo + chunk] = rows
            continue
        unscreened[lo : lo + chunk] = rows
        sub = np.flatnonzero(rows)
        if full is not None:
            heard[lo + sub] = _clear_play(
                shield, points[lo + sub], full[sub], d2[sub], j0, j1, src_xy, src_alt, src_r, memo, lo + sub
            )
            continue
        # only a point that hears a whole run in the disc can lose it by the roofs
        ii, jj = np.nonzero(inr[sub])
        ii = sub[ii]
        blocked = shield.blocked(points[lo + ii], src_xy[jj], src_alt[jj], src_r[jj])
        if blocked.any():
            inr[ii[blocked], jj[blocked]] = False
            again = np.unique(ii[blocked])
            rows[again] = _whole(inr[again], st, seg_break, plays is None, window_s, j0, j1, count_type)[0]
        heard[lo : lo + chunk] = rows
    nr = np.concatenate([[0], np.cumsum(reached)])
    got = np.flatnonzero((i1 > i0) & (nr[i1] > nr[i0])).tolist() if plays is not None else []
    return Hearing(in_range, heard, got, m, unscreened if shield is not None else None)


def _bounds(points: np.ndarray) -> tuple[float, float, float, float]:
    """``minx, miny, maxx, maxy`` of ``(N, 2)`` points (N > 0), column by column: numpy's ``min(axis=0)`` on
    an ``(N, 2)`` array is about ten times slower, and :func:`hear` runs once per compound and sortie."""
    xs, ys = points[:, 0], points[:, 1]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


COARSE = 8  # a play's every 8th sample is screened before the rest
MEMO_M = 1e-6  # a play's samples are known to a memo rounded to this (m): the same track planned again


@dataclass(eq=False)
class PlayMemo:
    """What screening found for the points of one grid (a compound's, :func:`sample_points`) against plays,
    by the play's samples (positions, altitudes and radii rounded to :data:`MEMO_M`): per play, the points it
    is screened off from at some sample (``dark``) and those it reaches at every sample (``clear``).

    The planner predicts the same compounds again after adding hovers: the sorties are split anew, but most
    plays are the same positions flown at other times, and their screening is not done twice. A screened
    path depends on its two ends alone, so what a memo answers is what screening again would.
    """

    n: int  # the grid's points
    known: dict[bytes, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @staticmethod
    def key(src_xy: np.ndarray, src_alt: np.ndarray, src_r: np.ndarray, a: int, b: int) -> bytes:
        """The key of the play whose samples are ``a:b`` of the track."""
        rows = np.column_stack([src_xy[a:b], src_alt[a:b], src_r[a:b]])
        return np.round(rows / MEMO_M).astype(np.int64).tobytes()

    def record(self, key: bytes, points: np.ndarray, dark: np.ndarray) -> None:
        """Note that the play ``key`` is screened off from ``points[dark]`` and clear to the rest of ``points``."""
        d, c = self.known.setdefault(key, (np.zeros(self.n, bool), np.zeros(self.n, bool)))
        d[points[dark]] = True
        c[points[~dark]] = True


def _clear_play(
    shield: Shield,
    pts: np.ndarray,
    whole: np.ndarray,
    d2: np.ndarray,
    j0: np.ndarray,
    j1: np.ndarray,
    src_xy: np.ndarray,
    src_alt: np.ndarray,
    src_r: np.ndarray,
    memo: PlayMemo | None = None,
    index: np.ndarray | None = None,
) -> np.ndarray:
    """Per point of ``pts`` (``whole``: points x plays it hears whole in the disc; ``d2``: points x samples,
    squared distances): is some such play loud enough at every one of its samples, roofs and all?

    The same answer as screening every pair of a point and a sample of its plays, at a fraction of the paths.
    One screened sample darkens a play, and one clear play settles a point. So each point's nearest play (the
    least distance to one of its samples) is screened first; the points still in the dark then have each of
    their other plays screened at its farthest sample (the lowest path, the likeliest blocked), and only the
    plays that survive that are screened whole, nearest first. A play is screened at every :data:`COARSE`-th
    sample before the rest. With ``memo`` (``index``: each point's place in the memo's grid) the pairs it knows
    are not screened again, and those screened are noted in it.
    """
    n, k = whole.shape
    out = np.zeros(n, bool)
    if n == 0 or k == 0:
        return out
    keys: dict[int, bytes] = {}
    if memo is not None:
        index = np.arange(n) if index is None else np.asarray(index)
        whole = whole.copy()
        for p in np.flatnonzero(whole.any(axis=0)).tolist():
            keys[p] = PlayMemo.key(src_xy, src_alt, src_r, int(j0[p]), int(j1[p]))
            if (got := memo.known.get(keys[p])) is not None:
                out |= whole[:, p] & got[1][index]
                whole[:, p] &= ~got[0][index]
        whole &= ~out[:, None]
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (points, plays, dark) screened here
    nearest = np.full((n, k), np.inf, np.float32)
    farthest = np.zeros((n, k), np.int64)
    for p in np.flatnonzero(whole.any(axis=0)):
        rows = np.flatnonzero(whole[:, p])
        seg = d2[rows, j0[p] : j1[p]]
        nearest[rows, p] = seg.min(axis=1)
        farthest[rows, p] = j0[p] + seg.argmax(axis=1)

    def dark_in(live: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Per point ``live[i]``: is play ``p[i]`` screened off at some sample?"""
        lens = j1[p] - j0[p]
        ii = np.repeat(np.arange(len(live)), lens)
        at = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)  # the sample's place in its play
        jj = np.repeat(j0[p], lens) + at
        dark = np.zeros(len(live), bool)
        coarse = (at % COARSE == 0) | (at == np.repeat(lens, lens) - 1)
        for pick in (coarse, ~coarse):
            sel = np.flatnonzero(pick & ~dark[ii])
            e = live[ii[sel]]
            blocked = shield.blocked(pts[e], src_xy[jj[sel]], src_alt[jj[sel]], src_r[jj[sel]])
            dark[ii[sel[blocked]]] = True
        if memo is not None:
            found.append((live, p, dark))
        return dark

    alive = whole.copy()
    live = np.flatnonzero(whole.any(axis=1))
    first = np.argmin(nearest[live], axis=1)
    out[live[~dark_in(live, first)]] = True
    alive[live, first] = False
    ii, pp = np.nonzero(alive & ~out[:, None])  # the others, at their farthest sample
    blocked = shield.blocked(pts[ii], src_xy[farthest[ii, pp]], src_alt[farthest[ii, pp]], src_r[farthest[ii, pp]])
    alive[ii[blocked], pp[blocked]] = False
    if memo is not None:
        found.append((ii[blocked], pp[blocked], np.ones(int(blocked.sum()), bool)))
    order = np.argsort(np.where(alive, nearest, np.inf), axis=1, kind="stable")
    tries = alive.sum(axis=1)
    for r in range(int(tries.max(initial=0))):
        live = np.flatnonzero(~out & (tries > r))
        if not len(live):
            break
        out[live[~dark_in(live, order[live, r])]] = True
    if memo is not None and found:
        fi, fp, fd = (np.concatenate(col) for col in zip(*found, strict=True))
        if not len(fp):
            return out
        srt = np.argsort(fp, kind="stable")
        fi, fp, fd = fi[srt], fp[srt], fd[srt]
        cut = np.flatnonzero(np.diff(fp)) + 1
        for a, b in itertools.pairwise([0, *cut.tolist(), len(fp)]):
            memo.record(keys[int(fp[a])], index[fi[a:b]], fd[a:b])
    return out


def _whole(
    inr: np.ndarray,
    t: np.ndarray,
    breaks: np.ndarray,
    assume_playing: bool,
    window_s: float,
    j0: np.ndarray,
    j1: np.ndarray,
    count_type: type,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per row of ``inr`` (points x samples, in range): heard whole, and with plays the matrix points x plays of
    those heard whole (``None`` with ``assume_playing``: a run in range of ``window_s`` seconds is enough)."""
    if assume_playing:
        return _longest_run_s(inr, t, breaks) >= window_s - 1e-6, None
    if not len(j0):
        return np.zeros(len(inr), bool), np.zeros((len(inr), 0), bool)
    count = np.zeros((len(inr), inr.shape[1] + 1), count_type)  # in range at every sample of a play: the count
    np.cumsum(inr, axis=1, out=count[:, 1:])  # of in-range samples over it is its length
    full = (count[:, j1] - count[:, j0]) == (j1 - j0)
    return full.any(axis=1), full


def _longest_run_s(inr: np.ndarray, t: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Per row, the longest time (s) of consecutive True columns not crossing a break."""
    n_pts, n = inr.shape
    best = np.zeros(n_pts)
    start = np.full(n_pts, np.nan)
    for j in range(n):
        col = inr[:, j]
        if breaks[j]:
            start[:] = np.nan
        new = col & np.isnan(start)
        start[new] = t[j]
        best = np.where(col, np.fmax(best, t[j] - start), best)
        start[~col] = np.nan
    return best
