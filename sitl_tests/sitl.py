"""ArduPilot SITL for tests: find the binary, start a copter on loopback, stop it whatever happens.

The binary comes from ``ARDUPILOT_SITL``, else ``arducopter`` on PATH, else ``/opt/ardupilot/arducopter``.
Default parameters come from ``ARDUPILOT_SITL_DEFAULTS``, else ``copter.parm`` beside the binary.
Each SITL gets its own instance number (``-I``, ports 5760 + 10 I ...) and working directory.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HOW_TO = (
    "no ArduPilot SITL binary: set ARDUPILOT_SITL, put arducopter on PATH or install /opt/ardupilot/arducopter "
    "(./waf configure --board sitl && ./waf copter in an ArduPilot tree)"
)
SPEEDUP = int(os.environ.get("PATROL_SITL_SPEEDUP", "30"))

# Test-bench parameters on top of the copter defaults: a battery that lasts the sortie, and a lean
# DataFlash log (attitude, GPS, performance, navigation, mission commands, current) so that the logger
# keeps up at the speed-up instead of dropping messages.
BENCH_PARAMS = """\
SIM_BATT_CAP_AH 50
BATT_CAPACITY 50000
LOG_BITMASK 814
"""


def find_sitl() -> Path | None:
    """The SITL copter binary to use, or None."""
    env = os.environ.get("ARDUPILOT_SITL")
    if env:
        return Path(env) if Path(env).is_file() else None
    on_path = shutil.which("arducopter")
    if on_path:
        return Path(on_path)
    default = Path("/opt/ardupilot/arducopter")
    return default if default.is_file() else None


def find_defaults(binary: Path) -> Path | None:
    env = os.environ.get("ARDUPILOT_SITL_DEFAULTS")
    if env:
        return Path(env)
    beside = binary.parent / "copter.parm"
    return beside if beside.is_file() else None


def _port_free(port: int) -> bool:
    """True if nothing listens on ``port`` (tested by binding: connecting would take SITL's one client)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


_counter = itertools.count()


def free_instance() -> int:
    """An instance number whose ports are free (distinct per test, also across processes)."""
    base = os.getpid() % 40
    for k in range(200):
        inst = (base + next(_counter) + k) % 200 + 10
        if all(_port_free(5760 + 10 * inst + d) for d in (0, 2, 3)):
            return inst
    raise RuntimeError("no free SITL instance number between 10 and 209")


@dataclass
class Sitl:
    """One running SITL copter."""

    binary: Path
    workdir: Path
    home: tuple[float, float, float, float]  # lat, lon, alt AMSL, heading
    instance: int
    proc: subprocess.Popen | None = None
    extra_params: str = ""  # more "NAME VALUE" lines for the defaults
    scripts: tuple[Path, ...] = ()  # Lua scripts copied into the working directory's scripts/
    speedup: int = SPEEDUP

    @property
    def port(self) -> int:
        return 5760 + 10 * self.instance

    @property
    def url(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    @property
    def url2(self) -> str:
        """A second MAVLink port (SERIAL1)."""
        return f"tcp:127.0.0.1:{self.port + 2}"

    def start(self, timeout_s: float = 30.0) -> Sitl:
        self.workdir.mkdir(parents=True, exist_ok=True)
        bench = self.workdir / "bench.parm"
        bench.write_text(BENCH_PARAMS + self.extra_params)
        if self.scripts:
            (self.workdir / "scripts").mkdir(exist_ok=True)
            for script in self.scripts:
                shutil.copyfile(script, self.workdir / "scripts" / script.name)
        defaults = find_defaults(self.binary)
        parms = ",".join(str(p) for p in (defaults, bench) if p is not None)
        lat, lon, alt, hdg = self.home
        cmd = [
            str(self.binary),
            "--model",
            "quad",
            "--speedup",
            str(self.speedup),
            "-I",
            str(self.instance),
            "--defaults",
            parms,
            "--home",
            f"{lat},{lon},{alt},{hdg}",
            "-w",
        ]
        log = open(self.workdir / "sitl.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"SITL exited with {self.proc.returncode}; see {self.workdir / 'sitl.log'}")
            log_text = (self.workdir / "sitl.log").read_text(errors="replace")
            if f"SERIAL0 on TCP port {self.port}" in log_text:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"SITL did not open port {self.port} in {timeout_s:g} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
