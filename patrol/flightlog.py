"""Flight logs as arrays: one reader for MAVLink telemetry logs (.tlog) and DataFlash logs (.bin).

pymavlink parses; this module keeps only what review and audit need, as numpy arrays on one time axis
(seconds since the first valid position). Damaged logs yield what is valid and say what was skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from patrol.errors import InputError

COPTER_MODES = {
    0: "STABILIZE",
    1: "ACRO",
    2: "ALT_HOLD",
    3: "AUTO",
    4: "GUIDED",
    5: "LOITER",
    6: "RTL",
    7: "CIRCLE",
    9: "LAND",
    16: "POSHOLD",
    17: "BRAKE",
    21: "SMART_RTL",
}


@dataclass(frozen=True)
class CuePlay:
    """A speaker event found in a log."""

    t_s: float
    action: str  # loop | stop | play | resume (a loop taken up again after a play)
    track: int
    repeats: int
    lat: float
    lon: float
    source: str  # "statustext", "dataflash PTRL" or "dataflash CMD"


@dataclass(frozen=True)
class Event:
    """A moment worth a marker: a mode change, a fence breach, an item reached, arming."""

    t_s: float
    kind: str  # mode | fence_breach | reached | armed | disarmed
    text: str
    lat: float
    lon: float


@dataclass(frozen=True, eq=False)
class FlightLog:
    """A flight as arrays on one time axis (``t_s``, seconds since the first valid position)."""

    path: str
    start_utc: float | None  # UNIX time of t_s = 0 when the log says (GPS time), else None
    t_s: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt_m: np.ndarray  # above home
    speed_mps: np.ndarray  # ground speed
    mode: np.ndarray  # mode name per sample (object array of str)
    armed: np.ndarray  # bool per sample
    battery_pct: np.ndarray  # float per sample, nan when unknown
    reached: tuple[tuple[float, int], ...]  # (t_s, mission seq)
    plays: tuple[CuePlay, ...]
    events: tuple[Event, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        """Seconds from the first to the last valid position."""
        return float(self.t_s[-1] - self.t_s[0]) if len(self.t_s) else 0.0

    def position_at(self, t: float) -> tuple[float, float]:
        """Interpolated (lat, lon) at time ``t``."""
        return float(np.interp(t, self.t_s, self.lat)), float(np.interp(t, self.t_s, self.lon))

    def fence_breaches(self) -> list[Event]:
        """Fence breach events."""
        return [e for e in self.events if e.kind == "fence_breach"]


def _mode_name(custom_mode: int) -> str:
    return COPTER_MODES.get(int(custom_mode), str(int(custom_mode)))


def read_log(path: str | Path) -> FlightLog:
    """Read a .tlog or .bin flight log.

    Raises :class:`InputError` for a missing, empty or foreign file, or a log with no valid position;
    skips garbage and positions before the first fix, reporting what was skipped in ``warnings``.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: log not found")
    size = p.stat().st_size
    if size == 0:
        raise InputError(f"{p}: empty file; give a .tlog (telemetry) or .bin (DataFlash) flight log")
    with open(p, "rb") as f:
        head = f.read(4096)
    if head[:3] == b"\xa3\x95\x80" or (p.suffix.lower() in (".bin", ".log") and head[:2] == b"\xa3\x95"):
        return _read_bin(p)
    if p.suffix.lower() == ".tlog" or b"\xfd" in head or b"\xfe" in head:
        return _read_tlog(p)
    raise InputError(f"{p}: neither a MAVLink .tlog nor a DataFlash .bin log")


