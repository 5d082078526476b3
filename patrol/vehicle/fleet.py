"""Fly a fleet: every vehicle of a package's fleet schedule on its own link, each sortie at its start offset.

``fleet.toml`` maps the schedule's vehicle ids to a connection (and an optional signing key)::

    [V1]
    connect = "tcp:192.168.1.21:5760"
    [V2]
    connect = "/dev/ttyUSB1:57600"
    signing_key = "keys/v2.key"   # relative to fleet.toml
    [V3]
    vehicle = "m300b"              # a patrol.toml [vehicle.m300b] profile: its connect and sysid

One thread per vehicle. Each sortie reconnects (a battery swap powers the vehicle off), records its own
``.tlog``, is uploaded and read back from :data:`LEAD_S` before its slot's start, waits for a ready vehicle,
and is armed and started at the start (the schedule's zero is :data:`LEAD_S` after :func:`fly_fleet`
begins). A failure ends that vehicle's day, not the others'.
When ``stop`` is set, every vehicle in the air is switched to RTL and the threads end.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from patrol.errors import InputError, PatrolError
from patrol.i18n import N_, _, shown
from patrol.inputs.fleet import KEYS as FLEET_KEYS
from patrol.vehicle.deconflict import (
    HomePad,
    Seen,
    apart,
    conflicts,
    distance_m,
    exit_point,
    guard_radius_m,
    pad_need,
)
from patrol.vehicle.fly import Flight, FlightState, sortie_end
from patrol.vehicle.link import connect, device_and_baud, expect_system

_TAKEOFF = 22  # MAV_CMD_NAV_TAKEOFF
_CHANGE_SPEED = 178  # MAV_CMD_DO_CHANGE_SPEED
LEAD_S = 120.0  # the schedule's +00:00:00 is this long after the command starts: connect, upload, wait for a fix


@dataclass(frozen=True)
class VehicleLink:
    """Where one vehicle of the fleet answers."""

    vehicle: str
    url: str
    signing_key: Path | None = None
    sysid: int | None = None  # the MAVLink system id the link must reach
    name: str | None = None  # the airframe (its profile's name), for the ledger


@dataclass
class VehicleStatus:
    """One row of the live table: what a vehicle is doing now."""

    sortie: int | None = None
    item: int = 0
    items: int = 0
    mode: str = "-"
    alt_m: float = math.nan
    battery_pct: int = -1
    state: str = N_("waiting for its first slot")  # translated when the table is drawn


@dataclass
class SortieRecord:
    """What the ledger keeps of one fleet sortie: when it began, the verified upload, the log and how it ended."""

    sortie: int
    started_s: float
    counts: dict[str, int] | None = None
    tlog: Path | None = None
    outcome: str = "interrupted before take-off"


@dataclass
class VehicleResult:
    """What became of one vehicle's sorties."""

    vehicle: str
    sorties: list[int]
    flown: list[int] = field(default_factory=list)
    failed: str | None = None
    interrupted: str | None = None
    tlogs: list[Path] = field(default_factory=list)
    name: str | None = None  # the airframe's profile, when fleet.toml names one
    records: list[SortieRecord] = field(default_factory=list)  # one per sortie tried, for the ledger

    @property
    def ok(self) -> bool:
        """Every sortie of the vehicle flown to the ground."""
        return self.failed is None and self.interrupted is None and self.flown == self.sorties

    def line(self) -> str:
        """One summary line: ``V1: 2/2 sorties flown (2, 4)`` or what stopped it."""
        done = _("{flown}/{sorties} sorties flown").format(flown=len(self.flown), sorties=len(self.sorties)) + (
            f" ({', '.join(map(str, self.flown))})" if self.flown else ""
        )
        why = (
            "; " + _("FAILED: {why}").format(why=self.failed)
            if self.failed
            else f"; {self.interrupted}"
            if self.interrupted
            else ""
        )
        return f"{self.vehicle}: {done}{why}"


class EndedEarlyError(PatrolError):
    """A fleet sortie landed before its mission's end (a failsafe, the vehicle's own RTL/LAND, a reboot)."""


class _StopError(Exception):
    """The operator interrupted the fleet."""


