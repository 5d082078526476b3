"""The mission protocol client against a vehicle-side test double that drops, duplicates and reorders."""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.errors import InputError, SafetyError
from patrol.package.reader import FENCE, MISSION, RALLY, SortieUpload
from patrol.types import MissionItem
from patrol.vehicle.link import LinkError, connect, device_and_baud, parse_signing_key
from patrol.vehicle.readback import compare_items
from patrol.vehicle.upload import check_sortie_upload, mission_with_home, upload_sortie
from tests.mission_peer_double import Faults, MissionPeerDouble

LAT, LON = 38.415, 112.730


def _mission(n: int) -> list[MissionItem]:
    items = [MissionItem(mav.MAV_CMD_NAV_TAKEOFF, 3, lat=LAT, lon=LON, alt_m=40.0)]
    items += [
        MissionItem(mav.MAV_CMD_NAV_WAYPOINT, 3, lat=LAT + 1e-4 * (k % 7), lon=LON + 1e-4 * (k % 5), alt_m=40.0 + k % 3)
        for k in range(n - 2)
    ]
    items.append(MissionItem(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, 2))
    return items


def _sortie(n: int = 30) -> SortieUpload:
    d = 0.002
    ring = [(LAT - d, LON - d), (LAT - d, LON + d), (LAT + d, LON + d), (LAT + d, LON - d)]
    fence = tuple(
        MissionItem(mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION, mav.MAV_FRAME_GLOBAL, 4.0, lat=a, lon=b)
        for a, b in ring
    )
    rally = (MissionItem(mav.MAV_CMD_NAV_RALLY_POINT, 3, lat=LAT + 0.001, lon=LON, alt_m=30.0),)
    return SortieUpload("test", LAT, LON, tuple(_mission(n)), fence, rally, 120.0)


def _link(peer: MissionPeerDouble, timeout_s: float = 0.15, retries: int = 15):
    return connect(peer.url, heartbeat_timeout_s=5, timeout_s=timeout_s, retries=retries)


def test_upload_and_read_back_on_a_clean_link():
    up = _sortie(40)
    with MissionPeerDouble() as peer:
        link = _link(peer)
        seen = []
        counts = upload_sortie(link, up, progress=lambda name, i, n: seen.append((name, i, n)))
        assert counts == {"fence": 4, "rally": 1, "mission": 41}
        held = peer.lists[MISSION]
        assert [m.command for m in held] == [mav.MAV_CMD_NAV_WAYPOINT] + [it.command for it in up.mission]
        assert held[5].x == round(up.mission[4].lat * 1e7) and held[5].z == pytest.approx(up.mission[4].alt_m)
        assert [m.command for m in peer.lists[FENCE]] == [mav.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION] * 4
        assert peer.lists[RALLY][0].command == mav.MAV_CMD_NAV_RALLY_POINT
        assert ("mission", 41, 41) in seen
        link.close()


@pytest.mark.parametrize(
    "faults",
    [Faults(drop=0.2, seed=3), Faults(duplicate=0.3, seed=4), Faults(reorder=0.3, seed=5), Faults(0.1, 0.1, 0.1)],
    ids=["drop20", "duplicate30", "reorder30", "all10"],
)
def test_upload_verifies_through_a_lossy_link(faults):
    up = _sortie(40)
    with MissionPeerDouble(faults) as peer:
        link = _link(peer)
        upload_sortie(link, up)
        got = link.download(MISSION)
        assert compare_items(mission_with_home(up), got, MISSION) == []
        link.close()


@pytest.mark.parametrize("window", [1, 8], ids=["stop-and-wait", "pipelined"])
@pytest.mark.parametrize("drop", [0.0, 0.2])
def test_both_upload_modes_leave_exactly_the_list_on_the_vehicle(window, drop):
    """One item at a time (any autopilot) and go-back-N (ArduPilot) give the same list on the vehicle."""
    items = mission_with_home(_sortie(60))
    with MissionPeerDouble(Faults(drop=drop, seed=11)) as peer:
        link = _link(peer)
        assert link.autopilot == mav.MAV_AUTOPILOT_ARDUPILOTMEGA
        link.window = window
        link.upload(items, MISSION)
        assert compare_items(items, link.download(MISSION), MISSION) == []
        assert len(peer.lists[MISSION]) == len(items)
        link.close()


def test_a_clean_pipelined_upload_sends_every_item_once():
    items = mission_with_home(_sortie(80))
    with MissionPeerDouble() as peer:
        link = _link(peer)
        sent = []
        original = link._send_item
        link._send_item = lambda it, seq, mt: (sent.append(seq), original(it, seq, mt))
        link.upload(items, MISSION)
        assert sorted(sent) == list(range(len(items)))
        link.close()


def test_retransmission_timeout_returns_to_the_estimate_after_a_loss():
    from patrol.vehicle.link import Rto

    rto = Rto(1.5)
    assert rto.value == 1.5  # nothing known of the link yet
    for _ in range(8):
        rto.sample(0.006)
    low = rto.value
    assert 0.02 <= low < 0.05
    rto.backoff()
    rto.backoff()
    assert rto.value == pytest.approx(low * 1.5**2)
    rto.progress()  # an answer to a resend: no clean sample, but the link is alive
    assert rto.value == pytest.approx(low)
    for _ in range(30):
        rto.backoff()
    assert rto.value == 1.5 and rto.at_cap


