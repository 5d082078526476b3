"""Fly an uploaded sortie: wait for a fix and a ready EKF, arm, start AUTO, follow it to the ground.

Copter flight modes are ArduCopter's custom mode numbers. ``MAV_CMD_MISSION_START`` switches an armed
copter on the ground to AUTO and starts the mission at its NAV_TAKEOFF, as ArduPilot documents.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.vehicle.link import Link, LinkError

COPTER_MODES = {"STABILIZE": 0, "AUTO": 3, "GUIDED": 4, "LOITER": 5, "RTL": 6, "LAND": 9, "BRAKE": 17}
MODE_NAMES = {v: k for k, v in COPTER_MODES.items()}

# EKF_STATUS_REPORT flags a position-controlled flight needs
EKF_NEEDED = mav.EKF_ATTITUDE | mav.EKF_VELOCITY_HORIZ | mav.EKF_POS_HORIZ_ABS | mav.EKF_PRED_POS_HORIZ_ABS


@dataclass
class FlightState:
    """What the ground station knows of the vehicle, updated from its telemetry."""

    armed: bool = False
    mode: str = "?"
    lat: float = math.nan
    lon: float = math.nan
    rel_alt_m: float = math.nan
    current_seq: int = -1
    wp_dist_m: float = math.nan
    battery_pct: int = -1
    gps_fix: int = 0
    ekf_flags: int = 0
    reached: list[int] = field(default_factory=list)
    track: list[tuple[float, float, float, float]] = field(default_factory=list)  # t_s, lat, lon, rel_alt_m
    texts: list[str] = field(default_factory=list)
    fence_breached: bool = False
    home: tuple[float, float] | None = None

    def update(self, m: Any, t0: float) -> None:
        """Fold one telemetry message into the state."""
        kind = m.get_type()
        if kind == "HEARTBEAT" and m.type != mav.MAV_TYPE_GCS:
            self.armed = bool(m.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED)
            self.mode = MODE_NAMES.get(m.custom_mode, str(m.custom_mode))
        elif kind == "GLOBAL_POSITION_INT" and (m.lat or m.lon):  # 0, 0 until the first fix
            self.lat, self.lon, self.rel_alt_m = m.lat / 1e7, m.lon / 1e7, m.relative_alt / 1000.0
            self.track.append((time.monotonic() - t0, self.lat, self.lon, self.rel_alt_m))
        elif kind == "MISSION_CURRENT":
            self.current_seq = m.seq
        elif kind == "MISSION_ITEM_REACHED":
            if not self.reached or self.reached[-1] != m.seq:
                self.reached.append(m.seq)
        elif kind == "NAV_CONTROLLER_OUTPUT":
            self.wp_dist_m = float(m.wp_dist)
        elif kind == "SYS_STATUS":
            self.battery_pct = m.battery_remaining
        elif kind == "GPS_RAW_INT":
            self.gps_fix = m.fix_type
        elif kind == "EKF_STATUS_REPORT":
            self.ekf_flags = m.flags
        elif kind == "STATUSTEXT":
            self.texts.append(m.text)
        elif kind == "FENCE_STATUS":
            self.fence_breached = self.fence_breached or bool(m.breach_status)
        elif kind == "HOME_POSITION":
            self.home = (m.latitude / 1e7, m.longitude / 1e7)


TELEMETRY = [
    "HEARTBEAT",
    "GLOBAL_POSITION_INT",
    "MISSION_CURRENT",
    "MISSION_ITEM_REACHED",
    "NAV_CONTROLLER_OUTPUT",
    "SYS_STATUS",
    "GPS_RAW_INT",
    "EKF_STATUS_REPORT",
    "STATUSTEXT",
    "FENCE_STATUS",
    "HOME_POSITION",
]


class Flight:
    """A vehicle being watched: telemetry is pumped into :attr:`state` by :meth:`pump`."""

    def __init__(self, link: Link, rate_hz: int = 4) -> None:
        self.link = link
        self.state = FlightState()
        self.t0 = time.monotonic()
        link.conn.mav.request_data_stream_send(
            link.target_system, link.target_component, mav.MAV_DATA_STREAM_ALL, rate_hz, 1
        )

    def pump(self, seconds: float) -> None:
        """Read telemetry for ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            m = self.link.conn.recv_match(type=TELEMETRY, blocking=True, timeout=min(left, 0.2))
            if m is not None and m.get_srcSystem() == self.link.target_system:
                self.state.update(m, self.t0)

    def set_mode(self, mode: str, timeout_s: float = 10.0) -> None:
        """Switch to ``mode`` and wait until the heartbeat shows it."""
        num = COPTER_MODES[mode]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.link.conn.mav.command_long_send(
                self.link.target_system,
                self.link.target_component,
                mav.MAV_CMD_DO_SET_MODE,
                0,
                mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
                num,
                0,
                0,
                0,
                0,
                0,
            )
            resend = time.monotonic() + 0.5
            while time.monotonic() < resend:  # back as soon as the heartbeat shows it (a fleet is watching)
                self.pump(0.05)
                if self.state.mode == mode:
                    return
        raise LinkError(f"vehicle did not enter {mode} in {timeout_s:g} s (mode {self.state.mode}); {self._why()}")

    def goto(self, lat: float, lon: float, rel_alt_m: float) -> None:
        """In GUIDED, fly to ``lat``, ``lon`` at ``rel_alt_m`` above home (SET_POSITION_TARGET_GLOBAL_INT)."""
        position_only = 0b1101_1111_1000  # ignore velocity, acceleration, yaw and yaw rate
        self.link.conn.mav.set_position_target_global_int_send(
            0,
            self.link.target_system,
            self.link.target_component,
            mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
            position_only,
            round(lat * 1e7),
            round(lon * 1e7),
            rel_alt_m,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        )

    def _why(self) -> str:
        pre = [t for t in self.state.texts if "PreArm" in t or "Arm" in t or "fence" in t.lower()]
        return f"vehicle says: {pre[-1]}" if pre else "no reason given by the vehicle"

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Wait for a 3D fix, an EKF with absolute horizontal position, and a home position."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.pump(0.5)
            s = self.state
            if s.gps_fix >= 3 and (s.ekf_flags & EKF_NEEDED) == EKF_NEEDED and not math.isnan(s.lat):
                if s.home is None:
                    self.link.conn.mav.command_long_send(
                        self.link.target_system,
                        self.link.target_component,
                        mav.MAV_CMD_GET_HOME_POSITION,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                    )
                    continue
                return
        raise LinkError(
            f"vehicle not ready in {timeout_s:g} s (GPS fix {self.state.gps_fix}, "
            f"EKF flags {self.state.ekf_flags:#x}); wait for a 3D fix outdoors and try again"
        )

    def arm(self, timeout_s: float = 60.0) -> None:
        """Arm, retrying while pre-arm checks settle; raises with the vehicle's last pre-arm message.

        Returns as soon as the vehicle acknowledges: a copter disarms itself again after a few seconds
        on the ground, so the mission must be started right away.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            res = self.link.command(mav.MAV_CMD_COMPONENT_ARM_DISARM, 1.0, timeout_s=2.0)
            if res == mav.MAV_RESULT_ACCEPTED:
                self.state.armed = True
                return
            self.pump(1.0)
        raise LinkError(f"vehicle refused to arm in {timeout_s:g} s; {self._why()}")

    def start_mission(self) -> None:
        """Start the uploaded mission from its first item (AUTO)."""
        res = self.link.command(mav.MAV_CMD_MISSION_START, 0, 0)
        if res != mav.MAV_RESULT_ACCEPTED:
            raise LinkError(f"vehicle refused MISSION_START (result {res}); {self._why()}")

    def fly(self, last_seq: int, timeout_s: float, report: Callable[[FlightState], None] | None = None) -> FlightState:
        """Fly the mission the vehicle holds: wait until ready, GUIDED, arm, start AUTO, follow to the ground."""
        self.wait_ready()
        self.set_mode("GUIDED")
        self.arm()
        self.start_mission()
        return self.follow(last_seq, timeout_s, report)

    def follow(
        self,
        last_seq: int,
        timeout_s: float,
        report: Callable[[FlightState], None] | None = None,
        report_every_s: float = 1.0,
    ) -> FlightState:
        """Watch until the vehicle has landed and disarmed; returns the final state.

        Raises :class:`LinkError` if it is still flying after ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        was_armed = self.state.armed
        while time.monotonic() < deadline:
            self.pump(report_every_s)
            if report is not None:
                report(self.state)
            was_armed = was_armed or self.state.armed
            if was_armed and not self.state.armed:
                return self.state
        raise LinkError(
            f"sortie not finished after {timeout_s:g} s (at item {self.state.current_seq} of {last_seq}, "
            f"mode {self.state.mode}); the vehicle is still flying: take over"
        )


