"""The check's street noise: the right spectra, the asked-for SNR, the same mixture every time."""

from __future__ import annotations

import numpy as np
import pytest

from patrol.speech.noise import (
    TRAFFIC_BANDS_HZ,
    TRAFFIC_DBA,
    a_weight_db,
    a_weighted_level_db,
    mix,
    noise,
    speech_level_db,
)

RATE = 22050


def _band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(10 * np.log10(spec[(f >= lo) & (f < hi)].sum()))


def test_a_weighting_matches_iec_61672_table():
    got = a_weight_db(np.array([100.0, 1000.0, 4000.0]))
    assert got == pytest.approx([-19.1, 0.0, 1.0], abs=0.1)


def test_pink_noise_loses_3_db_per_octave_band_density_but_keeps_equal_power_per_octave():
    x = noise("pink", 4 * RATE, RATE, seed=1)
    octaves = [_band_db(x, f, 2 * f) for f in (125, 250, 500, 1000, 2000, 4000)]
    assert max(octaves) - min(octaves) < 1.0  # equal energy per octave is what 1/f power means


def test_traffic_noise_has_the_en_1793_3_spectrum():
    x = noise("traffic", 8 * RATE, RATE, seed=1)
    bands = np.array(TRAFFIC_BANDS_HZ, float)
    got = np.array([_band_db(x, f / 2 ** (1 / 6), f * 2 ** (1 / 6)) for f in bands]) + a_weight_db(bands)
    want = np.array(TRAFFIC_DBA, float)
    assert np.abs((got - got.max()) - (want - want.max())).max() < 1.5


@pytest.mark.parametrize("kind", ["pink", "traffic"])
@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_mix_puts_the_noise_exactly_snr_below_the_active_speech(kind, snr_db):
    t = np.arange(2 * RATE) / RATE
    speech = 0.2 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0)  # bursts with pauses
    y = mix(speech, RATE, kind, snr_db, seed=3)
    assert speech_level_db(speech, RATE) - a_weighted_level_db(y - speech, RATE) == pytest.approx(snr_db, abs=0.05)
    assert np.array_equal(y, mix(speech, RATE, kind, snr_db, seed=3))
    assert not np.array_equal(y, mix(speech, RATE, kind, snr_db, seed=4))
