"""A radio-like link between a ground station (UDP) and SITL (TCP): limited bandwidth, fixed latency.

Each direction is a serial radio at ``baud`` (10 bits a byte on the air, as 8N1 serial) with a one-way
``latency_s``: a frame leaves when the channel is free and the bytes before it have been sent, and
arrives ``latency_s`` later. Frames queue (up to ``queue_bytes``, as a telemetry radio's buffer; beyond
that they are dropped, as such a radio drops them). Real sockets, real MAVLink frames, real timing.
"""

from __future__ import annotations

import heapq
import select
import socket
import threading
import time

from sitl_tests.lossy_proxy import split_frames


class _Channel:
    """One direction: bytes serialised at ``rate_Bps``, delivered ``latency_s`` after the last byte left."""

    def __init__(self, rate_Bps: float, latency_s: float, queue_bytes: int) -> None:  # noqa: N803
        self.rate, self.latency, self.queue_bytes = rate_Bps, latency_s, queue_bytes
        self.free_at = 0.0
        self.pending: list[tuple[float, int, bytes]] = []  # (arrival time, order, frame)
        self.order = 0
        self.bytes_sent = 0
        self.dropped = 0

    def push(self, frame: bytes, now: float) -> None:
        backlog = max(self.free_at - now, 0.0) * self.rate
        if backlog + len(frame) > self.queue_bytes:
            self.dropped += 1
            return
        start = max(now, self.free_at)
        self.free_at = start + len(frame) / self.rate
        self.bytes_sent += len(frame)
        heapq.heappush(self.pending, (self.free_at + self.latency, self.order, frame))
        self.order += 1

    def due(self, now: float) -> list[bytes]:
        out = []
        while self.pending and self.pending[0][0] <= now:
            out.append(heapq.heappop(self.pending)[2])
        return out

    def next_at(self) -> float | None:
        return self.pending[0][0] if self.pending else None


class RadioProxy:
    """``with RadioProxy(sitl_port, baud=57600, latency_s=0.1) as p:`` then connect to ``p.url``."""

    def __init__(self, tcp_port: int, baud: int = 57600, latency_s: float = 0.1, queue_bytes: int = 4096) -> None:
        deadline = time.monotonic() + 15.0
        while True:
            try:
                self.tcp = socket.create_connection(("127.0.0.1", tcp_port))
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.rate_Bps = baud / 10.0
        self.up = _Channel(self.rate_Bps, latency_s, queue_bytes)  # ground station -> vehicle
        self.down = _Channel(self.rate_Bps, latency_s, queue_bytes)  # vehicle -> ground station
        self.peer: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"udpout:127.0.0.1:{self.udp.getsockname()[1]}"

    def __enter__(self) -> RadioProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.tcp.close()
        self.udp.close()

    def _run(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            now = time.monotonic()
            nexts = [t for t in (self.up.next_at(), self.down.next_at()) if t is not None]
            wait = min([0.05, *(max(t - now, 0.0) for t in nexts)])
            ready, _, _ = select.select([self.tcp, self.udp], [], [], wait)
            now = time.monotonic()
            if self.udp in ready:
                data, addr = self.udp.recvfrom(65536)
                self.peer = addr
                self.up.push(data, now)
            if self.tcp in ready:
                chunk = self.tcp.recv(65536)
                if not chunk:
                    return
                buf += chunk
                for frame in split_frames(buf):
                    self.down.push(frame, now)
            for frame in self.up.due(now):
                self.tcp.sendall(frame)
            for frame in self.down.due(now):
                if self.peer is not None:
                    self.udp.sendto(frame, self.peer)