def _finish(
    p: Path,
    rows: list[tuple[float, float, float, float, float]],
    modes: list[tuple[float, str]],
    armed: list[tuple[float, bool]],
    batt: list[tuple[float, float]],
    reached: list[tuple[float, int]],
    plays_raw: list[tuple[float, str, int, int, str]],
    events_raw: list[tuple[float, str, str]],
    warnings: list[str],
    start_utc: float | None,
    skipped_nofix: int,
    bad_bytes: int,
) -> FlightLog:
    if not rows:
        raise InputError(f"{p}: no valid position in the log (no GPS fix?); nothing to review or audit")
    arr = np.array(rows, dtype=float)
    order = np.argsort(arr[:, 0], kind="stable")
    arr = arr[order]
    t0 = arr[0, 0]
    t = arr[:, 0] - t0
    if skipped_nofix:
        warnings.append(f"{skipped_nofix} position messages before the first GPS fix skipped")
    if bad_bytes:
        warnings.append(f"{bad_bytes} damaged or unknown stretches of data skipped")

    def step(series: list[tuple[float, object]], default: object, dtype: object) -> np.ndarray:
        if not series:
            return np.full(len(t), default, dtype=dtype)
        ts = np.array([s[0] - t0 for s in series])
        vals = np.array([s[1] for s in series], dtype=dtype)
        idx = np.searchsorted(ts, t, side="right") - 1
        out = np.where(idx >= 0, vals[np.clip(idx, 0, None)], default)
        return out.astype(dtype)

    lat, lon = arr[:, 1], arr[:, 2]

    def where(ts: float) -> tuple[float, float]:
        return float(np.interp(ts - t0, t, lat)), float(np.interp(ts - t0, t, lon))

    plays = tuple(CuePlay(ts - t0, a, tr, rep, *where(ts), src) for ts, a, tr, rep, src in plays_raw)
    events = [Event(ts - t0, kind, text, *where(ts)) for ts, kind, text in events_raw]
    prev = None
    for ts, m in modes:
        if m != prev:
            events.append(Event(ts - t0, "mode", m, *where(ts)))
            prev = m
    prev_a = None
    for ts, a in armed:
        if a != prev_a:
            events.append(Event(ts - t0, "armed" if a else "disarmed", "armed" if a else "disarmed", *where(ts)))
            prev_a = a
    events.sort(key=lambda e: e.t_s)
    return FlightLog(
        str(p),
        None if start_utc is None else start_utc,
        t,
        lat,
        lon,
        arr[:, 3],
        arr[:, 4],
        step(modes, "?", object),
        step(armed, False, bool),
        step(batt, math.nan, float),
        tuple((ts - t0, seq) for ts, seq in reached),
        plays,
        tuple(events),
        tuple(warnings),
    )


def tlog_damage(data: bytes) -> tuple[int, bool]:
    """``(damaged stretches, truncated)`` of a tlog: records are an 8-byte big-endian microsecond
    timestamp and one MAVLink 1/2 frame; anything else is a damaged stretch, skipped to the next record.
    """
    import struct

    n, off, bad, last_ts = len(data), 0, 0, None

    def plausible(o: int) -> bool:
        if o + 10 > n or data[o + 8] not in (0xFD, 0xFE):
            return False
        ts = struct.unpack_from(">Q", data, o)[0]
        return last_ts is None or abs(ts - last_ts) < 86_400_000_000

    while off + 8 < n:
        if not plausible(off):
            bad += 1
            nxt = off + 1
            while nxt + 10 <= n and not plausible(nxt):
                nxt += 1
            if nxt + 10 > n:
                return bad, False
            off = nxt
        magic, ln = data[off + 8], data[off + 9]
        size = 12 + ln + (13 if data[off + 10] & 1 else 0) if magic == 0xFD else 8 + ln
        if off + 8 + size > n:
            return bad, True
        last_ts = struct.unpack_from(">Q", data, off)[0]
        off += 8 + size
    return bad, False


