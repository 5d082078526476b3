"""TEST DOUBLE for a link outage: a TCP relay between a ground station and SITL whose link can be cut.

The relay holds SITL's TCP port and listens on a port of its own for the ground station. :meth:`LinkCutProxy.cut`
kills the link for a while, as a radio out of range does: the ground station's connection is closed, new
connections are refused (nothing listens), and what SITL sends meanwhile is read and lost; afterwards the
relay listens again on the same port and the next connection carries SITL's stream on. SITL itself never
sees the cut, so the vehicle flies on by itself, as a real one does.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time


class LinkCutProxy:
    """``with LinkCutProxy(sitl.port) as p:`` connect the ground station to ``p.url``; ``p.cut(30)`` cuts the link."""

    def __init__(self, tcp_port: int) -> None:
        deadline = time.monotonic() + 15.0
        while True:
            try:
                self.sitl = socket.create_connection(("127.0.0.1", tcp_port))
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.port = self._listen(0).getsockname()[1]
        self.client: socket.socket | None = None
        self.cuts: list[tuple[float, float]] = []  # (start, end) of each cut, time.time()
        self._cut_until = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _listen(self, port: int) -> socket.socket:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)
        self.listener: socket.socket | None = s
        return s

    @property
    def url(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    def cut(self, seconds: float) -> None:
        """Cut the link now for ``seconds``: the ground station's connection closed, none accepted meanwhile."""
        with self._lock:
            now = time.time()
            self._cut_until = time.monotonic() + seconds
            self.cuts.append((now, now + seconds))
            for s in (self.client, self.listener):
                if s is not None:
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                    s.close()
            self.client = self.listener = None

    @property
    def cut_now(self) -> bool:
        return time.monotonic() < self._cut_until

    def __enter__(self) -> LinkCutProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for s in (self.client, self.listener, self.sitl):
            if s is not None:
                s.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if self.listener is None and not self.cut_now:
                    self._listen(self.port)
                socks = [s for s in (self.sitl, self.listener, self.client) if s is not None]
            try:
                ready, _, _ = select.select(socks, [], [], 0.05)
            except (OSError, ValueError):
                continue  # a socket closed by cut() under our feet
            with self._lock:
                for s in ready:
                    self._serve(s)

    def _serve(self, s: socket.socket) -> None:
        if s is self.sitl:
            data = s.recv(65536)
            if not data:
                self._stop.set()
                return
            if self.client is not None:
                try:
                    self.client.sendall(data)
                except OSError:
                    self.client.close()
                    self.client = None
        elif s is self.listener:
            conn, _ = s.accept()
            if self.client is not None:
                self.client.close()
            self.client = conn
        elif s is self.client:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                s.close()
                self.client = None
                return
            self.sitl.sendall(data)
