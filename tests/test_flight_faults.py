"""Faults in flight without a vehicle: the events `patrol fly` reports, a lost link reopened with the .tlog carried
over, a link not regained, a reboot, a failsafe's RTL; against the MAVLink peer double streaming telemetry
(a link outage and a reboot on demand). The same faults on real ArduPilot SITL: sitl_tests/test_sitl_faults.py."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest
from pymavlink import mavutil

from patrol.vehicle.fly import (
    COPTER_MODES,
    EXIT_ENDED_EARLY,
    EXIT_LINK_LOST,
    EventWatch,
    Flight,
    FlightState,
    LinkLostError,
    sortie_end,
)
from patrol.vehicle.link import connect
from tests.mission_peer_double import MissionPeerDouble, Telemetry

LAST = 12


class Msg:
    """A telemetry message as FlightState.update reads it."""

    def __init__(self, kind: str, **fields: object) -> None:
        self.kind = kind
        self.__dict__.update(fields)

    def get_type(self) -> str:
        return self.kind


def _heartbeat(mode: str) -> Msg:
    return Msg("HEARTBEAT", type=2, base_mode=128, custom_mode=COPTER_MODES[mode])


def _fix(fix_type: int) -> Msg:
    return Msg("GPS_RAW_INT", fix_type=fix_type)


def _text(text: str) -> Msg:
    return Msg("STATUSTEXT", text=text)


def test_each_change_of_the_vehicle_is_one_line_and_the_start_of_auto_is_none():
    s = FlightState()
    for m in (_heartbeat("GUIDED"), _fix(3)):
        s.update(m, 0.0)
    w = EventWatch(s)
    s.update(_heartbeat("AUTO"), 0.0)
    assert w.events(s) == []  # patrol's own MISSION_START
    s.update(_fix(1), 0.0)
    assert w.events(s) == ["GPS lost (fix type 1)"]
    assert w.events(s) == []  # said once
    for m in (_fix(3), _text("Mission: 4 WP"), _text("Battery 1 is low 10.38V used 812 mAh"), _heartbeat("RTL")):
        s.update(m, 0.0)
    assert w.events(s) == [
        "GPS regained (fix type 3)",
        "failsafe: vehicle says 'Battery 1 is low 10.38V used 812 mAh'",  # the mission's own text is no event
        "vehicle switched itself to RTL (from AUTO)",
    ]
    for m in (
        Msg("FENCE_STATUS", breach_status=1, breach_type=2),
        Msg("GLOBAL_POSITION_INT", time_boot_ms=600_000, lat=0, lon=0, relative_alt=0),
        Msg("GLOBAL_POSITION_INT", time_boot_ms=900, lat=0, lon=0, relative_alt=0),
        _text("PreArm: Battery 1 low voltage failsafe"),  # on the ground after landing: no event
    ):
        s.update(m, 0.0)
    assert w.events(s) == [
        "fence breached: the vehicle takes its fence action",
        "vehicle rebooted (its boot clock went back)",
    ]


def test_a_change_that_came_and_went_between_two_looks_is_still_told_in_the_order_it_came():
    s = FlightState()
    for m in (_heartbeat("AUTO"), _fix(3)):
        s.update(m, 0.0)
    w = EventWatch(s)
    for m in (_fix(0), _heartbeat("LAND"), _fix(6), _fix(6)):
        s.update(m, 0.0)
    assert w.events(s) == [
        "GPS lost (fix type 0)",
        "vehicle switched itself to LAND (from AUTO)",
        "GPS regained (fix type 6)",
    ]


def test_a_boot_clock_that_goes_back_counts_as_a_reboot():
    s = FlightState()
    for ms in (600_000, 600_250, 600_100, 1_200):  # a late, reordered message is not a reboot; a restart is
        s.update(Msg("GLOBAL_POSITION_INT", time_boot_ms=ms, lat=0, lon=0, relative_alt=0), 0.0)
    assert s.reboots == 1 and s.boot_ms == 1_200


@pytest.fixture
def flying():
    """The peer double as a vehicle flying item 1 of LAST in AUTO, and a Flight watching it over a recorded link."""
    with MissionPeerDouble(telemetry=Telemetry()) as peer:
        yield peer


def _script(steps: list[tuple[float, Callable[[], None]]]) -> threading.Thread:
    """Run each step ``dt`` seconds after the one before, in the background."""

    def run() -> None:
        for dt, step in steps:
            time.sleep(dt)
            step()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _watch(peer: MissionPeerDouble, tlog, **kw):
    link = connect(peer.url, heartbeat_timeout_s=5)
    link.conn.setup_logfile(str(tlog), mode="wb")
    flight = Flight(link)
    events: list[str] = []
    relink = kw.pop("relink", lambda: connect(peer.url, heartbeat_timeout_s=1))
    try:
        state = flight.follow(LAST, 60.0, report_every_s=0.2, on_event=events.append, relink=relink, **kw)
        return flight, state, events
    except LinkLostError as e:
        return flight, e, events
    finally:
        link.close()


def _record_times(tlog) -> list[float]:
    log = mavutil.mavlink_connection(str(tlog))
    out = []
    while (m := log.recv_match()) is not None:
        out.append(m._timestamp)
    return out


def _land(t: Telemetry) -> None:
    t.armed = False


def test_a_link_silent_for_a_while_is_reopened_and_the_tlog_goes_on_in_the_same_file(flying, tmp_path):
    t = flying.telemetry

    def advance() -> None:
        t.seq = LAST

    def silence(on: bool) -> Callable[[], None]:
        return lambda: setattr(flying, "silent", on)

    _script([(0.8, silence(True)), (3.0, silence(False)), (0.8, advance), (0.5, lambda: _land(t))])
    tlog = tmp_path / "f.tlog"
    flight, state, events = _watch(flying, tlog, lost_after_s=1.0, relink_wait_s=20.0)
    assert isinstance(state, FlightState), state
    assert not flight.link_lost
    lost = [e for e in events if e.startswith("link lost")]
    back = [e for e in events if e.startswith("link back after")]
    assert len(lost) == 1 and "no telemetry" in lost[0] and len(back) == 1, events
    assert sortie_end(state, LAST) == ("landed and disarmed", 0)
    times = _record_times(tlog)
    gaps = [b - a for a, b in itertools.pairwise(times) if b - a > 0.5]
    assert len(gaps) == 1 and 2.5 < gaps[0] < 6.0, gaps  # the outage, and no other hole in the log
    assert times[-1] - times[0] > 4.5  # records from after the outage landed in the same file


def test_a_link_not_regained_ends_with_its_own_exit_status(flying, tmp_path):
    _script([(0.6, lambda: setattr(flying, "silent", True))])
    flight, err, events = _watch(flying, tmp_path / "f.tlog", lost_after_s=0.8, relink_wait_s=2.0)
    assert isinstance(err, LinkLostError) and err.exit_code == EXIT_LINK_LOST == 6
    assert flight.link_lost  # a Ctrl-C now would not try to switch the vehicle's mode over a dead link
    assert "not regained" in str(err) and "take over" in str(err) and f"of {LAST}" in str(err)
    assert [e for e in events if e.startswith("link lost")], events


def test_without_a_way_to_reconnect_a_lost_link_is_given_up_at_once(flying, tmp_path):
    _script([(0.6, lambda: setattr(flying, "silent", True))])
    t0 = time.monotonic()
    _, err, _ = _watch(flying, tmp_path / "f.tlog", lost_after_s=0.8, relink=None)
    assert isinstance(err, LinkLostError) and time.monotonic() - t0 < 10.0


def test_a_failsafe_rtl_before_the_missions_end_is_reported_and_ends_early(flying, tmp_path):
    t = flying.telemetry

    def failsafe() -> None:
        t.seq = 5
        t.texts.append("Battery 1 is low 10.38V used 812 mAh")
        t.custom_mode = COPTER_MODES["RTL"]

    _script([(0.5, failsafe), (0.8, lambda: _land(t))])
    _, state, events = _watch(flying, tmp_path / "f.tlog")
    assert "failsafe: vehicle says 'Battery 1 is low 10.38V used 812 mAh'" in events
    assert "vehicle switched itself to RTL (from AUTO)" in events
    words, code = sortie_end(state, LAST)
    assert code == EXIT_ENDED_EARLY == 5 and f"at item 5 of {LAST}" in words and "RTL" in words


def test_a_reboot_in_flight_is_reported_and_the_sortie_did_not_end_as_planned(flying, tmp_path):
    t = flying.telemetry

    def reboot() -> None:
        flying.reboot()
        t.armed, t.custom_mode, t.fix_type = False, COPTER_MODES["STABILIZE"], 0

    _script([(0.8, reboot)])
    _, state, events = _watch(flying, tmp_path / "f.tlog")
    assert "vehicle rebooted (its boot clock went back)" in events and "GPS lost (fix type 0)" in events
    words, code = sortie_end(state, LAST)
    assert code == EXIT_ENDED_EARLY and "rebooted in flight" in words and "38.415000, 112.730000" in words


def test_fly_lines_in_chinese_frame_the_vehicles_own_words(flying, tmp_path):
    """In Chinese the event lines, the outcome shown and a refusal are Chinese; the vehicle's STATUSTEXT stays as it
    said it, and the outcome the ledger records stays English."""
    from patrol import i18n
    from patrol.vehicle.link import LinkError

    t = flying.telemetry

    def failsafe() -> None:
        t.seq = 5
        t.texts.append("Battery 1 is low 10.38V used 812 mAh")
        t.custom_mode = COPTER_MODES["RTL"]

    try:
        i18n.set_language("zh_CN")
        _script([(0.5, failsafe), (0.8, lambda: _land(t))])
        _, state, events = _watch(flying, tmp_path / "f.tlog")
        words, code = sortie_end(state, LAST)
        link = connect(flying.url, heartbeat_timeout_s=5)
        try:
            with pytest.raises(LinkError) as refused:
                Flight(link).wait_ready(timeout_s=1.0)  # the double reports no EKF: never ready
        finally:
            link.close()
        shown = i18n.shown(words)
    finally:
        i18n.set_language("en")
    assert "失控保护：飞机提示 'Battery 1 is low 10.38V used 812 mAh'" in events
    assert "飞机自行切换到 RTL（原为 AUTO）" in events
    assert code == EXIT_ENDED_EARLY
    assert words == f"landed and disarmed before the mission's end (at item 5 of {LAST}; the vehicle took RTL)"
    assert shown == f"任务结束前已降落并上锁（航点 5/{LAST}；飞机自行进入 RTL）"
    assert str(refused.value) == (
        "飞机在 1 秒内未就绪（GPS 定位类型 3，EKF 标志 0x0）；请在室外等待 3D 定位后重试"
    )  # fmt: skip


def test_a_vehicle_not_ready_is_refused_in_english_as_before(flying):
    from patrol.vehicle.link import LinkError

    link = connect(flying.url, heartbeat_timeout_s=5)
    try:
        with pytest.raises(LinkError) as refused:
            Flight(link).wait_ready(timeout_s=1.0)
    finally:
        link.close()
    assert str(refused.value) == (
        "vehicle not ready in 1 s (GPS fix 3, EKF flags 0x0); wait for a 3D fix outdoors and try again"
    )
