"""Sweep and route geometry: every point of a compound within r of its route, no edge strips."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from benchmarks.synthetic import SHAPE_CLASSES, make_shape
from patrol.plan.acoustics import lane_overrun_m
from patrol.plan.coverage import in_range_share, longest_heard_s, sample_points
from patrol.plan.route import compound_route, order_lanes, shortest_path_inside
from patrol.plan.sweep import lane_offsets, sweep_lanes
from patrol.types import Compound, Hotspot, StepKind


def _route_line(route):
    return LineString([(s.x_m, s.y_m) for s in route.steps])


def _plan_shape(geom, spacing=42.4, speed=7.0, hotspots=()):
    c = Compound("c1", "c1", "scattered", 1, geom, tuple(hotspots))
    lanes = sweep_lanes("c1", geom, spacing, speed)
    return lanes, compound_route(c, lanes, geom, 40.0, 18.0)


def test_rectangle_lanes_are_spread_evenly_with_no_edge_strip():
    lanes, _ = _plan_shape(box(0, 0, 300, 100), spacing=40.0)
    ys = sorted({round(a[1], 6) for a, _ in lanes.segments})
    assert ys == pytest.approx([100 / 6, 50.0, 500 / 6])
    assert all(abs(abs(b[0] - a[0]) - 300) < 1e-6 for a, b in lanes.segments)


def test_lane_offsets_keep_edges_within_half_spacing():
    for width in (10.0, 40.0, 41.0, 123.4, 999.0):
        ys = lane_offsets(0.0, width, 40.0)
        assert ys[0] <= 20.0 + 1e-9 and width - ys[-1] <= 20.0 + 1e-9
        assert np.all(np.diff(ys) <= 40.0 + 1e-9)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(SHAPE_CLASSES), seed=st.integers(0, 10_000))
def test_every_point_within_radius_of_route(kind, seed):
    rng = np.random.default_rng(seed)
    geom = make_shape(kind, rng)
    r = 30.0
    spacing = r * math.sqrt(2)
    _lanes, route = _plan_shape(geom, spacing=spacing)
    line = _route_line(route)
    pts = sample_points(geom, 2000)
    d = shapely.distance(shapely.points(pts), line)
    assert d.max() <= r + 1e-6, f"{kind} seed {seed}: a point is {d.max():.1f} m from the route"
    assert in_range_share(geom, line, r) >= 0.999


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_lanes_stay_inside_or_cross_only_short_gaps(seed):
    rng = np.random.default_rng(seed)
    geom = make_shape("holes", rng)
    spacing = 42.4
    grown = geom.buffer(0.01)
    strict = sweep_lanes("c1", geom, spacing, 7.0, max_gap_m=0.0)
    for a, b in strict.segments:
        assert grown.covers(LineString([a, b]))
    for a, b in sweep_lanes("c1", geom, spacing, 7.0).segments:
        outside = LineString([a, b]).difference(grown)
        assert all(p.length <= 2 * spacing + 1e-6 for p in shapely.get_parts(outside))


def test_lanes_never_cross_keep_out():
    u = Polygon([(0, 0), (300, 0), (300, 300), (200, 300), (200, 100), (100, 100), (100, 300), (0, 300)])
    keep_out = box(110, 150, 190, 250)  # a buffered no-fly zone inside the notch
    for angle in (0.0, 90.0):
        lanes = sweep_lanes("c1", u, 40.0, 7.0, angle_deg=angle, max_gap_m=500.0, keep_out=keep_out)
        assert not any(LineString(seg).intersects(keep_out) for seg in lanes.segments)


def test_u_shape_joins_stay_inside():
    u = Polygon([(0, 0), (300, 0), (300, 300), (200, 300), (200, 100), (100, 100), (100, 300), (0, 300)])
    lanes, route = _plan_shape(u, spacing=40.0)
    line = _route_line(route)
    outside = line.difference(u.buffer(1.0)).length
    assert outside == pytest.approx(0.0, abs=1e-6)
    # boustrophedon: joins add little to the lanes (no deadhead back and forth across the gap)
    assert line.length <= 1.3 * lanes.length_m


def test_shortest_path_inside_goes_round_the_notch():
    u = Polygon([(0, 0), (300, 0), (300, 300), (200, 300), (200, 100), (100, 100), (100, 300), (0, 300)])
    path = shortest_path_inside((50, 250), (250, 250), u)
    assert path, "the straight line leaves the compound; a path round the notch is expected"
    full = LineString([(50, 250), *path, (250, 250)])
    assert u.buffer(0.6).covers(full)
    assert full.length == pytest.approx(2 * math.hypot(50, 150) + 100, rel=0.02)


def test_hotspot_gets_a_loiter_at_its_position():
    geom = box(0, 0, 200, 200)
    h = Hotspot("g1", "gate", "c1", "north gate", 100.0, 199.0)
    _, route = _plan_shape(geom, hotspots=[h])
    loiters = [s for s in route.steps if s.kind is StepKind.HOTSPOT]
    assert len(loiters) == 1
    assert (loiters[0].x_m, loiters[0].y_m) == (100.0, 199.0) and loiters[0].loiter_s == 18.0


def test_star_spikes_get_extra_lanes():
    rng = np.random.default_rng(7)
    star = make_shape("star", rng, size_m=600)
    _lanes, route = _plan_shape(star, spacing=42.4)
    line = _route_line(route)
    tips = [Point(c) for c in list(star.exterior.coords)[::2]]
    assert max(line.distance(t) for t in tips) <= 30.0


def test_order_lanes_alternates_direction():
    lanes, _ = _plan_shape(box(0, 0, 300, 200), spacing=40.0)
    ordered = order_lanes(lanes)
    dirs = [np.sign(b[0] - a[0]) for a, b in ordered]
    assert all(dirs[i] == -dirs[i + 1] for i in range(len(dirs) - 1))


def _heard_share(route, geom, r, speed, prompt_s):
    xy = np.array([(s.x_m, s.y_m) for s in route.steps])
    dur = np.hypot(*np.diff(xy, axis=0).T) / speed
    pts = sample_points(geom, 3000)
    heard = longest_heard_s(pts, xy[:-1], xy[1:], dur, r)
    return float(np.mean(heard >= prompt_s - 1e-6))


@pytest.mark.parametrize(
    "shape", [box(0, 0, 400, 250), Polygon([(0, 0), (300, 0), (300, 100), (100, 100), (100, 300), (0, 300)])]
)
def test_lane_overrun_lets_edge_residents_hear_a_whole_prompt(shape):
    r, prompt_s = 30.0, 6.0
    spacing, speed = r * math.sqrt(2), r * math.sqrt(2) / prompt_s
    overrun = lane_overrun_m(r, spacing, speed, prompt_s)
    c = Compound("c1", "c1", "scattered", 1, shape, ())
    lanes = sweep_lanes("c1", shape, spacing, speed)
    with_run = compound_route(c, lanes, shape, 40.0, 18.0, overrun_m=overrun)
    without = compound_route(c, lanes, shape, 40.0, 18.0, overrun_m=0.0)
    assert _heard_share(with_run, shape, r, speed, prompt_s) >= 0.998
    assert _heard_share(without, shape, r, speed, prompt_s) < 0.99  # the strips at lane ends
    # the run-on leaves the compound by exactly the overrun, no further
    far = max(shape.distance(Point(s.x_m, s.y_m)) for s in with_run.steps)
    assert far == pytest.approx(overrun, abs=0.5)


def _flown_m(route):
    return _route_line(route).length


@pytest.mark.parametrize("seed", range(6))
def test_cell_order_with_corners_chosen_jointly_is_never_longer_than_nearest_first(seed, monkeypatch):
    """Stars cut a sweep into many cells: the 2-opt order (entry corners by dynamic programming, joins
    measured as flown inside the compound) never flies further than nearest-cell-first, and on stars
    it flies less in total."""
    import patrol.plan.route as route_mod

    rng = np.random.default_rng(100 + seed)
    geom = make_shape("star", rng, size_m=600.0)
    c = Compound("c1", "c1", "scattered", 1, geom)
    lanes = sweep_lanes("c1", geom, 42.4, 7.0)
    assert len(route_mod.lane_cells(lanes)) >= 3
    optimised = compound_route(c, lanes, geom, 40.0, 0.0)
    monkeypatch.setattr(route_mod, "MAX_ORDERED_CELLS", 0)  # nearest cell first, as before
    greedy = compound_route(c, lanes, geom, 40.0, 0.0)
    assert _flown_m(optimised) <= _flown_m(greedy) + 1e-6
    # the same lanes, each flown once, whatever the order
    lane_set = {frozenset(map(lambda p: (round(p[0], 6), round(p[1], 6)), seg)) for seg in lanes.segments}
    flown = {
        frozenset(((round(a.x_m, 6), round(a.y_m, 6)), (round(b.x_m, 6), round(b.y_m, 6))))
        for a, b in zip(optimised.steps, optimised.steps[1:], strict=False)
        if a.kind is StepKind.LANE and b.kind is StepKind.LANE
    }
    assert lane_set <= flown


def test_two_opt_shortens_stars_overall():
    import patrol.plan.route as route_mod

    rng = np.random.default_rng(7)
    shapes = [make_shape("star", rng, size_m=float(s)) for s in (400, 500, 600, 700, 800)]
    total = {}
    for label, limit in (("greedy", 0), ("2-opt", 24)):
        route_mod.MAX_ORDERED_CELLS = limit
        try:
            total[label] = sum(
                _flown_m(
                    compound_route(Compound("c", "c", "scattered", 1, g), sweep_lanes("c", g, 42.4, 7.0), g, 40, 0)
                )
                for g in shapes
            )
        finally:
            route_mod.MAX_ORDERED_CELLS = 24
    assert total["2-opt"] < 0.97 * total["greedy"], total


def test_joint_choice_routes_several_directions_for_awkward_shapes():
    """For a compound cut into three or more cells the direction is chosen by the route flown, which is never
    longer than the sweep's own choice routed; coverage stays whole."""
    from patrol.plan.route import route_length_m, sweep_and_route

    rng = np.random.default_rng(21)
    shorter = 0
    for _ in range(6):
        geom = make_shape("star", rng, size_m=500.0)
        c = Compound("c1", "c1", "scattered", 1, geom)
        own = compound_route(c, sweep_lanes("c1", geom, 42.4, 7.0), geom, 40.0, 0.0)
        _lanes, route = sweep_and_route(c, geom, 42.4, 7.0, 40.0, 0.0)
        assert route_length_m(route) <= route_length_m(own) + 1e-6
        shorter += route_length_m(route) < route_length_m(own) - 1.0
        assert in_range_share(geom, _route_line(route), 30.0) > 0.999
    assert shorter >= 2


