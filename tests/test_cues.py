"""Cues in missions: prompts chosen by the catalogue's rules, encoded for script, relay and servo speakers."""

from __future__ import annotations

import json
import math

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.errors import InputError
from patrol.inputs.compounds import read_district
from patrol.package.writer import plan_json
from patrol.plan.pipeline import plan_patrol
from patrol.speech.build import build_prompts
from patrol.speech.catalogue import read_catalogue
from patrol.speech.cues import ACTION_LOOP, ACTION_PLAY, ACTION_STOP, PromptCues, timing_from_clips
from patrol.types import CueKind, PatrolParams, Vehicle
from tests.test_cli import run
from tests.test_plan_exports import LAT, LON, district_file  # noqa: F401 - fixture
from tests.test_playback import HOME_LAT, HOME_LON, C, plan_abc, shared_share

SCRIPT = mav.MAV_CMD_DO_SEND_SCRIPT_MESSAGE


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    cat = read_catalogue()
    return cat, build_prompts(cat, tmp_path_factory.mktemp("prompts") / "audio")


def _plan(district_file, enc):  # noqa: F811
    district = read_district(district_file)
    prompt_s, loiter_s = timing_from_clips(enc)
    params = PatrolParams(prompt_s=prompt_s, loiter_s=loiter_s, home_lat=LAT - 0.0008, home_lon=LON)
    return plan_patrol(district, params, vehicle=Vehicle(endurance_min=60), encoder=enc)


def test_script_cues_loop_the_tier_prompt_play_hotspots_and_stop_on_leaving(district_file, build):  # noqa: F811
    cat, b = build
    enc = PromptCues(cat, b, "zh", "script")
    plan = _plan(district_file, enc)
    tier_of = {c.id: c.tier for c in plan.district.compounds}
    for sortie, items in zip(plan.sorties, plan.missions, strict=True):
        cues = [c for _, c in sortie.cues if not c.plays_on]  # a LEAVE that plays on over the transit sends nothing
        scripts = [it for it in items if it.command == SCRIPT]
        assert len(scripts) == len(cues)
        for cue, it in zip(cues, scripts, strict=True):
            if cue.kind == CueKind.ENTER:
                want = cat.enter[tier_of[cue.compound_id]]
                assert cue.prompt_id == want
                assert (it.param1, it.param2) == (ACTION_LOOP, b.clip(want, "zh").track)
                assert it.param4 == pytest.approx(b.clip(want, "zh").duration_s, abs=0.05)
            elif cue.kind == CueKind.HOTSPOT:
                want = cat.hotspot[cue.hotspot_kind]
                assert cue.prompt_id == want
                assert (it.param1, it.param2, it.param3) == (
                    ACTION_PLAY,
                    b.clip(want, "zh").track,
                    cat.get(want).repeats,
                )
            else:
                assert it.param1 == ACTION_STOP and cue.prompt_id is None
        # the speaker starts after the compound's first waypoint and stops after its last
        k_first = next(k for k, it in enumerate(items) if it.command == SCRIPT)
        assert items[k_first - 1].command == mav.MAV_CMD_NAV_WAYPOINT
        # and the .plan shows the cues as the commands they are
        doc = plan_json(plan, sortie, items)
        assert sum(1 for x in doc["mission"]["items"] if x["command"] == SCRIPT) == len(scripts)
    # hotspot loiters last the prompt's repeats, with a second between plays
    loiters = [it for items in plan.missions for it in items if it.command == mav.MAV_CMD_NAV_LOITER_TIME]
    spot = max(cat.get(p).repeats * (b.clip(p, "zh").duration_s + 1.0) for p in cat.hotspot.values())
    assert loiters and all(it.param1 == math.ceil(spot) for it in loiters)  # whole seconds, as ArduPilot keeps it


def test_heard_whole_rule_uses_twice_the_longest_looped_clip(build):
    cat, b = build
    prompt_s, _ = timing_from_clips(PromptCues(cat, b, "en", "script"))
    assert prompt_s == pytest.approx(2 * max(b.clip(p, "en").duration_s for p in cat.enter.values()))


