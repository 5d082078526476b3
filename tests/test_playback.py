"""Speaker state in the prediction: the plan predicts heard whole only from the legs where the speaker plays as
its cues make it play, with the audit's own function (patrol.plan.coverage.hear) on the planned track."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav
from shapely.geometry import LineString, Point, box

from patrol.geo import LocalFrame
from patrol.plan.coverage import clip_plays, hear, radius_table, sample_points
from patrol.plan.pipeline import default_clip_of, plan_patrol
from patrol.plan.playback import planned_events, planned_track
from patrol.plan.sorties import LAND_FLARE_M, transit_plays
from patrol.types import Compound, CueKind, District, NoFlyZone, PatrolParams

FRAME = LocalFrame(112.73, 38.415)

# Two compounds swept by lanes, and between them C, all of it within the 30 m buffer of a no-fly zone: C gets no
# lanes of its own. The transit from A to B used to pass over it with the speaker stopped (A's LEAVE) and the
# plan still predicted C heard whole on ~100 % of its area, counting every leg as if the speaker played.
A = Compound("A", "a", "guarded", 1, box(0, 0, 200, 200))
B = Compound("B", "b", "guarded", 1, box(400, 0, 600, 200))
C = Compound("C", "c", "guarded", 1, box(270, 90, 330, 110))
Z = NoFlyZone("Z", "school", box(270, 115, 330, 140))
HOME_LON, HOME_LAT = FRAME.to_wgs84(0.0, -150.0)


def plan_abc(encoder=None, params=None):
    params = params or PatrolParams(home_lon=float(HOME_LON), home_lat=float(HOME_LAT))
    return plan_patrol(District(FRAME, (A, B, C), (Z,)), params, encoder=encoder)


def shared_share(plan, compound, sortie, clip_of):
    """Heard whole by the shared function, from the planned track (at its knots and play ends) and the plays
    of the sortie's cues."""
    home = (plan.home_x_m, plan.home_y_m)
    tr = planned_track(sortie, home, plan.audibility.speed_mps, plan.vehicle)
    clip_s = {got[0]: got[1] for _, c in sortie.cues if (got := clip_of(c)) is not None}
    plays = [(a, b) for a, b, _ in clip_plays(planned_events(sortie, tr.done_s, clip_of), clip_s, float(tr.t_s[-1]))]
    t, xy, alt = tr.at_knots_and(plays)
    r = radius_table(plan.speaker, alt, plan.params.radius_m)
    pts = sample_points(compound.geometry, 3000)
    dense = (tr.t_s, tr.xy, radius_table(plan.speaker, tr.alt_m, plan.params.radius_m))
    return hear(pts, t, xy, r, plays), (pts, dense, plays)


def test_a_compound_without_lanes_gets_its_own_pass_and_is_predicted_from_playing_legs_only():
    plan = plan_abc()
    stats = {s["id"]: s for s in plan.compound_stats}
    assert stats["C"]["lanes"] == 0 and stats["A"]["lanes"] > 0 and stats["B"]["lanes"] > 0
    (sortie,) = plan.sorties
    own = [st for st in sortie.steps if st.compound_id == "C"]
    # its own pass: fly to the point nearest its middle clear of the no-fly buffer, hover a heard-whole window
    assert len(own) == 2 and (own[0].x_m, own[0].y_m) == (own[1].x_m, own[1].y_m)
    assert own[0].loiter_s == 0 and own[1].loiter_s == math.ceil(plan.params.prompt_s)
    assert Point(own[0].x_m, own[0].y_m).distance(Z.geometry) >= plan.params.nofly_buffer_m
    k_arrive = sortie.steps.index(own[0])
    assert (k_arrive, CueKind.ENTER) in [(k, c.kind) for k, c in sortie.cues if c.compound_id == "C"]
    assert (k_arrive + 1, CueKind.LEAVE) in [(k, c.kind) for k, c in sortie.cues if c.compound_id == "C"]
    hover = [it for it in plan.missions[0] if it.command == mav.MAV_CMD_NAV_LOITER_TIME]
    assert [it.note for it in hover] == ["pass C"] and hover[0].param1 == own[1].loiter_s

    # the prediction is the shared function on the planned track with the cues' plays, to the figure
    clip_of = default_clip_of(plan.params)
    h, (pts, (t, xy, r), plays) = shared_share(plan, C, sortie, clip_of)
    assert stats["C"]["predicted_heard_whole_share"] == round(float(h.heard.mean()), 4) >= 0.95
    assert stats["C"]["predicted_heard_whole_by_sortie"] == {1: stats["C"]["predicted_heard_whole_share"]}
    for cid, comp in (("A", A), ("B", B)):
        assert stats[cid]["predicted_heard_whole_share"] == round(float(shared_share(plan, comp, sortie, clip_of)[0]
                                                                        .heard.mean()), 4)  # fmt: skip

    # without its pass, and with the speaker stopped on leaving A (the cues before this change), it is silent
    # wherever C is in range:
    # the legs near it count for nothing, though counting every leg as playing (the old prediction) gives ~1
    old_cues = ((k, dataclasses.replace(c, plays_on=False)) for k, c in sortie.cues if c.compound_id != "C")
    silent = dataclasses.replace(sortie, cues=tuple(old_cues))
    quiet, _ = shared_share(plan, C, silent, clip_of)
    assert quiet.in_range.mean() == 1.0 and quiet.heard.mean() <= 0.05
    everywhere = hear(pts, t, xy, r, None, window_s=plan.params.prompt_s)
    assert everywhere.heard.mean() >= 0.99
    # the planned track at its knots and play ends gives what the densely sampled track (every 4 m) gives
    assert hear(pts, t, xy, r, plays).heard.mean() == pytest.approx(h.heard.mean(), abs=0.002)


