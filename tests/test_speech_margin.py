"""The margin over street noise a plan's warnings need: the lowest ladder step at which every clip it plays is
understood, and the plan made at that margin (a smaller audible radius, so its prediction stays true)."""

from __future__ import annotations

import pytest

from patrol.inputs.compounds import read_district
from patrol.plan.acoustics import audible_radius_m
from patrol.plan.pipeline import plan_patrol
from patrol.speech.margin import decide_margin, ladder_steps, planning_speaker, settle_margin
from patrol.types import PatrolParams, Speaker
from tests.conftest import poly_feature, square_lonlat, write_fc

LON, LAT = 112.730, 38.415


def test_a_clip_failing_at_10_db_and_passing_at_12_needs_12():
    m = decide_margin({"vendor-gate": {10.0: 0.2, 12.0: 0.1}}, 10.0)
    assert m.used_db == 12.0 and m.planned_db == 12.0 and m.raised
    assert m.needs_db == {"vendor-gate": 12.0}
    assert m.to_measure == ()


def test_clips_passing_at_the_margin_asked_keep_it():
    m = decide_margin({"a": {10.0: 0.1}, "b": {10.0: 0.0}}, 10.0)
    assert m.used_db == 10.0 and not m.raised and m.needs_db == {"a": 10.0, "b": 10.0}


def test_the_margin_is_the_lowest_step_every_clip_passes_at_not_the_largest_need():
    # a passes at 10 but, measured at 12, fails there; b needs 12: neither alone says 14, together they do
    m = decide_margin({"a": {10.0: 0.1}, "b": {10.0: 0.3, 12.0: 0.1}}, 10.0)
    assert m.used_db is None and m.to_measure == (("a", 12.0),)
    figures = {"a": {12.0: 0.2, 14.0: 0.1}, "b": {14.0: 0.05}}
    m = settle_margin({"a": {10.0: 0.1}, "b": {10.0: 0.3, 12.0: 0.1}}, lambda c, s: figures[c][s], 10.0)
    assert m.used_db == 14.0
    assert m.needs_db == {"a": 10.0, "b": 12.0}
    assert m.figures == {"a": {10.0: 0.1, 12.0: 0.2, 14.0: 0.1}, "b": {10.0: 0.3, 12.0: 0.1, 14.0: 0.05}}


def test_measuring_stops_at_the_first_step_that_serves_every_clip():
    asked = []

    def measure(clip: str, snr_db: float) -> float:
        asked.append((clip, snr_db))
        return 0.1

    m = settle_margin({"a": {10.0: 0.3}, "b": {10.0: 0.2}}, measure, 10.0)
    assert m.used_db == 12.0 and asked == [("a", 12.0), ("b", 12.0)]


def test_no_step_passing_keeps_the_margin_asked_and_says_none_serves():
    m = settle_margin({"a": {10.0: 0.4}}, lambda c, s: 0.3, 10.0)
    assert m.used_db is None and m.planned_db == 10.0 and not m.raised
    assert m.needs_db == {"a": None}
    assert sorted(m.figures["a"]) == [10.0, 12.0, 14.0, 17.0, 20.0]
    assert m.record()["every_clip_passes"] is False and m.record()["used_snr_db"] == 10.0


def test_the_ladder_starts_at_the_margin_asked():
    assert ladder_steps(10.0) == (10.0, 12.0, 14.0, 17.0, 20.0)
    assert ladder_steps(13.0) == (13.0, 14.0, 17.0, 20.0)
    assert ladder_steps(25.0) == (25.0,)
    assert decide_margin({"a": {13.0: 0.2, 14.0: 0.0}}, 13.0).used_db == 14.0


def test_the_record_names_both_margins_and_every_figure():
    rec = decide_margin({"vendor-gate": {10.0: 0.222, 12.0: 0.111}}, 10.0).record()
    assert rec["requested_snr_db"] == 10.0 and rec["used_snr_db"] == 12.0 and rec["every_clip_passes"]
    assert rec["clips"] == {"vendor-gate": {"needs_snr_db": 12.0, "worst_by_snr_db": {"10": 0.222, "12": 0.111}}}


def test_the_plan_made_at_the_needed_margin_has_the_radius_of_that_margin(tmp_path):
    feats = [poly_feature(square_lonlat(LON, LAT, 0.0025), id="C1", tier="guarded")]
    d = read_district([write_fc(tmp_path / "d.geojson", feats)])
    params = PatrolParams(alt_m=40.0, home_lon=LON - 0.001, home_lat=LAT - 0.001)
    asked = Speaker(snr_db=10.0)
    margin = decide_margin({"vendor-gate": {10.0: 0.2, 12.0: 0.1}}, 10.0)
    plan = plan_patrol(d, params, planning_speaker(asked, margin))
    at_12 = audible_radius_m(Speaker(snr_db=12.0), 40.0)[1]
    assert plan.audibility.radius_m == pytest.approx(at_12)
    assert plan.audibility.radius_m < audible_radius_m(asked, 40.0)[1]
    assert plan.speaker.snr_db == 12.0
    assert planning_speaker(asked, None) == asked


def test_a_needed_margin_the_speaker_cannot_serve_at_that_altitude_plans_at_the_one_asked(tmp_path):
    from patrol.commands.plan import _plan_at_margin
    from patrol.speech.broadcast import Broadcast

    feats = [poly_feature(square_lonlat(LON, LAT, 0.0025), id="C1", tier="guarded")]
    d = read_district([write_fc(tmp_path / "d.geojson", feats)])
    params = PatrolParams(alt_m=40.0, home_lon=LON - 0.001, home_lat=LAT - 0.001)
    # at 20 dB over 55 dB a 100 dB speaker carries 18 m: not to the ground from 40 m
    margin = decide_margin({"mask-downstairs": {10.0: 0.18, 20.0: 0.09}}, 10.0, ladder=(20.0,))
    bc = Broadcast(encoder=None, files={}, prompt_s=6.0, loiter_s=0.0, margin=margin)  # type: ignore[arg-type]
    plan, bc2 = _plan_at_margin(d, params, Speaker(snr_db=10.0), None, bc, None)
    assert plan.speaker.snr_db == 10.0
    assert plan.audibility.radius_m == pytest.approx(audible_radius_m(Speaker(snr_db=10.0), 40.0)[1])
    assert bc2.margin.used_db == 20.0 and "not heard on the ground" in bc2.margin.not_flown
    rec = bc2.margin.record()
    assert rec["needed_snr_db"] == 20.0 and rec["used_snr_db"] == 10.0 and not bc2.margin.raised
