"""What each vehicle of a fleet is told by the live deconfliction (patrol/vehicle/fleet.py ``_Guard``), step by
step, from telemetry states: the SITL fleet tests fly the common cases; these pin down the rarer ones (the
later of a close pair climbing a layer, the ceiling, two vehicles inside the home pad that both want to land)."""

from __future__ import annotations

from typing import Any

from patrol.types import MissionItem
from patrol.vehicle import fleet as fleet_fly
from patrol.vehicle.deconflict import distance_m
from patrol.vehicle.fly import FlightState

HOME = (38.4149, 112.7299)
K_LAT = 111_320.0
K_LON = 111_320.0 * 0.78326  # cos(38.4149 deg)


class RecordingFlight:
    """Test double for a vehicle's link: records the mode changes and GUIDED targets it would be sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.state = FlightState()

    def set_mode(self, mode: str) -> None:
        self.sent.append(mode)

    def goto(self, lat: float, lon: float, alt_m: float) -> None:
        self.sent.append(("goto", lat, lon, alt_m))

    def pump(self, seconds: float) -> None:
        pass


class Sortie:
    home_lat, home_lon = HOME
    mission = (
        MissionItem(16, 0),  # home
        MissionItem(22, 3, alt_m=64.5),  # take-off to the transit layer
        MissionItem(178, 2, param2=10.0),  # transit speed
        MissionItem(16, 3, alt_m=49.5),
        MissionItem(20, 2),  # RTL
    )
    max_alt_m = 120.0


def fleet(
    separation_m: float = 50.0, ceiling_m: float = 120.0
) -> tuple[fleet_fly.FleetRun, fleet_fly._Guard, fleet_fly._Guard]:
    links = {v: fleet_fly.VehicleLink(v, f"tcp:127.0.0.1:{5760 + k}") for k, v in enumerate(("V1", "V2"))}
    run = fleet_fly.FleetRun(
        package=None, links=links, slots=[], uploads={}, log=lambda line: None, separation_m=separation_m
    )
    up = Sortie()
    up.max_alt_m = ceiling_m
    lines: list[str] = []
    g1 = fleet_fly._Guard(run, "V1", RecordingFlight(), up, lines.append)
    g2 = fleet_fly._Guard(run, "V2", RecordingFlight(), up, lines.append)
    g1.climbing = g2.climbing = False
    g1.lines = g2.lines = lines  # type: ignore[attr-defined]
    return run, g1, g2


def state(east_m: float, north_m: float, alt_m: float, seq: int = 3, mode: str = "AUTO") -> FlightState:
    return FlightState(
        armed=True, mode=mode, lat=HOME[0] + north_m / K_LAT, lon=HOME[1] + east_m / K_LON, rel_alt_m=alt_m,
        current_seq=seq,
    )  # fmt: skip


def test_the_later_of_a_close_pair_holds_then_climbs_a_layer_and_the_earlier_goes_on_under_it():
    run, g1, g2 = fleet()
    s1, s2 = state(400, 0, 49.5), state(430, 0, 49.5)  # 30 m apart, same altitude, 400 m from home
    g1.share(s1)
    g2.step(s2)
    assert g2.flight.sent == ["BRAKE"] and any(ln.startswith("ALERT: V1 and V2 are 30 m") for ln in g2.lines)
    g1.step(s1)
    assert g1.flight.sent == []  # V2 had been told already: V1 goes on
    g2.step(s2)
    assert g2.flight.sent[1:] == ["GUIDED", ("goto", s2.lat, s2.lon, 49.5 + 15.0 + 1.0)]
    s2 = state(430, 0, 65.5)  # up a layer: vertically apart, yet it stays until they are apart horizontally
    g1.step(state(420, 0, 49.5))
    g2.step(s2)
    assert g2.flight.sent[-1][0] == "goto" and g1.flight.sent == []
    g1.step(s1 := state(400 - 61, 0, 49.5))  # V1 moves on: 91 m, over 1.2 separations
    g2.step(s2)
    assert g2.flight.sent[-1] == "AUTO" and "V2: clear: back to AUTO" in g2.lines
    assert run.held == {}


def test_under_the_ceiling_the_later_holds_in_brake_instead_of_climbing():
    _, g1, g2 = fleet(ceiling_m=60.0)
    s1, s2 = state(400, 0, 49.5), state(430, 0, 49.5)
    g1.share(s1)
    g2.step(s2)
    g1.step(s1)
    g2.step(s2)
    assert g2.flight.sent == ["BRAKE"] and any("cannot climb a layer" in ln for ln in g2.lines)


def test_a_landing_waits_outside_the_pad_while_the_other_takes_off_and_goes_on_when_it_has_left():
    run, g1, g2 = fleet()
    assert run.pad.request("V1", "exclusive")  # V1 is taking off
    g1.climbing = True
    g1.share(state(0, 0, 20.0, seq=1))
    g2.step(state(0, 85, 64.5, seq=4))  # V2 on its return (RTL item), 85 m from home: inside the 90 m pad
    assert g2.flight.sent == ["BRAKE"]
    assert any("waiting for the home pad (V1 is over home)" in ln for ln in g2.lines)
    g1.step(state(0, 0, 64.0, seq=2))  # levelled off over home: shares the pad, V2 still waits
    g2.step(state(0, 85, 64.5, seq=4))
    assert g2.flight.sent == ["BRAKE"]
    g1.step(state(200, 0, 64.5, seq=3))  # V1 has left the pad
    g2.step(state(0, 85, 64.5, seq=4))
    assert g2.flight.sent == ["BRAKE", "AUTO"]


def test_two_inside_the_pad_that_both_want_to_land_the_later_flies_out_away_from_the_other():
    _, g1, g2 = fleet()
    s1, s2 = state(-30, 10, 49.5), state(40, 0, 79.5)  # both over home, a layer apart, both sorties ending
    g1.step(state(-30, 10, 49.5, seq=3))
    g2.step(state(40, 0, 79.5, seq=3))  # both cruise in: shared
    g1.step(s1 := state(-30, 10, 49.5, seq=4))  # V1 reaches its RTL item first: waits for V2 to leave
    g2.step(s2 := state(40, 0, 79.5, seq=4))
    kind, lat, lon, alt = g2.flight.sent[-1]
    assert g2.flight.sent[:-1] == ["GUIDED"] and kind == "goto" and alt == 79.5
    assert distance_m(lat, lon, *HOME) > g2.guard_m  # out of the pad ...
    assert distance_m(lat, lon, s1.lat, s1.lon) > distance_m(s2.lat, s2.lon, s1.lat, s1.lon)  # ... away from V1
    g2.step(state(95, 0, 79.5, seq=4, mode="GUIDED"))  # outside now: V1 may land
    g1.step(state(-30, 10, 30.0, seq=4))
    assert g1.flight.sent == ["BRAKE", "AUTO"] or g1.flight.sent == []  # it never had to hold, or held and went on
    g1.landed()
    g2.step(state(95, 0, 79.5, seq=4, mode="GUIDED"))
    assert g2.flight.sent[-1] == "AUTO" and any("the home pad is free" in ln for ln in g2.lines)


def test_separate_launch_points_have_separate_pads_and_a_visitor_shares_the_other_pad():
    """A vehicles file gives V2 its own launch point 1 km east: V1's take-off does not keep V2 from landing at
    its own, but V2 cruising through V1's cylinder holds it shared, so V1 waits on the ground (and a V2 that
    would come in while V1 climbs out holds outside)."""
    run, g1, _g2 = fleet()
    east = Sortie()
    east.home_lat, east.home_lon = HOME[0], HOME[1] + 1000.0 / K_LON
    lines: list[str] = []
    g2 = fleet_fly._Guard(run, "V2", RecordingFlight(), east, lines.append)
    g2.climbing = False
    assert g2.pad is not g1.pad and g1.pad is run.pad
    assert run.pad.request("V1", "exclusive")  # V1 takes off at its home
    g1.climbing = True
    g1.share(state(0, 0, 20.0, seq=1))
    g2.step(state(1000, 60, 79.5, seq=4))  # V2 lands at its own home, 1 km off: nothing holds it
    assert g2.flight.sent == [] and g2.pad.request("V2", "exclusive")
    g2.pad.request("V2", None)
    g2.step(state(80, 0, 79.5, seq=3))  # V2's transit crosses V1's cylinder while V1 climbs out: it holds
    assert g2.flight.sent == ["BRAKE"] and any("pad of another launch point (V1" in ln for ln in lines)
    g1.step(state(0, 0, 64.0, seq=2))  # V1 levelled off: shares its pad, V2 may cruise through
    g1.step(state(300, 0, 64.0, seq=3))
    g2.step(state(80, 0, 79.5, seq=3))
    assert g2.flight.sent == ["BRAKE", "AUTO"]
    g1.landed()
    assert not run.pad.request("V1", "exclusive")  # V2 is inside V1's cylinder: V1's next take-off waits
    g2.step(state(300, 0, 79.5, seq=3))  # V2 has left it: the pad is V1's again
    assert run.pad.request("V1", "exclusive")
