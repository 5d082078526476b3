"""The intelligibility check: every clip transcribed offline, in quiet and in street noise, scored against its text.

A clip passes when the recogniser's character error rate (Mandarin) or word error rate (English) against
the prompt's text is at most ``max_cer`` (0.15), in quiet and mixed with each noise at the plan's margin
``snr_db`` (:mod:`patrol.speech.noise`). Two noise realisations: the build chooses among a neural clip's draws
on ``SELECT_SEED`` and every figure it reports is on the held-out ``NOISE_SEED``, so a reported figure is not a
best of several. A clip failing at ``snr_db`` is measured up the ladder ``SNR_LADDER_DB`` to the margin it
needs. Whisper base is a stricter listener than a resident who knows
the warning is coming, so a pass is a floor, not a guarantee; a fail is a clip nobody should fly with.

Transcripts are cached by the sha256 of the clip's bytes, the reference text, the condition (quiet, or
noise kind, SNR and seed) and the recogniser, under ``$XDG_CACHE_HOME/patrol/checks/``: the figure of a
cached clip is the figure of exactly those bytes, so a warm build is checked without running Whisper.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from patrol.errors import PatrolError
from patrol.i18n import N_, _, pad
from patrol.speech import recognise
from patrol.speech.audio import read_wav
from patrol.speech.noise import NOISES, mix

if TYPE_CHECKING:
    from patrol.speech.catalogue import Build, Clip

MAX_CER = 0.15
SNR_DB = 10.0
NOISE_SEED = 2020  # the held-out noise realisation: every figure reported is on it, none chooses a clip
SELECT_SEED = 2021  # the selection realisation: the build chooses among a clip's draws on it, never reports it
# The margins tried above --snr-db for the SNR a clip needs (patrol.speech.margin); the planner plans at the first
# one at which every clip it broadcasts passes in every noise.
SNR_LADDER_DB = (10.0, 12.0, 14.0, 17.0, 20.0)


@dataclass
class Checker:
    """Transcribes clips and scores them; ``store`` (a folder) keeps transcripts, None keeps nothing.

    ``langs`` limits the check to those languages (a plan checks the language it broadcasts); ``snr_db``
    None skips the noise check.
    """

    max_cer: float = MAX_CER
    snr_db: float | None = SNR_DB
    noises: tuple[str, ...] = NOISES
    langs: tuple[str, ...] | None = None
    store: Path | None = None
    recogniser: recognise.Recogniser | None = None
    runs: int = 0  # transcriptions made (not taken from the store)
    _id: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self._id = recognise.describe()

    def describe(self) -> dict:
        """The check's settings, as a build manifest records them."""
        return {
            "recogniser": self._id,
            "max_error_rate": self.max_cer,
            "snr_db": self.snr_db,
            "noises": list(self.noises) if self.snr_db is not None else [],
            "noise_seed": NOISE_SEED,
            "selection_noise_seed": SELECT_SEED,
            "snr_ladder_db": [s for s in SNR_LADDER_DB if self.snr_db is not None and s > self.snr_db],
            "metric": {"zh": "character error rate", "en": "word error rate"},
        }

    def _heard(self, data: bytes, reference: str, lang: str, condition: str, seed: int = NOISE_SEED) -> str:
        if condition != "quiet" and seed != NOISE_SEED:
            condition = f"{condition}#{seed}"  # the held-out seed's conditions keep the keys they always had
        key = hashlib.sha256(
            json.dumps([hashlib.sha256(data).hexdigest(), reference, lang, condition, self._id]).encode()
        ).hexdigest()
        path = self.store / key[:2] / f"{key}.json" if self.store is not None else None
        if path is not None and path.exists():
            try:
                return str(json.loads(path.read_text(encoding="utf-8"))["heard"])
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)
        if self.recogniser is None:
            self.recogniser = recognise.Recogniser()
        with tempfile.TemporaryDirectory(prefix="patrol-check-") as d:
            wav = Path(d) / "clip.wav"
            wav.write_bytes(data)
            x, rate = read_wav(wav)
        if condition != "quiet":
            kind, snr = condition.split("#")[0].split("@")
            x = mix(x, rate, kind, float(snr), seed)
        heard = self.recogniser.transcribe(x, rate, lang)
        self.runs += 1
        if path is not None:
            _store(path, {"heard": heard, "condition": condition, "lang": lang, "reference": reference})
        return heard

    def wants(self, lang: str) -> bool:
        """Whether clips in ``lang`` are checked."""
        return self.langs is None or lang in self.langs

    def check_clip(
        self,
        data: bytes,
        reference: str | None,
        lang: str,
        noise: bool = True,
        snr_db: float | None = None,
        seed: int = NOISE_SEED,
    ) -> dict:
        """The figures of one clip: ``{"metric", "error_rate", "heard", "noise": {kind: {...}}, "worst", "passed"}``.

        Noise at ``snr_db`` (default the checker's) on the realisation ``seed`` (default the held-out one).
        A clip without a reference text (a recording with no ``text.<lang>``) is transcribed but not
        scored (``error_rate`` None) and does not pass.
        """
        metric = "cer" if lang == "zh" else "wer"
        heard = self._heard(data, reference or "", lang, "quiet")
        if not reference:
            return {"metric": metric, "error_rate": None, "heard": heard, "passed": False, "note": NO_TEXT}
        out: dict = {"metric": metric, "error_rate": recognise.error_rate(reference, heard, lang), "heard": heard}
        snr = self.snr_db if snr_db is None else snr_db
        if snr is not None and noise:
            out["noise"] = self.noise_figures(data, reference, lang, snr, seed)
        out["worst"] = max([out["error_rate"], *(v["error_rate"] for v in out.get("noise", {}).values())])
        out["passed"] = out["worst"] <= self.max_cer
        return out

    def noise_figures(self, data: bytes, reference: str, lang: str, snr_db: float, seed: int = NOISE_SEED) -> dict:
        """``{kind: {"snr_db", "error_rate", "heard"}}``: the clip in each noise at ``snr_db``, realisation ``seed``."""
        out = {}
        for kind in self.noises:
            h = self._heard(data, reference, lang, f"{kind}@{snr_db:g}", seed)
            out[kind] = {"snr_db": snr_db, "error_rate": recognise.error_rate(reference, h, lang), "heard": h}
        return out

    def ladder(self, data: bytes, reference: str, lang: str, first: dict) -> list[dict]:
        """The clip on the held-out noise at each margin of ``SNR_LADDER_DB`` above the checker's, up to the
        first at which it passes: ``[{"snr_db", "worst", "noise": {kind: rate}}]`` (``worst`` counts quiet
        too), starting with the checker's own margin (``first``, the clip's :meth:`check_clip` figures there)."""
        if self.snr_db is None or "noise" not in first:
            return []
        steps = [{"snr_db": self.snr_db, **_step(first["noise"], first["error_rate"])}]
        for snr in (s for s in SNR_LADDER_DB if s > self.snr_db):
            if steps[-1]["worst"] <= self.max_cer:
                break
            steps.append({"snr_db": snr, **_step(self.noise_figures(data, reference, lang, snr), first["error_rate"])})
        return steps

    def climb(self, data: bytes, reference: str | None, lang: str, figures: dict) -> dict:
        """``figures`` with the clip's :meth:`ladder` (``ladder``) and the lowest margin it passes at
        (``needs_snr_db``, None when no step does); unchanged for a clip with no figure or no noise check."""
        if figures.get("error_rate") is None or not reference:
            return figures
        steps = self.ladder(data, reference, lang, figures)
        if steps:
            figures["ladder"] = steps
            figures["needs_snr_db"] = next((s["snr_db"] for s in steps if s["worst"] <= self.max_cer), None)
        return figures


