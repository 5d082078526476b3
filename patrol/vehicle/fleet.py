"""Fly a fleet: every vehicle of a package's fleet schedule on its own link, each sortie at its start offset.

``fleet.toml`` maps the schedule's vehicle ids to a connection (and an optional signing key)::

    [V1]
    connect = "tcp:192.168.1.21:5760"
    [V2]
    connect = "/dev/ttyUSB1:57600"
    signing_key = "keys/v2.key"   # relative to fleet.toml

One thread per vehicle. Each sortie reconnects (a battery swap powers the vehicle off), records its own
``.tlog``, is uploaded and read back from :data:`LEAD_S` before its slot's start, waits for a ready vehicle,
and is armed and started at the start (the schedule's zero is :data:`LEAD_S` after :func:`fly_fleet`
begins). A failure ends that vehicle's day, not the others'.
When ``stop`` is set, every vehicle in the air is switched to RTL and the threads end.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from patrol.errors import InputError, PatrolError
from patrol.vehicle.fly import Flight
from patrol.vehicle.link import connect, device_and_baud

LEAD_S = 120.0  # the schedule's +00:00:00 is this long after the command starts: connect, upload, wait for a fix


@dataclass(frozen=True)
class VehicleLink:
    """Where one vehicle of the fleet answers."""

    vehicle: str
    url: str
    signing_key: Path | None = None


@dataclass
class VehicleResult:
    """What became of one vehicle's sorties."""

    vehicle: str
    sorties: list[int]
    flown: list[int] = field(default_factory=list)
    failed: str | None = None
    interrupted: str | None = None
    tlogs: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every sortie of the vehicle flown to the ground."""
        return self.failed is None and self.interrupted is None and self.flown == self.sorties

    def line(self) -> str:
        """One summary line: ``V1: 2/2 sorties flown (2, 4)`` or what stopped it."""
        done = f"{len(self.flown)}/{len(self.sorties)} sorties flown" + (
            f" ({', '.join(map(str, self.flown))})" if self.flown else ""
        )
        why = f"; FAILED: {self.failed}" if self.failed else f"; {self.interrupted}" if self.interrupted else ""
        return f"{self.vehicle}: {done}{why}"


class _StopError(Exception):
    """The operator interrupted the fleet."""


def fleet_schedule(manifest: dict[str, Any], package: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The fleet's vehicle ids and its slots in start order; a package planned for one vehicle is refused."""
    fleet = manifest.get("fleet")
    if not fleet:
        raise InputError(f"{package}: the package has no fleet schedule; plan it with --vehicles N (docs/fleet.md)")
    return [v["id"] for v in fleet["vehicles"]], sorted(fleet["slots"], key=lambda s: s["start_s"])


def read_fleet(path: Path, vehicles: list[str]) -> dict[str, VehicleLink]:
    """``fleet.toml`` read and checked against the schedule's ``vehicles``: one connection for each, no other.

    Raises :class:`InputError` naming the file and the item (unknown or missing vehicle, bad address, missing key).
    """
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"{path}: cannot read the fleet file ({e.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid TOML ({e})") from None
    known = ", ".join(vehicles)
    out: dict[str, VehicleLink] = {}
    for vid, table in doc.items():
        if vid not in vehicles:
            raise InputError(
                f"{path}: vehicle [{vid}] is not in the package's fleet ({known}); remove it or fix the id"
            )
        if not isinstance(table, dict) or not isinstance(table.get("connect"), str):
            raise InputError(f'{path}: [{vid}] needs connect = "tcp:HOST:PORT" (or udp:/udpin:/serial)')
        extra = sorted(set(table) - {"connect", "signing_key"})
        if extra:
            raise InputError(f"{path}: [{vid}] has unknown key {extra[0]!r}; use connect and signing_key")
        try:
            device_and_baud(table["connect"])
        except InputError as e:
            raise InputError(f"{path}: [{vid}] {e}") from None
        key = table.get("signing_key")
        key_path = None
        if key is not None:
            key_path = (path.parent / str(key)) if not Path(str(key)).is_absolute() else Path(str(key))
            if not key_path.is_file():
                raise InputError(f"{path}: [{vid}] signing_key {key_path} does not exist")
        out[vid] = VehicleLink(vid, table["connect"], key_path)
    missing = [v for v in vehicles if v not in out]
    if missing:
        raise InputError(
            f'{path}: no connection for vehicle {missing[0]}; add [{missing[0]}] connect = "tcp:HOST:PORT"'
        )
    return out


def fleet_tlog(package: Path, vehicle: str, sortie: int, now_utc: dt.datetime) -> Path:
    """Where a fleet sortie's telemetry goes: ``PACKAGE/flights/V1-sortie-NN-<UTC stamp>.tlog``."""
    return package / "flights" / f"{vehicle}-sortie-{sortie:02d}-{now_utc.strftime('%Y%m%dT%H%M%SZ')}.tlog"


@dataclass
class FleetRun:
    """The settings of one fleet flight (``time_scale`` > 1 compresses the schedule, for simulators only)."""

    package: Path
    links: dict[str, VehicleLink]
    slots: list[dict[str, Any]]
    uploads: dict[int, Any]  # sortie -> SortieUpload
    log: Callable[[str], None]
    stop: threading.Event = field(default_factory=threading.Event)
    time_scale: float = 1.0
    timeout_s: float = 3600.0
    fence_action: int = 1
    check: bool = True


