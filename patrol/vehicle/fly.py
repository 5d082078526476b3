"""Fly an uploaded sortie: wait for a fix and a ready EKF, arm, start AUTO, follow it to the ground.

Copter flight modes are ArduCopter's custom mode numbers. ``MAV_CMD_MISSION_START`` switches an armed
copter on the ground to AUTO and starts the mission at its NAV_TAKEOFF, as ArduPilot documents.

While it follows a sortie, :meth:`Flight.follow` reports what goes wrong as one line per event
(:class:`EventWatch`: GPS lost and regained, a failsafe the vehicle announces, a mode the vehicle takes by
itself, a reboot, the link lost and back), reopens a link that went silent and carries the .tlog over to
the new connection, and :func:`sortie_end` says how the sortie ended and with which exit status.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.errors import PatrolError
from patrol.i18n import N_, Said, _
from patrol.vehicle.link import Link, LinkError

COPTER_MODES = {"STABILIZE": 0, "AUTO": 3, "GUIDED": 4, "LOITER": 5, "RTL": 6, "LAND": 9, "BRAKE": 17}
MODE_NAMES = {v: k for k, v in COPTER_MODES.items()}

# EKF_STATUS_REPORT flags a position-controlled flight needs
EKF_NEEDED = mav.EKF_ATTITUDE | mav.EKF_VELOCITY_HORIZ | mav.EKF_POS_HORIZ_ABS | mav.EKF_PRED_POS_HORIZ_ABS

# exit statuses of `patrol fly` besides 0 (landed after the mission's last item), 1-4 (patrol's errors) and
# 130 (Ctrl-C): docs/flying.md
EXIT_ENDED_EARLY = 5  # landed and disarmed before the mission's end: a failsafe, the vehicle's own RTL/LAND
EXIT_LINK_LOST = 6  # the link was lost and not regained: the vehicle's state is unknown

# what ArduPilot says when a failsafe or an estimator fault takes over (STATUSTEXT), matched case-insensitively
FAILSAFE_TEXT = re.compile(
    r"failsafe|battery \d+ is (low|critical)|ekf variance|gps glitch|dead reckoning|crash|potential thrust loss",
    re.IGNORECASE,
)


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
    max_seq: int = -1  # the furthest mission item the vehicle has been at (MISSION_CURRENT)
    boot_ms: int = -1  # the vehicle's time since boot, from GLOBAL_POSITION_INT
    reboots: int = 0  # times the vehicle's boot clock went back (it restarted)
    before_reboot: tuple[float, float, float] | None = None  # lat, lon, rel_alt_m last heard before the last reboot
    modes: list[str] = field(default_factory=list)  # every mode the heartbeat showed, in order, once per change
    gps_fixes: list[int] = field(default_factory=list)  # the fix type each time a 3D fix was gained or lost
    changes: list[tuple[str, Any]] = field(default_factory=list)  # ("mode"|"gps"|"text"|"reboot"|"fence", value)

    def update(self, m: Any, t0: float) -> None:
        """Fold one telemetry message into the state."""
        kind = m.get_type()
        if kind == "HEARTBEAT" and m.type != mav.MAV_TYPE_GCS:
            self.armed = bool(m.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED)
            self.mode = MODE_NAMES.get(m.custom_mode, str(m.custom_mode))
            if not self.modes or self.modes[-1] != self.mode:
                self.modes.append(self.mode)
                self.changes.append(("mode", self.mode))
        elif kind == "GLOBAL_POSITION_INT":
            if 0 <= m.time_boot_ms < self.boot_ms - 5000:  # a clock seconds behind the last one: a restart
                self.reboots += 1
                self.before_reboot = (self.lat, self.lon, self.rel_alt_m)
                self.changes.append(("reboot", m.time_boot_ms))
            self.boot_ms = m.time_boot_ms
            if m.lat or m.lon:  # 0, 0 until the first fix
                self.lat, self.lon, self.rel_alt_m = m.lat / 1e7, m.lon / 1e7, m.relative_alt / 1000.0
                self.track.append((time.monotonic() - t0, self.lat, self.lon, self.rel_alt_m))
        elif kind == "MISSION_CURRENT":
            self.current_seq = m.seq
            self.max_seq = max(self.max_seq, m.seq)
        elif kind == "MISSION_ITEM_REACHED":
            if not self.reached or self.reached[-1] != m.seq:
                self.reached.append(m.seq)
        elif kind == "NAV_CONTROLLER_OUTPUT":
            self.wp_dist_m = float(m.wp_dist)
        elif kind == "SYS_STATUS":
            self.battery_pct = m.battery_remaining
        elif kind == "GPS_RAW_INT":
            self.gps_fix = m.fix_type
            if not self.gps_fixes or (self.gps_fixes[-1] >= 3) != (m.fix_type >= 3):
                self.gps_fixes.append(m.fix_type)
                self.changes.append(("gps", m.fix_type))
        elif kind == "EKF_STATUS_REPORT":
            self.ekf_flags = m.flags
        elif kind == "STATUSTEXT":
            self.texts.append(m.text)
            self.changes.append(("text", m.text))
        elif kind == "FENCE_STATUS":
            if m.breach_status and not self.fence_breached:
                self.changes.append(("fence", m.breach_type))
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
        self.rate_hz = rate_hz
        self.heard_at = time.monotonic()  # when the vehicle was last heard (any telemetry message)
        self.link_lost = False  # True from a lost link until a new one answers: nothing sent reaches the vehicle
        self._request_streams()

    def _request_streams(self) -> None:
        self.link.conn.mav.request_data_stream_send(
            self.link.target_system, self.link.target_component, mav.MAV_DATA_STREAM_ALL, self.rate_hz, 1
        )

    def pump(self, seconds: float) -> None:
        """Read telemetry for ``seconds`` (less if the link's TCP peer closes the connection meanwhile).

        Raises :class:`LinkError` if it was closed already: nothing more will come on it."""
        if self.link.peer_closed:
            raise LinkError(_("the connection was closed by the other end (the vehicle or a relay); check the link"))
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.link.peer_closed:
                return
            m = self.link.conn.recv_match(type=TELEMETRY, blocking=True, timeout=min(left, 0.2))
            if m is not None and m.get_srcSystem() == self.link.target_system:
                self.heard_at = time.monotonic()
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
        raise LinkError(
            _("vehicle did not enter {mode} in {timeout_s} s (mode {now}); {why}").format(
                mode=mode, timeout_s=f"{timeout_s:g}", now=self.state.mode, why=self._why()
            )
        )

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
        return _("vehicle says: {text}").format(text=pre[-1]) if pre else _("no reason given by the vehicle")

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
            _(
                "vehicle not ready in {timeout_s} s (GPS fix {fix}, EKF flags {flags}); "
                "wait for a 3D fix outdoors and try again"
            ).format(timeout_s=f"{timeout_s:g}", fix=self.state.gps_fix, flags=f"{self.state.ekf_flags:#x}")
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
        raise LinkError(
            _("vehicle refused to arm in {timeout_s} s; {why}").format(timeout_s=f"{timeout_s:g}", why=self._why())
        )

    def start_mission(self) -> None:
        """Start the uploaded mission from its first item (AUTO)."""
        res = self.link.command(mav.MAV_CMD_MISSION_START, 0, 0)
        if res != mav.MAV_RESULT_ACCEPTED:
            raise LinkError(
                _("vehicle refused MISSION_START (result {result}); {why}").format(result=res, why=self._why())
            )
        self.state.max_seq = -1  # a MISSION_CURRENT from before the start says nothing of this sortie

    def fly(
        self, last_seq: int, timeout_s: float, report: Callable[[FlightState], None] | None = None, **watch: Any
    ) -> FlightState:
        """Fly the mission the vehicle holds: wait until ready, GUIDED, arm, start AUTO, follow to the ground.

        ``watch`` goes to :meth:`follow` (``on_event``, ``relink``, ``lost_after_s``, ``relink_wait_s``)."""
        self.wait_ready()
        self.set_mode("GUIDED")
        self.arm()
        self.start_mission()
        return self.follow(last_seq, timeout_s, report, **watch)

    def follow(
        self,
        last_seq: int,
        timeout_s: float,
        report: Callable[[FlightState], None] | None = None,
        report_every_s: float = 1.0,
        on_event: Callable[[str], None] | None = None,
        relink: Callable[[], Link] | None = None,
        lost_after_s: float = 5.0,
        relink_wait_s: float = 120.0,
    ) -> FlightState:
        """Watch until the vehicle has landed and disarmed; returns the final state.

        Each event (:class:`EventWatch`) is passed to ``on_event`` as one line. When nothing has come from the
        vehicle for ``lost_after_s`` (or its TCP peer closed the connection) the link counts as lost: the old
        connection is closed and ``relink()`` (a new :class:`Link` to the same vehicle) is tried until it
        answers, for up to ``relink_wait_s``; the new connection takes over the old one's .tlog, so the log
        goes on in the same file. Raises :class:`LinkLostError` if the link is not regained (or there is no
        ``relink``), :class:`LinkError` if the vehicle is still flying after ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        was_armed = self.state.armed
        watch = EventWatch(self.state)
        tell = on_event or (lambda _line: None)
        while time.monotonic() < deadline:
            self.pump(report_every_s)
            for line in watch.events(self.state):
                tell(line)
            silent_s = time.monotonic() - self.heard_at
            if self.link.peer_closed or silent_s > lost_after_s:
                self._relink(relink, relink_wait_s, tell, last_seq)
                continue
            if report is not None:
                report(self.state)
            was_armed = was_armed or self.state.armed
            if was_armed and not self.state.armed:
                return self.state
        raise LinkError(
            _(
                "sortie not finished after {timeout_s} s (at item {item} of {last}, mode {mode}); "
                "the vehicle is still flying: take over"
            ).format(timeout_s=f"{timeout_s:g}", item=self.state.current_seq, last=last_seq, mode=self.state.mode)
        )

    def _relink(self, relink: Callable[[], Link] | None, wait_s: float, tell: Callable[[str], None], last: int) -> None:
        """The link is lost: say so, close it, and open a new one to the vehicle within ``wait_s`` or raise."""
        s = self.state
        where = _("at item {item} of {last}, {mode}, alt {alt_m} m").format(
            item=max(s.current_seq, 0), last=last, mode=s.mode, alt_m=f"{s.rel_alt_m:.0f}"
        )
        why = _("connection closed by the other end") if self.link.peer_closed else _("no telemetry")
        lost_at = self.heard_at
        self.link_lost = True
        tell(
            _("link lost ({why}; last heard {where}); the vehicle flies on by itself, reconnecting ...").format(
                why=why, where=where
            )
        )
        old = self.link.conn
        if self.link.clock is not None:  # the next connection's signing starts after the timestamps used so far
            self.link.clock.save(old.mav.signing.timestamp)
        with contextlib.suppress(OSError):
            old.close()  # the socket only: the .tlog stays open for the next connection
        give_up = time.monotonic() + wait_s
        while relink is not None and time.monotonic() < give_up:
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # pymavlink prints its connection attempts
                    new = relink()
            except PatrolError:
                time.sleep(1.0)
                continue
            self._adopt(new)
            tell(_("link back after {s} s; following the sortie again").format(s=f"{time.monotonic() - lost_at:.0f}"))
            return
        raise LinkLostError(
            _(
                "link lost {s} s ago and not regained (last heard {where}); "
                "the vehicle is on its own: take over with the RC transmitter or another ground station"
            ).format(s=f"{time.monotonic() - lost_at:.0f}", where=where)
        )

    def _adopt(self, new: Link) -> None:
        """Carry on over ``new``: the .tlog moves to its connection, telemetry streams are asked for again."""
        old = self.link.conn
        new.conn.logfile, old.logfile = old.logfile, None
        new.conn.logfile_raw, old.logfile_raw = old.logfile_raw, None
        self.link.conn, self.link.clock = new.conn, new.clock
        self.link.target_system, self.link.target_component = new.target_system, new.target_component
        self.heard_at = time.monotonic()
        self.link_lost = False
        self._request_streams()


class LinkLostError(LinkError):
    """The link to a flying vehicle was lost and not regained (exit status 6)."""

    exit_code = EXIT_LINK_LOST


class EventWatch:
    """Turns changes of a :class:`FlightState` into one line per event, from the state it was made with on.

    Events: GPS lost (fix below 3D) and regained, a failsafe or estimator fault the vehicle announces
    (STATUSTEXT matching :data:`FAILSAFE_TEXT`), any mode change (patrol commands none while it follows, so
    it is the vehicle's own: a failsafe's RTL or LAND, a fence action, a pilot's switch), a fence breach,
    a reboot (the boot clock went back). Changes come from the state's own records (every mode and every
    gain or loss of a fix as it arrived), so one that came and went between two calls is still told.
    """

    def __init__(self, state: FlightState) -> None:
        self.seen = len(state.changes)
        self.gps_known = bool(state.gps_fixes)  # the first fix type heard is no change
        self.mode = state.modes[-1] if state.modes else None
        self.in_auto = "AUTO" in state.modes  # the switch into AUTO that starts the mission is patrol's own

    def events(self, state: FlightState) -> list[str]:
        """The events since the last call, one line each, in the order they arrived."""
        out: list[str] = []
        for kind, value in state.changes[self.seen :]:
            if kind == "reboot":
                out.append(_("vehicle rebooted (its boot clock went back)"))
            elif kind == "gps":
                if self.gps_known:
                    gps = _("GPS regained (fix type {fix})") if value >= 3 else _("GPS lost (fix type {fix})")
                    out.append(gps.format(fix=value))
                self.gps_known = True
            elif kind == "text":
                if FAILSAFE_TEXT.search(value) and not value.startswith("PreArm"):  # not the checks on the ground
                    out.append(_("failsafe: vehicle says {text}").format(text=repr(value)))  # its own words, quoted
            elif kind == "mode":
                if self.mode is not None and (self.in_auto or value != "AUTO"):
                    out.append(_("vehicle switched itself to {mode} (from {was})").format(mode=value, was=self.mode))
                self.mode, self.in_auto = value, self.in_auto or value == "AUTO"
            elif kind == "fence":
                out.append(_("fence breached: the vehicle takes its fence action"))
        self.seen = len(state.changes)
        return out


def sortie_end(state: FlightState, last_seq: int) -> tuple[Said, int]:
    """How a followed sortie ended (words for the operator and the ledger) and the exit status of ``patrol fly``.

    The words are English (the ledger records them so); :func:`patrol.i18n.shown` gives them to the operator in
    the interface language.

    The sortie is flown to its end when the vehicle has been at the mission's last item (``last_seq``, its
    return to launch); a vehicle that landed and disarmed before that ended early (status 5), and the words
    say where, and the last mode it took by itself. A vehicle that rebooted while it was followed came back
    disarmed: that is status 5 too, and the words say it may have come down where it was last seen.

    >>> sortie_end(FlightState(max_seq=12, modes=["GUIDED", "AUTO"]), 12)
    ('landed and disarmed', 0)
    >>> sortie_end(FlightState(max_seq=5, modes=["GUIDED", "AUTO", "RTL"]), 12)
    ("landed and disarmed before the mission's end (at item 5 of 12; the vehicle took RTL)", 5)
    """
    k = max(state.max_seq, 0)
    if state.reboots:
        lat, lon, alt = state.before_reboot or (state.lat, state.lon, state.rel_alt_m)
        text = N_(
            "rebooted in flight and came back disarmed (at item {k} of {last}, last seen at {lat}, {lon}, "
            "{alt_m} m up): it may have come down there"
        )
        return Said(text, k=k, last=last_seq, lat=f"{lat:.6f}", lon=f"{lon:.6f}", alt_m=f"{alt:.0f}"), EXIT_ENDED_EARLY
    if state.max_seq >= last_seq:
        return Said(N_("landed and disarmed")), 0
    own = [m for m in state.modes if m not in ("GUIDED", "AUTO", "STABILIZE")]
    if own:
        text = N_("landed and disarmed before the mission's end (at item {k} of {last}; the vehicle took {mode})")
        return Said(text, k=k, last=last_seq, mode=own[-1]), EXIT_ENDED_EARLY
    text = N_("landed and disarmed before the mission's end (at item {k} of {last})")
    return Said(text, k=k, last=last_seq), EXIT_ENDED_EARLY


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
