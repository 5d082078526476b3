"""Buildings and rotor noise in the acoustic model (patrol/plan/shielding.py): analytic checks."""

from __future__ import annotations

import itertools
import math

import numpy as np
import shapely
import shapely.affinity
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from patrol.plan.acoustics import audible_radius_m
from patrol.plan.coverage import PlayMemo, hear, radius_table
from patrol.plan.shielding import (
    GRAZING_DB,
    MAX_SCREENING_DB,
    SPEED_OF_SOUND_MPS,
    Screens,
    Shield,
    heard_from,
    maekawa_db,
    path_difference_m,
    path_differences_m,
    rotor_penalty_db,
    screened,
)
from patrol.types import Building, Speaker


def _grid(half_m: float = 120.0, step_m: float = 2.5) -> np.ndarray:
    xs = np.arange(-half_m, half_m + 1e-9, step_m)
    gx, gy = np.meshgrid(xs, xs)
    return np.column_stack([gx.ravel(), gy.ravel()])


def test_no_buildings_no_rotor_is_the_disc_exactly() -> None:
    pts = _grid()
    for speaker in (Speaker(), Speaker(level_db_at_1m=110.0), Speaker(ambient_db=45.0, snr_db=6.0)):
        for alt in (20.0, 30.0, 45.0):
            r = audible_radius_m(speaker, alt)[1]
            got = heard_from(speaker, (3.0, -2.0, alt), pts)
            disc = (pts[:, 0] - 3.0) ** 2 + (pts[:, 1] + 2.0) ** 2 <= r * r
            assert np.array_equal(got, disc)
            # the coverage stage's radius table (what hear() uses) gives the same radius at whole metres
            assert math.isclose(float(radius_table(speaker, np.array([alt]))[0]), r, rel_tol=1e-9)


def test_one_long_barrier_follows_maekawa() -> None:
    """A wall 10 m high and 2 km long between source and ear: the level drops by Maekawa's curve."""
    ear_h, src_h, wall_h = 1.5, 30.0, 10.0
    for a, b in ((5.0, 40.0), (2.0, 60.0), (8.0, 50.0), (3.0, 15.0)):  # ear->wall, wall->source (m): all shadowed
        wall = Building("w", box(a, -1000.0, a + 0.01, 1000.0), wall_h, "height")
        delta = path_difference_m((a + b, 0.0, src_h), (0.0, 0.0, ear_h), [wall])
        expect = math.hypot(a, wall_h - ear_h) + math.hypot(b, src_h - wall_h) - math.hypot(a + b, src_h - ear_h)
        assert math.isclose(delta, expect, rel_tol=1e-3, abs_tol=1e-4)
        n = 2.0 * expect * 1000.0 / SPEED_OF_SOUND_MPS
        assert math.isclose(float(maekawa_db(delta)), min(10 * math.log10(3 + 20 * n), 20.0), abs_tol=0.05)
    # the curve itself: 4.8 dB at grazing incidence, +3 dB per doubling of N at large N, the 20 dB cap
    lam = SPEED_OF_SOUND_MPS / 1000.0
    assert math.isclose(float(maekawa_db(1e-9)), 10 * math.log10(3), abs_tol=1e-3)
    assert math.isclose(float(maekawa_db(lam)) - float(maekawa_db(lam / 2)), 10 * math.log10(43 / 23), abs_tol=1e-9)
    assert float(maekawa_db(50.0)) == MAX_SCREENING_DB
    # a wall that does not reach the line of sight costs nothing
    low = Building("l", box(10.0, -1000.0, 10.01, 1000.0), 1.0, "height")
    assert path_difference_m((50.0, 0.0, src_h), (0.0, 0.0, ear_h), [low]) == 0.0


