"""The planner answers the buildings' shadows (patrol.plan.shadows): hovers over a shadowed courtyard until
its compound's open ground hears a whole warning, and what no permitted hover reaches is reported, with its
area. Synthetic compounds in local metres, planned by the whole pipeline (the prediction is the audit's
``coverage.hear`` with the buildings' shield)."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from shapely.geometry import Point, box

from patrol.geo import LocalFrame
from patrol.plan.pipeline import plan_patrol
from patrol.plan.shadows import HeardField, field_areas, hover_cover, hover_reaches, shadow_loiters
from patrol.plan.shielding import Shield
from patrol.types import (
    Building,
    Compound,
    CompoundRoute,
    CueKind,
    District,
    Lanes,
    NoFlyZone,
    PatrolParams,
    Speaker,
    Step,
    StepKind,
    Vehicle,
)

FRAME = LocalFrame(112.72, 38.41)
ROOF_M = 30.0


def courtyard_district(court_m: float, nofly: bool = False) -> tuple[District, box]:
    """A 160 x 120 m compound with a square courtyard of ``court_m`` at (80, 60) enclosed by four 10 m thick
    blocks 30 m tall (the patrol flies at 45 m over them); with ``nofly`` the courtyard is a no-fly zone."""
    a = court_m / 2
    x0, y0, x1, y1 = 80 - a, 60 - a, 80 + a, 60 + a
    ring = [
        box(x0 - 10, y0 - 10, x1 + 10, y0),
        box(x0 - 10, y1, x1 + 10, y1 + 10),
        box(x0 - 10, y0, x0, y1),
        box(x1, y0, x1 + 10, y1),
    ]
    blocks = tuple(Building(f"B{k}", g, ROOF_M, "height") for k, g in enumerate(ring))
    zones = (NoFlyZone("N", "helipad", box(x0, y0, x1, y1)),) if nofly else ()
    comp = Compound("C", "courtyard", "guarded", 1, box(0, 0, 160, 120))
    return District(FRAME, (comp,), nofly=zones, buildings=blocks), box(x0, y0, x1, y1)


def plan_of(district: District, loiters: int):
    lon, lat = FRAME.to_wgs84(80.0, -40.0)
    p = PatrolParams(home_lon=float(lon), home_lat=float(lat), nofly_buffer_m=5.0, shadow_loiters=loiters)
    return plan_patrol(district, p, vehicle=Vehicle(endurance_min=60))


def field_of(plan) -> dict:
    return {kind: geom for _cid, kind, geom in plan.heard_field}


@pytest.fixture(scope="module")
def courtyard():
    d, court = courtyard_district(20.0)
    return d, court, plan_of(d, 0), plan_of(d, 24)


def test_a_courtyard_enclosed_by_tall_blocks_is_shadowed_without_the_response(courtyard) -> None:
    _d, court, before, _after = courtyard
    st = before.compound_stats[0]
    assert st["alt_m"] == ROOF_M + 15.0 and st["shadow_loiters"] == 0
    assert st["predicted_heard_whole_share"] < 0.99
    shadow = field_of(before)["shadowed"]
    assert shadow.intersection(court).area > 0.4 * court.area  # the lanes pass by: the blocks hide them
    assert st["predicted_shadowed_m2"] >= shadow.intersection(court).area * 0.9


def test_the_planner_hovers_over_the_courtyard_until_the_target_is_heard(courtyard) -> None:
    _d, court, before, after = courtyard
    b, a = before.compound_stats[0], after.compound_stats[0]
    assert a["predicted_heard_whole_share"] >= 0.99 > b["predicted_heard_whole_share"]
    assert a["predicted_shadowed_m2"] < b["predicted_shadowed_m2"] and a["predicted_unreachable_m2"] == 0.0
    field = field_of(after)
    assert field["heard"].intersection(court).area > 0.85 * court.area
    assert "shadowed" not in field or field["shadowed"].intersection(court).area < 0.05 * court.area
    (sortie,) = after.sorties
    hovers = [k for k, s in enumerate(sortie.steps) if s.loiter_s > 0 and s.kind is StepKind.LANE]
    assert len(hovers) == a["shadow_loiters"] >= 1
    assert any(court.contains(Point(sortie.steps[k].x_m, sortie.steps[k].y_m)) for k in hovers)
    hover_s = math.ceil(after.params.prompt_s)
    enter = min(k for k, c in sortie.cues if c.kind == CueKind.ENTER)
    leave = max(k for k, c in sortie.cues if c.kind == CueKind.LEAVE)
    for k in hovers:  # a whole warning: the window's length, with the compound's loop playing
        st = sortie.steps[k]
        assert st.loiter_s == hover_s and enter < k < leave
        assert st.alt_m >= ROOF_M + after.params.clearance_m
    # the added time is flown and charged: the compound's time and its sortie's grow by at least the hovers
    assert a["predicted_time_s"] >= b["predicted_time_s"] + len(hovers) * hover_s
    assert after.sorties[0].predicted_time_s >= before.sorties[0].predicted_time_s + len(hovers) * hover_s


def test_what_no_hover_may_reach_is_reported_with_its_area() -> None:
    d, court = courtyard_district(12.0, nofly=True)  # a helipad in the courtyard: no hover over it
    plan = plan_of(d, 24)
    st = plan.compound_stats[0]
    field = field_of(plan)
    unreach = field["unreachable"]
    assert unreach.difference(court.buffer(3.0)).area < 1.0  # the courtyard, nothing else
    assert st["predicted_unreachable_m2"] > 0.5 * court.area
    assert math.isclose(st["predicted_unreachable_m2"], unreach.area, rel_tol=0.25)
    assert st["predicted_unreachable_m2"] <= st["predicted_shadowed_m2"]
    keep_out = court.buffer(plan.params.nofly_buffer_m)
    for s in plan.sorties[0].steps:
        assert not keep_out.contains(Point(s.x_m, s.y_m))


def _lane_route(y: float) -> CompoundRoute:
    lanes = Lanes("C", 0.0, 40.0, (((0.0, y), (160.0, y)),))
    steps = (Step(StepKind.LANE, 0.0, y, 45.0, "C"), Step(StepKind.LANE, 160.0, y, 45.0, "C"))
    return CompoundRoute("C", steps, lanes)


def test_shadow_loiters_stop_at_the_target_and_the_budget() -> None:
    d, court = courtyard_district(20.0)
    sp = Speaker()
    pts = np.array([(x, y) for x in np.arange(20.5, 140, 1.0) for y in np.arange(0.5, 120, 1.0)])
    ground = ~np.array([any(b.geometry.contains(Point(p)) for b in d.buildings) for p in pts])
    in_court = np.array([court.contains(Point(p)) for p in pts])
    field = HeardField(pts, ground, ground & ~in_court, np.ones(len(pts), bool), 1.0)
    shield = Shield.of(d.buildings, sp)
    kw = {"speaker": sp, "shield": shield, "sky": None, "clearance_m": 15.0, "hover_s": 6.0}
    route = _lane_route(20.0)
    same, resp = shadow_loiters(route, field, box(0, 0, 160, 120), target=0.5, **kw)
    assert same is route and resp.loiters == ()  # the target is already met
    got, resp = shadow_loiters(route, field, box(0, 0, 160, 120), max_loiters=1, **kw)
    assert len(resp.loiters) == 1 and court.contains(Point(resp.loiters[0]))
    assert len(got.steps) == len(route.steps) + 3  # out, hover, back
    join, hover, back = got.steps[1:4]
    assert (join.x_m, join.y_m) == (back.x_m, back.y_m) and join.y_m == 20.0
    assert hover.loiter_s == 6.0 and court.contains(Point(hover.x_m, hover.y_m))
    assert not resp.unreachable.any()
    areas = field_areas(field, resp.unreachable)
    assert math.isclose(areas["heard"].area + areas["shadowed"].area, ground.sum(), rel_tol=0.05)


def test_the_package_reports_the_shadow_per_compound(courtyard) -> None:
    from patrol.package.writer import package_files
    from patrol.plan.summary import summary_table

    _d, _court, _before, after = courtyard
    files = package_files(after)
    rows = list(csv.DictReader(io.StringIO(files["compounds.csv"])))
    (row,) = rows
    st = after.compound_stats[0]
    assert row["id"] == "C" and float(row["predicted_shadowed_m2"]) == st["predicted_shadowed_m2"]
    assert int(row["shadow_loiters"]) == st["shadow_loiters"]
    assert "predicted_unreachable_m2" in row
    assert '"layer":"heard_field"' in files["heard_field.geojson"]
    table = summary_table(after)
    assert "shadow_m2" in table and "unreach_m2" in table and "loiters" in table


def test_hover_reaches_is_the_any_of_every_hover_screened() -> None:
    """The unreachable check screens the nearest hovers first and stops at the first that reaches an ear: the
    answer of screening every hover-ear pair, in and around the courtyard behind its 30 m walls."""
    d, _court = courtyard_district(20.0)
    shield = Shield.of(d.buildings, Speaker())
    rng = np.random.default_rng(7)
    hovers = rng.uniform((0, 0), (160, 120), (60, 2))
    ears = np.vstack([rng.uniform((60, 40), (100, 80), (300, 2)), rng.uniform((0, 0), (160, 120), (300, 2))])
    for radius_m in (15.0, 33.0, 80.0):
        want = hover_cover(hovers, ears, 45.0, radius_m, shield).any(axis=0)
        got = hover_reaches(hovers, ears, 45.0, radius_m, shield)
        assert np.array_equal(got, want) and want.any() and not want.all()
    assert not hover_reaches(hovers[:0], ears, 45.0, 33.0, shield).any()
