"""A loopback link with faults between a ground station (UDP) and SITL (TCP): real sockets, lost packets.

MAVLink frames from SITL's TCP stream are forwarded one per UDP datagram, datagrams from the ground
station are written to the TCP stream; each direction drops a seeded share of frames, and the link can
be cut (everything dropped) after a number of frames towards the vehicle.
"""

from __future__ import annotations

import random
import select
import socket
import threading
import time


def split_frames(buf: bytearray) -> list[bytes]:
    """Whole MAVLink 1/2 frames taken off the front of ``buf`` (the rest stays for later)."""
    out = []
    while buf:
        if buf[0] not in (0xFD, 0xFE):
            del buf[0]
            continue
        if len(buf) < 3:
            break
        n = 12 + buf[1] + (13 if buf[2] & 1 else 0) if buf[0] == 253 else 8 + buf[1]
        if len(buf) < n:
            break
        out.append(bytes(buf[:n]))
        del buf[:n]
    return out


class LossyProxy:
    """``with LossyProxy(sitl_port, drop=0.2) as p:`` then connect the ground station to ``p.url``."""

    def __init__(self, tcp_port: int, drop: float = 0.2, seed: int = 7, cut_after: int | None = None) -> None:
        deadline = time.monotonic() + 15.0
        while True:  # SITL opens its second serial port once the first has a client
            try:
                self.tcp = socket.create_connection(("127.0.0.1", tcp_port))
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.drop = drop
        self.cut_after = cut_after
        self.to_vehicle = 0
        self.rng = random.Random(seed)
        self.peer: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"udpout:127.0.0.1:{self.udp.getsockname()[1]}"

    def __enter__(self) -> LossyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.tcp.close()
        self.udp.close()

    def _lost(self) -> bool:
        return self.rng.random() < self.drop

    def _run(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.tcp, self.udp], [], [], 0.05)
            if self.udp in ready:
                data, addr = self.udp.recvfrom(65536)
                self.peer = addr
                self.to_vehicle += 1
                cut = self.cut_after is not None and self.to_vehicle > self.cut_after
                if not cut and not self._lost():
                    self.tcp.sendall(data)
            if self.tcp in ready:
                chunk = self.tcp.recv(65536)
                if not chunk:
                    return
                buf += chunk
                cut = self.cut_after is not None and self.to_vehicle > self.cut_after
                for frame in split_frames(buf):
                    if self.peer is not None and not cut and not self._lost():
                        self.udp.sendto(frame, self.peer)
