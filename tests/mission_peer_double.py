"""TEST DOUBLE: a vehicle-side MAVLink mission-protocol peer over a real UDP socket.

It stands in for ArduPilot only where SITL cannot produce a fault on demand: it drops, duplicates and
reorders messages with a seeded random generator, can go silent after N items (a cut link) and can
refuse a list that exceeds its capacity. It holds mission, fence and rally lists exactly as received.
With :attr:`MissionPeerDouble.telemetry` set it also streams a flying vehicle's telemetry as the test
scripts it (armed, mode, mission item, GPS fix, STATUSTEXTs), can fall silent for a while (a link outage)
and restart its boot clock (a reboot). The real vehicle is tested in ``sitl_tests/``.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav

os.environ["MAVLINK20"] = "1"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Faults:
    drop: float = 0.0  # share of messages lost, each direction
    duplicate: float = 0.0  # share of outgoing messages sent twice
    reorder: float = 0.0  # share of outgoing messages held back and sent after the next one
    silent_after_items: int | None = None  # stop answering after receiving this many items (cut link)
    capacity: int = 10_000  # a longer list is refused with MAV_MISSION_NO_SPACE
    error_counts: int = 0  # the first this many MISSION_COUNTs answered MAV_MISSION_ERROR, as SITL did once under load
    stale_param_echo: bool = False  # a late PARAM_VALUE with the old value arrives before each PARAM_SET's answer
    readonly_params: frozenset[str] = frozenset()  # PARAM_SET of these is answered with the unchanged value
    seed: int = 1


@dataclass
class Telemetry:
    """What the double's vehicle reports at 10 Hz; a test changes the fields while a ground station watches."""

    armed: bool = True
    custom_mode: int = 3  # ArduCopter AUTO
    seq: int = 1  # MISSION_CURRENT
    fix_type: int = 3
    lat: float = 38.415
    lon: float = 112.730
    rel_alt_m: float = 40.0
    texts: list[str] = field(default_factory=list)  # sent once each, oldest first, then removed


