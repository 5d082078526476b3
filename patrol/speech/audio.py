"""Prompt audio: text-to-speech, recorded-clip checks, loudness normalisation, the build folder.

Clips are mono 16-bit PCM WAV at 22,050 Hz (what espeak-ng produces, and what serial MP3/WAV speaker
modules such as the DFPlayer play), loudness-normalised to ``TARGET_LUFS`` (ITU-R BS.1770 via
pyloudnorm) with peaks kept under ``PEAK_DBFS``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from patrol.errors import InputError, PatrolError
from patrol.speech.cache import PromptCache, recipe_key
from patrol.speech.catalogue import Build, Catalogue, Clip

RATE_HZ = 22050
TARGET_LUFS = -16.0
PEAK_DBFS = -1.0
SPEECH_WPM = 150  # slower than espeak's 200: a loudspeaker overhead is heard through street noise
# Exact espeak-ng voice ids. Not "sit/cmn": Debian's espeak-ng 1.51 reads tone digits as English numbers
# with it (espeak-ng issue 1236); "sit/cmn-latn-pinyin" speaks Mandarin.
VOICES = {"zh": "sit/cmn-latn-pinyin", "en": "gmw/en"}
MIN_CLIP_S, MAX_CLIP_S = 0.5, 30.0
SILENCE_DBFS = -50.0
TTS_TIMEOUT_S = 60.0  # one clip; espeak-ng needs well under a second even on a busy machine


class AudioError(PatrolError):
    """Audio could not be made or is unusable (the message names the clip and the fix)."""


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as float64 mono in [-1, 1] and the sample rate; PCM 8/16/24/32-bit WAV only."""
    p = Path(path)
    try:
        with wave.open(str(p), "rb") as w:
            ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(n)
    except FileNotFoundError:
        raise InputError(f"{p}: clip not found") from None
    except (wave.Error, EOFError) as e:
        raise InputError(f"{p}: not a PCM WAV file ({e}); convert it, e.g. `sox IN -b 16 OUT.wav`") from None
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)
    else:
        raise InputError(f"{p}: {8 * width}-bit samples; use 16-bit PCM WAV")
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return x, rate


