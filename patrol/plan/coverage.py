"""Predicted coverage: how much of a compound is in range of the route, and how much hears a whole prompt.

Both are geometric facts of a route, used by the planner (predicted) and later by the audit (flown).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry


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


def heard_whole_share(
    area: Polygon | MultiPolygon,
    p0: np.ndarray,
    p1: np.ndarray,
    dur_s: np.ndarray,
    radius_m: float,
    prompt_s: float,
    target_points: int = 3000,
) -> float:
    """Share (0..1) of ``area`` in range for at least one whole ``prompt_s`` without a break."""
    pts = sample_points(area, target_points)
    if len(pts) == 0 or len(p0) == 0:
        return 0.0
    heard = longest_heard_s(pts, np.asarray(p0, float), np.asarray(p1, float), np.asarray(dur_s, float), radius_m)
    return float(np.mean(heard >= prompt_s - 1e-6))
