"""Flight logs as arrays: one reader for MAVLink telemetry logs (.tlog) and DataFlash logs (.bin).

A .tlog is read in one pass of our own (record walk, checksums and decoding of the few messages needed, with
pymavlink's generated dialect for the layouts); a .bin by pymavlink's DFReader. Only what review and audit need is
kept, as numpy arrays on one time axis (seconds since the first valid position). Damaged logs yield what is valid
and say what was skipped.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from patrol import i18n
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
    system_id: int | None = None  # the vehicle's MAVLink system id, where the log says

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
        raise InputError(i18n._("{p}: log not found").format(p=p))
    size = p.stat().st_size
    if size == 0:
        raise InputError(i18n._("{p}: empty file; give a .tlog (telemetry) or .bin (DataFlash) flight log").format(p=p))
    with open(p, "rb") as f:
        head = f.read(4096)
    if head[:3] == b"\xa3\x95\x80" or (p.suffix.lower() in (".bin", ".log") and head[:2] == b"\xa3\x95"):
        return _read_bin(p)
    if p.suffix.lower() == ".tlog" or b"\xfd" in head or b"\xfe" in head:
        return _read_tlog(p)
    raise InputError(i18n._("{p}: neither a MAVLink .tlog nor a DataFlash .bin log").format(p=p))


def _finish(
    p: Path,
    rows: list[tuple[float, float, float, float, float]] | np.ndarray,
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
    system_id: int | None = None,
) -> FlightLog:
    if len(rows) == 0:
        raise InputError(
            i18n._("{p}: no valid position in the log (no GPS fix?); nothing to review or audit").format(p=p)
        )
    arr = np.array(rows, dtype=float)
    order = np.argsort(arr[:, 0], kind="stable")
    arr = arr[order]
    t0 = arr[0, 0]
    t = arr[:, 0] - t0
    if skipped_nofix:
        warnings.append(
            i18n._("{skipped_nofix} position messages before the first GPS fix skipped").format(
                skipped_nofix=skipped_nofix
            )
        )
    if bad_bytes:
        warnings.append(i18n._("{bad_bytes} damaged or unknown stretches of data skipped").format(bad_bytes=bad_bytes))

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
            said = i18n._("armed") if a else i18n._("disarmed")
            events.append(Event(ts - t0, "armed" if a else "disarmed", said, *where(ts)))
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
        system_id,
    )


# --- Telemetry logs (.tlog) -------------------------------------------------------------------------------------------
# One pass of our own instead of pymavlink's byte-at-a-time parser: walk the records (an 8-byte big-endian microsecond
# timestamp, then one MAVLink 1 or 2 frame), keep only the frames of the messages below, check their CRC and decode
# them column-wise with numpy using the field layout of pymavlink's generated ardupilotmega dialect.

_TLOG_MSGS = {
    0: "HEARTBEAT",
    1: "SYS_STATUS",
    2: "SYSTEM_TIME",
    33: "GLOBAL_POSITION_INT",
    46: "MISSION_ITEM_REACHED",
    74: "VFR_HUD",
    162: "FENCE_STATUS",
    253: "STATUSTEXT",
}
_DAY_US = 86_400_000_000  # a record more than this away from the previous one is not a record
_MAGIC = re.compile(rb"[\xfd\xfe]")


def _crc_table() -> np.ndarray:
    """Table of CRC-16/MCRF4XX ("X.25" in MAVLink: reflected polynomial 0x1021, initial 0xFFFF, no final xor)."""
    table = np.zeros(256, np.uint16)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
        table[i] = c
    return table


_CRC_TABLE = _crc_table()


def mavlink_crc(cols: np.ndarray, lengths: np.ndarray, crc_extra: int) -> np.ndarray:
    """MAVLink checksums of many frames at once, table-driven and vectorised across frames.

    ``cols[j, i]`` is byte ``j`` of frame ``i``'s checksummed bytes (from the length byte to the end of the payload);
    ``lengths[i]`` how many of them frame ``i`` has. ``crc_extra`` (the message's layout seed) is added last.

    >>> from pymavlink.dialects.v20 import ardupilotmega as mav
    >>> msg = mav.MAVLink_heartbeat_message(2, 3, 129, 3, 4, 3)
    >>> frame = np.frombuffer(msg.pack(mav.MAVLink(None, 1, 1)), np.uint8)
    >>> crc = mavlink_crc(frame[1:-2, None], np.array([len(frame) - 3]), mav.MAVLink_heartbeat_message.crc_extra)
    >>> int(crc[0]) == int(frame[-2]) | int(frame[-1]) << 8
    True
    """
    order = np.argsort(-lengths, kind="stable")  # longest first: the frames still going are a prefix
    srt = lengths[order]
    crc = np.full(len(lengths), 0xFFFF, np.uint16)
    width = int(srt[0]) if len(srt) else 0
    live = np.searchsorted(-srt, -np.arange(width), side="left")  # how many frames are longer than j
    cols = cols[:, order]
    for j in range(width):
        m = int(live[j])
        c = crc[:m]
        crc[:m] = (c >> 8) ^ _CRC_TABLE[(c ^ cols[j, :m]) & 0xFF]
    crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ crc_extra) & 0xFF]
    out = np.empty_like(crc)
    out[order] = crc
    return out


def _walk_tlog(data: bytes) -> tuple[np.ndarray, int, bool, set[int]]:
    """Offsets of the well-formed records of a tlog, the number of damaged stretches skipped, whether the log
    ends inside a record, and the offsets where damage began.

    A record starts with a timestamp within a day of the previous record's (or of the next record's, when the
    clock itself jumped) and a MAVLink magic byte; anything else is a damaged stretch, skipped to the next
    plausible record.
    """
    n = len(data)
    parts: list[np.ndarray] = []
    damaged, truncated = 0, False
    starts: set[int] = set()
    last: int | None = None
    u8 = np.frombuffer(data, np.uint8)
    stamp = np.arange(8)
    weights = (256 ** np.arange(7, -1, -1, dtype=np.uint64)).astype(np.uint64)

    def near(ts: int, ref: int | None) -> bool:
        return ref is None or abs(ts - ref) < _DAY_US

    def ts_at(o: int) -> int:
        return int.from_bytes(data[o : o + 8], "big")

    def resync(o: int) -> int:
        for m in _MAGIC.finditer(data, o + 8):
            c = m.start() - 8
            if c + 10 > n:
                return -1
            if near(ts_at(c), last):
                return c
        return -1

    off = 0
    while off < n:
        offs, stop, why = _walk_frames(data, off, n)
        after = off  # where to look for the next record after damage
        if offs:
            o = np.array(offs, np.int64)
            ts = (u8[o[:, None] + stamp].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
            tsf = ts.astype(np.float64)
            prev = np.concatenate([[tsf[0] if last is None else float(last)], tsf[:-1]])
            for k in np.flatnonzero(np.abs(tsf - prev) > 0.99 * _DAY_US):  # candidates; decided exactly
                k = int(k)
                ref = last if k == 0 else int(ts[k - 1])
                if near(int(ts[k]), ref):
                    continue
                if k + 1 < len(o) and near(int(ts[k + 1]), int(ts[k])):
                    continue  # the next record agrees: the clock jumped, the data is fine
                o, ts, stop, why = o[:k], ts[:k], int(offs[k]), "bad"
                break
            if len(o):
                parts.append(o)
                last = int(ts[-1])
                after = int(o[-1])  # the last record's length may be what is damaged: look inside it too
        if why == "end":
            break
        if why == "truncated" and (stop + 8 > n or near(ts_at(stop), last)):
            truncated = True
            break
        damaged += 1
        starts.add(stop)
        off = resync(after + 1)
        if off < 0:
            break
    offs_all = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return offs_all, damaged, truncated, starts


def _walk_frames(data: bytes, off: int, n: int) -> tuple[list[int], int, str]:
    """Follow frame lengths from ``off`` while the magic bytes fit: (record offsets, where it stopped, why)."""
    out: list[int] = []
    app = out.append
    while off < n:
        if off + 10 > n:  # not even a frame's length: a cut record, unless a wrong magic byte says otherwise
            return out, off, "bad" if off + 8 < n and data[off + 8] not in (0xFD, 0xFE) else "truncated"
        m = data[off + 8]
        if m == 0xFD:
            end = off + 20 + data[off + 9] + (13 if off + 10 < n and data[off + 10] & 1 else 0)
        elif m == 0xFE:
            end = off + 16 + data[off + 9]
        else:
            return out, off, "bad"
        if end > n:
            return out, off, "truncated"
        app(off)
        off = end
    return out, off, "end"


def tlog_damage(data: bytes) -> tuple[int, bool]:
    """``(damaged stretches, truncated)`` of a tlog: records are an 8-byte big-endian microsecond
    timestamp and one MAVLink 1/2 frame; anything else is a damaged stretch, skipped to the next record.
    (Frames failing their checksum are counted by :func:`read_log`, which decodes them.)
    """
    _, bad, truncated, _ = _walk_tlog(data)
    return bad, truncated


@functools.cache
def _np_dtype(cls: Any) -> np.dtype:
    """The numpy record type of a pymavlink message class's wire layout (its ``unpacker`` format, in
    ``ordered_fieldnames`` order)."""
    codes = {"b": "i1", "B": "u1", "h": "<i2", "H": "<u2", "i": "<i4", "I": "<u4", "q": "<i8", "Q": "<u8"}
    codes |= {"f": "<f4", "d": "<f8", "c": "S1"}
    tokens = re.findall(r"(\d*)([a-zA-Z])", cls.unpacker.format.lstrip("<"))
    if len(tokens) != len(cls.ordered_fieldnames):
        raise RuntimeError(
            i18n._("pymavlink layout of {msgname} not understood: {format}").format(
                msgname=cls.msgname, format=cls.unpacker.format
            )
        )
    fields: list[tuple[Any, ...]] = []
    for (count, code), name in zip(tokens, cls.ordered_fieldnames, strict=True):
        k = int(count or 1)
        if code == "s":
            fields.append((name, f"S{k}"))
        else:
            fields.append((name, codes[code]) if k == 1 else (name, codes[code], (k,)))
    dt = np.dtype(fields)
    if dt.itemsize != cls.unpacker.size:
        raise RuntimeError(
            i18n._("pymavlink layout of {msgname} not understood: {format}").format(
                msgname=cls.msgname, format=cls.unpacker.format
            )
        )
    return dt


@dataclass
class _Frames:
    """The decoded frames of one message type: record index, receive time (s), source system, fields."""

    ri: np.ndarray
    ts: np.ndarray
    src: np.ndarray
    f: np.ndarray  # structured array, one record per frame


def _decode_tlog(data: bytes) -> tuple[dict[str, _Frames], int, bool]:
    """The frames :data:`_TLOG_MSGS` names, decoded, with the damaged-stretch count and the truncation flag."""
    from pymavlink.dialects.v20 import ardupilotmega as mav

    offs, damaged, truncated, starts = _walk_tlog(data)
    u8 = np.frombuffer(data, np.uint8)
    n = len(u8)
    fs = offs + 8  # frame starts
    v2 = u8[fs] == 0xFD
    msgid = u8[fs + 5].astype(np.int64)  # MAVLink 1: one byte at 5
    i2 = np.flatnonzero(v2)
    f2 = fs[i2]  # MAVLink 2: three bytes at 7, little-endian
    msgid[i2] = u8[f2 + 7].astype(np.int64) | (u8[f2 + 8].astype(np.int64) << 8) | (u8[f2 + 9].astype(np.int64) << 16)
    ts_us = np.zeros(0, np.uint64)
    wanted = np.flatnonzero(np.isin(msgid, list(_TLOG_MSGS)))
    if len(wanted):
        stamp = np.arange(8)
        weights = (256 ** np.arange(7, -1, -1, dtype=np.uint64)).astype(np.uint64)
        ts_us = (u8[offs[wanted][:, None] + stamp].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    ts_all = np.zeros(len(offs))
    ts_all[wanted] = ts_us.astype(np.float64) * 1.0e-6  # as pymavlink: microseconds * 1e-6
    out: dict[str, _Frames] = {}
    for mid, name in _TLOG_MSGS.items():
        idx = wanted[msgid[wanted] == mid]
        cls = mav.mavlink_map[mid]
        dt = _np_dtype(cls)
        if len(idx) == 0:
            out[name] = _Frames(idx, np.zeros(0), np.zeros(0, np.uint8), np.zeros(0, dt))
            continue
        s = fs[idx]
        ln = u8[s + 1].astype(np.int64)
        is2 = v2[idx]
        hdr = np.where(is2, 10, 6)
        # checksum: bytes 1 .. header + payload, then crc_extra; stored little-endian after the payload
        clen = hdr - 1 + ln
        cols = u8[np.minimum(s[None, :] + 1 + np.arange(int(clen.max()))[:, None], n - 1)]
        crc = mavlink_crc(cols, clen, cls.crc_extra)
        stored = u8[s + hdr + ln].astype(np.uint16) | (u8[s + hdr + ln + 1].astype(np.uint16) << 8)
        ok = (crc == stored) & ~(is2 & ((u8[s + 2] & 0xFE) != 0))  # pymavlink rejects unknown incompat flags
        if not ok.all():  # a damaged stretch each, unless the walk found damage right after it anyway
            ends = s + hdr + ln + 2 + np.where(is2 & ((u8[s + 2] & 1) == 1), 13, 0)
            damaged += sum(1 for e in ends[~ok].tolist() if e not in starts)
            idx, s, ln, hdr, is2 = idx[ok], s[ok], ln[ok], hdr[ok], is2[ok]
        # payload, zero-padded to the message's full length (MAVLink 2 drops trailing zero bytes)
        full = dt.itemsize
        j = np.arange(full)
        pay = u8[np.minimum((s + hdr)[:, None] + j, n - 1)]
        pay = np.where(j[None, :] < ln[:, None], pay, 0).astype(np.uint8)
        rec = np.ascontiguousarray(pay).view(dt).reshape(-1)
        src = u8[s + np.where(is2, 5, 3)]
        out[name] = _Frames(idx, ts_all[idx], src, rec)
    return out, damaged, truncated


def _merge(*series: tuple[np.ndarray, list[Any]]) -> list[Any]:
    """Items of several record-ordered series, in record order."""
    keyed = [(int(r), k, x) for k, (ri, items) in enumerate(series) for r, x in zip(ri.tolist(), items, strict=True)]
    keyed.sort(key=lambda e: (e[0], e[1]))
    return [x for *_, x in keyed]


def _read_tlog(p: Path) -> FlightLog:
    from pymavlink import mavutil
    from pymavlink.dialects.v20 import ardupilotmega as mav

    from patrol.vehicle.player import parse_report

    fr, bad, truncated = _decode_tlog(p.read_bytes())
    warnings: list[str] = []

    # heartbeats: the vehicle's (not a ground station's or an onboard controller's), first vehicle system only
    hb = fr["HEARTBEAT"]
    modes: list[tuple[float, str]] = []
    armed: list[tuple[float, bool]] = []
    names: dict[tuple[int, int, int, int], str] = {}
    vehicle_sys = None
    change_ri, change_sys = [], []  # when the vehicle system (as the position filter sees it) changed
    cols = [hb.f[k].tolist() for k in ("type", "autopilot", "base_mode", "custom_mode")]
    for r, ts, src, typ, ap, bm, cm in zip(hb.ri.tolist(), hb.ts.tolist(), hb.src.tolist(), *cols, strict=True):
        if typ in (6, 18) or ap == 8:  # a ground station or an onboard controller
            continue
        new = vehicle_sys or src
        if new != vehicle_sys:
            change_ri.append(r)
            change_sys.append(new)
            vehicle_sys = new
        if src != vehicle_sys:
            continue
        key = (typ, ap, bm, cm)
        if key not in names:  # names per vehicle type (copter, plane...); it reads type, autopilot and the modes
            names[key] = mavutil.mode_string_v10(mav.MAVLink_heartbeat_message(typ, ap, bm, cm, 0, 3))
        modes.append((ts, names[key]))
        armed.append((ts, bool(bm & 128)))

    # positions: the vehicle system's once known; (0, 0) is no fix
    gp = fr["GLOBAL_POSITION_INT"]
    k = np.searchsorted(np.array(change_ri, np.int64), gp.ri, side="right") - 1
    vsys = np.where(k >= 0, np.array([-1, *change_sys], np.int64)[k + 1], -1)
    mine = (vsys < 0) | (gp.src == vsys)
    nofix = mine & (gp.f["lat"] == 0) & (gp.f["lon"] == 0)
    skipped = int(nofix.sum())
    use = mine & ~nofix
    g = gp.f[use]
    hud = fr["VFR_HUD"]
    speed = np.zeros(len(g))
    if len(hud.ri):  # the last ground speed reported before each position
        kh = np.searchsorted(hud.ri, gp.ri[use], side="right") - 1
        speed = np.where(kh >= 0, hud.f["groundspeed"].astype(np.float64)[np.maximum(kh, 0)], 0.0)
    wall = gp.ts[use]
    rows = np.column_stack([wall, g["lat"] / 1e7, g["lon"] / 1e7, g["relative_alt"] / 1000.0, speed])
    boot = g["time_boot_ms"] / 1000.0

    ss = fr["SYS_STATUS"]
    sel = ss.f["battery_remaining"] >= 0
    batt = list(zip(ss.ts[sel].tolist(), ss.f["battery_remaining"][sel].astype(float).tolist(), strict=True))

    mi = fr["MISSION_ITEM_REACHED"]
    seq = mi.f["seq"].astype(np.int64)
    first = np.concatenate([[True], seq[1:] != seq[:-1]]) if len(seq) else np.zeros(0, bool)
    reached = list(zip(mi.ts[first].tolist(), seq[first].tolist(), strict=True))

    st = fr["STATUSTEXT"]
    plays, st_events, st_ri = [], [], []
    for r, ts, raw in zip(st.ri.tolist(), st.ts.tolist(), st.f["text"].tolist(), strict=True):
        text = raw.split(b"\x00", 1)[0].decode("ascii", errors="replace")  # as pymavlink
        rep = parse_report(text)
        if rep is not None:
            plays.append((ts, rep[0], rep[1], rep[2], "statustext"))
        elif "fence" in text.lower() and "breach" in text.lower():
            st_events.append((ts, "fence_breach", text))
            st_ri.append(r)

    fe = fr["FENCE_STATUS"]
    cnt = fe.f["breach_count"].astype(np.int64)
    prev = np.concatenate([[0], cnt[:-1]])
    hit = (fe.f["breach_status"] != 0) & (cnt != prev)
    fence_events = [
        (ts, "fence_breach", i18n._("fence breach {n} (type {type})").format(n=c, type=t))
        for ts, c, t in zip(fe.ts[hit].tolist(), cnt[hit].tolist(), fe.f["breach_type"][hit].tolist(), strict=True)
    ]
    events = _merge((np.array(st_ri, np.int64), st_events), (fe.ri[hit], fence_events))

    sy = fr["SYSTEM_TIME"]
    good = np.flatnonzero(sy.f["time_unix_usec"] > 1e15)
    system_time = None
    if len(good):
        system_time = (int(sy.f["time_unix_usec"][good[0]]) / 1e6, int(sy.f["time_boot_ms"][good[0]]))

    if truncated:
        warnings.append(i18n._("the log ends in the middle of a message (truncated); the partial message is skipped"))
    start_utc = None
    if len(wall):
        # Time on the vehicle's clock (time_boot_ms), not when the ground station received: a link's
        # bursts and a simulator's speed-up would otherwise distort every duration.
        keep = np.concatenate([[True], np.diff(boot) > -1.0])  # late packets reorder by less than that
        if not keep.all():
            back = int((~keep).sum())
            warnings.append(
                i18n._(
                    "the vehicle clock went back {back} time(s) (a reboot or replayed data); times continued"
                ).format(back=back)
            )
            boot = np.concatenate([[boot[0]], boot[0] + np.cumsum(np.maximum(np.diff(boot), 0.0))])
        rows[:, 0] = boot
        order = np.argsort(wall, kind="stable")
        w_s, b_s = wall[order], boot[order]

        def to_boot(ts: list[float]) -> list[float]:
            x = np.array(ts, dtype=float)
            y = np.interp(x, w_s, b_s)
            y = np.where(x < w_s[0], b_s[0] - (w_s[0] - x), y)
            return np.where(x > w_s[-1], b_s[-1] + (x - w_s[-1]), y).tolist()

        def remap(series: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            return [(b, *s[1:]) for s, b in zip(series, to_boot([s[0] for s in series]), strict=True)]

        modes, armed, batt, reached = remap(modes), remap(armed), remap(batt), remap(reached)
        plays, events = remap(plays), remap(events)
        if system_time is not None:
            unix_s, boot_ms = system_time
            start_utc = unix_s - boot_ms / 1000.0 + float(boot.min())
    return _finish(p, rows, modes, armed, batt, reached, plays, events, warnings, start_utc, skipped, bad, vehicle_sys)


def _read_bin(p: Path) -> FlightLog:
    from pymavlink import DFReader

    try:
        log = DFReader.DFReader_binary(str(p), zero_time_base=True)
    except Exception as e:
        why = " ".join(str(e).split())[:120]  # the log's own bytes may be in it: one line, printable
        raise InputError(
            i18n._("{p}: not a readable DataFlash log ({name}: {why})").format(
                p=p, name=type(e).__name__, why=repr(why)
            )
        ) from None
    rows: list[tuple[float, float, float, float, float]] = []
    modes, armed, batt, reached, plays, events = [], [], [], [], [], []
    warnings: list[str] = []
    skipped = 0
    home_alt = None
    start_utc = None
    cmd_by_seq: dict[int, tuple[int, float, float, float]] = {}
    dropped = odd = 0
    while True:
        try:
            m = log.recv_match(type=["GPS", "POS", "MODE", "ARM", "EV", "BAT", "CMD", "MISE", "PTRL", "ORGN", "DSF"])
        except Exception as e:
            warnings.append(i18n._("stopped reading at a damaged record ({name})").format(name=type(e).__name__))
            break
        if m is None:
            break
        try:
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
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
            odd += 1  # a record whose FMT lacks the fields ArduPilot logs, or with an impossible value
    if odd:
        warnings.append(
            i18n._("{odd} record(s) without the fields ArduPilot logs (a damaged FMT?) skipped").format(odd=odd)
        )
    if dropped:
        warnings.append(
            i18n._(
                "the autopilot's logger dropped {dropped} messages (DSF.Dp): positions and speaker "
                "cues may be missing; compare with the .tlog or log less (LOG_BITMASK)"
            ).format(dropped=dropped)
        )
    if any(s == "dataflash PTRL" for *_, s in plays):
        plays = [x for x in plays if x[4] == "dataflash PTRL"]  # the applet's own record is the play
    return _finish(p, rows, modes, armed, batt, reached, plays, events, warnings, start_utc, skipped, 0)