def test_the_planned_track_keeps_the_sorties_time_model():
    plan = plan_abc()
    (sortie,) = plan.sorties
    tr = planned_track(sortie, (plan.home_x_m, plan.home_y_m), plan.audibility.speed_mps, plan.vehicle)
    assert np.all(np.diff(tr.t_s) >= 0) and len(tr.done_s) == len(sortie.steps)
    # flat district: the track ends over home, landing is what the sortie time adds
    v = plan.vehicle
    alt = sortie.steps[-1].alt_m
    land = (alt - LAND_FLARE_M) / v.descent_mps + LAND_FLARE_M / v.land_speed_mps
    assert tr.t_s[-1] + land == pytest.approx(sortie.predicted_time_s, abs=1e-6)
    assert np.hypot(*(tr.xy[-1] - (plan.home_x_m, plan.home_y_m))) < 1e-6
    for st, t in zip(sortie.steps, tr.done_s, strict=True):  # every step is reached when the track says so
        k = int(np.searchsorted(tr.t_s, t - 1e-9))
        assert np.hypot(*(tr.xy[k] - (st.x_m, st.y_m))) < 1e-6


def test_transit_over_the_sorties_compounds_plays_and_over_others_stays_silent():
    over_c = [(220.0, 100.0), (380.0, 100.0)]
    clear = [(220.0, -50.0), (380.0, -50.0)]
    assert transit_plays(over_c, [A, B, C], [])
    assert not transit_plays(over_c, [A, B], [C])  # C in another sortie: not disturbed
    assert not transit_plays(clear, [A, B, C], [])  # over no compound
    assert LineString(over_c).intersects(C.geometry) and not LineString(clear).intersects(C.geometry)


def test_the_audit_of_a_flight_flown_as_planned_finds_the_prediction(tmp_path):
    """A telemetry log of the planned track at 10 Hz with the applet's reports of the planned speaker events:
    the audit (thinned track, its own play intervals) finds what the plan predicted, compound by compound."""
    from patrol.review.audit import PackageInfo, run_audit
    from patrol.review.flightlog import read_log
    from tests.test_audit import write_tlog

    plan = plan_abc()
    (sortie,) = plan.sorties
    clip_of = default_clip_of(plan.params)
    home = (plan.home_x_m, plan.home_y_m)
    tr = planned_track(sortie, home, plan.audibility.speed_mps, plan.vehicle)
    t10 = np.arange(0.0, tr.t_s[-1], 0.1)
    xs, ys = np.interp(t10, tr.t_s, tr.xy[:, 0]), np.interp(t10, tr.t_s, tr.xy[:, 1])
    at = {}
    for t, action, track, repeats in planned_events(sortie, tr.done_s, clip_of):
        at[int(np.ceil(t * 10 - 1e-9))] = f"PTRL {action} {track} {repeats}"
    # write_tlog flies at one altitude: the patrol's (the district is flat; take-off and landing are at home)
    log = read_log(write_tlog(tmp_path / "planned.tlog", xs, ys, alt_m=sortie.steps[1].alt_m, cues=at.items()))
    comps = [{"id": c.id, "name": c.name, "tier": c.tier, "geometry": c.geometry} for c in (A, B, C)]
    clip_s = {got[0]: got[1] for _, c in sortie.cues if (got := clip_of(c)) is not None}
    pkg = PackageInfo(None, FRAME, comps, [], plan.speaker, None, plan.params.prompt_s, clip_s, {})
    stats = {s["id"]: s for s in plan.compound_stats}
    for a in run_audit([log], pkg):
        assert a.heard.mean() == pytest.approx(stats[a.id]["predicted_heard_whole_share"], abs=0.01), a.id
