"""Live deconfliction of a fleet in the air: the shared launch point and a separation monitor.

The plan proves separation on *predicted* 4D tracks; flown sorties drift from those times (SITL's ran 6-9 %
longer than predicted), and the drift matters most where every vehicle meets: over the one home they all take
off from and land at, where each climbs and descends through the others' altitude layers. Two rules keep the
vehicles apart there whatever the clock says:

**The home pad.** A cylinder of radius :func:`guard_radius_m` around home (the separation plus the distance a
vehicle needs to notice and stop). A vehicle may climb out of it or descend into it (take-off, the final
return and landing) only while it holds the pad *exclusively*: nobody else airborne inside. A vehicle
cruising through it (a transit or a compound near home) holds it *shared*: several may, none while somebody
climbs or descends. A vehicle that wants the pad and cannot have it holds (BRAKE) where it is, outside the
cylinder, or waits on the ground; one that waits for the exclusive pad blocks new shared entries, so a
landing is never starved. If two vehicles inside the cylinder both want it exclusively (both sorties ended
near home), the later is sent out along the line away from the other until it is outside the cylinder.

**The separation monitor.** Any two airborne vehicles closer than the separation horizontally while less
than a layer apart vertically are both told to hold, and the operator is alerted. Once both have been told,
the later in the fleet's order climbs a layer where it is and stays there until they are apart again (1.2
separations, or 1.2 layers for a pair held without the climb); the other goes on.

The functions here are pure but :class:`HomePad`, which the vehicle threads share.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from pyproj import Geod

_WGS84 = Geod(ellps="WGS84")

STOP_LATENCY_S = 2.0  # telemetry age + the mode change reaching the vehicle
STOP_DECEL_MPS2 = 2.5  # a copter braking from cruise (ArduCopter BRAKE is harder; this is the cautious side)
CLEAR_MARGIN = 1.2  # a held pair is let go this many separations (or layers) apart: no flapping at the edge


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on WGS-84, metres."""
    return float(_WGS84.inv(lon1, lat1, lon2, lat2)[2])


def guard_radius_m(separation_m: float, speed_mps: float) -> float:
    """Radius of the home pad: ``separation_m`` plus what a vehicle at ``speed_mps`` covers before it stops.

    >>> round(guard_radius_m(50.0, 10.0))
    90
    """
    return separation_m + speed_mps * STOP_LATENCY_S + speed_mps**2 / (2 * STOP_DECEL_MPS2)


@dataclass(frozen=True)
class Seen:
    """One vehicle as the monitor last saw it."""

    lat: float
    lon: float
    rel_alt_m: float
    airborne: bool


def pad_need(*, armed: bool, climbing: bool, returning: bool, dist_home_m: float, guard_m: float) -> str | None:
    """What a vehicle needs of the home pad: ``"exclusive"``, ``"shared"`` or ``None``.

    ``climbing``: armed and not yet at its take-off altitude; ``returning``: on the final return to launch
    (the mission's RTL item, or RTL/LAND mode). A vehicle on the ground needs nothing (it asks before arming).

    >>> pad_need(armed=True, climbing=False, returning=True, dist_home_m=80.0, guard_m=90.0)
    'exclusive'
    >>> pad_need(armed=True, climbing=False, returning=False, dist_home_m=80.0, guard_m=90.0)
    'shared'
    >>> pad_need(armed=True, climbing=False, returning=True, dist_home_m=120.0, guard_m=90.0) is None
    True
    """
    if not armed:
        return None
    if climbing:
        return "exclusive"
    if dist_home_m >= guard_m:
        return None
    return "exclusive" if returning else "shared"