def fly_fleet(run: FleetRun) -> list[VehicleResult]:
    """Fly every vehicle's slots in its own thread; returns one result per vehicle (in the fleet's order).

    A :class:`KeyboardInterrupt` while waiting sets ``run.stop``: vehicles in the air go RTL, the others stop;
    the results are returned after that (each ``interrupted``) and the interrupt is raised again.
    """
    t0 = time.monotonic() + LEAD_S / run.time_scale
    results = {v: VehicleResult(v, [s["sortie"] for s in run.slots if s["vehicle"] == v]) for v in run.links}
    finished: list[str] = []  # not Thread.join: a Ctrl-C inside join can leave a live thread looking dead

    def day(res: VehicleResult) -> None:
        try:
            _vehicle_day(run, res, t0)
        finally:
            finished.append(res.vehicle)

    for v in run.links:
        threading.Thread(target=day, args=(results[v],), name=f"fleet-{v}", daemon=True).start()
    interrupted = False
    while len(finished) < len(results):
        try:
            time.sleep(0.2)
        except KeyboardInterrupt:
            interrupted = True
            run.log("interrupted: every vehicle in the air is told to RTL")
            run.stop.set()
    if interrupted:
        raise FleetInterrupted(list(results.values()))
    return list(results.values())


class FleetInterrupted(KeyboardInterrupt):
    """Ctrl-C during a fleet flight, raised once every vehicle has been told to RTL; carries the results."""

    def __init__(self, results: list[VehicleResult]) -> None:
        super().__init__("interrupted")
        self.results = results


def _vehicle_day(run: FleetRun, res: VehicleResult, t0: float) -> None:
    """One vehicle's sorties in turn; the first failure ends them (logged, kept in ``res``)."""
    link_cfg = run.links[res.vehicle]
    for slot in (s for s in run.slots if s["vehicle"] == res.vehicle):
        sortie = slot["sortie"]
        try:
            _fly_slot(run, res, link_cfg, slot, t0 + float(slot["start_s"]) / run.time_scale)
            res.flown.append(sortie)
        except _StopError as e:
            res.interrupted = f"interrupted at sortie {sortie}: {e}"
            return
        except PatrolError as e:
            res.failed = f"sortie {sortie}: {' '.join(str(e).split())}"
            run.log(f"{res.vehicle} sortie {sortie}: FAILED: {' '.join(str(e).split())}")
            return
        except Exception as e:  # a vehicle's unexpected error must not end the others
            res.failed = f"sortie {sortie}: {type(e).__name__}: {e}"
            run.log(f"{res.vehicle} sortie {sortie}: FAILED: {type(e).__name__}: {e}")
            return


def _wait_until(run: FleetRun, when: float) -> None:
    while True:
        left = when - time.monotonic()
        if run.stop.is_set():
            raise _StopError("before take-off")
        if left <= 0:
            return
        run.stop.wait(min(left, 0.5))


def _fly_slot(run: FleetRun, res: VehicleResult, cfg: VehicleLink, slot: dict[str, Any], start_at: float) -> None:
    """Prepare (connect, upload, wait ready) before ``start_at``, arm and start at it, follow to the ground."""
    from patrol.vehicle.upload import check_sortie_upload, fence_params, upload_sortie, vehicle_home

    vid, sortie = res.vehicle, slot["sortie"]
    up = run.uploads[sortie]
    _wait_until(run, start_at - LEAD_S / run.time_scale)
    say = run.log
    say(f"{vid} sortie {sortie}: connecting to {cfg.url} (start {slot['start']})")
    link = connect(cfg.url, signing_key=cfg.signing_key, heartbeat_timeout_s=30.0)
    tlog = fleet_tlog(run.package, vid, sortie, dt.datetime.now(dt.UTC))
    tlog.parent.mkdir(parents=True, exist_ok=True)
    part = tlog.with_name(tlog.name + ".part")
    link.conn.setup_logfile(str(part), mode="wb")
    flight = None
    try:
        if run.check:
            check_sortie_upload(up, vehicle_home(link))
        counts = upload_sortie(link, up)
        for name, value in fence_params(up, run.fence_action).items():
            link.set_param(name, value)
        say(f"{vid} sortie {sortie}: uploaded and read back ({counts['mission'] - 1} mission items), fence set")
        flight = Flight(link)
        flight.wait_ready()
        flight.set_mode("GUIDED")
        _wait_until(run, start_at)
        say(f"{vid} sortie {sortie}: arm and AUTO")
        flight.arm()
        flight.start_mission()
        last = len(up.mission)
        seen: dict[str, Any] = {"item": -1, "mode": ""}

        def report(s: Any) -> None:
            if run.stop.is_set():
                raise _StopError("in the air")
            if s.current_seq != seen["item"] or s.mode != seen["mode"]:
                seen.update(item=s.current_seq, mode=s.mode)
                say(
                    f"{vid} sortie {sortie}: item {max(s.current_seq, 0)}/{last} {s.mode} alt {s.rel_alt_m:.0f} m "
                    f"battery {s.battery_pct}%"
                )

        state = flight.follow(last, run.timeout_s, report)
        say(f"{vid} sortie {sortie}: landed and disarmed ({len(state.reached)} items reached)")
    except _StopError:
        if flight is not None and flight.state.armed:
            flight.set_mode("RTL")
            say(f"{vid} sortie {sortie}: switched to RTL")
            raise _StopError("in the air: switched to RTL") from None
        raise
    finally:
        link.close()
        if part.exists():
            os.replace(part, tlog)
            res.tlogs.append(tlog)
            say(f"{vid} sortie {sortie}: telemetry log {tlog}")