def test_courtyard_shadow_is_heard_less() -> None:
    """A 4-storey block beside a courtyard hides the ground behind it from a speaker on the far side."""
    block = Building("b", box(0.0, -30.0, 12.0, 30.0), 12.0, "height")
    sp = Speaker()
    src = (-25.0, 0.0, 30.0)
    pts = np.array([[-10.0, 0.0], [16.0, 0.0], [14.0, 0.0]])
    open_ = heard_from(sp, src, pts)
    shaded = heard_from(sp, src, pts, [block])
    assert open_.all()
    assert shaded[0] and not shaded[1] and not shaded[2]


def test_rotor_noise_shrinks_the_disc_by_its_penalty() -> None:
    sp = Speaker()
    pts = _grid()
    pen = rotor_penalty_db(sp, 86.0)
    quieter = Speaker(level_db_at_1m=sp.level_db_at_1m - pen)
    r = audible_radius_m(quieter, 40.0)[1]
    got = heard_from(sp, (0.0, 0.0, 40.0), pts, rotor_db=86.0)
    assert np.array_equal(got, (pts**2).sum(axis=1) <= r * r)
    assert got.sum() < heard_from(sp, (0.0, 0.0, 40.0), pts).sum()
    assert not heard_from(sp, (0.0, 0.0, 40.0), pts, rotor_db=95.0).any()  # speaker not 10 dB over its rotor