# A notched outline from the benchmark's L-shapes (seed class 2, no. 17) whose sharp corners hear a prompt in
# two short pieces: from one lane and from the next lane's run-on.
NOTCHED_L = Polygon([(0.0, 0.0), (137.7, 5.6), (135.7, 54.4), (90.4, 52.6), (89.2, 83.3), (-3.2, 79.5)])


def test_heard_repair_spurs_reach_the_corners_that_hear_only_part_of_a_prompt():
    from patrol.plan.acoustics import choose_spacing_speed
    from patrol.plan.route import heard_repair, route_length_m, sweep_and_route
    from patrol.types import Vehicle

    r, prompt_s = 30.0, 6.0
    spacing, speed, _ = choose_spacing_speed(r, prompt_s, Vehicle())
    overrun = lane_overrun_m(r, spacing, speed, prompt_s)
    c = Compound("c1", "c1", "scattered", 1, NOTCHED_L, ())
    args = (c, NOTCHED_L, spacing, speed, 40.0, 0.0)
    _, plain = sweep_and_route(*args, overrun_m=overrun, radius_m=r)
    _, fixed = sweep_and_route(*args, overrun_m=overrun, radius_m=r, prompt_s=prompt_s)
    assert _heard_share(plain, NOTCHED_L, r, speed, prompt_s) < 0.99  # the corners, before
    assert _heard_share(fixed, NOTCHED_L, r, speed, prompt_s) >= 0.995
    added = route_length_m(fixed) - route_length_m(plain)
    assert 0 < added <= 6 * 2 * r  # at most six spurs, each out and back within the radius
    path = _route_line(plain)
    new = [Point(s.x_m, s.y_m) for s in fixed.steps if s not in plain.steps]
    tips = [p for p in new if path.distance(p) > 0.1]  # the rest are where the spurs leave the path
    assert tips and all(NOTCHED_L.contains(p) for p in tips)
    # a route that already hears everything whole is returned unchanged
    assert heard_repair(fixed, NOTCHED_L, speed, r, 0.5).steps == fixed.steps


