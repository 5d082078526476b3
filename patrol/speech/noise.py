"""Street-like noise for the intelligibility check, mixed with a clip at a given signal-to-noise ratio.

Two noises, both seeded (the same clip, noise and SNR always make the same mixture):

* ``pink``: power falling 3 dB per octave, the usual stand-in for broadband environmental noise;
* ``traffic``: white noise shaped to the normalised road-traffic spectrum of EN 1793-3 (the A-weighted
  third-octave levels of ISO 717-1's traffic spectrum No. 2, 100 Hz to 5 kHz), most of its energy below
  1 kHz, where it masks the vowels and tones Mandarin carries.

The SNR is the planner's ``--snr-db``: A-weighted speech level over the A-weighted noise level, the
speech level measured over its active part (10 ms frames within 20 dB of the loudest, so pauses do not
make the speech look quieter than it sounds). Pure functions over numpy arrays.

>>> import numpy as np
>>> x = np.sin(2 * np.pi * 1000 * np.arange(22050) / 22050) * 0.1
>>> y = mix(x, 22050, "pink", 10.0)
>>> round(speech_level_db(x, 22050) - a_weighted_level_db(y - x, 22050), 1)
10.0
"""

from __future__ import annotations

import functools

import numpy as np

from patrol.i18n import N_, _

NOISES = (N_("pink"), N_("traffic"))  # noise kinds (translated where a figure is shown)
# EN 1793-3 normalised traffic noise spectrum: A-weighted third-octave band levels (dB, relative).
TRAFFIC_BANDS_HZ = (100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000)
TRAFFIC_DBA = (-20, -20, -18, -16, -15, -14, -13, -12, -11, -9, -8, -9, -10, -11, -13, -15, -16, -18)


def a_weight_db(f_hz: np.ndarray) -> np.ndarray:
    """The A-weighting of IEC 61672-1 at frequencies ``f_hz``, in dB (0 at 1 kHz)."""
    f2 = np.asarray(f_hz, dtype=float) ** 2
    num = 12194.0**2 * f2**2
    den = (f2 + 20.6**2) * np.sqrt((f2 + 107.7**2) * (f2 + 737.9**2)) * (f2 + 12194.0**2)
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.maximum(num / den, 1e-300)) + 2.00


def _a_weighted(x: np.ndarray, rate: int) -> np.ndarray:
    spec = np.fft.rfft(x)
    gain = 10 ** (a_weight_db(np.fft.rfftfreq(len(x), 1.0 / rate)) / 20.0)
    return np.fft.irfft(spec * gain, n=len(x))


def a_weighted_level_db(x: np.ndarray, rate: int) -> float:
    """A-weighted RMS level of ``x`` in dB re full scale."""
    y = _a_weighted(x, rate)
    return float(10 * np.log10(np.mean(y * y) + 1e-20))


def speech_level_db(x: np.ndarray, rate: int, window_s: float = 0.01, range_db: float = 20.0) -> float:
    """A-weighted level of the active part of ``x``: 10 ms frames within ``range_db`` of the loudest."""
    y = _a_weighted(x, rate)
    win = max(int(window_s * rate), 1)
    n = len(y) // win
    if n == 0:
        return a_weighted_level_db(x, rate)
    power = (y[: n * win].reshape(n, win) ** 2).mean(axis=1)
    loud = 10 * np.log10(power + 1e-20)
    active = power[loud >= loud.max() - range_db]
    return float(10 * np.log10(active.mean() + 1e-20))


@functools.cache
def _shape(kind: str, n: int, rate: int) -> np.ndarray:
    f = np.fft.rfftfreq(n, 1.0 / rate)
    if kind == "pink":
        amp = 1.0 / np.sqrt(np.maximum(f, 20.0))  # power ~ 1/f
    elif kind == "traffic":
        # band levels are A-weighted: take the weighting off, interpolate on a log-frequency axis
        unweighted = np.array(TRAFFIC_DBA, float) - a_weight_db(np.array(TRAFFIC_BANDS_HZ, float))
        logf = np.log10(np.clip(f, TRAFFIC_BANDS_HZ[0], TRAFFIC_BANDS_HZ[-1]))
        level = np.interp(logf, np.log10(TRAFFIC_BANDS_HZ), unweighted)
        # a third-octave band's width grows with f: a flat band level is a density falling as 1/f
        amp = 10 ** (level / 20.0) / np.sqrt(np.maximum(f, TRAFFIC_BANDS_HZ[0]))
        amp[f > 1.12 * TRAFFIC_BANDS_HZ[-1]] *= 10 ** (-12 / 20)  # beyond 5.6 kHz: rolled off, not cut
    else:
        raise ValueError(
            _("unknown noise {kind}; use one of {noises}").format(kind=repr(kind), noises=", ".join(NOISES))
        )
    amp[0] = 0.0
    return amp


def noise(kind: str, n: int, rate: int, seed: int = 0) -> np.ndarray:
    """``n`` samples of ``kind`` noise (``pink`` or ``traffic``) at unit RMS, the same for the same seed."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n)) * _shape(kind, n, rate)
    y = np.fft.irfft(spec, n=n)
    return y / (np.sqrt(np.mean(y * y)) + 1e-20)


def mix(x: np.ndarray, rate: int, kind: str, snr_db: float, seed: int = 0) -> np.ndarray:
    """``x`` with ``kind`` noise added ``snr_db`` below its active A-weighted speech level.

    The noise runs the whole clip; the sum is scaled down as a whole if it would clip (the SNR is kept).
    """
    n = noise(kind, len(x), rate, seed)
    gain_db = speech_level_db(x, rate) - snr_db - a_weighted_level_db(n, rate)
    y = x + n * 10 ** (gain_db / 20.0)
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    return y / peak * 0.99 if peak > 0.99 else y