def confirmed_reached(commands: list[int], reached: list[int]) -> list[int]:
    """Mission seqs (1-based, as on the vehicle) of NAV items confirmed reached, in the order reported.

    ArduPilot reports MISSION_ITEM_REACHED through a single deferred-message slot: when a NAV item
    completes and the DO items right after it complete in the same loop, only the last seq is sent.
    So a NAV item ``k`` counts as reached if ``k`` or one of the DO items between it and the next NAV
    item is reported.

    >>> confirmed_reached([22, 178, 16, 178, 16, 20], [2, 4, 5, 6])
    [1, 3, 5, 6]
    """
    is_nav = [c < mav.MAV_CMD_NAV_LAST for c in commands]
    owner: dict[int, int] = {}
    last_nav = None
    for k, nav in enumerate(is_nav, start=1):
        if nav:
            last_nav = k
        if last_nav is not None:
            owner[k] = last_nav
    out: list[int] = []
    for seq in reached:
        k = owner.get(seq)
        if k is not None and (not out or out[-1] != k):
            out.append(k)
    return out


def fly_uploaded(
    link: Link, last_seq: int, timeout_s: float, report: Callable[[FlightState], None] | None = None
) -> tuple[Flight, FlightState]:
    """Fly the mission the vehicle holds: wait until ready, GUIDED, arm, start AUTO, follow to the ground."""
    flight = Flight(link)
    return flight, flight.fly(last_seq, timeout_s, report)


def default_tlog(package: Path, sortie: int, now_utc: dt.datetime) -> Path:
    """Where ``patrol fly`` records a sortie's telemetry: ``PACKAGE/flights/sortie-NN-<UTC stamp>.tlog``."""
    base = package if package.is_dir() else package.parent
    return base / "flights" / f"sortie-{sortie:02d}-{now_utc.strftime('%Y%m%dT%H%M%SZ')}.tlog"