def test_heard_repair_never_crosses_a_keep_out():
    from patrol.plan.acoustics import choose_spacing_speed
    from patrol.plan.route import sweep_and_route
    from patrol.types import Vehicle

    r, prompt_s = 30.0, 6.0
    spacing, speed, _ = choose_spacing_speed(r, prompt_s, Vehicle())
    overrun = lane_overrun_m(r, spacing, speed, prompt_s)
    zone = box(120, -10, 150, 20)  # over the worst corner
    area = NOTCHED_L.difference(zone.buffer(5))
    c = Compound("c1", "c1", "scattered", 1, NOTCHED_L, ())
    _, fixed = sweep_and_route(
        c, area, spacing, speed, 40.0, 0.0, keep_out=zone, overrun_m=overrun, radius_m=r, prompt_s=prompt_s
    )
    xy = [(s.x_m, s.y_m) for s in fixed.steps]
    assert not LineString(xy).intersects(zone)


def _star(n: int, inner: float, radius_m: float) -> Polygon:
    return Polygon(
        [
            ((radius_m if k % 2 == 0 else radius_m * inner) * math.cos(math.pi * k / n),
             (radius_m if k % 2 == 0 else radius_m * inner) * math.sin(math.pi * k / n))
            for k in range(2 * n)
        ]
    )  # fmt: skip


