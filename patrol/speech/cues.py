"""Speaker cues as mission commands: which prompt plays where, encoded for the speaker setup.

Three encodings, one per kind of speaker wiring:

``script`` (default)
    ``MAV_CMD_DO_SEND_SCRIPT_MESSAGE`` read by the Lua applet ``audio_prompts/lua/patrol_speaker.lua``
    (``mission_receive()``): param1 = action (1 loop a track, 2 stop, 3 play a track N times),
    param2 = track number, param3 = repeats, param4 = clip length in seconds. The applet drives a
    serial MP3/WAV module and reports every play: STATUSTEXT ``PTRL <loop|stop|play> <track> <repeats>``,
    NAMED_VALUE_FLOAT ``PTRL_TRK`` and the DataFlash message ``PTRL``.
``relay``
    ``MAV_CMD_DO_SET_RELAY`` pulses for a module with trigger inputs: relay ``track_relays[track]`` on
    (param2 = 1) to start, all configured relays off to stop.
``servo``
    ``MAV_CMD_DO_SET_SERVO`` on one channel, PWM from ``pwm_by_track`` (``stop_pwm`` to stop), for a
    module that selects a track by PWM level.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.errors import InputError
from patrol.i18n import _
from patrol.speech.catalogue import Build, Catalogue, prompt_for
from patrol.types import Cue, CueKind, MissionItem

ACTION_LOOP, ACTION_STOP, ACTION_PLAY = 1, 2, 3
ENCODINGS = ("script", "relay", "servo", "none")
FRAME = mav.MAV_FRAME_MISSION


@dataclass(frozen=True)
class PromptCues:
    """A :class:`~patrol.types.CueEncoder` that picks prompts by the catalogue's rules and encodes them.

    ``resolve`` fills a cue's ``prompt_id``; ``encode`` turns it into mission items. Clip track numbers
    come from the build for ``lang``.
    """

    catalogue: Catalogue
    build: Build
    lang: str = "zh"
    encoding: str = "script"
    relay_by_track: dict[int, int] = field(default_factory=dict)
    servo_channel: int = 9
    pwm_by_track: dict[int, int] = field(default_factory=dict)
    stop_pwm: int = 1000

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise InputError(
                _("--speaker {encoding}: use one of {encodings}").format(
                    encoding=repr(self.encoding), encodings=", ".join(ENCODINGS)
                )
            )

    def resolve(self, cue: Cue) -> Cue:
        """``cue`` with the prompt id its rule chooses (LEAVE cues keep None: they stop the speaker)."""
        return replace(cue, prompt_id=prompt_for(self.catalogue, cue))

    def track(self, prompt_id: str) -> int:
        """The speaker track number of ``prompt_id`` in this language."""
        return self.build.clip(prompt_id, self.lang).track

    def repeats(self, prompt_id: str) -> int:
        """How many times a hotspot plays ``prompt_id``."""
        return self.catalogue.get(prompt_id).repeats

    def duration_s(self, prompt_id: str) -> float:
        """The clip length of ``prompt_id`` in this language."""
        return self.build.clip(prompt_id, self.lang).duration_s

    def clip(self, cue: Cue) -> tuple[int, float, int] | None:
        """``(track, clip_s, repeats)`` the speaker plays for ``cue`` (None: it plays nothing), for the
        planner's prediction of what is heard (:mod:`patrol.plan.playback`)."""
        if self.encoding == "none" or cue.kind == CueKind.LEAVE or cue.prompt_id is None:
            return None
        reps = 0 if cue.kind == CueKind.ENTER else self.repeats(cue.prompt_id)
        return self.track(cue.prompt_id), self.duration_s(cue.prompt_id), reps

    def encode(self, cue: Cue) -> list[MissionItem]:
        """Mission items that make the speaker do what ``cue`` asks (empty for ``none``)."""
        if self.encoding == "none":
            return []
        if cue.kind == CueKind.LEAVE:
            return [] if cue.plays_on else self._stop(cue)
        if cue.prompt_id is None:
            return []
        t = self.track(cue.prompt_id)
        action = ACTION_LOOP if cue.kind == CueKind.ENTER else ACTION_PLAY
        n = 0 if action == ACTION_LOOP else self.repeats(cue.prompt_id)
        note = f"{'loop' if action == ACTION_LOOP else 'play'} {cue.prompt_id} ({self.lang}) #{t}"
        if self.encoding == "script":
            dur = round(self.duration_s(cue.prompt_id), 1)
            return [MissionItem(mav.MAV_CMD_DO_SEND_SCRIPT_MESSAGE, FRAME, action, t, n, dur, note=note)]
        if self.encoding == "relay":
            if t not in self.relay_by_track:
                raise InputError(
                    _("--speaker relay: no relay for track {t} ({prompt_id}); map it with --relay").format(
                        t=t, prompt_id=cue.prompt_id
                    )
                )
            return [MissionItem(mav.MAV_CMD_DO_SET_RELAY, FRAME, self.relay_by_track[t], 1, note=note)]
        if t not in self.pwm_by_track:
            raise InputError(
                _("--speaker servo: no PWM for track {t} ({prompt_id}); map it with --servo-pwm").format(
                    t=t, prompt_id=cue.prompt_id
                )
            )
        return [MissionItem(mav.MAV_CMD_DO_SET_SERVO, FRAME, self.servo_channel, self.pwm_by_track[t], note=note)]

    def _stop(self, cue: Cue) -> list[MissionItem]:
        note = f"stop ({cue.compound_id})"
        if self.encoding == "script":
            return [MissionItem(mav.MAV_CMD_DO_SEND_SCRIPT_MESSAGE, FRAME, ACTION_STOP, 0, 0, 0, note=note)]
        if self.encoding == "relay":
            return [
                MissionItem(mav.MAV_CMD_DO_SET_RELAY, FRAME, r, 0, note=note)
                for r in sorted(set(self.relay_by_track.values()))
            ]
        return [MissionItem(mav.MAV_CMD_DO_SET_SERVO, FRAME, self.servo_channel, self.stop_pwm, note=note)]


def parse_track_map(text: str, what: str) -> dict[int, int]:
    """``"1:0,2:1"`` as ``{1: 0, 2: 1}`` (track -> relay number or PWM).

    >>> parse_track_map("1:1100,2:1200", "--servo-pwm")
    {1: 1100, 2: 1200}
    """
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            k, v = part.split(":")
            out[int(k)] = int(v)
        except ValueError:
            raise InputError(
                _("{what} {text}: give TRACK:VALUE pairs separated by commas, e.g. 1:1100,2:1200").format(
                    what=what, text=repr(text)
                )
            ) from None
    return out


REPEAT_GAP_S = 1.0


def timing_from_clips(cues: PromptCues) -> tuple[float, float]:
    """``(prompt_s, loiter_s)`` for the planner from the real clip lengths of the rules' prompts.

    A prompt looped while sweeping starts wherever the resident happens to come into range: only a
    window of two clip lengths is sure to hold one whole play, so ``prompt_s`` is twice the longest
    looped clip. A hotspot loiter lasts its prompt's repeats, each clip followed by a 1 s gap.
    """
    loops = [cues.duration_s(p) for p in set(cues.catalogue.enter.values())]
    spots = [cues.repeats(p) * (cues.duration_s(p) + REPEAT_GAP_S) for p in set(cues.catalogue.hotspot.values())]
    if not loops:
        raise InputError(
            _("{path}: no rules.enter prompts; say which prompt loops over each tier").format(path=cues.catalogue.path)
        )
    return 2.0 * max(loops), max(spots, default=0.0)