boxes = st.lists(
    st.tuples(st.floats(-60, 60), st.floats(-60, 60), st.floats(2, 30), st.floats(2, 30), st.floats(3, 35)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(boxes, st.floats(-40, 40), st.floats(-40, 40), st.floats(20, 60), st.sampled_from([None, 80.0]))
def test_adding_a_building_never_adds_a_listener(fps, sx, sy, alt, rotor) -> None:
    sp = Speaker()
    pts = _grid(80.0, 4.0)
    blds = [Building(f"b{k}", box(x, y, x + w, y + d), h, "height") for k, (x, y, w, d, h) in enumerate(fps)]
    src = (sx, sy, alt)
    prev = heard_from(sp, src, pts, rotor_db=rotor)
    for k in range(1, len(blds) + 1):
        now = heard_from(sp, src, pts, blds[:k], rotor_db=rotor)
        assert not (now & ~prev).any()
        prev = now


@settings(max_examples=60, deadline=None)
@given(boxes, st.floats(-40, 40), st.floats(-40, 40), st.floats(20, 60), st.floats(-70, 70), st.floats(-70, 70))
def test_path_difference_grows_with_buildings(fps, sx, sy, alt, ex, ey) -> None:
    blds = [Building(f"b{k}", box(x, y, x + w, y + d), h, "height") for k, (x, y, w, d, h) in enumerate(fps)]
    src, ear = (sx, sy, alt), (ex, ey, 1.5)
    deltas = [path_difference_m(src, ear, blds[:k]) for k in range(len(blds) + 1)]
    assert deltas[0] == 0.0
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(deltas))
    assert all(float(maekawa_db(d)) <= MAX_SCREENING_DB for d in deltas)


def test_the_share_that_counts_is_the_open_ground(tmp_path) -> None:
    """A compound with a block in it: the manifest keeps both figures, and the open ground is its area
    minus the footprint; the grid points inside the block are left out of the share that counts."""
    from patrol.inputs.compounds import read_district
    from patrol.plan.coverage import open_ground, sample_points
    from patrol.plan.pipeline import plan_patrol
    from patrol.types import PatrolParams, Vehicle
    from tests.conftest import poly_feature, square_lonlat, write_fc

    lat, lon, d = 38.41, 112.72, 0.002
    comp = write_fc(tmp_path / "c.geojson", [poly_feature(square_lonlat(lon, lat, d), id="C0", tier="guarded")])
    bld = poly_feature(square_lonlat(lon + 0.3 * d, lat + 0.3 * d, 0.4 * d), id="B0", height="18")
    dist = read_district(comp, building_paths=write_fc(tmp_path / "b.geojson", [bld]))
    plan = plan_patrol(dist, PatrolParams(home_lat=lat - 0.5 * d, home_lon=lon), vehicle=Vehicle(endurance_min=60))
    st = plan.compound_stats[0]
    c, b = dist.compounds[0], dist.buildings[0]
    assert math.isclose(st["open_ground_m2"], c.geometry.difference(b.geometry).area, rel_tol=1e-3)
    assert st["open_ground_m2"] < st["area_m2"]
    assert 0.0 <= st["predicted_heard_whole_share"] <= 1.0
    assert 0.0 <= st["predicted_heard_whole_share_whole_area"] <= 1.0
    pts = sample_points(c.geometry, 3000)
    ground = open_ground(pts, [b.geometry])
    inside = ~ground
    assert inside.any() and ground.any()
    assert all(b.geometry.contains(shapely.Point(p)) for p in pts[inside][:50])


footprints = st.lists(
    st.tuples(
        st.floats(-60, 60),
        st.floats(-60, 60),
        st.floats(2, 30),
        st.floats(2, 30),
        st.floats(3, 35),
        st.floats(0, 90),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


def _buildings(fps) -> list[Building]:
    """Boxes, turned by an angle, some with a courtyard (a hole), some overlapping."""
    out = []
    for k, (x, y, w, d, h, turn, court) in enumerate(fps):
        g = shapely.affinity.rotate(box(x, y, x + w, y + d), turn)
        if court:
            g = g.difference(g.centroid.buffer(min(w, d) / 4))
        out.append(Building(f"b{k}", g, h, "height"))
    return out


@settings(max_examples=60, deadline=None)
@given(footprints, st.integers(0, 2**31 - 1))
def test_the_bulk_path_differences_are_the_reference_ones(fps, seed) -> None:
    """Every path at once (:func:`path_differences_m`, what plan and audit use) gives the per-path taut string
    of :func:`path_difference_m`: ears in the open and inside blocks, speakers high and below the roofs."""
    blds = _buildings(fps)
    rng = np.random.default_rng(seed)
    ears = rng.uniform(-70, 70, (40, 2))
    ears[:5] = [b.geometry.representative_point().coords[0] for b in (blds * 5)[:5]]  # some inside a block
    src = np.column_stack([rng.uniform(-40, 40, (40, 2)), rng.uniform(5, 60, 40)])
    got = path_differences_m(Screens.of(blds), ears, src, 1.5)
    want = [path_difference_m(tuple(s), (e[0], e[1], 1.5), blds) for e, s in zip(ears, src, strict=True)]
    assert np.allclose(got, want, rtol=1e-6, atol=1e-7)


def test_screened_only_where_maekawa_takes_the_margin() -> None:
    """Behind a wall the ear loses 4.8 to 20 dB: screened where that exceeds its margin, never in the clear."""
    wall = Building("w", box(10.0, -100.0, 10.5, 100.0), 12.0, "height")
    sc = Screens.of([wall])
    ears = np.array([[20.0, 0.0], [20.0, 0.0], [20.0, 0.0], [0.0, 0.0]])
    src = np.array([[-20.0, 0.0, 30.0]] * 4)
    delta = path_differences_m(sc, ears, src, 1.5)
    att = float(maekawa_db(delta[0]))
    assert delta[0] > 0 and delta[3] == 0.0 and GRAZING_DB <= att <= MAX_SCREENING_DB
    got = screened(sc, ears, src, 1.5, np.array([att - 0.01, att + 0.01, 25.0, 0.0]))
    assert got.tolist() == [True, False, False, False]


def _pass_past(block: Building | None, shield_speaker: Speaker = Speaker()):
    """A 40 m pass along y = 0 at 30 m, a grid beside it, heard with and without the block's shield."""
    xs = np.arange(-60.0, 60.01, 2.0)
    gx, gy = np.meshgrid(xs, np.arange(-45.0, 45.01, 2.0))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    t = np.arange(0.0, 41.0)
    xy = np.column_stack([t * 3.0 - 60.0, np.zeros_like(t)])
    alt = np.full(len(t), 30.0)
    r = radius_table(shield_speaker, alt)
    shield = Shield.of([block] if block else [], shield_speaker)
    plays = [(a, a + 6.0) for a in np.arange(0.0, 34.1, 2.0)]
    return pts, hear(pts, t, xy, r, plays, alt_m=alt, shield=shield)


def test_a_block_beside_the_pass_shadows_the_ground_behind_it() -> None:
    block = Building("b", box(-30.0, 8.0, 30.0, 20.0), 15.0, "height")
    pts, open_ = _pass_past(None)
    _, shaded = _pass_past(block)
    assert open_.unscreened is None and not open_.shadowed.any()
    assert np.array_equal(shaded.unscreened, open_.heard)  # the disc alone: today's figure, kept beside
    assert np.array_equal(shaded.in_range, open_.in_range)
    assert not (shaded.heard & ~open_.heard).any()  # a building never adds a listener
    behind = (np.abs(pts[:, 0]) < 20) & (pts[:, 1] > 22) & (pts[:, 1] < 30)
    front = (np.abs(pts[:, 0]) < 20) & (pts[:, 1] < -2) & (pts[:, 1] > -20)
    assert open_.heard[behind].all() and not shaded.heard[behind].any() and shaded.shadowed[behind].all()
    assert np.array_equal(shaded.heard[front], open_.heard[front])
    far = Building("far", box(500.0, 500.0, 520.0, 520.0), 80.0, "height")  # out of every disc
    _, same = _pass_past(far)
    assert np.array_equal(same.heard, open_.heard)


@settings(max_examples=25, deadline=None)
@given(footprints, st.floats(20, 45), st.floats(-20, 20))
def test_hear_screens_as_every_pair_screened_would(fps, alt, lane_y) -> None:
    """hear() screens only the samples of plays a point hears whole in the disc; that is the answer of
    screening every pair (in the disc and not blocked, at every sample of one play)."""
    blds = _buildings(fps)
    sp = Speaker()
    xs = np.arange(-70.0, 70.01, 5.0)
    gx, gy = np.meshgrid(xs, xs)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    t = np.arange(0.0, 47.0)
    xy = np.column_stack([t * 3.0 - 70.0, np.full(len(t), lane_y)])
    z = np.full(len(t), alt)
    r = radius_table(sp, z)
    plays = [(a, a + 6.0) for a in np.arange(0.0, 40.1, 2.0)]
    shield = Shield.of(blds, sp)
    got = hear(pts, t, xy, r, plays, alt_m=z, shield=shield)
    i, j = np.meshgrid(np.arange(len(pts)), np.arange(len(t)), indexing="ij")
    i, j = i.ravel(), j.ravel()
    inside = (pts[i, 0] - xy[j, 0]) ** 2 + (pts[i, 1] - xy[j, 1]) ** 2 <= r[j] ** 2
    ok = np.zeros(len(i), bool)
    ok[inside] = ~shield.blocked(pts[i[inside]], xy[j[inside]], z[j[inside]], r[j[inside]])
    ok = ok.reshape(len(pts), len(t))
    want = np.zeros(len(pts), bool)
    for a, b in plays:
        cols = (t >= a) & (t <= b)
        want |= ok[:, cols].all(axis=1)
    assert np.array_equal(got.heard, want)
    assert not (got.heard & ~got.unscreened).any()
    memo = PlayMemo(len(pts))  # the same plays flown 100 s later first, then these: the memo's answers are as good
    later = hear(pts, t + 100.0, xy, r, [(a + 100.0, b + 100.0) for a, b in plays], alt_m=z, shield=shield, memo=memo)
    assert np.array_equal(later.heard, want)
    assert np.array_equal(hear(pts, t, xy, r, plays, alt_m=z, shield=shield, memo=memo).heard, want)


def test_a_memo_screens_a_play_once(monkeypatch) -> None:
    """Predicted again (the rounds of hovers), the plays a memo knows are not screened again; new ones are."""
    block = Building("b", box(-30.0, 8.0, 30.0, 20.0), 15.0, "height")
    pts = np.column_stack([g.ravel() for g in np.meshgrid(np.arange(-60.0, 60.1, 3.0), np.arange(-45.0, 45.1, 3.0))])
    t = np.arange(0.0, 41.0)
    xy = np.column_stack([t * 3.0 - 60.0, np.zeros_like(t)])
    alt = np.full(len(t), 30.0)
    r = radius_table(Speaker(), alt)
    shield = Shield.of([block], Speaker())
    plays = [(a, a + 6.0) for a in np.arange(0.0, 34.1, 2.0)]
    paths = []
    real = Shield.blocked
    monkeypatch.setattr(Shield, "blocked", lambda self, e, *a: paths.append(len(e)) or real(self, e, *a))
    want = hear(pts, t, xy, r, plays, alt_m=alt, shield=shield).heard
    fresh = sum(paths)
    memo = PlayMemo(len(pts))
    assert np.array_equal(hear(pts, t, xy, r, plays, alt_m=alt, shield=shield, memo=memo).heard, want)
    assert sum(paths) == 2 * fresh > 0
    assert np.array_equal(hear(pts, t, xy, r, plays, alt_m=alt, shield=shield, memo=memo).heard, want)
    assert sum(paths) == 2 * fresh  # nothing screened again
    more = [(0.0, 2.5), *plays]  # one play more, nearer some points than any other: only it is screened
    want = hear(pts, t, xy, r, more, alt_m=alt, shield=shield).heard
    before = sum(paths)
    assert np.array_equal(hear(pts, t, xy, r, more, alt_m=alt, shield=shield, memo=memo).heard, want)
    assert 0 < sum(paths) - before < fresh


def test_shielded_plan_reports_the_shadow_never_hides_it(tmp_path) -> None:
    """A compound with a tall block: the share heard whole drops, and what the buildings take is reported as
    shadowed open ground, so heard and shadowed together are what the disc alone gave; without the shield the
    plan is today's."""
    from patrol.inputs.compounds import read_district
    from patrol.plan.pipeline import plan_patrol
    from patrol.types import PatrolParams, Vehicle
    from tests.conftest import poly_feature, square_lonlat, write_fc

    lat, lon, d = 38.41, 112.72, 0.002
    comp = write_fc(tmp_path / "c.geojson", [poly_feature(square_lonlat(lon, lat, d), id="C0", tier="guarded")])
    bld = poly_feature(square_lonlat(lon + 0.4 * d, lat + 0.2 * d, 0.1 * d), id="B0", height="24")
    dist = read_district(comp, building_paths=write_fc(tmp_path / "b.geojson", [bld]))
    kw = {"params": PatrolParams(home_lat=lat - 0.5 * d, home_lon=lon), "vehicle": Vehicle(endurance_min=60)}
    shaded = plan_patrol(dist, **kw).compound_stats[0]
    plain = plan_patrol(dist, shielding=False, **kw).compound_stats[0]
    assert plain["predicted_shadowed_m2"] == 0.0
    assert shaded["predicted_shadowed_m2"] > 0.0
    assert shaded["predicted_heard_whole_share"] < plain["predicted_heard_whole_share"]
    lost = plain["predicted_heard_whole_share"] - shaded["predicted_heard_whole_share"]
    shares_to_m2 = 2e-4 * shaded["open_ground_m2"]  # the shares are kept to 4 places
    assert math.isclose(shaded["predicted_shadowed_m2"], lost * shaded["open_ground_m2"], abs_tol=shares_to_m2)