def wav_bytes(x: np.ndarray, rate: int = RATE_HZ) -> bytes:
    """16-bit mono PCM WAV bytes of samples ``x`` in [-1, 1]."""
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def resample(x: np.ndarray, rate_in: int, rate_out: int = RATE_HZ) -> np.ndarray:
    """``x`` at ``rate_out`` (polyphase, anti-aliased)."""
    if rate_in == rate_out:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    return resample_poly(x, rate_out // g, rate_in // g)


def level_dbfs(x: np.ndarray) -> float:
    """RMS level of ``x`` in dBFS (-inf for digital silence)."""
    rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def trim_silence(x: np.ndarray, rate: int, floor_dbfs: float = SILENCE_DBFS, keep_s: float = 0.1) -> np.ndarray:
    """``x`` without leading and trailing silence (keeping ``keep_s`` of it at each end)."""
    win = max(int(0.01 * rate), 1)
    n = len(x) // win
    if n == 0:
        return x
    frames = x[: n * win].reshape(n, win)
    loud = 20 * np.log10(np.sqrt((frames * frames).mean(axis=1)) + 1e-12) > floor_dbfs
    if not loud.any():
        return x[:0]
    first, last = int(np.argmax(loud)), int(n - 1 - np.argmax(loud[::-1]))
    pad = int(keep_s * rate)
    return x[max(first * win - pad, 0) : min((last + 1) * win + pad, len(x))]


def limit_peaks(x: np.ndarray, rate: int, peak_dbfs: float = PEAK_DBFS, window_s: float = 0.005) -> np.ndarray:
    """``x`` with peaks above ``peak_dbfs`` brought down by a smooth gain (a look-ahead limiter)."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    limit = 10 ** (peak_dbfs / 20.0)
    over = np.maximum(np.abs(x) / limit, 1.0)
    n = max(int(window_s * rate), 1)
    env = uniform_filter1d(maximum_filter1d(over, size=2 * n + 1), size=n)
    env = np.maximum(env, over)  # never let a sample through above the limit
    return x / env


def normalise(x: np.ndarray, rate: int, target_lufs: float = TARGET_LUFS, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """``x`` at ``target_lufs`` integrated loudness (BS.1770) with peaks limited to ``peak_dbfs``.

    Speech has a high crest factor: gain alone would clip, so gain and a limiter alternate until the
    loudness is within 0.2 LU of the target (a few passes).
    """
    import pyloudnorm

    meter = pyloudnorm.Meter(rate)
    y = x
    for _ in range(6):
        loud = meter.integrated_loudness(y) if len(y) >= int(0.4 * rate) else level_dbfs(y)
        if not np.isfinite(loud) or abs(loud - target_lufs) < 0.2:
            break
        y = limit_peaks(y * 10 ** ((target_lufs - loud) / 20.0), rate, peak_dbfs)
    return limit_peaks(y, rate, peak_dbfs)


def check_clip(x: np.ndarray, rate: int, name: str) -> None:
    """Refuse a clip that is too short, too long or silent, naming it."""
    dur = len(x) / rate
    if rate < 8000:
        raise InputError(f"{name}: sample rate {rate} Hz is too low for speech; record at 16 kHz or more")
    if not MIN_CLIP_S <= dur <= MAX_CLIP_S:
        raise InputError(f"{name}: {dur:.1f} s long; a prompt must last {MIN_CLIP_S:g} to {MAX_CLIP_S:g} s")
    if level_dbfs(x) < SILENCE_DBFS:
        raise InputError(f"{name}: silent (RMS {level_dbfs(x):.0f} dBFS); check the recording")


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ClipJob:
    """What one clip is made from: a prompt in one language, spoken (``text``) or recorded (``clip``)."""

    prompt_id: str
    lang: str
    text: str | None = None
    clip: Path | None = None
    where: str = ""  # names the catalogue entry in error messages

    def recipe(self) -> dict:
        """Everything that decides the clip's bytes (its cache key is the hash of this)."""
        common = {"lang": self.lang, "target_lufs": TARGET_LUFS, "peak_dbfs": PEAK_DBFS, "rate_hz": RATE_HZ}
        if self.clip is not None:
            try:
                digest = _sha256(self.clip.read_bytes())
            except FileNotFoundError:
                raise InputError(f"{self.where}: clip not found") from None
            return {**common, "kind": "recorded", "clip_sha256": digest}
        voice = VOICES[self.lang]
        return {
            **common,
            "kind": "tts",
            "engine": ENGINE,
            "engine_version": engine_version(),
            "voice": voice,
            "rate_wpm": SPEECH_WPM,
            "text": self.text,
        }

    @property
    def source(self) -> str:
        """``recorded:<file>`` or ``tts:<voice id>``, as the build manifest says it."""
        return f"recorded:{self.clip.name}" if self.clip is not None else f"tts:{VOICES[self.lang]}"


def render_clip(job: ClipJob) -> bytes:
    """The shipped WAV bytes of ``job``: recorded or synthesised, trimmed, resampled, normalised."""
    if job.clip is not None:
        x, rate = read_wav(job.clip)
        check_clip(x, rate, job.where)
    else:
        assert job.text is not None
        x, rate = tts(job.text, job.lang)
    x = trim_silence(resample(x, rate), RATE_HZ)
    check_clip(x, RATE_HZ, f"prompt {job.prompt_id} ({job.lang})")
    return wav_bytes(normalise(x, RATE_HZ))


def clip_bytes(job: ClipJob, cache: PromptCache | None = None) -> tuple[bytes, str]:
    """``job``'s WAV bytes and cache key: from the cache when it holds them whole, else made and stored."""
    recipe = job.recipe()
    key = recipe_key(recipe)
    if cache is not None and (data := cache.get(key)) is not None:
        return data, key
    data = render_clip(job)
    if cache is not None:
        cache.put(key, data, recipe)
    return data, key


def catalogue_jobs(cat: Catalogue) -> list[ClipJob]:
    """One job per clip of the catalogue, in track order (catalogue order, zh before en)."""
    jobs = []
    for p in cat.prompts:
        for lang in ("zh", "en"):
            if lang in p.clips:
                jobs.append(
                    ClipJob(
                        p.id, lang, clip=p.clips[lang], where=f"{cat.path}: prompt {p.id} clip.{lang} ({p.clips[lang]})"
                    )
                )
            elif lang in p.texts:
                jobs.append(ClipJob(p.id, lang, text=p.texts[lang], where=f"{cat.path}: prompt {p.id} text.{lang}"))
    return jobs


def build_prompts(
    cat: Catalogue,
    out_dir: str | Path,
    overwrite: bool = False,
    cache: PromptCache | None = None,
    workers: int | None = None,
) -> Build:
    """Make every clip of the catalogue into ``out_dir`` atomically and return the build.

    Files: ``<prompt>.<lang>.wav`` plus ``sd/NNNN.wav`` (the same clip under its speaker track number,
    for the SD card of a serial MP3/WAV module) and ``manifest.json``. Tracks are numbered in catalogue
    order, zh before en. Clips come from ``cache`` where it holds them (no synthesis at all on a full
    hit); the others are made ``workers`` at a time (default: one per core) and stored in it.
    """
    from patrol.atomic import write_folder

    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise PatrolError(f"{out}: already exists; pass --force to replace it")
    jobs = catalogue_jobs(cat)
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        made = list(pool.map(lambda j: clip_bytes(j, cache), jobs))
    files: dict[str, str | bytes] = {}
    clips = []
    for track, (job, (data, key)) in enumerate(zip(jobs, made, strict=True), start=1):
        name = f"{job.prompt_id}.{job.lang}.wav"
        files[name] = data
        files[f"sd/{track:04d}.wav"] = data
        dur = (len(data) - 44) / 2 / RATE_HZ
        engine = "recorded" if job.clip is not None else f"{ENGINE} ({engine_version()})"
        clips.append(
            Clip(job.prompt_id, job.lang, name, track, round(dur, 3), RATE_HZ, _sha256(data), job.source, engine, key)
        )
    manifest = {
        "catalogue": str(cat.path),
        "catalogue_sha256": _sha256(cat.path.read_bytes()),
        "target_lufs": TARGET_LUFS,
        "peak_dbfs": PEAK_DBFS,
        "voices": VOICES,
        "clips": [asdict(c) for c in clips],
    }
    files["manifest.json"] = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_folder(files, out, overwrite=overwrite)
    return Build(out, str(cat.path), tuple(clips))


def repair_build(build: Build, cache: PromptCache | None = None) -> list[str]:
    """Check every clip of ``build`` against its manifest sha256; restore a missing or damaged one.

    A bad clip is put back from ``cache`` (by its recorded cache key) when the cache holds the same
    bytes; the returned lines say what was restored. A clip that cannot be restored raises
    :class:`InputError` naming it, so a speaker never plays a damaged file.
    """
    from patrol.atomic import write_bytes

    restored = []
    for c in build.clips:
        names = [c.file, f"sd/{c.track:04d}.wav"]
        for name in names:
            f = build.folder / name
            try:
                ok = _sha256(f.read_bytes()) == c.sha256
            except FileNotFoundError:
                ok = False
            if ok:
                continue
            data = cache.get(c.cache_key) if cache is not None and c.cache_key else None
            if data is None or _sha256(data) != c.sha256:
                raise InputError(
                    f"{f}: missing or damaged (sha256 differs from {build.folder / 'manifest.json'}) and not in the "
                    "prompt cache; re-plan the package or run `patrol prompts build`"
                )
            write_bytes(f, data)
            restored.append(f"{f}: was missing or damaged; restored from the prompt cache")
    return restored


def play(path: str | Path) -> bool:
    """Play a WAV through the sound device with ``aplay``; False when there is no player or device."""
    if shutil.which("aplay") is None:
        return False
    res = subprocess.run(["aplay", "-q", str(path)], capture_output=True, check=False)
    return res.returncode == 0
