"""Prompt audio is real: TTS in Mandarin and English, recorded clips checked, loudness normalised."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from patrol.errors import InputError
from patrol.speech.audio import RATE_HZ, TARGET_LUFS, level_dbfs, read_wav, wav_bytes
from patrol.speech.build import build_prompts
from patrol.speech.catalogue import read_build, read_catalogue
from patrol.speech.engines import VOICES, ipa, tts

CATALOGUE_TOML = """
version = 1
[[prompt]]
id = "mask-gather"
category = "mask"
text.zh = "请佩戴口罩，不要聚集。"
text.en = "Please wear a mask. Do not gather."
[[prompt]]
id = "recorded"
category = "vendor"
repeats = 2
clip.zh = "rec.wav"
[rules]
enter.scattered = "mask-gather"
hotspot.gate = "recorded"
"""


def _tone(path, seconds=1.5, rate=44100, channels=2, amp=0.3):
    t = np.arange(int(seconds * rate)) / rate
    x = amp * np.sin(2 * math.pi * 440 * t) * (0.5 + 0.5 * np.sin(2 * math.pi * 3 * t))
    pcm = np.repeat((x * 32767).astype("<i2")[:, None], channels, axis=1)
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def test_mandarin_voice_speaks_mandarin_and_the_trap_voice_does_not():
    text = "请佩戴口罩，不要聚集。"
    assert "(en)" not in ipa(text, VOICES["zh"])  # tones as tone marks, no English words
    assert "(en)" in ipa(text, "sit/cmn")  # Debian espeak-ng 1.51 reads the tone digits in English


@pytest.mark.parametrize(
    ("lang", "text", "lo_s", "hi_s"),
    [("zh", "请佩戴口罩，不要聚集。", 1.5, 5.0), ("en", "Please wear a mask. Do not gather.", 1.2, 4.0)],
)
def test_tts_is_speech_of_the_expected_length(lang, text, lo_s, hi_s):
    x, rate = tts(text, lang)
    dur = len(x) / rate
    assert lo_s <= dur <= hi_s, f"{lang}: {dur:.2f} s"
    assert level_dbfs(x) > -35.0
    # speech has pauses: the loudest 50 ms windows are far above the quietest ones
    win = int(0.05 * rate)
    frames = x[: len(x) // win * win].reshape(-1, win)
    rms = np.sqrt((frames**2).mean(axis=1))
    assert rms.max() > 10 * np.percentile(rms, 10) + 1e-6


def test_build_writes_normalised_clips_a_manifest_and_sd_tracks(tmp_path):
    (tmp_path / "cat.toml").write_text(CATALOGUE_TOML, encoding="utf-8")
    _tone(tmp_path / "rec.wav")
    build = build_prompts(read_catalogue(tmp_path / "cat.toml"), tmp_path / "out")
    assert [(c.prompt_id, c.lang, c.track) for c in build.clips] == [
        ("mask-gather", "zh", 1),
        ("mask-gather", "en", 2),
        ("recorded", "zh", 3),
    ]
    import pyloudnorm

    for c in build.clips:
        x, rate = read_wav(tmp_path / "out" / c.file)
        assert rate == RATE_HZ == c.sample_rate
        assert abs(len(x) / rate - c.duration_s) < 0.01
        assert pyloudnorm.Meter(rate).integrated_loudness(x) == pytest.approx(TARGET_LUFS, abs=1.0)
        assert np.max(np.abs(x)) <= 10 ** (-1 / 20) + 1e-3
        assert (tmp_path / "out" / "sd" / f"{c.track:04d}.wav").read_bytes() == (tmp_path / "out" / c.file).read_bytes()
    rec = build.clip("recorded", "zh")
    assert rec.source == "recorded:rec.wav" and rec.duration_s == pytest.approx(1.5, abs=0.25)
    assert read_build(tmp_path / "out") == build
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(man["clips"]) == 3 and len(man["clips"][0]["sha256"]) == 64


@pytest.mark.parametrize(
    ("kind", "needle"),
    [("silent", "silent"), ("short", "must last"), ("garbage", "not a PCM WAV")],
)
def test_bad_recorded_clips_are_refused_naming_the_prompt(tmp_path, kind, needle):
    (tmp_path / "cat.toml").write_text(CATALOGUE_TOML, encoding="utf-8")
    if kind == "silent":
        _tone(tmp_path / "rec.wav", amp=0.0)
    elif kind == "short":
        _tone(tmp_path / "rec.wav", seconds=0.2)
    else:
        (tmp_path / "rec.wav").write_bytes(b"ID3 not a wave file")
    with pytest.raises(InputError, match=needle):
        build_prompts(read_catalogue(tmp_path / "cat.toml"), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        (('category = "mask"', 'category = "noise"'), "category 'noise' is not one of"),
        (('enter.scattered = "mask-gather"', 'enter.scattered = "nope"'), "names prompt 'nope'"),
        (('id = "recorded"', 'id = "mask-gather"'), "is used twice"),
        (("repeats = 2", "repeats = 0"), "repeats 0 must be"),
    ],
)
def test_bad_catalogues_get_one_line(tmp_path, patch, needle):
    (tmp_path / "cat.toml").write_text(CATALOGUE_TOML.replace(*patch), encoding="utf-8")
    with pytest.raises(InputError, match=needle):
        read_catalogue(tmp_path / "cat.toml")


def test_shipped_catalogue_has_the_2020_warnings_in_both_languages():
    cat = read_catalogue()
    texts = {p.texts["zh"] for p in cat.prompts}
    assert {
        "请佩戴口罩，不要聚集。",
        "疫情期间，请减少外出。",
        "请勿在小区门口摆摊。",
        "进出小区请测量体温并登记。",
    } <= texts
    assert all(set(p.texts) == {"zh", "en"} for p in cat.prompts)
    assert set(cat.enter) == {"closed", "guarded", "scattered"} and set(cat.hotspot) == {"gate", "square"}


def test_wav_round_trip_is_exact_for_16_bit():
    x = np.linspace(-0.5, 0.5, 1000)
    import io
    import wave

    with wave.open(io.BytesIO(wav_bytes(x)), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, RATE_HZ, 1000)
