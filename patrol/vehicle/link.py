"""MAVLink link to a vehicle: connect, mission protocol upload/download/clear, parameters, commands.

The mission microservice (https://mavlink.io/en/services/mission.html) is implemented on the
ground-station side for all three mission types (mission, fence, rally) with MISSION_ITEM_INT.
The vehicle drives an upload by requesting items; patrol waits ``timeout_s`` (1.5 s, as
QGroundControl) for each next message and retries ``retries`` times (5, as QGroundControl): before the
first request it resends MISSION_COUNT, afterwards the last item sent; a download re-requests the
item it waits for. Duplicated and reordered messages are recognised by sequence number and mission type
and ignored or answered again. Every failure raises :class:`LinkError` with the item and the reason.
"""

from __future__ import annotations

import math
import os
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol import i18n
from patrol.errors import InputError, PatrolError
from patrol.package.reader import MISSION
from patrol.types import MissionItem
from patrol.vehicle.readback import compare_items, list_name
from patrol.vehicle.signing import SIGNED_FLAG, Refusals, SigningClock, SigningError, read_key, unsigned_ignored

Progress = Callable[[int, int], None]

ACK_NAMES = {v: e.name for v, e in mav.enums["MAV_MISSION_RESULT"].items()}


class LinkError(PatrolError):
    """The vehicle refused, did not answer, or answered something else than was sent."""

    exit_code = 3


class _CancelledError(Exception):
    """The vehicle ended an upload part-way (it will take a new MISSION_COUNT)."""


def _refused(name: str, item: int | None, reason: str) -> LinkError:
    """The vehicle refused an upload of list ``name`` (after ``item``, or before any) with MISSION_ACK ``reason``."""
    if item is None:
        return LinkError(i18n._("{name} upload refused: {reason}").format(name=name, reason=reason))
    return LinkError(
        i18n._("{name} upload refused after item {item}: {reason}").format(name=name, item=item, reason=reason)
    )


def parse_signing_key(path: str | Path) -> bytes:
    """A 32-byte MAVLink2 signing key from a file: 32 raw bytes, 64 hex digits, or a passphrase.

    A passphrase is hashed with SHA-256, as MAVProxy's ``signing setup`` does. A key file its group or
    others may read is refused, as ssh refuses an open private key (:func:`patrol.vehicle.signing.read_key`).
    """
    return read_key(path)


def device_and_baud(url: str) -> tuple[str, int]:
    """Split a connection string into pymavlink's device and baud.

    >>> device_and_baud("/dev/ttyUSB0:57600")
    ('/dev/ttyUSB0', 57600)
    >>> device_and_baud("tcp:127.0.0.1:5760")
    ('tcp:127.0.0.1:5760', 57600)
    """
    scheme = url.split(":", 1)[0]
    if scheme in ("tcp", "tcpin", "udp", "udpin", "udpout", "udpbcast"):
        if url.count(":") < 2:
            raise InputError(i18n._("connection {url}: give {scheme}:HOST:PORT").format(url=repr(url), scheme=scheme))
        return url, 57600
    if url.startswith(("/dev/", "COM")) and ":" in url:
        dev, baud = url.rsplit(":", 1)
        if not baud.isdigit():
            raise InputError(
                i18n._("connection {url}: serial baud {baud} is not a number; e.g. /dev/ttyUSB0:57600").format(
                    url=repr(url), baud=repr(baud)
                )
            )
        return dev, int(baud)
    if url.startswith(("/dev/", "COM")):
        return url, 57600
    raise InputError(
        i18n._("connection {url}: use tcp:HOST:PORT, udp:/udpin:/udpout:HOST:PORT or /dev/ttyUSB0:57600").format(
            url=repr(url)
        )
    )


