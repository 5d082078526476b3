"""Synthetic compound shapes for tests and benchmarks (seeded, local metres).

Classes: ``rect``, ``lshape``, ``star``, ``holes`` (1 to 3 holes), ``twopart``; sizes 100 m to 1 km.
"""

from __future__ import annotations

import math

import numpy as np
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box

SHAPE_CLASSES = ("rect", "lshape", "star", "holes", "twopart")


def make_shape(kind: str, rng: np.random.Generator, size_m: float | None = None) -> Polygon | MultiPolygon:
    """One random shape of class ``kind`` about ``size_m`` across (random 100..1000 m when omitted)."""
    size = float(size_m if size_m is not None else rng.uniform(100.0, 1000.0))
    aspect = rng.uniform(0.4, 1.0)
    w, h = size, size * aspect
    if kind == "rect":
        g: Polygon | MultiPolygon = box(0, 0, w, h)
    elif kind == "lshape":
        fx, fy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
        g = Polygon([(0, 0), (w, 0), (w, h * fy), (w * fx, h * fy), (w * fx, h), (0, h)])
    elif kind == "star":
        n = int(rng.integers(5, 9))
        inner = rng.uniform(0.35, 0.6)
        pts = []
        for k in range(2 * n):
            rad = size / 2 * (1.0 if k % 2 == 0 else inner)
            a = math.pi * k / n
            pts.append((rad * math.cos(a), rad * math.sin(a)))
        g = Polygon(pts)
    elif kind == "holes":
        nh = int(rng.integers(1, 4))
        holes = []
        placed: list[Polygon] = []
        for _ in range(50):
            if len(holes) == nh:
                break
            hw, hh = rng.uniform(0.08, 0.2) * w, rng.uniform(0.08, 0.2) * h
            x0, y0 = rng.uniform(0.1 * w, 0.9 * w - hw), rng.uniform(0.1 * h, 0.9 * h - hh)
            cand = box(x0, y0, x0 + hw, y0 + hh)
            if all(cand.distance(p) > 0.05 * size for p in placed):
                placed.append(cand)
                holes.append(list(cand.exterior.coords)[::-1])
        g = Polygon(box(0, 0, w, h).exterior.coords, holes)
    elif kind == "twopart":
        gap = rng.uniform(0.05, 0.15) * w
        a = box(0, 0, (w - gap) / 2, h)
        b = box((w + gap) / 2, rng.uniform(-0.2, 0.2) * h, w, h)
        g = MultiPolygon([a, b])
    else:
        raise ValueError(f"unknown shape class {kind!r}; use one of {', '.join(SHAPE_CLASSES)}")
    return affinity.rotate(g, float(rng.uniform(0, 180)), origin=(0, 0))
