"""The broadcast a plan carries: the prompt build, the cue encoder, and the timing the clips ask for.

:func:`prepare_broadcast` is what ``patrol plan`` needs of the speech stage: it reads the catalogue,
builds (or takes from the cache) every clip, and sets up the :class:`~patrol.speech.cues.PromptCues`
encoder for the speaker wiring. The planner then takes the encoder (to put cues in the missions) and
the clip timing (the heard-whole window and the hotspot loiter time).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from patrol.errors import InputError
from patrol.i18n import _
from patrol.paths import portable
from patrol.speech.build import build_files, choose_voices
from patrol.speech.cache import PromptCache
from patrol.speech.catalogue import DEFAULT_CATALOGUE, LANGUAGES, Build, read_catalogue
from patrol.speech.cues import ENCODINGS, PromptCues, parse_track_map, timing_from_clips
from patrol.speech.margin import Margin, settle_margin

if TYPE_CHECKING:
    from patrol.speech.catalogue import Clip
    from patrol.speech.check import Checker

LUA_APPLET = "audio_prompts/lua/patrol_speaker.lua"


@dataclass(frozen=True)
class Broadcast:
    """Everything of the warnings that goes into a plan and its package."""

    encoder: PromptCues
    files: dict[str, str | bytes]  # the prompt build, names relative to the package's audio/
    prompt_s: float  # heard-whole window the clips ask for (twice the longest looped clip)
    loiter_s: float  # the longest hotspot loiter (repeats x (clip + 1 s))
    notes: tuple[str, ...] = ()  # one line per language that fell back to a lesser voice
    margin: Margin | None = None  # the margin over noise the broadcast clips need (None: not checked in noise)


def check_encoding(speaker: str) -> None:
    """Refuse an unknown ``--speaker`` encoding with one line naming the choices."""
    if speaker not in ENCODINGS:
        raise InputError(
            _("--speaker {speaker}: use one of {encodings}").format(
                speaker=repr(speaker), encodings=", ".join(ENCODINGS)
            )
        )


def prepare_broadcast(
    catalogue: str | Path | None,
    lang: str,
    speaker: str,
    relay: str = "",
    servo_channel: int = 9,
    servo_pwm: str = "",
    cache: PromptCache | None = None,
    engines: dict[str, str] | None = None,
    checker: Checker | None = None,
) -> Broadcast:
    """Read the catalogue (default: the shipped one), build its clips, set up the cue encoder.

    ``speaker`` is the cue encoding (script, relay, servo); ``relay`` and ``servo_pwm`` are TRACK:VALUE
    maps as the command line gives them; ``engines`` the TTS engine asked for per language and
    ``checker`` the recogniser's check (:func:`patrol.speech.build.build_files`). One-line
    :class:`InputError` for a bad language or map.
    """
    check_encoding(speaker)
    if lang not in LANGUAGES:
        raise InputError(
            _("--lang {lang}: use one of {languages}").format(lang=repr(lang), languages=", ".join(LANGUAGES))
        )
    cat = read_catalogue(catalogue or DEFAULT_CATALOGUE)
    relay_by_track = parse_track_map(relay, "--relay")
    pwm_by_track = parse_track_map(servo_pwm, "--servo-pwm")
    voices, notes = choose_voices(cat, engines)
    clips, files = build_files(cat, cache, voices=voices, checker=checker)
    encoder = PromptCues(
        cat,
        Build(Path("audio"), portable(cat.path), clips),
        lang,
        speaker,
        relay_by_track=relay_by_track,
        servo_channel=servo_channel,
        pwm_by_track=pwm_by_track,
    )
    prompt_s, loiter_s = timing_from_clips(encoder)
    margin = broadcast_margin(encoder, files, checker) if checker is not None else None
    return Broadcast(encoder, files, prompt_s, loiter_s, tuple(notes), margin)


def broadcast_margin(enc: PromptCues, files: dict[str, str | bytes], checker: Checker) -> Margin | None:
    """The margin the clips the plan plays need (:mod:`patrol.speech.margin`): the prompts of the catalogue's
    rules in the plan's language, from their held-out ladder figures, measuring any step a clip's own ladder
    stopped below. None when the check has no noise or no such clip has a figure."""
    if checker.snr_db is None:
        return None
    played = set(enc.catalogue.enter.values()) | set(enc.catalogue.hotspot.values())
    clips: dict[str, Clip] = {}
    for pid in sorted(played):
        c = enc.build.clip(pid, enc.lang)
        if c.check is not None and c.check.get("ladder"):
            clips[pid] = c
    if not clips:
        return None

    def measure(pid: str, snr_db: float) -> float:
        c = clips[pid]
        data = files[c.file]
        assert isinstance(data, bytes) and c.check is not None
        noise = checker.noise_figures(data, c.text, c.lang, snr_db)
        return max([c.check["error_rate"], *(v["error_rate"] for v in noise.values())])

    figures = {pid: {s["snr_db"]: s["worst"] for s in c.check["ladder"]} for pid, c in clips.items()}  # type: ignore[index]
    return settle_margin(figures, measure, checker.snr_db, checker.max_cer)


def broadcast_manifest(bc: Broadcast) -> dict:
    """The ``broadcast`` section of a package manifest: what the speaker plays, how it is triggered."""
    enc = bc.encoder
    return {
        "catalogue": portable(enc.catalogue.path),
        "lang": enc.lang,
        "speaker": enc.encoding,
        "clips": "audio/manifest.json",
        "lua_applet": LUA_APPLET if enc.encoding == "script" else None,
        "rules": {"enter": enc.catalogue.enter, "hotspot": enc.catalogue.hotspot},
        "relay_by_track": {str(k): v for k, v in enc.relay_by_track.items()},
        "servo_channel": enc.servo_channel,
        "pwm_by_track": {str(k): v for k, v in enc.pwm_by_track.items()},
        "stop_pwm": enc.stop_pwm,
        "prompt_s_from_clips": bc.prompt_s,
        "margin": bc.margin.record() if bc.margin is not None else None,
    }