class Rto:
    """Retransmission timeout from measured round trips (RFC 6298 style), capped by the link's timeout.

    The mission protocol is one message in flight at a time, so on a lossy link the time spent waiting
    decides the transfer time. A fixed 1.5 s wait (QGroundControl's) costs 1.5 s per lost message even on
    a link that answers in 6 ms. Here the wait is ``srtt + 4 rttvar`` (at least ``floor_s``), grown by half
    for each miss in a row and back to the estimate as soon as anything gets through. A radio link loses
    frames at random, not because it is congested: TCP's exponential backoff, kept until the next clean
    sample, made every loss after the first cost up to the full timeout (measured on SITL in real time
    through a 20 %-loss link: 0.31-0.81 s per item with a 6 ms round trip).
    """

    GROWTH = 1.5

    def __init__(self, cap_s: float, floor_s: float = 0.02) -> None:
        self.cap_s, self.floor_s = cap_s, min(floor_s, cap_s)
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.base = cap_s  # until the first sample: nothing is known of the link
        self.misses = 0

    @property
    def value(self) -> float:
        """Seconds to wait for an answer before sending again."""
        return min(self.base * self.GROWTH**self.misses, self.cap_s)

    def sample(self, rtt_s: float) -> None:
        """Fold in one measured round trip (of an exchange that needed no resend)."""
        if self.srtt is None:
            self.srtt, self.rttvar = rtt_s, rtt_s / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt_s)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt_s
        self.base = min(max(self.srtt + 4 * self.rttvar, self.floor_s), self.cap_s)
        self.misses = 0

    def backoff(self) -> None:
        """One more miss in a row: wait half as long again next time (up to the cap)."""
        self.misses += 1

    def progress(self) -> None:
        """An answer came (even to a resend): back to the estimate."""
        self.misses = 0

    @property
    def at_cap(self) -> bool:
        """True once waits have grown to the full timeout."""
        return self.value >= self.cap_s - 1e-9