def _read_tlog(p: Path) -> FlightLog:
    import os

    from pymavlink import mavutil

    from patrol.broadcast import parse_report

    os.environ["MAVLINK20"] = "1"
    log = mavutil.mavlink_connection(str(p), dialect="ardupilotmega", robust_parsing=True)
    types = [
        "GLOBAL_POSITION_INT",
        "VFR_HUD",
        "HEARTBEAT",
        "SYS_STATUS",
        "MISSION_ITEM_REACHED",
        "STATUSTEXT",
        "FENCE_STATUS",
        "SYSTEM_TIME",
        "BAD_DATA",
    ]
    rows: list[tuple[float, float, float, float, float]] = []
    modes, armed, batt, reached, plays, events = [], [], [], [], [], []
    warnings: list[str] = []
    speed = 0.0
    skipped = bad = 0
    start_utc = None
    last_breach = 0
    vehicle_sys = None
    clock: list[tuple[float, float]] = []  # (receive time, vehicle boot time) pairs
    system_time: tuple[float, int] | None = None
    while True:
        try:
            m = log.recv_match(type=types)
        except Exception as e:  # pymavlink raises on some corrupt frames; keep what was read
            warnings.append(f"stopped reading at a damaged frame ({type(e).__name__})")
            break
        if m is None:
            break
        kind = m.get_type()
        if kind == "BAD_DATA":
            bad += 1
            continue
        ts = getattr(m, "_timestamp", 0.0)
        if kind == "HEARTBEAT":
            if m.type in (6, 18) or m.autopilot == 8:  # a ground station or an onboard controller
                continue
            vehicle_sys = vehicle_sys or m.get_srcSystem()
            if m.get_srcSystem() != vehicle_sys:
                continue
            modes.append((ts, mavutil.mode_string_v10(m)))  # names per vehicle type (copter, plane...)
            armed.append((ts, bool(m.base_mode & 128)))
        elif kind == "GLOBAL_POSITION_INT":
            if vehicle_sys is not None and m.get_srcSystem() != vehicle_sys:
                continue
            if m.lat == 0 and m.lon == 0:
                skipped += 1
                continue
            rows.append((ts, m.lat / 1e7, m.lon / 1e7, m.relative_alt / 1000.0, speed))
            clock.append((ts, m.time_boot_ms / 1000.0))
        elif kind == "VFR_HUD":
            speed = float(m.groundspeed)
        elif kind == "SYS_STATUS":
            if m.battery_remaining >= 0:
                batt.append((ts, float(m.battery_remaining)))
        elif kind == "MISSION_ITEM_REACHED":
            if not reached or reached[-1][1] != m.seq:
                reached.append((ts, int(m.seq)))
        elif kind == "STATUSTEXT":
            rep = parse_report(m.text)
            if rep is not None:
                plays.append((ts, rep[0], rep[1], rep[2], "statustext"))
            elif "fence" in m.text.lower() and "breach" in m.text.lower():
                events.append((ts, "fence_breach", m.text))
        elif kind == "FENCE_STATUS":
            if m.breach_status and m.breach_count != last_breach:
                events.append((ts, "fence_breach", f"fence breach {m.breach_count} (type {m.breach_type})"))
            last_breach = m.breach_count
        elif kind == "SYSTEM_TIME" and system_time is None and m.time_unix_usec > 1e15:
            system_time = (m.time_unix_usec / 1e6, m.time_boot_ms)
    stretches, truncated = tlog_damage(p.read_bytes())
    bad += stretches
    if truncated:
        warnings.append("the log ends in the middle of a message (truncated); the partial message is skipped")
    if clock:
        # Time on the vehicle's clock (time_boot_ms), not when the ground station received: a link's
        # bursts and a simulator's speed-up would otherwise distort every duration.
        wall = np.array([c[0] for c in clock])
        boot = np.array([c[1] for c in clock])
        keep = np.concatenate([[True], np.diff(boot) > -1.0])  # late packets reorder by less than that
        if not keep.all():
            back = int((~keep).sum())
            warnings.append(f"the vehicle clock went back {back} time(s) (a reboot or replayed data); times continued")
            boot = np.concatenate([[boot[0]], boot[0] + np.cumsum(np.maximum(np.diff(boot), 0.0))])
        order = np.argsort(wall, kind="stable")
        wall, boot = wall[order], boot[order]

        def to_boot(ts: float) -> float:
            return float(np.interp(ts, wall, boot, left=boot[0] - (wall[0] - ts), right=boot[-1] + (ts - wall[-1])))

        rows = [(b, *r[1:]) for r, b in zip(rows, boot[np.argsort(order)], strict=True)]
        modes = [(to_boot(t), v) for t, v in modes]
        armed = [(to_boot(t), v) for t, v in armed]
        batt = [(to_boot(t), v) for t, v in batt]
        reached = [(to_boot(t), v) for t, v in reached]
        plays = [(to_boot(t), *v) for t, *v in plays]
        events = [(to_boot(t), *v) for t, *v in events]
        if start_utc is not None:
            start_utc = None  # recomputed below from SYSTEM_TIME against boot time
        if system_time is not None:
            unix_s, boot_ms = system_time
            start_utc = unix_s - boot_ms / 1000.0 + min(r[0] for r in rows)
    return _finish(p, rows, modes, armed, batt, reached, plays, events, warnings, start_utc, skipped, bad)