def _step(noise: dict, quiet: float) -> dict:
    """One margin's figures: the worst of quiet and every noise (a clip not understood in quiet passes nowhere)."""
    rates = {k: v["error_rate"] for k, v in noise.items()}
    return {"worst": max([quiet, *rates.values()]), "noise": rates}


NO_TEXT = N_("no text to check")  # a clip's note in the build manifest (English there; translated when shown)


class IntelligibilityError(PatrolError):
    """Clips the recogniser does not understand well enough (exit status 3)."""

    exit_code = 3


def make_checker(
    enabled: bool = True,
    max_cer: float = MAX_CER,
    snr_db: float | None = SNR_DB,
    langs: tuple[str, ...] | None = None,
    cache_folder: Path | None = None,
) -> tuple[Checker | None, str | None]:
    """A :class:`Checker` when ``enabled`` and the recogniser is installed, else None and one line saying why.

    ``cache_folder`` is the patrol cache root (transcripts go to its ``checks/``); None keeps none.
    """
    if not enabled:
        return None, None
    if (why := recognise.unavailable()) is not None:
        return None, _("{why}: clips are not checked").format(why=why)
    store = cache_folder / "checks" if cache_folder is not None else None
    return Checker(max_cer=max_cer, snr_db=snr_db, langs=langs, store=store), None


