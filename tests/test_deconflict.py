"""The fleet's live deconfliction rules: who may use the shared home, when the monitor holds a pair, and
where a vehicle goes to make way (patrol/vehicle/deconflict.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patrol.vehicle.deconflict import (
    CLEAR_MARGIN,
    HomePad,
    Seen,
    apart,
    conflicts,
    distance_m,
    exit_point,
    guard_radius_m,
    pad_need,
)

HOME = (38.4149, 112.7299)
K_LAT = 111_320.0
K_LON = 111_320.0 * math.cos(math.radians(HOME[0]))


def at(east_m: float, north_m: float) -> tuple[float, float]:
    return HOME[0] + north_m / K_LAT, HOME[1] + east_m / K_LON


def test_the_guard_covers_the_separation_and_the_stopping_distance():
    assert guard_radius_m(50.0, 0.0) == 50.0
    # 12 m/s: 24 m before the hold reaches the vehicle, 28.8 m braking at 2.5 m/s2
    assert guard_radius_m(50.0, 12.0) == pytest.approx(50.0 + 24.0 + 28.8)


def test_a_take_off_and_a_landing_need_the_pad_to_themselves_a_cruise_shares_it():
    kw = {"dist_home_m": 30.0, "guard_m": 90.0}
    assert pad_need(armed=False, climbing=False, returning=False, **kw) is None
    assert pad_need(armed=True, climbing=True, returning=False, **kw) == "exclusive"
    assert pad_need(armed=True, climbing=False, returning=True, **kw) == "exclusive"
    assert pad_need(armed=True, climbing=False, returning=False, **kw) == "shared"
    far = {"dist_home_m": 95.0, "guard_m": 90.0}
    assert pad_need(armed=True, climbing=False, returning=True, **far) is None
    assert pad_need(armed=True, climbing=True, returning=False, **far) == "exclusive"  # still climbing out


def test_a_landing_waits_for_a_cruiser_inside_and_blocks_new_ones():
    pad = HomePad()
    assert pad.request("V1", "shared")  # V1 crosses over home
    assert not pad.request("V2", "exclusive")  # V2 back from its sortie: waits outside
    assert pad.blocker("V2") == "V1"
    assert not pad.request("V3", "shared")  # V3 may not come in while V2 waits to land
    assert pad.request("V1", "shared")  # V1, already inside, carries on out
    assert pad.request("V1", None)
    assert pad.request("V2", "exclusive")
    assert not pad.request("V3", "shared")
    assert not pad.request("V1", "exclusive")  # V1's next take-off waits for the landing
    assert pad.request("V2", None)  # landed
    assert pad.request("V1", "exclusive")


def test_a_climb_that_levels_off_inside_keeps_its_place_while_others_wait():
    pad = HomePad()
    assert pad.request("V1", "exclusive")  # taking off
    assert not pad.request("V2", "exclusive")
    assert pad.request("V1", "shared")  # at its layer, still over home: it is not braked inside
    assert not pad.request("V2", "exclusive")  # V2 still waits for it to leave
    assert pad.request("V1", None)
    assert pad.request("V2", "exclusive")


def test_exclusive_goes_to_a_waiter_already_inside_before_an_earlier_one_outside():
    pad = HomePad()
    assert pad.request("V2", "shared")  # V2 patrols a compound beside home
    assert not pad.request("V1", "exclusive")  # V1 waits outside to land (earlier ticket)
    assert pad.request("V2", "exclusive")  # V2's sortie ends inside: it lands first, no deadlock
    assert pad.deadlocked_with("V2") is None
    assert not pad.request("V1", "exclusive")
    pad.request("V2", None)
    assert pad.request("V1", "exclusive")


def test_two_inside_that_both_want_to_land_the_later_is_told_to_leave():
    pad = HomePad()
    assert pad.request("V1", "shared")
    assert pad.request("V2", "shared")
    assert not pad.request("V1", "exclusive")  # V2 is inside
    assert not pad.request("V2", "exclusive")  # V1 is inside
    assert pad.deadlocked_with("V2") == "V1"
    assert pad.deadlocked_with("V1") is None
    pad.request("V2", None)  # V2 flew out; it waits outside now
    assert not pad.request("V2", "exclusive")
    assert pad.request("V1", "exclusive")


@given(
    st.floats(-80, 80), st.floats(-80, 80), st.floats(-80, 80), st.floats(-80, 80), st.floats(50, 150)
)  # fmt: skip
def test_the_way_out_always_moves_away_from_the_other_and_ends_outside_the_guard(mx, my, ox, oy, guard_m):
    me, other = at(mx, my), at(ox, oy)
    lat, lon = exit_point(me, other, HOME, guard_m)
    r = max(guard_m + 10.0, distance_m(*me, *HOME))
    assert distance_m(lat, lon, *HOME) == pytest.approx(r, rel=0.005)  # flat frame vs the geodesic
    d0 = distance_m(*me, *other)
    for f in (0.25, 0.5, 0.75, 1.0):  # every point of the straight way out is further from the other
        p = (me[0] + f * (lat - me[0]), me[1] + f * (lon - me[1]))
        assert distance_m(*p, *other) >= d0 - 0.5


def test_the_monitor_names_pairs_too_close_within_a_layer_only_in_the_air():
    seen = {
        "V1": Seen(*at(0, 0), 60.0, True),
        "V2": Seen(*at(30, 0), 70.0, True),  # 30 m, 10 m higher: too close
        "V3": Seen(*at(20, 0), 80.0, True),  # 20 m from V1 but 20 m higher, 10 m above V2 and 10 m away
        "V4": Seen(*at(5, 0), 60.0, False),  # on the ground
    }
    pairs = {(a, b): round(dh) for a, b, dh, _ in conflicts(seen, 50.0, 15.0)}
    assert pairs == {("V1", "V2"): 30, ("V2", "V3"): 10}
    assert not apart(seen["V1"], seen["V2"], 50.0, 15.0)
    assert apart(seen["V1"], seen["V4"], 50.0, 15.0)  # one landed
    above = Seen(*at(10, 0), 80.0, True)
    assert apart(seen["V1"], above, 50.0, 15.0)  # 20 m: over 1.2 layers apart
    assert not apart(seen["V1"], Seen(*at(10, 0), 75.5, True), 50.0, 15.0)  # just over a layer: still held
    assert not apart(seen["V1"], above, 50.0, 15.0, horizontal_only=True)  # ... but that layer was the hold itself
    far = Seen(*at(CLEAR_MARGIN * 50.0 + 1.0, 0), 60.0, True)
    edge = Seen(*at(55.0, 0), 60.0, True)
    assert apart(seen["V1"], far, 50.0, 15.0) and not apart(seen["V1"], edge, 50.0, 15.0)  # margin, no flapping
