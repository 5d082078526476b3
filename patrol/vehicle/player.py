"""The companion-computer player: follow the vehicle's speaker cues and play (or record) each prompt.

With the ``script`` encoding the Lua applet reports every cue as a STATUSTEXT ``PTRL <loop|stop|play>
<track> <repeats>``; with ``relay`` or ``servo`` there is no report, so the player follows mission
progress (MISSION_CURRENT) past the cue items of the sortie. Every play is logged as one JSON line with
UTC time, vehicle boot time, prompt, language, track, position and the evidence it came from.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.package.reader import Package
from patrol.speech.catalogue import Build
from patrol.types import MissionItem
from patrol.vehicle.link import Link

PTRL = re.compile(r"^PTRL (loop|stop|play|resume) (\d+) (\d+)")


def parse_report(text: str) -> tuple[str, int, int] | None:
    """``(action, track, repeats)`` from the applet's STATUSTEXT, or None for any other text.

    >>> parse_report("PTRL loop 3 0")
    ('loop', 3, 0)
    >>> parse_report("PreArm: GPS") is None
    True
    """
    m = PTRL.match(text.strip())
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


@dataclass(frozen=True)
class Play:
    """One speaker event as logged."""

    t_utc: str
    t_boot_ms: int
    action: str
    track: int
    repeats: int
    prompt_id: str | None
    lang: str | None
    lat: float | None
    lon: float | None
    rel_alt_m: float | None
    evidence: str  # "statustext" or "mission_current <seq>"
    output: str | None  # WAV written, or "speaker" when played


def cue_items(items: list[MissionItem]) -> list[tuple[int, MissionItem]]:
    """Mission seqs (1-based, as on the vehicle) of the speaker commands of a relay/servo sortie."""
    kinds = (mav.MAV_CMD_DO_SET_RELAY, mav.MAV_CMD_DO_SET_SERVO, mav.MAV_CMD_DO_SEND_SCRIPT_MESSAGE)
    return [(k, it) for k, it in enumerate(items, start=1) if it.command in kinds]


class Player:
    """Plays clips from a build through ``aplay`` when there is a sound device, else writes WAV copies."""

    def __init__(self, build: Build, out_dir: Path, sound: bool | None = None) -> None:
        self.build = build
        self.out_dir = out_dir
        self.sound = shutil.which("aplay") is not None and _has_device() if sound is None else sound
        self._loop_stop = threading.Event()
        self._loop: threading.Thread | None = None
        self.count = 0

    def stop(self) -> None:
        """Stop a looping prompt."""
        self._loop_stop.set()
        if self._loop is not None:
            self._loop.join(timeout=10)
            self._loop = None

    def start(self, action: str, track: int, repeats: int) -> str | None:
        """Act on one cue; returns where the audio went ("speaker" or a WAV path), None for stop."""
        self.stop()
        if action == "stop":
            return None
        clip = self.build.by_track(track)
        if clip is None:
            return None
        src = self.build.folder / clip.file
        if not self.sound:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.count += 1
            dst = self.out_dir / f"{self.count:04d}-{action}-{clip.prompt_id}.{clip.lang}.wav"
            shutil.copyfile(src, dst)
            return str(dst)
        self._loop_stop = threading.Event()
        times = 10**6 if action in ("loop", "resume") else max(repeats, 1)
        self._loop = threading.Thread(target=self._play, args=(src, times, self._loop_stop), daemon=True)
        self._loop.start()
        return "speaker"

    @staticmethod
    def _play(src: Path, times: int, stop: threading.Event) -> None:
        for _ in range(times):
            if stop.is_set():
                return
            subprocess.run(["aplay", "-q", str(src)], capture_output=True, check=False)
            stop.wait(1.0)


def _has_device() -> bool:
    res = subprocess.run(["aplay", "-l"], capture_output=True, text=True, check=False)
    return res.returncode == 0 and "card" in res.stdout


def follow(
    link: Link,
    player: Player,
    log_path: Path,
    mission: list[MissionItem] | None = None,
    decode: Callable[[MissionItem], tuple[str, int, int]] | None = None,
    until_landed: bool = True,
    timeout_s: float = 3600.0,
    on_play: Callable[[Play], None] | None = None,
) -> list[Play]:
    """Follow the vehicle until it lands (after flying) or ``timeout_s``; log and return every play.

    ``mission`` (the sortie's items) with ``decode`` (see :func:`decoder`) switches to mission-progress
    mode, for relay/servo encodings.
    """
    decode = decode or decoder({}, {})
    link.conn.mav.request_data_stream_send(link.target_system, link.target_component, mav.MAV_DATA_STREAM_ALL, 4, 1)
    pending = cue_items(mission) if mission else []
    by_track = {c.track: c for c in player.build.clips}
    pos: dict[str, Any] = {"lat": None, "lon": None, "alt": None, "boot_ms": 0}
    plays: list[Play] = []
    was_armed = False
    deadline = time.monotonic() + timeout_s
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:

        def emit(action: str, track: int, repeats: int, evidence: str) -> None:
            out = player.start(action, track, repeats)
            clip = by_track.get(track)
            p = Play(
                dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                int(pos["boot_ms"]),
                action,
                track,
                repeats,
                clip.prompt_id if clip else None,
                clip.lang if clip else None,
                pos["lat"],
                pos["lon"],
                pos["alt"],
                evidence,
                out,
            )
            plays.append(p)
            log.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
            log.flush()
            if on_play is not None:
                on_play(p)

        while time.monotonic() < deadline:
            m = link.conn.recv_match(
                type=["STATUSTEXT", "GLOBAL_POSITION_INT", "HEARTBEAT", "MISSION_CURRENT"], blocking=True, timeout=0.5
            )
            if m is None or m.get_srcSystem() != link.target_system:
                continue
            kind = m.get_type()
            if kind == "GLOBAL_POSITION_INT" and (m.lat or m.lon):
                pos.update(lat=m.lat / 1e7, lon=m.lon / 1e7, alt=m.relative_alt / 1000.0, boot_ms=m.time_boot_ms)
            elif kind == "STATUSTEXT" and not pending:
                rep = parse_report(m.text)
                if rep is not None:
                    emit(*rep, "statustext")
            elif kind == "MISSION_CURRENT" and pending:
                while pending and m.seq > pending[0][0]:
                    seq, it = pending.pop(0)
                    emit(*decode(it), f"mission_current {m.seq} past item {seq}")
            elif kind == "HEARTBEAT" and m.type != mav.MAV_TYPE_GCS:
                armed = bool(m.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED)
                was_armed = was_armed or armed
                if until_landed and was_armed and not armed:
                    break
    player.stop()
    return plays


def decoder(relay_by_track: dict[int, int], pwm_by_track: dict[int, int], stop_pwm: int = 1000):
    """A function from a cue mission item to ``(action, track, repeats)`` for the package's encoding.

    Relay and servo items carry no action: an "on" relay or a track PWM is a play, "off" or the stop
    PWM a stop.
    """
    track_of_relay = {r: t for t, r in relay_by_track.items()}
    track_of_pwm = {p: t for t, p in pwm_by_track.items()}

    def decode(it: MissionItem) -> tuple[str, int, int]:
        if it.command == mav.MAV_CMD_DO_SEND_SCRIPT_MESSAGE:
            action = {1: "loop", 2: "stop", 3: "play"}.get(round(it.param1), "stop")
            return action, round(it.param2), round(it.param3)
        if it.command == mav.MAV_CMD_DO_SET_RELAY:
            if round(it.param2) == 0:
                return "stop", 0, 0
            return "play", track_of_relay.get(round(it.param1), 0), 1
        pwm = round(it.param2)
        if pwm == stop_pwm or pwm not in track_of_pwm:
            return "stop", 0, 0
        return "play", track_of_pwm[pwm], 1

    return decode


def package_decoder(pkg: Package, sortie: int) -> tuple[list[MissionItem] | None, Any]:
    """``(mission, decode)`` for :func:`follow`: for a relay or servo package the sortie's items and a
    decoder of its cue items (the player follows mission progress); ``(None, None)`` for the script applet,
    whose STATUSTEXT reports say what plays."""
    bc = pkg.broadcast
    if bc.get("speaker") not in ("relay", "servo"):
        return None, None
    decode = decoder(
        {int(k): v for k, v in bc["relay_by_track"].items()},
        {int(k): v for k, v in bc["pwm_by_track"].items()},
        bc["stop_pwm"],
    )
    return list(pkg.sortie(sortie).mission), decode