class HomePad:
    """The airspace over the fleet's shared home, handed out to the vehicle threads (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: dict[str, bool] = {}  # vehicle -> exclusive
        self._waiting: dict[str, int] = {}  # vehicle -> ticket, for exclusive requests not yet granted
        self._ticket = 0

    def request(self, vehicle: str, need: str | None) -> bool:
        """Ask for the pad as ``need`` says (``None`` gives it back); True when ``vehicle`` now holds it so.

        Exclusive is granted to the longest-waiting request once no other vehicle holds the pad; shared
        once nobody holds or waits for it exclusively (a waiting landing blocks new entries).
        """
        with self._lock:
            if need is None:
                self._holders.pop(vehicle, None)
                self._waiting.pop(vehicle, None)
                return True
            others = {v: ex for v, ex in self._holders.items() if v != vehicle}
            if need == "exclusive":
                if vehicle not in self._waiting:
                    self._ticket += 1
                    self._waiting[vehicle] = self._ticket
                # a waiter already inside the cylinder goes first: the others wait outside for it to land
                first = min(self._waiting, key=lambda v: (v not in self._holders, self._waiting[v]))
                if not others and first == vehicle:
                    self._holders[vehicle] = True
                    del self._waiting[vehicle]
                    return True
                return False
            self._waiting.pop(vehicle, None)
            if vehicle in self._holders and not any(others.values()):
                self._holders[vehicle] = False  # already inside (or done climbing): carry on out
                return True
            if any(others.values()) or self._waiting:
                return False
            self._holders[vehicle] = False
            return True

    def step_out(self, vehicle: str) -> None:
        """``vehicle`` has left the cylinder: it no longer holds the pad, but keeps its place in the queue."""
        with self._lock:
            self._holders.pop(vehicle, None)

    def blocker(self, vehicle: str) -> str | None:
        """Who keeps ``vehicle`` from the pad (a holder, else an earlier waiter), for the operator's line."""
        with self._lock:
            held = [v for v in self._holders if v != vehicle]
            if held:
                return held[0]
            earlier = [v for v in sorted(self._waiting, key=self._waiting.__getitem__) if v != vehicle]
            return earlier[0] if earlier else None

    def deadlocked_with(self, vehicle: str) -> str | None:
        """The vehicle that waits for the pad before ``vehicle`` while ``vehicle`` holds it shared: both are
        inside and neither can descend; ``vehicle`` (the later) must leave the cylinder."""
        with self._lock:
            if self._holders.get(vehicle) is not False or vehicle not in self._waiting:
                return None
            mine = self._waiting[vehicle]
            for v, ticket in self._waiting.items():
                if v != vehicle and ticket < mine and self._holders.get(v) is False:
                    return v
            return None


def exit_point(
    me: tuple[float, float], other: tuple[float, float], home: tuple[float, float], guard_m: float
) -> tuple[float, float]:
    """Where a vehicle at ``me`` (lat, lon) leaves the pad: along the line from ``other`` through ``me``
    (so every step takes it further from ``other``) until ``guard_m`` + 10 m from ``home``; a vehicle
    already that far out stays where it is.

    A local flat frame around home (metres east, north) is exact enough inside a few hundred metres.
    """
    k_lat = 111_320.0
    k_lon = 111_320.0 * math.cos(math.radians(home[0]))

    def xy(p: tuple[float, float]) -> tuple[float, float]:
        return (p[1] - home[1]) * k_lon, (p[0] - home[0]) * k_lat

    (mx, my), (ox, oy) = xy(me), xy(other)
    dx, dy = mx - ox, my - oy
    n = math.hypot(dx, dy)
    if n < 1e-6:  # on top of each other: leave straight away from home (or north if at home too)
        dx, dy = (mx, my) if math.hypot(mx, my) > 1e-6 else (0.0, 1.0)
        n = math.hypot(dx, dy)
    ux, uy = dx / n, dy / n
    r = guard_m + 10.0
    # solve |m + s u| = r for the s >= 0 root
    b = mx * ux + my * uy
    c = mx * mx + my * my - r * r
    s = 0.0 if c >= 0.0 else -b + math.sqrt(b * b - c)  # already outside: stay
    x, y = mx + s * ux, my + s * uy
    return home[0] + y / k_lat, home[1] + x / k_lon


def conflicts(seen: dict[str, Seen], separation_m: float, layer_m: float) -> list[tuple[str, str, float, float]]:
    """Pairs of airborne vehicles closer than ``separation_m`` horizontally and ``layer_m`` vertically:
    ``(a, b, horizontal_m, vertical_m)`` with ``a`` before ``b`` in ``seen``'s order."""
    out = []
    ids = [v for v, s in seen.items() if s.airborne and not math.isnan(s.lat)]
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            sa, sb = seen[a], seen[b]
            dz = abs(sa.rel_alt_m - sb.rel_alt_m)
            if dz >= layer_m:
                continue
            dh = distance_m(sa.lat, sa.lon, sb.lat, sb.lon)
            if dh < separation_m:
                out.append((a, b, dh, dz))
    return out


def apart(a: Seen, b: Seen, separation_m: float, layer_m: float, horizontal_only: bool = False) -> bool:
    """A held pair may go on: ``CLEAR_MARGIN`` separations apart, or ``CLEAR_MARGIN`` layers apart vertically
    (unless ``horizontal_only``: the layer was the hold itself), or one landed. The margin keeps a vehicle
    braked just inside a layer from being let go and caught again at every look."""
    if not (a.airborne and b.airborne):
        return True
    if not horizontal_only and abs(a.rel_alt_m - b.rel_alt_m) >= CLEAR_MARGIN * layer_m:
        return True
    return distance_m(a.lat, a.lon, b.lat, b.lon) >= CLEAR_MARGIN * separation_m