def check_build(build: Build, checker: Checker) -> list[tuple[Clip, dict]]:
    """Every clip of a build folder checked against the text its manifest records, and up the margin ladder."""
    out = []
    for c in build.clips:
        if checker.wants(c.lang):
            data = (build.folder / c.file).read_bytes()
            out.append(
                (c, checker.climb(data, c.text or None, c.lang, checker.check_clip(data, c.text or None, c.lang)))
            )
    return out


def figures_table(rows: list[tuple[Clip, dict]], noises: tuple[str, ...]) -> str:
    """One line per clip: track, prompt, language, engine, error rate in quiet and in each noise, the margin over
    the noise it needs (dB, "-" when none of the ladder's), what was heard."""
    cols = [pad(_("prompt"), 18), pad(_("lang"), 4), pad(_("engine"), 8), pad(_("quiet"), 6, right=True)]
    head = " ".join(["  #", *cols, *(pad(_(n), 8, right=True) for n in noises), pad(_("needs dB"), 8, right=True)])
    lines = [head + "  " + _("heard")]
    for c, f in rows:
        rate = f.get("error_rate")
        cells = [f"{rate:6.2f}" if rate is not None else f"{'-':>6s}"]
        cells += [f"{f['noise'][n]['error_rate']:8.2f}" if n in f.get("noise", {}) else f"{'-':>8s}" for n in noises]
        needs = f.get("needs_snr_db")
        cells.append(f"{needs:8g}" if needs is not None else f"{'-':>8s}")
        engine = c.engine.split(" ")[0] if c.engine != "recorded" else _("recorded")
        engine = "espeak" if engine.startswith("pyttsx3") else engine
        lines.append(f"{c.track:>3d} {c.prompt_id:18s} {c.lang:4s} {pad(engine, 8)} {' '.join(cells)}  {f['heard']}")
    return "\n".join(lines)


def failures(checks: dict[tuple[str, str], dict] | list[tuple[str, str, dict | None]], max_cer: float) -> list[str]:
    """One line per clip whose figures are above ``max_cer`` (or that could not be scored)."""
    rows = checks.items() if isinstance(checks, dict) else [((p, lang), c) for p, lang, c in checks]
    lines = []
    for (pid, lang), c in rows:
        if c is None:
            continue
        if c.get("error_rate") is None:
            why = _(c["note"]) if c.get("note") else _("no figure")
            lines.append(_("{prompt} ({lang}): not checked: {why}").format(prompt=pid, lang=lang, why=why))
            continue
        worst = c.get("worst", c["error_rate"])
        if worst > max_cer:
            where, heard = _("in quiet"), c["heard"]
            if worst != c["error_rate"]:
                kind, f = max(c.get("noise", {}).items(), key=lambda kv: kv[1]["error_rate"])
                where = _("in {kind} noise at {snr_db} dB").format(kind=_(kind), snr_db=f"{f['snr_db']:g}")
                heard = f["heard"]
            lines.append(
                _("{prompt} ({lang}): {metric} {rate} {where}, above {max_cer}: heard {heard}").format(
                    prompt=pid,
                    lang=lang,
                    metric=c["metric"].upper(),
                    rate=f"{worst:.2f}",
                    where=where,
                    max_cer=f"{max_cer:g}",
                    heard=repr(heard),
                )
            )
    return lines


def _store(path: Path, doc: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        return  # a read-only cache must not stop a check
