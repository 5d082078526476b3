"""Text-to-speech engines: pyttsx3 on espeak-ng, one clip per worker process.

``tts(text, lang)`` gives samples and rate; ``engine_version()`` names what made them (part of every
clip's cache key). Why each clip is synthesised in its own process is in
:mod:`patrol.speech.espeak_worker`.
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

from patrol.speech.audio import AudioError, read_wav

SPEECH_WPM = 150  # slower than espeak's 200: a loudspeaker overhead is heard through street noise
# Exact espeak-ng voice ids. Not "sit/cmn": Debian's espeak-ng 1.51 reads tone digits as English numbers
# with it (espeak-ng issue 1236); "sit/cmn-latn-pinyin" speaks Mandarin.
VOICES = {"zh": "sit/cmn-latn-pinyin", "en": "gmw/en"}
TTS_TIMEOUT_S = 60.0  # one clip; espeak-ng needs well under a second even on a busy machine


def require_espeak() -> None:
    """Raise one line naming the Debian packages when espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        raise AudioError("espeak-ng not found: install the Debian packages espeak-ng and libespeak-ng1")


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
        raise AudioError("pyttsx3 is not installed; run `make setup`") from None
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
            raise AudioError(f"text-to-speech of {text!r} ({lang}) did not finish in {timeout_s + 30:g} s") from None
        if res.returncode != 0:
            why = (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
            raise AudioError(f"text-to-speech of {text!r} ({lang}) failed: {why}")
        if not out.exists() or out.stat().st_size < 100:
            raise AudioError(f"pyttsx3 wrote no audio for {text!r} ({lang}); is libespeak-ng1 installed?")
        return read_wav(out)
