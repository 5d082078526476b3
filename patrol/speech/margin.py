"""The margin over street noise a plan's warnings need, decided from their measured figures.

The planner's audible radius is where the warning stands ``--snr-db`` above the ambient noise; the check
measures whether the clips are understood at that margin (:mod:`patrol.speech.check`). When they are not,
the prediction "heard whole within the radius" would be false. So the plan is made at the lowest margin of
a small ladder (``--snr-db``, then the steps of ``check.SNR_LADDER_DB`` above it) at which *every* clip the
plan broadcasts passes in quiet and in every noise on the held-out realisation: the radius shrinks with it
and the prediction stays true. When no step makes them all pass, the plan stays at ``--snr-db`` and the
clips are named in warnings, as before (``used_db`` None).

:func:`decide_margin` is pure: it reads figures and says which are still missing (``to_measure``);
:func:`settle_margin` measures those and decides again until nothing is missing.

>>> decide_margin({"vendor-gate": {10.0: 0.2, 12.0: 0.1}}, 10.0).used_db
12.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from patrol.speech.check import MAX_CER, SNR_LADDER_DB
from patrol.types import Speaker


@dataclass(frozen=True)
class Margin:
    """What the clips need: the margin asked (``requested_db``), the one to plan at (``used_db``, None when no
    step passes), each clip's own lowest passing step (``needs_db``, None: none measured passes), the steps
    tried (``steps_db``), the figures the decision read (``figures``: clip -> margin -> worst error rate) and
    the (clip, margin) figures still missing (``to_measure``; empty once decided)."""

    requested_db: float
    used_db: float | None
    needs_db: dict[str, float | None]
    steps_db: tuple[float, ...]
    figures: dict[str, dict[float, float]] = field(default_factory=dict)
    to_measure: tuple[tuple[str, float], ...] = ()
    not_flown: str = ""  # why the planner could not plan at used_db (it then plans at requested_db)

    @property
    def planned_db(self) -> float:
        """The margin the planner uses: ``used_db``, or ``requested_db`` when no step passes or it cannot be flown."""
        return self.used_db if self.used_db is not None and not self.not_flown else self.requested_db

    @property
    def raised(self) -> bool:
        """Whether the plan is made at a higher margin than asked."""
        return self.planned_db > self.requested_db

    def record(self) -> dict:
        """The package manifest's record of the decision."""
        return {
            "requested_snr_db": self.requested_db,
            "needed_snr_db": self.used_db,
            "used_snr_db": self.planned_db,
            "every_clip_passes": self.used_db is not None,
            "not_flown": self.not_flown or None,
            "ladder_db": list(self.steps_db),
            "clips": {c: _clip_record(self.needs_db.get(c), f) for c, f in sorted(self.figures.items())},
        }


def _clip_record(needs_db: float | None, figures: dict[float, float]) -> dict:
    return {"needs_snr_db": needs_db, "worst_by_snr_db": {f"{s:g}": w for s, w in sorted(figures.items())}}


def ladder_steps(requested_db: float, ladder: tuple[float, ...] = SNR_LADDER_DB) -> tuple[float, ...]:
    """The margins tried, in order: the one asked, then every step of ``ladder`` above it."""
    return (requested_db, *sorted(s for s in ladder if s > requested_db))


def decide_margin(
    figures: Mapping[str, Mapping[float, float]],
    requested_db: float,
    max_cer: float = MAX_CER,
    ladder: tuple[float, ...] = SNR_LADDER_DB,
) -> Margin:
    """The lowest step at which every clip of ``figures`` (clip -> margin dB -> worst error rate over quiet and
    every noise) is at most ``max_cer``.

    Steps are read in order; at the first step where some clip has no figure the decision stops and names the
    missing (clip, step) pairs in ``to_measure`` (``used_db`` None). No clips: the requested margin.
    """
    steps = ladder_steps(requested_db, ladder)
    figs = {c: dict(f) for c, f in figures.items()}
    needs = {c: next((s for s in steps if s in f and f[s] <= max_cer), None) for c, f in figs.items()}
    for step in steps:
        missing = tuple((c, step) for c in sorted(figs) if step not in figs[c])
        if missing:
            return Margin(requested_db, None, needs, steps, figs, missing)
        if all(f[step] <= max_cer for f in figs.values()):
            return Margin(requested_db, step, needs, steps, figs)
    return Margin(requested_db, None, needs, steps, figs)


def settle_margin(
    figures: Mapping[str, Mapping[float, float]],
    measure: Callable[[str, float], float],
    requested_db: float,
    max_cer: float = MAX_CER,
    ladder: tuple[float, ...] = SNR_LADDER_DB,
) -> Margin:
    """:func:`decide_margin`, measuring each missing figure with ``measure(clip, margin_db)`` until none is."""
    figs = {c: dict(f) for c, f in figures.items()}
    while True:
        margin = decide_margin(figs, requested_db, max_cer, ladder)
        if not margin.to_measure:
            return margin
        for clip, step in margin.to_measure:
            figs[clip][step] = measure(clip, step)


def planning_speaker(speaker: Speaker, margin: Margin | None) -> Speaker:
    """``speaker`` at the margin the clips need (unchanged without a decision)."""
    return speaker if margin is None else replace(speaker, snr_db=margin.planned_db)


def not_flown(margin: Margin, why: str) -> Margin:
    """``margin`` whose needed step the planner cannot plan at (``why``, one line): it plans at the one asked."""
    return replace(margin, not_flown=why)