def test_cut_link_fails_cleanly_naming_the_item():
    with MissionPeerDouble(Faults(silent_after_items=10)) as peer:
        link = _link(peer, timeout_s=0.2, retries=3)
        with pytest.raises(LinkError, match=r"mission upload: no answer after item 10"):
            link.upload(mission_with_home(_sortie(30)), MISSION)
        link.close()


def test_refusal_is_reported_with_the_vehicle_reason():
    with MissionPeerDouble(Faults(capacity=20)) as peer:
        link = _link(peer)
        with pytest.raises(LinkError, match="MAV_MISSION_NO_SPACE"):
            link.upload(mission_with_home(_sortie(30)), MISSION)
        link.close()


def test_an_error_answer_to_mission_count_starts_again_and_three_say_so():
    with MissionPeerDouble(Faults(error_counts=1)) as peer:
        link = _link(peer)
        items = mission_with_home(_sortie(30))
        link.upload(items, MISSION)
        assert len(peer.lists[MISSION]) == len(items)  # the second MISSION_COUNT went through
        peer.faults.error_counts = 3
        with pytest.raises(LinkError, match=r"cancelled by the vehicle 3 times .*MAV_MISSION_ERROR at item 0"):
            link.upload(items, MISSION)
        link.close()


def test_params_are_set_and_confirmed_and_lists_cleared():
    with MissionPeerDouble(Faults(drop=0.2, seed=9)) as peer:
        link = _link(peer)
        assert link.set_param("FENCE_ALT_MAX", 120.0) == 120.0
        assert link.get_param("FENCE_ALT_MAX") == 120.0
        link.upload(_mission(5), MISSION)
        link.clear(MISSION)
        assert peer.lists[MISSION] == [] and link.download(MISSION) == []
        link.close()


def test_a_late_echo_of_the_old_value_is_not_taken_for_a_refusal():
    with MissionPeerDouble(Faults(stale_param_echo=True, readonly_params=frozenset({"FENCE_ENABLE"}))) as peer:
        link = _link(peer)
        assert link.set_param("FENCE_ALT_MAX", 120.0) == 120.0 and peer.params["FENCE_ALT_MAX"] == 120.0
        with pytest.raises(LinkError, match=r"parameter FENCE_ENABLE: set 1, vehicle kept 0"):
            link.set_param("FENCE_ENABLE", 1.0)
        link.close()


def test_compare_reports_the_first_changed_field():
    a = _mission(5)
    b = list(a)
    b[2] = MissionItem(a[2].command, a[2].frame, lat=a[2].lat + 1e-5, lon=a[2].lon, alt_m=a[2].alt_m)
    diffs = compare_items(a, b, MISSION)
    assert len(diffs) == 1 and diffs[0].startswith("mission item 2: lat")
    assert compare_items(a, a[:-1], MISSION) == ["mission: sent 5 items, vehicle holds 4"]


def test_pre_upload_checks_refuse_fence_and_altitude_breaks():
    up = _sortie(10)
    check_sortie_upload(up, vehicle_home=(LAT, LON))
    outside = MissionItem(mav.MAV_CMD_NAV_WAYPOINT, 3, lat=LAT + 0.01, lon=LON, alt_m=40.0)
    bad = SortieUpload("t", LAT, LON, (*up.mission[:3], outside), up.fence, up.rally, 120.0)
    with pytest.raises(SafetyError, match=r"mission item 4 .* outside the inclusion fence"):
        check_sortie_upload(bad)
    high = MissionItem(mav.MAV_CMD_NAV_WAYPOINT, 3, lat=LAT, lon=LON, alt_m=150.0)
    with pytest.raises(SafetyError, match="mission item 2 at 150 m is above the 120 m altitude limit"):
        check_sortie_upload(SortieUpload("t", LAT, LON, (up.mission[0], high), up.fence, up.rally, 120.0))
    with pytest.raises(SafetyError, match="from the vehicle's home"):
        check_sortie_upload(up, vehicle_home=(LAT + 0.01, LON))


def test_connection_strings_and_signing_keys(tmp_path):
    assert device_and_baud("udpin:0.0.0.0:14550") == ("udpin:0.0.0.0:14550", 57600)
    assert device_and_baud("/dev/ttyACM0:115200") == ("/dev/ttyACM0", 115200)
    with pytest.raises(InputError, match="use tcp:HOST:PORT"):
        device_and_baud("bluetooth")
    (tmp_path / "k").write_text("a" * 64)
    (tmp_path / "k").chmod(0o600)
    assert parse_signing_key(tmp_path / "k") == bytes.fromhex("a" * 64)
    (tmp_path / "p").write_text("patrol passphrase\n")
    (tmp_path / "p").chmod(0o600)
    assert len(parse_signing_key(tmp_path / "p")) == 32