@dataclass
class MissionPeerDouble:
    """Run with ``with MissionPeerDouble(faults) as peer:``; connect the GCS to ``peer.url``."""

    faults: Faults = field(default_factory=Faults)
    port: int = field(default_factory=free_udp_port)
    lists: dict[int, list[Any]] = field(default_factory=lambda: {0: [], 1: [], 2: []})
    params: dict[str, float] = field(default_factory=lambda: {"FENCE_ENABLE": 0.0, "FENCE_ALT_MAX": 100.0})
    received_items: int = 0
    home: tuple[float, float] | None = None  # answered to MAV_CMD_GET_HOME_POSITION when set
    telemetry: Telemetry | None = None  # a flying vehicle's telemetry, streamed while set
    silent: bool = False  # a link outage: nothing is sent and what comes is not read

    def reboot(self) -> None:
        """Restart the boot clock (time_boot_ms starts again from 0), as a vehicle that rebooted."""
        self._boot_at = time.monotonic()

    def __post_init__(self) -> None:
        self.rng = random.Random(self.faults.seed)
        self.conn = mavutil.mavlink_connection(
            f"udpin:127.0.0.1:{self.port}", source_system=1, source_component=1, dialect="ardupilotmega"
        )
        self._stop = threading.Event()
        self._held: Any | None = None
        self._held_at = 0.0
        self._rx: dict[int, dict[str, Any]] = {}  # per mission type: expected count, items, next seq
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._boot_at = time.monotonic() - 600.0  # up for ten minutes

    @property
    def url(self) -> str:
        return f"udpout:127.0.0.1:{self.port}"

    def __enter__(self) -> MissionPeerDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.conn.close()

    # -- sending with faults ----------------------------------------------------------------------
    def _send(self, msg: Any) -> None:
        f = self.faults
        if self.rng.random() < f.drop:
            return
        if self.rng.random() < f.reorder and self._held is None:
            self._held = msg  # overtaken by the next message, or sent late by the loop
            self._held_at = time.monotonic()
            return
        self._raw(msg)
        if self.rng.random() < f.duplicate:
            self._raw(msg)
        if self._held is not None:
            held, self._held = self._held, None
            self._raw(held)

    def _raw(self, msg: Any) -> None:
        with contextlib.suppress(OSError):
            self.conn.mav.send(msg)

    # -- the vehicle's side of the protocol -------------------------------------------------------
    def _run(self) -> None:
        next_hb = next_tlm = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if self.silent:
                self.conn.recv_match(blocking=True, timeout=0.05)  # read and lost
                continue
            if now >= next_hb and self.telemetry is None:
                self._raw(
                    self.conn.mav.heartbeat_encode(
                        mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, mav.MAV_STATE_STANDBY
                    )
                )
                next_hb = now + 0.5
            if self.telemetry is not None and now >= next_tlm:
                self._send_telemetry(self.telemetry, now)
                next_tlm = now + 0.1
            self._retry_requests(now)
            if self._held is not None and now - self._held_at > 0.05:
                held, self._held = self._held, None
                self._raw(held)
            m = self.conn.recv_match(blocking=True, timeout=0.05)
            if m is None or m.get_type() == "BAD_DATA":
                continue
            if self.rng.random() < self.faults.drop:
                continue
            silent = self.faults.silent_after_items
            if silent is not None and self.received_items >= silent:
                continue
            handler = getattr(self, "_on_" + m.get_type().lower(), None)
            if handler is not None:
                handler(m)

    def _send_telemetry(self, t: Telemetry, now: float) -> None:
        m = self.conn.mav
        base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (mav.MAV_MODE_FLAG_SAFETY_ARMED if t.armed else 0)
        state = mav.MAV_STATE_ACTIVE if t.armed else mav.MAV_STATE_STANDBY
        self._raw(
            m.heartbeat_encode(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, base, t.custom_mode, state)
        )
        boot_ms = int((now - self._boot_at) * 1000)
        lat, lon = round(t.lat * 1e7), round(t.lon * 1e7)
        self._raw(m.global_position_int_encode(boot_ms, lat, lon, 840_000, round(t.rel_alt_m * 1000), 0, 0, 0, 0))
        self._raw(m.gps_raw_int_encode(boot_ms * 1000, t.fix_type, lat, lon, 840_000, 100, 100, 0, 0, 10))
        self._raw(m.mission_current_encode(t.seq))
        while t.texts:
            self._raw(m.statustext_encode(mav.MAV_SEVERITY_CRITICAL, t.texts.pop(0).encode()))

    def _request(self, mt: int, seq: int) -> None:
        self._send(self.conn.mav.mission_request_int_encode(255, 190, seq, mt))
        self._rx[mt]["asked_at"] = time.monotonic()

    def _retry_requests(self, now: float) -> None:
        for mt, rx in self._rx.items():
            if rx["next"] < rx["count"] and now - rx["asked_at"] > 0.25:
                silent = self.faults.silent_after_items
                if silent is None or self.received_items < silent:
                    self._request(mt, rx["next"])

    def _on_mission_count(self, m: Any) -> None:
        mt = m.mission_type
        if m.count > self.faults.capacity:
            self._send(self.conn.mav.mission_ack_encode(255, 190, mav.MAV_MISSION_NO_SPACE, mt))
            return
        if self.faults.error_counts > 0:
            self.faults.error_counts -= 1
            self._send(self.conn.mav.mission_ack_encode(255, 190, mav.MAV_MISSION_ERROR, mt))
            return
        rx = self._rx.get(mt)
        if rx is not None and rx["count"] == m.count and rx["next"] < m.count:
            self._request(mt, rx["next"])  # a repeated MISSION_COUNT: ask again for what we wait for
            return
        self._rx[mt] = {"count": m.count, "items": [], "next": 0, "asked_at": 0.0}
        self._request(mt, 0)

    def _on_mission_item_int(self, m: Any) -> None:
        mt = m.mission_type
        rx = self._rx.get(mt)
        if rx is None:
            return
        if m.seq != rx["next"]:
            if rx["next"] >= rx["count"] and m.seq == rx["count"] - 1:
                self._send(self.conn.mav.mission_ack_encode(255, 190, mav.MAV_MISSION_ACCEPTED, mt))
                return
            # as ArduPilot's MissionItemProtocol::handle_mission_item does; its retry timer asks again
            self._send(self.conn.mav.mission_ack_encode(255, 190, mav.MAV_MISSION_INVALID_SEQUENCE, mt))
            return
        rx["items"].append(m)
        rx["next"] += 1
        self.received_items += 1
        if rx["next"] < rx["count"]:
            self._request(mt, rx["next"])
        else:
            self.lists[mt] = rx["items"]
            self._send(self.conn.mav.mission_ack_encode(255, 190, mav.MAV_MISSION_ACCEPTED, mt))

    def _on_mission_request_list(self, m: Any) -> None:
        self._send(self.conn.mav.mission_count_encode(255, 190, len(self.lists[m.mission_type]), m.mission_type))

    def _on_mission_request_int(self, m: Any) -> None:
        items = self.lists[m.mission_type]
        if 0 <= m.seq < len(items):
            self._send(items[m.seq])

    _on_mission_request = _on_mission_request_int

    def _on_mission_clear_all(self, m: Any) -> None:
        self.lists[m.mission_type] = []
        self._rx.pop(m.mission_type, None)
        self._send(self.conn.mav.mission_ack_encode(255, 190, mav.MAV_MISSION_ACCEPTED, m.mission_type))

    def _on_mission_ack(self, m: Any) -> None:
        pass

    def _on_command_long(self, m: Any) -> None:
        if m.command == mav.MAV_CMD_GET_HOME_POSITION and self.home is not None:
            lat, lon = self.home
            q = [1.0, 0.0, 0.0, 0.0]
            self._send(
                self.conn.mav.home_position_encode(round(lat * 1e7), round(lon * 1e7), 800_000, 0, 0, 0, q, 0, 0, 0)
            )
        self._send(self.conn.mav.command_ack_encode(m.command, mav.MAV_RESULT_ACCEPTED))

    def _on_param_set(self, m: Any) -> None:
        name = m.param_id
        if self.faults.stale_param_echo and name in self.params:
            old = self.params[name]
            self._send(self.conn.mav.param_value_encode(name.encode(), old, mav.MAV_PARAM_TYPE_REAL32, 0, 0))
        if name not in self.faults.readonly_params:
            self.params[name] = m.param_value
        else:
            m.param_value = self.params[name]
        self._send(self.conn.mav.param_value_encode(name.encode(), m.param_value, mav.MAV_PARAM_TYPE_REAL32, 0, 0))

    def _on_param_request_read(self, m: Any) -> None:
        name = m.param_id
        if name in self.params:
            self._send(
                self.conn.mav.param_value_encode(name.encode(), self.params[name], mav.MAV_PARAM_TYPE_REAL32, 0, 0)
            )