def fleet_schedule(manifest: dict[str, Any], package: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The fleet's vehicle ids and its slots in start order; a package planned for one vehicle is refused."""
    fleet = manifest.get("fleet")
    if not fleet:
        raise InputError(
            _("{package}: the package has no fleet schedule; plan it with --vehicles N (docs/fleet.md)").format(
                package=package
            )
        )
    return [v["id"] for v in fleet["vehicles"]], sorted(fleet["slots"], key=lambda s: s["start_s"])


def read_fleet(
    path: Path,
    vehicles: list[str],
    profiles: dict[str, tuple[str | None, int | None]] | None = None,
    planned_sysid: dict[str, int] | None = None,
) -> dict[str, VehicleLink]:
    """``fleet.toml`` read and checked against the schedule's ``vehicles``: one connection for each, no other.

    A vehicle's table gives ``connect`` (and ``signing_key``, ``sysid``), or ``vehicle = "NAME"``, a vehicle
    profile of patrol.toml (``profiles``: name -> (connect, sysid)) whose connect and sysid it takes; keys of the
    table win over the profile's; a vehicle with no sysid there takes the one the package was planned with
    (``planned_sysid``: the manifest's fleet vehicles, from ``plan --fleet-file``). The file may be the vehicles
    file the package was planned from: its planning keys are left to the plan. Raises :class:`InputError`
    naming the file and the item (unknown or missing vehicle, bad address, unknown profile, missing key).
    """
    profiles = profiles or {}
    needs_connect = _('{path}: [{vid}] needs connect = "tcp:HOST:PORT" (or udp:/udpin:/serial)')
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(_("{path}: cannot read the fleet file ({why})").format(path=path, why=e.strerror)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(_("{path}: not valid TOML ({why})").format(path=path, why=e)) from None
    known = ", ".join(vehicles)
    out: dict[str, VehicleLink] = {}
    for vid, table in doc.items():
        if vid not in vehicles:
            raise InputError(
                _("{path}: vehicle [{vid}] is not in the package's fleet ({known}); remove it or fix the id").format(
                    path=path, vid=vid, known=known
                )
            )
        if not isinstance(table, dict):
            raise InputError(needs_connect.format(path=path, vid=vid))
        extra = sorted(set(table) - set(FLEET_KEYS))  # the planning keys (launch, battery, ...) are the plan's
        if extra:
            raise InputError(
                _("{path}: [{vid}] has unknown key {key}; the keys are {keys}").format(
                    path=path, vid=vid, key=repr(extra[0]), keys=", ".join(FLEET_KEYS)
                )
            )
        name = table.get("vehicle")
        url, sysid = None, None
        if name is not None:
            if not isinstance(name, str) or name not in profiles:
                have = ", ".join(sorted(profiles)) or _("none")
                raise InputError(
                    _(
                        "{path}: [{vid}] vehicle = {name} is not a [vehicle.NAME] profile of patrol.toml ({have})"
                    ).format(path=path, vid=vid, name=repr(name), have=have)
                )
            url, sysid = profiles[name]
        url = table.get("connect", url)
        if not isinstance(url, str):
            if name is None:
                raise InputError(needs_connect.format(path=path, vid=vid))
            raise InputError(
                _(
                    '{path}: [{vid}] needs connect = "tcp:HOST:PORT" (or udp:/udpin:/serial) (profile {name} has no '
                    "connect)"
                ).format(path=path, vid=vid, name=name)
            )
        sysid = table.get("sysid", sysid if sysid is not None else (planned_sysid or {}).get(vid))
        if sysid is not None and (isinstance(sysid, bool) or not isinstance(sysid, int) or not 1 <= sysid <= 255):
            raise InputError(
                _("{path}: [{vid}] sysid = {sysid}: give the vehicle's MAVLink system id, 1 to 255").format(
                    path=path, vid=vid, sysid=repr(sysid)
                )
            )
        try:
            device_and_baud(url)
        except InputError as e:
            raise InputError(_("{path}: [{vid}] {error}").format(path=path, vid=vid, error=e)) from None
        key = table.get("signing_key")
        key_path = None
        if key is not None:
            key_path = (path.parent / str(key)) if not Path(str(key)).is_absolute() else Path(str(key))
            if not key_path.is_file():
                raise InputError(
                    _("{path}: [{vid}] signing_key {key} does not exist").format(path=path, vid=vid, key=key_path)
                )
        out[vid] = VehicleLink(vid, url, key_path, sysid, name)
    missing = [v for v in vehicles if v not in out]
    if missing:
        raise InputError(
            _('{path}: no connection for vehicle {vid}; add [{vid}] connect = "tcp:HOST:PORT"').format(
                path=path, vid=missing[0]
            )
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
    separation_m: float = 50.0
    layer_m: float = 15.0
    link_wait_s: float = 120.0  # a lost link is reconnected for this long (then that vehicle's day ends)
    pad: HomePad = field(default_factory=HomePad)  # the first launch point's (every vehicle's, from one home)
    pads: list[tuple[tuple[float, float], HomePad]] = field(default_factory=list)  # (lat, lon) -> its pad
    seen: dict[str, Seen] = field(default_factory=dict)  # every vehicle as last seen, for the monitor
    held: dict[frozenset[str], set[str]] = field(default_factory=dict)  # a pair too close -> who has stopped
    lock: threading.Lock = field(default_factory=threading.Lock)
    status: dict[str, VehicleStatus] = field(default_factory=dict)  # the live table's rows
    tick: Callable[[], None] | None = None  # called about 5 times a second while the fleet flies (the live table)


def pad_at(run: FleetRun, home: tuple[float, float], guard_m: float) -> HomePad:
    """The home pad of the launch point ``home`` (lat, lon): one pad for launch points closer than two pad
    radii (their cylinders overlap: vehicles there take turns as at one home), its own for one further off.
    The first launch point's is ``run.pad``."""
    with run.lock:
        for at, pad in run.pads:
            if distance_m(*home, *at) < 2 * guard_m:
                return pad
        pad = run.pad if not run.pads else HomePad()
        run.pads.append((home, pad))
        return pad


def fly_fleet(run: FleetRun) -> list[VehicleResult]:
    """Fly every vehicle's slots in its own thread; returns one result per vehicle (in the fleet's order).

    A :class:`KeyboardInterrupt` while waiting sets ``run.stop``: vehicles in the air go RTL, the others stop;
    the results are returned after that (each ``interrupted``) and the interrupt is raised again.
    """
    t0 = time.monotonic() + LEAD_S / run.time_scale
    results = {
        v: VehicleResult(v, [s["sortie"] for s in run.slots if s["vehicle"] == v], name=link.name)
        for v, link in run.links.items()
    }
    finished: list[str] = []  # not Thread.join: a Ctrl-C inside join can leave a live thread looking dead

    def day(res: VehicleResult) -> None:
        try:
            _vehicle_day(run, res, t0)
        finally:
            finished.append(res.vehicle)

    for v in run.links:
        run.status.setdefault(v, VehicleStatus())
        threading.Thread(target=day, args=(results[v],), name=f"fleet-{v}", daemon=True).start()
    interrupted = False
    while len(finished) < len(results):
        try:
            if run.tick is not None:
                run.tick()
            time.sleep(0.2)
        except KeyboardInterrupt:
            interrupted = True
            run.log(_("interrupted: every vehicle in the air is told to RTL"))
            run.stop.set()
    if interrupted:
        raise FleetInterrupted(list(results.values()))
    return list(results.values())


class FleetInterrupted(KeyboardInterrupt):
    """Ctrl-C during a fleet flight, raised once every vehicle has been told to RTL; carries the results."""

    def __init__(self, results: list[VehicleResult]) -> None:
        super().__init__("interrupted")
        self.results = results


def _status(run: FleetRun, vehicle: str, **changes: Any) -> None:
    """Change a vehicle's row of the live table."""
    with run.lock:
        row = run.status.setdefault(vehicle, VehicleStatus())
        for k, v in changes.items():
            setattr(row, k, v)


def _vehicle_day(run: FleetRun, res: VehicleResult, t0: float) -> None:
    """One vehicle's sorties in turn; the first failure ends them (logged, kept in ``res``)."""
    link_cfg = run.links[res.vehicle]
    for slot in (s for s in run.slots if s["vehicle"] == res.vehicle):
        sortie = slot["sortie"]
        try:
            _fly_slot(run, res, link_cfg, slot, t0 + float(slot["start_s"]) / run.time_scale)
            res.flown.append(sortie)
            _status(
                run,
                res.vehicle,
                state=_("landed ({flown}/{sorties} flown)").format(flown=len(res.flown), sorties=len(res.sorties)),
            )
        except _StopError as e:
            res.interrupted = _("interrupted at sortie {sortie}: {why}").format(sortie=sortie, why=e)
            _status(run, res.vehicle, state=res.interrupted)
            return
        except PatrolError as e:
            res.failed = _("sortie {sortie}: {why}").format(sortie=sortie, why=" ".join(str(e).split()))
            _status(run, res.vehicle, state=_("FAILED"))
            run.log(
                _("{vehicle} sortie {sortie}: FAILED: {why}").format(
                    vehicle=res.vehicle, sortie=sortie, why=" ".join(str(e).split())
                )
            )
            return
        except Exception as e:  # a vehicle's unexpected error must not end the others
            res.failed = _("sortie {sortie}: {why}").format(sortie=sortie, why=f"{type(e).__name__}: {e}")
            _status(run, res.vehicle, state=_("FAILED"))
            run.log(
                _("{vehicle} sortie {sortie}: FAILED: {why}").format(
                    vehicle=res.vehicle, sortie=sortie, why=f"{type(e).__name__}: {e}"
                )
            )
            return


class _Guard:
    """One vehicle's part in the live deconfliction (module :mod:`patrol.vehicle.deconflict`), run on every
    telemetry report of its thread: it shares where the vehicle is, takes and gives back the home pad, and
    holds the vehicle (BRAKE) while the pad is not its or another vehicle is too close; it resumes the mode
    the vehicle was in (AUTO, or the vehicle's own RTL) when the way is clear."""

    def __init__(self, run: FleetRun, vid: str, flight: Flight, up: Any, say: Callable[[str], None]) -> None:
        self.run, self.vid, self.flight, self.say = run, vid, flight, say
        self.home = (up.home_lat, up.home_lon)
        takeoff = [it for it in up.mission if it.command == _TAKEOFF]
        self.takeoff_alt_m = takeoff[0].alt_m if takeoff else 10.0
        speeds = [it.param2 for it in up.mission if it.command == _CHANGE_SPEED and it.param2 > 0]
        self.guard_m = guard_radius_m(run.separation_m, max(speeds, default=10.0))
        self.last_seq = len(up.mission) - 1  # the RTL item
        self.climbing = True
        self.exited = False  # sent out of the cylinder to let an earlier vehicle land
        self.holding: str | None = None  # why the vehicle is held
        self.resume_mode = "AUTO"
        self.order = list(run.links)
        self.stepped_for: str | None = None  # the vehicle this one climbed a layer above ("" if it could not)
        self.ceiling_m = (up.max_alt_m or 120.0) - 2.0
        self.pad = pad_at(run, self.home, self.guard_m)  # its own launch point's
        self.visiting: set[int] = set()  # other launch points' pads (by id) it cruises through, shared

    def share(self, s: FlightState) -> None:
        """Publish the vehicle's position for the others' monitor."""
        with self.run.lock:
            self.run.seen[self.vid] = Seen(s.lat, s.lon, s.rel_alt_m, s.armed and s.rel_alt_m > 1.0)

    def take_off_when_clear(self) -> None:
        """Wait on the ground until this vehicle has the pad to itself (nobody else airborne over home)."""
        told = False
        while not self.pad.request(self.vid, "exclusive"):
            if not told:
                self.say(
                    _("{vehicle}: waiting on the ground: {other} is over home").format(
                        vehicle=self.vid, other=self.pad.blocker(self.vid)
                    )
                )
                told = True
            if self.run.stop.is_set():
                raise _StopError(_("before take-off"))
            self.flight.pump(0.2 / self.run.time_scale)
            self.share(self.flight.state)

    def landed(self) -> None:
        """The vehicle is down: it gives the pads back and stops counting for the monitor."""
        self.pad.request(self.vid, None)
        for _home, pad in list(self.run.pads):
            pad.request(self.vid, None)
        self.visiting.clear()
        with self.run.lock:
            self.run.seen.pop(self.vid, None)
            for pair in [p for p in self.run.held if self.vid in p]:
                del self.run.held[pair]

    def step(self, s: FlightState) -> None:
        """Decide, from the vehicle's latest state, whether it flies on, holds or leaves the cylinder."""
        self.share(s)
        if math.isnan(s.lat):
            return
        if self.climbing and s.rel_alt_m >= self.takeoff_alt_m - 2.0:
            self.climbing = False
        returning = s.current_seq >= self.last_seq or s.mode in ("RTL", "LAND")
        dist = distance_m(s.lat, s.lon, *self.home)
        need = pad_need(
            armed=s.armed, climbing=self.climbing, returning=returning, dist_home_m=dist, guard_m=self.guard_m
        )
        if self.exited and s.armed:
            if dist >= self.guard_m:
                self.pad.step_out(self.vid)  # out: no longer a vehicle inside, only one waiting to land
            need = "exclusive"
        why = None
        if not self.pad.request(self.vid, need):
            first = self.pad.deadlocked_with(self.vid)
            if first is not None and not self.exited:
                self._leave_cylinder(s, first)
                return
            why = _("waiting for the home pad ({other} is over home)").format(other=self.pad.blocker(self.vid))
        elif self.exited:
            self.exited = False
            self.say(
                _("{vehicle}: the home pad is free: back to {mode}").format(vehicle=self.vid, mode=self.resume_mode)
            )
            self.flight.set_mode(self.resume_mode)
            self.holding = None
            return
        visiting = self._visit(s)
        too_close = self._monitor(s)
        if too_close is None and self.stepped_for is not None:
            self.stepped_for = None
            self.holding = self.holding or _("stepped up")  # resumed below
        why = why or visiting or too_close
        if why and not self.holding and not self.exited:
            if s.mode not in ("BRAKE", "GUIDED", "LOITER"):
                self.resume_mode = s.mode
            self.flight.set_mode("BRAKE")
            self.holding = why
            self.say(
                _("{vehicle}: HOLD (BRAKE) at {dist} m from home, alt {alt} m: {why}").format(
                    vehicle=self.vid, dist=f"{dist:.0f}", alt=f"{s.rel_alt_m:.0f}", why=why
                )
            )
        elif not why and self.holding and not self.exited:
            self.flight.set_mode(self.resume_mode)
            self.say(_("{vehicle}: clear: back to {mode}").format(vehicle=self.vid, mode=self.resume_mode))
            self.holding = None

    def _visit(self, s: FlightState) -> str | None:
        """Another launch point's pad this vehicle's path crosses: inside its cylinder it holds that pad shared,
        as a vehicle of that home cruising over it would (so a take-off or landing there waits for it, and it
        waits outside while one is under way); outside it gives it back. Why it must hold, or None."""
        for at, pad in list(self.run.pads):
            if pad is self.pad:
                continue
            inside = s.armed and distance_m(s.lat, s.lon, *at) < self.guard_m
            if not inside:
                if id(pad) in self.visiting:
                    pad.request(self.vid, None)
                    self.visiting.discard(id(pad))
                continue
            if pad.request(self.vid, "shared"):
                self.visiting.add(id(pad))
                continue
            return _("waiting for the pad of another launch point ({other} is over it)").format(
                other=pad.blocker(self.vid)
            )
        return None

    def _monitor(self, s: FlightState) -> str | None:
        """Why this vehicle must hold for the separation monitor, or None; steps it up a layer when it is the
        later of a held pair and both have been told (see :meth:`_step_up`)."""
        run = self.run
        with run.lock:
            seen = dict(run.seen)
        ordered = {v: seen[v] for v in self.order if v in seen}
        close = {frozenset(c[:2]): c for c in conflicts(ordered, run.separation_m, run.layer_m) if self.vid in c[:2]}
        why, step_from = None, None
        with run.lock:
            for pair, (a, b, dh, dz) in close.items():
                if pair not in run.held:
                    run.held[pair] = set()
                    self.say(
                        _(
                            "ALERT: {a} and {b} are {dh} m apart ({dz} m vertically), under the {sep} m separation: "
                            "both told to hold"
                        ).format(a=a, b=b, dh=f"{dh:.0f}", dz=f"{dz:.0f}", sep=f"{run.separation_m:g}")
                    )
            for pair in [p for p in run.held if self.vid in p]:
                (other,) = pair - {self.vid}
                stepped = self.stepped_for == other  # a layer apart already: only distance releases it
                if other not in seen or apart(seen[self.vid], seen[other], run.separation_m, run.layer_m, stepped):
                    del run.held[pair]
                    continue
                stopped = run.held[pair]
                stopped.add(self.vid)
                if self.order.index(self.vid) > self.order.index(other):  # the later: holds, then steps up
                    why = _("{other} is too close").format(other=other)
                    if other in stopped and self.stepped_for is None:
                        step_from = other
                elif other not in stopped:  # the earlier: holds until the later has been told
                    why = _("{other} is too close").format(other=other)
        if step_from is not None:
            self._step_up(s, step_from)
        return why

    def _step_up(self, s: FlightState, other: str) -> None:
        """The later of a held pair climbs one layer where it is (inside the ceiling), so the earlier can go on
        under it; it stays there until they are 1.2 separations apart or the other has landed."""
        alt_m = s.rel_alt_m + self.run.layer_m + 1.0
        if alt_m > self.ceiling_m:
            self.say(
                _("{vehicle}: cannot climb a layer under the {ceiling} m ceiling: holds in BRAKE").format(
                    vehicle=self.vid, ceiling=f"{self.ceiling_m:g}"
                )
            )
            self.stepped_for = ""  # held, not stepped
            return
        if s.mode not in ("BRAKE", "GUIDED", "LOITER"):
            self.resume_mode = s.mode
        self.flight.set_mode("GUIDED")
        self.flight.goto(s.lat, s.lon, alt_m)
        self.stepped_for = other
        self.holding = _("a layer above {other}").format(other=other)
        self.say(
            _("{vehicle}: climbs to {alt} m over where it is, a layer above {other}, until apart").format(
                vehicle=self.vid, alt=f"{alt_m:.0f}", other=other
            )
        )

    def _leave_cylinder(self, s: FlightState, first: str) -> None:
        """Both inside the cylinder and both want to land: this (the later) one flies out, away from ``first``."""
        with self.run.lock:
            o = self.run.seen.get(first)
        other = (o.lat, o.lon) if o is not None else self.home
        lat, lon = exit_point((s.lat, s.lon), other, self.home, self.guard_m)
        if s.mode not in ("BRAKE", "GUIDED", "LOITER"):
            self.resume_mode = s.mode
        self.flight.set_mode("GUIDED")
        self.flight.goto(lat, lon, s.rel_alt_m)
        self.exited = True
        self.holding = _("leaving the home pad for {other} to land").format(other=first)
        self.say(
            _("{vehicle}: {other} lands first: flying out of the home pad (to {dist} m from home)").format(
                vehicle=self.vid, other=first, dist=f"{self.guard_m:.0f}"
            )
        )


def _wait_until(run: FleetRun, when: float) -> None:
    while True:
        left = when - time.monotonic()
        if run.stop.is_set():
            raise _StopError(_("before take-off"))
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
    say(
        _("{vehicle} sortie {sortie}: connecting to {url} (start {start})").format(
            vehicle=vid, sortie=sortie, url=cfg.url, start=slot["start"]
        )
    )
    _status(run, vid, sortie=sortie, item=0, items=len(up.mission), mode="-", state=_("connecting"))
    record = SortieRecord(sortie, time.time())
    res.records.append(record)
    try:
        link = connect(cfg.url, signing_key=cfg.signing_key, heartbeat_timeout_s=30.0)
        expect_system(link, cfg.sysid, f"{vid}" + (f" ({cfg.name})" if cfg.name else ""), cfg.url)
    except PatrolError as e:
        record.outcome = f"failed: {e}"
        raise
    tlog = fleet_tlog(run.package, vid, sortie, dt.datetime.now(dt.UTC))
    tlog.parent.mkdir(parents=True, exist_ok=True)
    part = tlog.with_name(tlog.name + ".part")
    link.conn.setup_logfile(str(part), mode="wb")
    flight = None
    guard: _Guard | None = None
    try:
        _status(run, vid, state=_("uploading"))
        if run.check:
            check_sortie_upload(up, vehicle_home(link))
        counts = upload_sortie(link, up)
        record.counts = counts
        for name, value in fence_params(up, run.fence_action).items():
            link.set_param(name, value)
        say(
            _("{vehicle} sortie {sortie}: uploaded and read back ({n} mission items), fence set").format(
                vehicle=vid, sortie=sortie, n=counts["mission"] - 1
            )
        )
        flight = Flight(link)
        flight.wait_ready()
        flight.set_mode("GUIDED")
        guard = _Guard(run, vid, flight, up, say)
        _status(run, vid, state=_("ready, starts at {start}").format(start=slot["start"]))
        _wait_until(run, start_at)
        _status(run, vid, state=_("waiting for the home pad"))
        guard.take_off_when_clear()
        say(_("{vehicle} sortie {sortie}: arm and AUTO").format(vehicle=vid, sortie=sortie))
        flight.arm()
        flight.start_mission()
        last = len(up.mission)
        seen: dict[str, Any] = {"item": -1, "mode": ""}

        def report(s: Any) -> None:
            if run.stop.is_set():
                raise _StopError(_("in the air"))
            if s.current_seq != seen["item"] or s.mode != seen["mode"]:
                seen.update(item=s.current_seq, mode=s.mode)
                say(
                    _("{vehicle} sortie {sortie}: item {item}/{items} {mode} alt {alt} m battery {battery}%").format(
                        vehicle=vid, sortie=sortie, item=max(s.current_seq, 0), items=last, mode=s.mode,
                        alt=f"{s.rel_alt_m:.0f}", battery=s.battery_pct,
                    )
                )  # fmt: skip
            guard.step(s)
            _status(
                run, vid, item=max(s.current_seq, 0), mode=s.mode, alt_m=s.rel_alt_m, battery_pct=s.battery_pct,
                state=_("holding: {why}").format(why=guard.holding) if guard.holding else _("flying"),
            )  # fmt: skip

        state = flight.follow(
            last,
            run.timeout_s,
            report,
            report_every_s=1.0 / run.time_scale,
            on_event=lambda line: say(
                _("{vehicle} sortie {sortie}: {event}").format(vehicle=vid, sortie=sortie, event=line)
            ),
            relink=lambda: connect(cfg.url, signing_key=cfg.signing_key, heartbeat_timeout_s=5.0),
            relink_wait_s=run.link_wait_s,
        )
        guard.landed()
        record.outcome, code = sortie_end(state, last)
        say(
            _("{vehicle} sortie {sortie}: {outcome} ({n} items reached)").format(
                vehicle=vid, sortie=sortie, outcome=shown(record.outcome), n=len(state.reached)
            )
        )
        if code:
            raise EndedEarlyError(_("{outcome}; its later sorties are not flown").format(outcome=shown(record.outcome)))
    except _StopError:
        if flight is not None and flight.state.armed:
            flight.set_mode("RTL")
            record.outcome = "interrupted: switched to RTL"
            say(_("{vehicle} sortie {sortie}: switched to RTL").format(vehicle=vid, sortie=sortie))
            raise _StopError(_("in the air: switched to RTL")) from None
        raise
    except EndedEarlyError:
        raise
    except Exception as e:
        record.outcome = f"failed: {' '.join(str(e).split())}"
        raise
    finally:
        if guard is not None and not (flight is not None and flight.state.armed):
            guard.landed()  # a vehicle still in the air keeps its place over home and in the monitor
        link.close()
        if part.exists():
            os.replace(part, tlog)
            res.tlogs.append(tlog)
            record.tlog = tlog
            say(_("{vehicle} sortie {sortie}: telemetry log {path}").format(vehicle=vid, sortie=sortie, path=tlog))