def test_relay_and_servo_encodings(district_file, build):  # noqa: F811
    cat, b = build
    tracks = {b.clip(p, "zh").track for p in (*cat.enter.values(), *cat.hotspot.values())}
    relay = PromptCues(cat, b, "zh", "relay", relay_by_track={t: k for k, t in enumerate(sorted(tracks))})
    items = [it for m in _plan(district_file, relay).missions for it in m]
    on = [it for it in items if it.command == mav.MAV_CMD_DO_SET_RELAY and it.param2 == 1]
    off = [it for it in items if it.command == mav.MAV_CMD_DO_SET_RELAY and it.param2 == 0]
    assert on and off and {it.param1 for it in on} <= set(range(len(tracks)))
    servo = PromptCues(cat, b, "zh", "servo", servo_channel=10, pwm_by_track={t: 1000 + 50 * t for t in tracks})
    items = [it for m in _plan(district_file, servo).missions for it in m]
    pwm = [it for it in items if it.command == mav.MAV_CMD_DO_SET_SERVO]
    assert pwm and {it.param1 for it in pwm} == {10} and 1000 in {it.param2 for it in pwm}
    with pytest.raises(InputError, match="no relay for track"):
        _plan(district_file, PromptCues(cat, b, "zh", "relay"))


def test_cli_plan_ships_the_clips_and_none_plans_without_a_speaker(district_file, tmp_path):  # noqa: F811
    res = run("plan", str(district_file), "-o", str(tmp_path / "a"), "--lang", "en")
    assert res.returncode == 0, res.stderr
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["broadcast"]["lang"] == "en" and man["broadcast"]["speaker"] == "script"
    clips = json.loads((tmp_path / "a" / "audio" / "manifest.json").read_text())["clips"]
    assert all((tmp_path / "a" / "audio" / c["file"]).exists() for c in clips)
    looped = max(
        c["duration_s"]
        for c in clips
        if c["lang"] == "en" and c["prompt_id"] in man["broadcast"]["rules"]["enter"].values()
    )
    assert man["parameters"]["patrol"]["prompt_s"] == pytest.approx(2 * looped, abs=0.01)
    plan = json.loads((tmp_path / "a" / "sortie-01.plan").read_text())
    assert any(it["command"] == SCRIPT for it in plan["mission"]["items"])
    res = run("plan", str(district_file), "-o", str(tmp_path / "b"), "--speaker", "none")
    assert res.returncode == 0, res.stderr
    plan = json.loads((tmp_path / "b" / "sortie-01.plan").read_text())
    assert not any(it["command"] == SCRIPT for it in plan["mission"]["items"])
    assert not (tmp_path / "b" / "audio").exists()


def test_the_companion_player_decodes_relay_and_servo_cues_back_to_tracks():
    from patrol.types import MissionItem
    from patrol.vehicle.player import decoder

    dec = decoder({3: 1, 5: 2}, {3: 1300, 5: 1500}, stop_pwm=1000)
    assert dec(MissionItem(mav.MAV_CMD_DO_SET_RELAY, 2, 2, 1)) == ("play", 5, 1)
    assert dec(MissionItem(mav.MAV_CMD_DO_SET_RELAY, 2, 2, 0)) == ("stop", 0, 0)
    assert dec(MissionItem(mav.MAV_CMD_DO_SET_SERVO, 2, 9, 1300)) == ("play", 3, 1)
    assert dec(MissionItem(mav.MAV_CMD_DO_SET_SERVO, 2, 9, 1000)) == ("stop", 0, 0)
    assert dec(MissionItem(SCRIPT, 2, 3, 5, 3, 3.0)) == ("play", 5, 3)


def test_a_leave_that_plays_on_sends_no_stop_and_the_loop_plays_through_the_transit(build):
    cat, b = build
    enc = PromptCues(cat, b, "zh", "script")
    prompt_s, loiter_s = timing_from_clips(enc)
    plan = plan_abc(
        enc, PatrolParams(prompt_s=prompt_s, loiter_s=loiter_s, home_lon=float(HOME_LON), home_lat=float(HOME_LAT))
    )
    (sortie,) = plan.sorties
    items = plan.missions[0]
    on = [c for _, c in sortie.cues if c.kind == CueKind.LEAVE and c.plays_on]
    assert on, "A's last lane ends across A: the transit out of it plays"
    scripts = [it for it in items if it.command == SCRIPT]
    assert len(scripts) == len(sortie.cues) - len(on)
    assert [round(it.param1) for it in scripts].count(ACTION_STOP) == len(sortie.cues) // 2 - len(on)
    assert round(scripts[0].param1) == ACTION_LOOP
    # predicted with the real clips, by the shared function
    h, _ = shared_share(plan, C, sortie, enc.clip)
    stats = {s["id"]: s for s in plan.compound_stats}
    assert stats["C"]["predicted_heard_whole_share"] == round(float(h.heard.mean()), 4) >= 0.9