def test_convex_pieces_tile_a_star_into_its_spikes_and_middle():
    from patrol.plan.sweep import convex_pieces

    star = _star(8, 0.45, 300.0)
    pieces = convex_pieces(star)
    assert len(pieces) == 9  # eight spikes and the octagon between them
    assert sum(p.area for p in pieces) == pytest.approx(star.area)
    assert shapely.union_all(pieces).symmetric_difference(star).area < 1e-6 * star.area
    assert all(p.area >= 0.995 * p.convex_hull.area for p in pieces)


def test_a_star_is_swept_in_cells_of_their_own_angles_and_flown_shorter():
    """An eight-point star 600 m across: one direction for all of it flies 1.90 times area / spacing; cut
    into cells each swept at its own direction the route is under 1.70, and every point stays in range and
    hears a whole prompt."""
    from patrol.plan.route import lane_cells, route_length_m, sweep_and_route

    star = _star(8, 0.45, 300.0)
    c = Compound("c1", "c1", "scattered", 1, star)
    spacing, speed, r, prompt = 42.4, 7.0, 30.0, 6.0
    lanes, route = sweep_and_route(c, star, spacing, speed, 40.0, 0.0, radius_m=r)
    assert len(set(lanes.cell_angles_deg)) >= 3 and len(lane_cells(lanes)) >= 9
    assert route_length_m(route) < 1.70 * star.area / spacing
    own = compound_route(c, sweep_lanes("c1", star, spacing, speed), star, 40.0, 0.0)
    assert route_length_m(route) < 0.9 * route_length_m(own)
    d = shapely.distance(shapely.points(sample_points(star, 2000)), _route_line(route))
    assert d.max() <= r + 1e-6
    overrun = lane_overrun_m(r, spacing, speed, prompt)
    _lanes, flown = sweep_and_route(c, star, spacing, speed, 40.0, 0.0, overrun_m=overrun, radius_m=r, prompt_s=prompt)
    xy = np.array([(s.x_m, s.y_m) for s in flown.steps])
    dur = np.hypot(*np.diff(xy, axis=0).T) / speed
    heard = longest_heard_s(sample_points(star, 1500), xy[:-1], xy[1:], dur, r)
    assert np.mean(heard >= prompt - 1e-6) >= 0.99


def test_a_requested_spacing_that_leaves_a_compound_uncovered_is_refused_naming_the_widest_that_covers(monkeypatch):
    """A sweep that left the spikes between lanes (no gap-filling lanes) covers a star under 99 % at 59 m:
    the plan is refused with the compound and the widest spacing that covers it, and that spacing plans."""
    import re

    import patrol.plan.sweep as sweep_mod
    from patrol.errors import PlanningError
    from patrol.geo import LocalFrame
    from patrol.plan.pipeline import plan_patrol
    from patrol.types import District, PatrolParams, Vehicle

    monkeypatch.setattr(sweep_mod, "_fill_gaps", lambda *a, **k: [])
    frame = LocalFrame(112.73, 38.415)
    district = District(frame, (Compound("STAR", "STAR", "scattered", 1, _star(8, 0.3, 250.0)),))
    hlon, hlat = frame.to_wgs84(0.0, -300.0)

    def params(spacing_m: float) -> PatrolParams:
        return PatrolParams(home_lon=float(hlon), home_lat=float(hlat), spacing_m=spacing_m, radius_m=30.0)

    with pytest.raises(PlanningError) as err:
        plan_patrol(district, params(59.0), vehicle=Vehicle(endurance_min=60))
    msg = str(err.value)
    assert "\n" not in msg and "compound STAR" in msg and "--spacing-m 59" in msg
    widest = float(re.search(r"widest spacing that covers it is ([0-9.]+) m", msg).group(1))
    assert 42.0 < widest < 59.0
    plan = plan_patrol(district, params(widest), vehicle=Vehicle(endurance_min=60))
    assert plan.sorties


@pytest.mark.parametrize("kind", ["twopart", "star"])
def test_any_accepted_spacing_covers_the_shape(kind):
    """58 m at r = 30 m (where a two-part compound was once covered 0.980) and the widest accepted spacing."""
    from patrol.plan.acoustics import max_spacing_m
    from patrol.plan.route import covered_share

    rng = np.random.default_rng(SHAPE_CLASSES.index(kind) + 1)
    for _ in range(6):
        geom = make_shape(kind, rng)
        c = Compound("x", "x", "scattered", 1, geom)
        for s in (58.0, max_spacing_m(30.0)):
            lanes = sweep_lanes("x", geom, s, 3.0, radius_m=30.0)
            assert covered_share(compound_route(c, lanes, geom, 40.0, 0.0), geom, 30.0) >= 0.99