@dataclass
class Link:
    """An open connection to one vehicle (its system and autopilot component)."""

    conn: Any
    target_system: int
    target_component: int
    timeout_s: float = 1.5
    retries: int = 5
    window: int = 8  # download requests kept in flight, and upload items ahead of ArduPilot's requests
    autopilot: int = mav.MAV_AUTOPILOT_GENERIC  # from the vehicle's heartbeat
    clock: SigningClock | None = None  # the signing clock saved on close (signed links only)

    MAX_WINDOW = 32

    def __post_init__(self) -> None:
        self.rto = Rto(self.timeout_s)
        self._gap_s: float | None = None  # smoothed time between consecutive items getting through

    def _note_gap(self, gap_s: float) -> None:
        self._gap_s = gap_s if self._gap_s is None else 0.875 * self._gap_s + 0.125 * gap_s

    def _window_now(self) -> int:
        """Items (or requests) to keep in flight: at least ``window``, more on a slow, long link.

        Enough to fill the round trip at the rate items get through (the bandwidth-delay product of a
        telemetry radio: 57,600 baud and 100 ms each way hold about 25 mission items), at most 32.
        """
        if self.rto.srtt is None or not self._gap_s:
            return self.window
        return int(min(self.MAX_WINDOW, max(self.window, math.ceil(self.rto.srtt / self._gap_s) + 2)))

    # -- low level ----------------------------------------------------------------------------
    def recv(self, types: Sequence[str], timeout_s: float) -> Any | None:
        """The next message of one of ``types`` from the target system, or None after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self.conn.recv_match(type=list(types), blocking=True, timeout=min(left, 0.2))
            if m is None:
                continue
            if m.get_srcSystem() != self.target_system:
                continue
            return m

    @property
    def peer_closed(self) -> bool:
        """True once the other end of a TCP link has closed it (EOF or reset); pymavlink would go on reading."""
        return bool(getattr(self.conn, "peer_closed", False))

    def close(self) -> None:
        """Close the underlying connection and the telemetry log it writes (flushed whole, so a caller can hash
        or move it); a signed link keeps the last signing timestamp it used (or saw) for the next session."""
        if self.clock is not None:
            self.clock.save(self.conn.mav.signing.timestamp)
        self.conn.close()
        for name in ("logfile", "logfile_raw"):
            f = getattr(self.conn, name, None)
            if f is not None and not f.closed:
                f.close()

    # -- mission protocol -----------------------------------------------------------------------
    def _send_item(self, it: MissionItem, seq: int, mission_type: int) -> None:
        p = [0.0 if math.isnan(v) else float(v) for v in (it.param1, it.param2, it.param3, it.param4)]
        self.conn.mav.mission_item_int_send(
            self.target_system,
            self.target_component,
            seq,
            it.frame,
            it.command,
            0,
            it.autocontinue,
            *p,
            round(it.lat * 1e7),
            round(it.lon * 1e7),
            0.0 if math.isnan(it.alt_m) else float(it.alt_m),
            mission_type,
        )

    def upload(
        self, items: Sequence[MissionItem], mission_type: int = MISSION, progress: Progress | None = None
    ) -> None:
        """Send ``items`` as the vehicle's whole list of ``mission_type``; returns once it accepts them.

        For the mission type, ``items[0]`` is home (ArduPilot's item 0). Raises :class:`LinkError`
        naming the item on refusal, timeout after retries, or an out-of-range request.
        """
        name = list_name(mission_type)
        n = len(items)
        if n == 0:
            self.clear(mission_type)
            return
        pipelined = self.autopilot == mav.MAV_AUTOPILOT_ARDUPILOTMEGA and self.window > 1
        for attempt in range(3):
            try:
                if pipelined:
                    self._upload_pipelined(items, mission_type, progress)
                else:
                    self._upload_once(items, mission_type, progress)
                return
            except _CancelledError as e:
                # the vehicle gave up mid-transfer (its own timers are shorter than a lossy link's gaps):
                # start again from MISSION_COUNT rather than leave a half-written list
                if attempt == 2:
                    raise LinkError(
                        i18n._("{name} upload cancelled by the vehicle 3 times ({e}); check the link").format(
                            name=name, e=e
                        )
                    ) from None

    def _upload_once(self, items: Sequence[MissionItem], mission_type: int, progress: Progress | None) -> None:
        name = list_name(mission_type)
        n = len(items)
        self.conn.mav.mission_count_send(self.target_system, self.target_component, n, mission_type)
        sent_at = heard_at = time.monotonic()
        sent_max = -1
        last_sent: int | None = None
        misses = 0
        while True:
            m = self.recv(("MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"), self.rto.value)
            if m is None:
                misses += 1
                self.rto.backoff()
                if time.monotonic() - heard_at > (self.retries + 1) * self.timeout_s:
                    raise self._no_answer(name, last_sent)
                if sent_max == n - 1 and misses > self.retries and self.rto.at_cap:
                    self._confirm_by_reading_back(items, mission_type, i18n._("no final MISSION_ACK"))
                    return
                if last_sent is None:
                    self.conn.mav.mission_count_send(self.target_system, self.target_component, n, mission_type)
                else:
                    self._send_item(items[last_sent], last_sent, mission_type)
                sent_at = time.monotonic()
                continue
            if getattr(m, "mission_type", 0) != mission_type:
                continue
            heard_at = time.monotonic()  # the vehicle is there: a lossy link is slow, not dead
            if m.get_type() == "MISSION_ACK":
                if m.type == mav.MAV_MISSION_ACCEPTED and sent_max == n - 1:
                    return
                if m.type == mav.MAV_MISSION_ACCEPTED:
                    continue  # a stale ack from an earlier transfer
                if m.type == mav.MAV_MISSION_INVALID_SEQUENCE:
                    # an item we resent arrived after the vehicle had moved on: its request for the next one
                    # was lost. Send that one now; waiting would let our resends keep resetting the
                    # vehicle's own re-request timer (ArduPilot's is 1 s) and stall the transfer.
                    self.rto.progress()
                    if last_sent is not None and last_sent + 1 < n and last_sent + 1 > sent_max:
                        last_sent += 1
                        self._send_item(items[last_sent], last_sent, mission_type)
                        sent_at = time.monotonic()
                    continue
                if sent_max == n - 1:
                    # The vehicle may have taken the whole list and lost its ACCEPTED ack: ArduPilot then
                    # answers our resent last item with an error. Only the read-back can tell.
                    self._confirm_by_reading_back(items, mission_type, ACK_NAMES.get(m.type, str(m.type)))
                    return
                reason = ACK_NAMES.get(m.type, str(m.type))
                if m.type in (mav.MAV_MISSION_OPERATION_CANCELLED, mav.MAV_MISSION_ERROR) and last_sent is not None:
                    raise _CancelledError(
                        i18n._("{reason} after item {last_sent}").format(reason=reason, last_sent=last_sent)
                    )
                raise _refused(name, last_sent, reason)
            seq = m.seq
            if not 0 <= seq < n:
                raise LinkError(
                    i18n._("{name} upload: vehicle asked for item {seq} of {n}; clear the vehicle and retry").format(
                        name=name, seq=seq, n=n
                    )
                )
            if misses == 0:
                self.rto.sample(time.monotonic() - sent_at)
            else:
                self.rto.progress()
            misses = 0
            self._send_item(items[seq], seq, mission_type)
            sent_at = time.monotonic()
            last_sent = seq
            if seq > sent_max:
                sent_max = seq
                if progress is not None:
                    progress(seq + 1, n)

    def _upload_pipelined(self, items: Sequence[MissionItem], mission_type: int, progress: Progress | None) -> None:
        """Go-back-N upload for ArduPilot: up to ``window`` items ahead of the vehicle's requests.

        ArduPilot takes any item whose seq is the one it waits for, requested or not, answers an item out
        of order with ``MISSION_ACK INVALID_SEQUENCE`` and asks for the next after each item it takes
        (``MissionItemProtocol::handle_mission_item``). So items are streamed in order; the vehicle's
        highest request says how far it has got; a loss shows as an INVALID_SEQUENCE answer, a
        re-request, or silence for one retransmission timeout, and the stream starts again from the
        item the vehicle waits for. A lost request costs nothing (the next one says the same and more);
        one round trip moves ``window`` items instead of one.
        """
        name = list_name(mission_type)
        n = len(items)
        self.conn.mav.mission_count_send(self.target_system, self.target_component, n, mission_type)
        base = -1  # the item the vehicle waits for (-1: it has not asked yet)
        nxt = 0  # the next item to send
        sent_at: dict[int, float] = {}
        resent: set[int] = set()
        now = time.monotonic()
        heard_at = moved_at = now
        back_at = 0.0
        while True:
            if base >= 0:
                while nxt < n and nxt < base + self._window_now():
                    self._send_item(items[nxt], nxt, mission_type)
                    if nxt in sent_at:
                        resent.add(nxt)
                    sent_at[nxt] = time.monotonic()
                    nxt += 1
            wait = moved_at + self.rto.value - time.monotonic()
            m = self.recv(("MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"), max(wait, 0.0005))
            now = time.monotonic()
            if m is None:
                if now < moved_at + self.rto.value:
                    continue
                self.rto.backoff()
                if now - heard_at > (self.retries + 1) * self.timeout_s:
                    raise self._no_answer(name, None if base < 0 else base)
                if base < 0:
                    self.conn.mav.mission_count_send(self.target_system, self.target_component, n, mission_type)
                elif nxt >= n and base >= n - 1 and self.rto.misses > self.retries and self.rto.at_cap:
                    self._confirm_by_reading_back(items, mission_type, i18n._("no final MISSION_ACK"))
                    return
                else:
                    nxt = base  # silence: start again from the item the vehicle waits for
                moved_at = now
                continue
            if getattr(m, "mission_type", 0) != mission_type:
                continue
            heard_at = now
            if m.get_type() == "MISSION_ACK":
                if m.type == mav.MAV_MISSION_ACCEPTED:
                    if base >= 0 and nxt >= n:
                        if progress is not None:
                            progress(n, n)
                        return
                    continue  # a stale ack from an earlier transfer
                if m.type == mav.MAV_MISSION_INVALID_SEQUENCE:
                    # an item arrived out of order: one before it was lost. Go back once per round trip
                    # (every item of the stream after the lost one draws the same answer).
                    if base >= 0 and now - back_at > self.rto.base:
                        nxt, back_at, moved_at = base, now, now
                    continue
                if nxt >= n and base >= n - 1:
                    self._confirm_by_reading_back(items, mission_type, ACK_NAMES.get(m.type, str(m.type)))
                    return
                reason = ACK_NAMES.get(m.type, str(m.type))
                if m.type in (mav.MAV_MISSION_OPERATION_CANCELLED, mav.MAV_MISSION_ERROR):
                    # the vehicle gave up (its 8 s upload timer; a stalled ground station) and says so, or
                    # it answers our stream after giving up silently, or (seen in SITL through the 20 %-loss
                    # proxy on a loaded machine) it answers a MISSION_COUNT with ERROR before asking for any
                    # item: start again from MISSION_COUNT, at most three times (upload())
                    raise _CancelledError(
                        i18n._("{reason} after item {last_sent}").format(reason=reason, last_sent=base - 1)
                        if base > 0
                        else i18n._("{reason} at item 0").format(reason=reason)
                    )
                raise _refused(name, base - 1 if base > 0 else None, reason)
            seq = m.seq
            if not 0 <= seq < n:
                raise LinkError(
                    i18n._("{name} upload: vehicle asked for item {seq} of {n}; clear the vehicle and retry").format(
                        name=name, seq=seq, n=n
                    )
                )
            if seq > base:
                if base >= 0 and seq == base + 1:
                    self._note_gap(now - moved_at)
                if seq - 1 in sent_at and seq - 1 not in resent and self.rto.misses == 0:
                    self.rto.sample(now - sent_at[seq - 1])
                else:
                    self.rto.progress()
                base, moved_at = seq, now
                nxt = max(nxt, base)
                if progress is not None:
                    progress(seq, n)
            elif seq == base and sent_at.get(seq, 0.0) < now - self.rto.value:
                nxt, moved_at = base, now  # the vehicle asks again for what it waits for: resend from there

    def _no_answer(self, name: str, item: int | None) -> LinkError:
        """The vehicle went silent during an upload, after MISSION_COUNT (``item`` None) or after ``item``."""
        waited = f"{(self.retries + 1) * self.timeout_s:g}"
        if item is None:
            text = i18n._(
                "{name} upload: no answer after MISSION_COUNT (nothing for {s} s); check the link and try again"
            )
            return LinkError(text.format(name=name, s=waited))
        text = i18n._(
            "{name} upload: no answer after item {item} (nothing for {s} s); the vehicle may hold a mix of old and "
            "new {name} items: upload again (or clear) before flying"
        )
        return LinkError(text.format(name=name, item=item, s=waited))

    def _confirm_by_reading_back(self, items: Sequence[MissionItem], mission_type: int, why: str) -> None:
        name = list_name(mission_type)
        diffs = compare_items(list(items), self.download(mission_type), mission_type)
        if diffs:
            raise LinkError(
                i18n._("{name} upload not accepted ({why}) and the vehicle holds something else: {diffs}").format(
                    name=name, why=why, diffs=diffs[0]
                )
            )

    def download(self, mission_type: int = MISSION, progress: Progress | None = None) -> list[MissionItem]:
        """The vehicle's list of ``mission_type`` (for missions, item 0 is home)."""
        name = list_name(mission_type)
        count = None
        misses = 0
        while count is None:
            self.conn.mav.mission_request_list_send(self.target_system, self.target_component, mission_type)
            sent_at = time.monotonic()
            m = self._wait_type(("MISSION_COUNT",), mission_type, self.rto.value)
            if m is not None:
                count = m.count
                if misses == 0:
                    self.rto.sample(time.monotonic() - sent_at)
                break
            misses += 1
            self.rto.backoff()
            if misses > self.retries and self.rto.at_cap:
                raise LinkError(
                    i18n._("{name} download: no MISSION_COUNT after {retries} retries; check the link").format(
                        name=name, retries=self.retries
                    )
                )
        got = self._request_items(count, mission_type, name, progress)
        out = [
            MissionItem(
                g.command,
                g.frame,
                g.param1,
                g.param2,
                g.param3,
                g.param4,
                lat=g.x / 1e7,
                lon=g.y / 1e7,
                alt_m=g.z,
                autocontinue=g.autocontinue,
            )
            for g in got
        ]
        self.conn.mav.mission_ack_send(
            self.target_system, self.target_component, mav.MAV_MISSION_ACCEPTED, mission_type
        )
        return out

    def _request_items(self, count: int, mission_type: int, name: str, progress: Progress | None) -> list[Any]:
        """MISSION_ITEM_INT 0..count-1, with up to ``window`` requests outstanding.

        ArduPilot answers every MISSION_REQUEST_INT on its own, so keeping a few requests in flight
        turns a download from ``count`` round trips into about ``count / window``; a request that gets
        no answer within the retransmission timeout is sent again (and counts towards the retries).
        """
        got: dict[int, Any] = {}
        asked: dict[int, float] = {}
        resent: set[int] = set()
        nxt = 0
        progress_at = time.monotonic()
        while len(got) < count:
            now = time.monotonic()
            overdue = [seq for seq, t in asked.items() if now - t > self.rto.value]
            if overdue:
                # the link is dead only when nothing at all has come for `retries` full timeouts; a lossy
                # link that still delivers keeps going (a per-item limit fails long lists on such links)
                if now - progress_at > (self.retries + 1) * self.timeout_s:
                    raise LinkError(
                        i18n._("{name} download: item {overdue} of {count} never came (nothing for {n} s)").format(
                            name=name,
                            overdue=overdue[0],
                            count=count,
                            n=format((self.retries + 1) * self.timeout_s, "g"),
                        )
                    )
                self.rto.backoff()  # once per timeout, however many requests it caught
                for seq in overdue:
                    self.conn.mav.mission_request_int_send(self.target_system, self.target_component, seq, mission_type)
                    asked[seq] = now
                    resent.add(seq)
            while nxt < count and len(asked) < self._window_now():
                self.conn.mav.mission_request_int_send(self.target_system, self.target_component, nxt, mission_type)
                asked[nxt] = time.monotonic()
                nxt += 1
            wait = max(min(t + self.rto.value for t in asked.values()) - time.monotonic(), 0.001)
            m = self._wait_type(("MISSION_ITEM_INT",), mission_type, wait)
            if m is None or m.seq in got or not 0 <= m.seq < count:
                continue
            self._note_gap(time.monotonic() - progress_at)
            progress_at = time.monotonic()
            t = asked.pop(m.seq, None)
            if t is not None and m.seq not in resent:
                self.rto.sample(progress_at - t)
            else:
                self.rto.progress()
            got[m.seq] = m
            if progress is not None:
                progress(len(got), count)
        return [got[k] for k in range(count)]

    def _wait_type(self, types: Sequence[str], mission_type: int, timeout_s: float | None = None) -> Any | None:
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self.recv(types, left)
            if m is None:
                return None
            if getattr(m, "mission_type", 0) == mission_type:
                return m

    def clear(self, mission_type: int = MISSION) -> None:
        """Delete the vehicle's list of ``mission_type`` (MISSION_CLEAR_ALL, acknowledged)."""
        name = list_name(mission_type)
        for _ in range(self.retries + 1):
            self.conn.mav.mission_clear_all_send(self.target_system, self.target_component, mission_type)
            m = self._wait_type(("MISSION_ACK",), mission_type)
            if m is None:
                continue
            if m.type != mav.MAV_MISSION_ACCEPTED:
                raise LinkError(
                    i18n._("{name} clear refused: {get}").format(name=name, get=ACK_NAMES.get(m.type, m.type))
                )
            return
        raise LinkError(
            i18n._("{name} clear: no MISSION_ACK after {retries} retries; check the link").format(
                name=name, retries=self.retries
            )
        )

    # -- parameters and commands ----------------------------------------------------------------
    def get_param(self, name: str) -> float:
        """The vehicle's value of parameter ``name``."""
        for _ in range(self.retries + 1):
            self.conn.mav.param_request_read_send(self.target_system, self.target_component, name.encode(), -1)
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                m = self.recv(("PARAM_VALUE",), deadline - time.monotonic())
                if m is not None and m.param_id == name:
                    return float(m.param_value)
        raise LinkError(
            i18n._("parameter {name}: no PARAM_VALUE after {retries} retries (is it a parameter here?)").format(
                name=name, retries=self.retries
            )
        )

    def set_param(self, name: str, value: float) -> float:
        """Set ``name`` to ``value`` and return the value the vehicle confirms (PARAM_VALUE echo).

        An echo with another value may be a late answer to an earlier request, so it is not taken as a
        refusal at once: only when no echo with the new value follows within the attempt's timeout does this
        raise "vehicle kept". No echo at all is retried.
        """
        for _ in range(self.retries + 1):
            self.conn.mav.param_set_send(
                self.target_system, self.target_component, name.encode(), float(value), mav.MAV_PARAM_TYPE_REAL32
            )
            kept: float | None = None
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                m = self.recv(("PARAM_VALUE",), deadline - time.monotonic())
                if m is not None and m.param_id == name:
                    if math.isclose(m.param_value, value, rel_tol=1e-6, abs_tol=1e-6):
                        return float(m.param_value)
                    kept = float(m.param_value)
            if kept is not None:
                raise LinkError(
                    i18n._("parameter {name}: set {value}, vehicle kept {kept}").format(
                        name=name, value=format(value, "g"), kept=format(kept, "g")
                    )
                )
        raise LinkError(
            i18n._("parameter {name}: no confirmation after {retries} retries").format(name=name, retries=self.retries)
        )

    def command(self, command: int, *params: float, timeout_s: float | None = None) -> int:
        """Send COMMAND_LONG and return the COMMAND_ACK result (retrying with confirmation counts)."""
        p = [float(x) for x in params] + [0.0] * (7 - len(params))
        wait = self.timeout_s if timeout_s is None else timeout_s
        for confirmation in range(self.retries + 1):
            self.conn.mav.command_long_send(self.target_system, self.target_component, command, confirmation, *p)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                m = self.recv(("COMMAND_ACK",), deadline - time.monotonic())
                if m is not None and m.command == command:
                    if m.result == mav.MAV_RESULT_IN_PROGRESS:
                        deadline = time.monotonic() + wait
                        continue
                    return int(m.result)
        raise LinkError(
            i18n._("command {command}: no COMMAND_ACK after {retries} retries").format(
                command=command, retries=self.retries
            )
        )


def expect_system(link: Link, sysid: int | None, what: str, url: str) -> None:
    """Refuse (closing ``link``) a link whose vehicle is not MAVLink system ``sysid`` (None: any will do)."""
    if sysid is None or link.target_system == sysid:
        return
    link.close()
    raise LinkError(
        i18n._(
            "{url} reaches MAVLink system {target_system}, but {what} is system {sysid} (its "
            "profile's sysid): the wrong drone or the wrong address; check the link, or the "
            "vehicle's MAV_SYSID"
        ).format(url=url, target_system=link.target_system, what=what, sysid=sysid)
    )


def connect(
    url: str,
    signing_key: str | Path | None = None,
    heartbeat_timeout_s: float = 15.0,
    source_system: int = 255,
    source_component: int = mav.MAV_COMP_ID_MISSIONPLANNER,
    timeout_s: float = 1.5,
    retries: int = 5,
) -> Link:
    """Open ``url`` and wait for a vehicle's heartbeat (an autopilot, not another ground station)."""
    device, baud = device_and_baud(url)
    os.environ["MAVLINK20"] = "1"  # MAVLink 2: mission_type and signing; ArduPilot's dialect below
    try:
        conn = mavutil.mavlink_connection(
            device,
            baud=baud,
            source_system=source_system,
            source_component=source_component,
            autoreconnect=False,
            dialect="ardupilotmega",
        )
    except OSError as e:
        raise LinkError(
            i18n._("connection {url}: {value}; is the vehicle or SITL running?").format(url=url, value=e.strerror or e)
        ) from None
    if isinstance(conn, mavutil.mavtcp):
        _note_peer_close(conn)
    log_every_link(conn)
    key = clock = None
    if signing_key is not None:
        try:
            key = read_key(signing_key)
            clock = SigningClock.load(key)
            conn.setup_signing(key, sign_outgoing=True, initial_timestamp=clock.start(), link_id=clock.link_id)
        except BaseException:
            conn.close()
            raise
    refusals = Refusals(key)
    deadline = time.monotonic() + heartbeat_timeout_s
    booting = False
    beat_at = 0.0
    while time.monotonic() < deadline:
        if (key is not None or device.startswith("udpout")) and time.monotonic() - beat_at > 0.5:
            # a signed heartbeat moves a vehicle's signing clock up to ours (one just rebooted without GPS
            # time may be far behind, and its packets would be refused as replays until then)
            conn.mav.heartbeat_send(mav.MAV_TYPE_GCS, mav.MAV_AUTOPILOT_INVALID, 0, 0, 0)
            beat_at = time.monotonic()
        m = conn.recv_match(type=["HEARTBEAT", "BAD_DATA"], blocking=True, timeout=0.5)
        if m is None:
            continue
        if m.get_type() == "BAD_DATA":
            if "signature" in str(m.reason):
                refusals.note(m.data)
                verdict = refusals.verdict(url)
                if verdict is not None:
                    conn.close()
                    raise SigningError(verdict)
            continue
        if m.type == mav.MAV_TYPE_GCS or m.autopilot == mav.MAV_AUTOPILOT_INVALID:
            continue
        if m.system_status in (mav.MAV_STATE_UNINIT, mav.MAV_STATE_BOOT):
            booting = True  # storage is not ready: a mission sent now is refused with NO_SPACE
            continue
        link = Link(conn, m.get_srcSystem(), m.get_srcComponent(), timeout_s, retries, autopilot=m.autopilot)
        link.clock = clock
        if key is None and m._header.incompat_flags & SIGNED_FLAG and not _answers_unsigned(link):
            link.close()
            raise SigningError(unsigned_ignored(url))
        return link
    conn.close()
    if booting:
        raise LinkError(
            i18n._("connection {url}: the vehicle is still booting after {heartbeat_timeout_s} s; try again").format(
                url=url, heartbeat_timeout_s=format(heartbeat_timeout_s, "g")
            )
        )
    raise LinkError(
        i18n._("connection {url}: no vehicle heartbeat in {heartbeat_timeout_s} s; check the address and link").format(
            url=url, heartbeat_timeout_s=format(heartbeat_timeout_s, "g")
        )
    )


def log_every_link(conn: Any) -> None:
    """Make ``conn.logfile`` (pymavlink's ``setup_logfile``) record what ``conn`` receives on every kind of link.

    pymavlink's TCP and serial links write each message received to ``logfile`` (an 8-byte big-endian
    microsecond timestamp, then the frame: a .tlog); its UDP link parses whole datagrams in a ``recv_msg`` of
    its own that writes nothing, so ``patrol fly --connect udpin:...`` recorded an empty log. A message hook
    writes the same records there. Calling it again on the same connection adds nothing.
    """
    if type(conn).recv_msg is mavutil.mavfile.recv_msg or getattr(conn, "_logs_by_hook", False):
        return

    def record(c: Any, msg: Any) -> None:
        if c.logfile is not None and msg.get_type() != "BAD_DATA":
            c.logfile.write(struct.pack(">Q", int(msg._timestamp * 1e6) & ~3) + msg.get_msgbuf())

    conn.message_hooks.append(record)
    conn._logs_by_hook = True


def _note_peer_close(conn: Any) -> None:
    """A TCP connection whose peer closes it sets ``conn.peer_closed`` instead of printing "EOF on TCP socket" on
    stdout at every read (pymavlink's handlers without autoreconnect), so a watcher can tell a dead link."""

    def closed() -> None:
        conn.peer_closed = True

    conn.handle_eof = conn.handle_disconnect = closed


def _answers_unsigned(link: Link, tries: int = 2) -> bool:
    """True if a vehicle that signs its packets still answers our unsigned request (ArduPilot does on its USB
    port, SERIAL0, and nowhere else): a read of parameter index 0, ``tries`` times ``link.timeout_s`` at most."""
    for _ in range(tries):
        # the first parameter by index: every firmware has one, whatever its names (SYSID_THISMAV is MAV_SYSID now)
        link.conn.mav.param_request_read_send(link.target_system, link.target_component, b"", 0)
        deadline = time.monotonic() + link.timeout_s
        while (left := deadline - time.monotonic()) > 0:
            m = link.recv(("PARAM_VALUE",), left)
            # only the answer counts: ArduPilot also sends each parameter it changes itself (STAT_RUNTIME), index 65535
            if m is not None and m.param_index == 0:
                return True
    return False