def _read_bin(p: Path) -> FlightLog:
    from pymavlink import DFReader

    try:
        log = DFReader.DFReader_binary(str(p), zero_time_base=True)
    except Exception as e:
        raise InputError(f"{p}: not a readable DataFlash log ({type(e).__name__}: {e})") from None
    rows: list[tuple[float, float, float, float, float]] = []
    modes, armed, batt, reached, plays, events = [], [], [], [], [], []
    warnings: list[str] = []
    skipped = 0
    home_alt = None
    start_utc = None
    cmd_by_seq: dict[int, tuple[int, float, float, float]] = {}
    dropped = 0
    while True:
        try:
            m = log.recv_match(type=["GPS", "POS", "MODE", "ARM", "EV", "BAT", "CMD", "MISE", "PTRL", "ORGN", "DSF"])
        except Exception as e:
            warnings.append(f"stopped reading at a damaged record ({type(e).__name__})")
            break
        if m is None:
            break
        kind = m.get_type()
        ts = float(getattr(m, "_timestamp", 0.0))
        if kind == "POS":
            if m.Lat == 0 and m.Lng == 0:
                skipped += 1
                continue
            rel = getattr(m, "RelHomeAlt", None)
            if rel is None:
                home_alt = home_alt if home_alt is not None else m.Alt
                rel = m.Alt - home_alt
            spd = rows[-1][4] if rows else 0.0
            rows.append((ts, m.Lat, m.Lng, float(rel), spd))
        elif kind == "GPS":
            if m.Status >= 3 and rows:
                last = rows[-1]
                rows[-1] = (last[0], last[1], last[2], last[3], float(m.Spd))
            if start_utc is None and m.Status >= 3 and getattr(m, "GWk", 0):
                start_utc = 315964800 + m.GWk * 604800 + m.GMS / 1000.0 - 18 - ts
        elif kind == "MODE":
            modes.append((ts, _mode_name(m.Mode)))
        elif kind == "ARM":
            armed.append((ts, bool(m.ArmState)))
        elif kind == "EV":
            if m.Id in (10, 11):  # ARMED, DISARMED
                armed.append((ts, m.Id == 10))
        elif kind == "BAT":
            rem = getattr(m, "RemPct", None)
            if rem is not None:
                batt.append((ts, float(rem)))
        elif kind == "CMD":
            cmd_by_seq[int(m.CNum)] = (int(m.CId), float(m.Prm1), float(m.Prm2), float(m.Prm3))
        elif kind == "MISE":
            reached.append((ts, int(m.CNum)))
            if int(m.CId) == 217:  # MAV_CMD_DO_SEND_SCRIPT_MESSAGE executed: a speaker cue
                act = {1: "loop", 2: "stop", 3: "play"}.get(round(m.Prm1), "?")
                plays.append((ts, act, round(m.Prm2), round(m.Prm3), "dataflash CMD"))
        elif kind == "DSF":
            dropped = max(dropped, int(getattr(m, "Dp", 0)))
        elif kind == "PTRL":
            act = {1: "loop", 2: "stop", 3: "play", 4: "resume"}.get(int(m.Act), "?")
            plays.append((ts, act, int(m.Trk), int(m.Rep), "dataflash PTRL"))
    if dropped:
        warnings.append(
            f"the autopilot's logger dropped {dropped} messages (DSF.Dp): positions and speaker cues may be "
            "missing; compare with the .tlog or log less (LOG_BITMASK)"
        )
    if any(s == "dataflash PTRL" for *_, s in plays):
        plays = [x for x in plays if x[4] == "dataflash PTRL"]  # the applet's own record is the play
    return _finish(p, rows, modes, armed, batt, reached, plays, events, warnings, start_utc, skipped, 0)
