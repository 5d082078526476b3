"""Prompt audio as signals: WAV in and out, resampling, loudness (ITU-R BS.1770), silence, playback.

Clips are mono 16-bit PCM WAV at 22,050 Hz (what espeak-ng produces, and what serial MP3/WAV speaker
modules such as the DFPlayer play), loudness-normalised to ``TARGET_LUFS`` (ITU-R BS.1770 via
pyloudnorm) with peaks kept under ``PEAK_DBFS``. Pure functions over numpy arrays, apart from the
readers, writers and :func:`play`.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from patrol import i18n
from patrol.errors import InputError, PatrolError

RATE_HZ = 22050
TARGET_LUFS = -16.0
PEAK_DBFS = -1.0
MIN_CLIP_S, MAX_CLIP_S = 0.5, 30.0
SILENCE_DBFS = -50.0


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
        raise InputError(i18n._("{p}: clip not found").format(p=p)) from None
    except (wave.Error, EOFError) as e:
        raise InputError(
            i18n._("{p}: not a PCM WAV file ({e}); convert it, e.g. `sox IN -b 16 OUT.wav`").format(p=p, e=e)
        ) from None
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
        raise InputError(i18n._("{p}: {n}-bit samples; use 16-bit PCM WAV").format(p=p, n=8 * width))
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
        raise InputError(
            i18n._("{name}: sample rate {rate} Hz is too low for speech; record at 16 kHz or more").format(
                name=name, rate=rate
            )
        )
    if not MIN_CLIP_S <= dur <= MAX_CLIP_S:
        raise InputError(
            i18n._("{name}: {dur} s long; a prompt must last {min_clip_s} to {max_clip_s} s").format(
                name=name,
                dur=format(dur, ".1f"),
                min_clip_s=format(MIN_CLIP_S, "g"),
                max_clip_s=format(MAX_CLIP_S, "g"),
            )
        )
    if level_dbfs(x) < SILENCE_DBFS:
        raise InputError(
            i18n._("{name}: silent (RMS {level_dbfs} dBFS); check the recording").format(
                name=name, level_dbfs=format(level_dbfs(x), ".0f")
            )
        )


def play(path: str | Path) -> bool:
    """Play a WAV through the sound device with ``aplay``; False when there is no player or device."""
    if shutil.which("aplay") is None:
        return False
    res = subprocess.run(["aplay", "-q", str(path)], capture_output=True, check=False)
    return res.returncode == 0
