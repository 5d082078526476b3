"""The intelligibility check: every clip transcribed offline, in quiet and in street noise, scored against its text.

A clip passes when the recogniser's character error rate (Mandarin) or word error rate (English) against
the prompt's text is at most ``max_cer`` (0.15), in quiet and mixed with each noise at the plan's margin
``snr_db`` (:mod:`patrol.speech.noise`). Whisper base is a stricter listener than a resident who knows
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
NOISE_SEED = 2020


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
            "metric": {"zh": "character error rate", "en": "word error rate"},
        }

    def _heard(self, data: bytes, reference: str, lang: str, condition: str) -> str:
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
            kind, snr = condition.split("@")
            x = mix(x, rate, kind, float(snr), NOISE_SEED)
        heard = self.recogniser.transcribe(x, rate, lang)
        self.runs += 1
        if path is not None:
            _store(path, {"heard": heard, "condition": condition, "lang": lang, "reference": reference})
        return heard

    def wants(self, lang: str) -> bool:
        """Whether clips in ``lang`` are checked."""
        return self.langs is None or lang in self.langs

    def check_clip(self, data: bytes, reference: str | None, lang: str, noise: bool = True) -> dict:
        """The figures of one clip: ``{"metric", "error_rate", "heard", "noise": {kind: {...}}, "passed"}``.

        A clip without a reference text (a recording with no ``text.<lang>``) is transcribed but not
        scored (``error_rate`` None) and does not pass.
        """
        metric = "cer" if lang == "zh" else "wer"
        heard = self._heard(data, reference or "", lang, "quiet")
        if not reference:
            return {"metric": metric, "error_rate": None, "heard": heard, "passed": False, "note": NO_TEXT}
        out: dict = {"metric": metric, "error_rate": recognise.error_rate(reference, heard, lang), "heard": heard}
        if self.snr_db is not None and noise:
            out["noise"] = {}
            for kind in self.noises:
                h = self._heard(data, reference, lang, f"{kind}@{self.snr_db:g}")
                out["noise"][kind] = {
                    "snr_db": self.snr_db,
                    "error_rate": recognise.error_rate(reference, h, lang),
                    "heard": h,
                }
        out["worst"] = max([out["error_rate"], *(v["error_rate"] for v in out.get("noise", {}).values())])
        out["passed"] = out["worst"] <= self.max_cer
        return out


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
    """Every clip of a build folder checked against the text its manifest records."""
    out = []
    for c in build.clips:
        if checker.wants(c.lang):
            out.append((c, checker.check_clip((build.folder / c.file).read_bytes(), c.text or None, c.lang)))
    return out


def figures_table(rows: list[tuple[Clip, dict]], noises: tuple[str, ...]) -> str:
    """One line per clip: track, prompt, language, engine, error rate in quiet and in each noise, what was heard."""
    cols = [pad(_("prompt"), 18), pad(_("lang"), 4), pad(_("engine"), 8), pad(_("quiet"), 6, right=True)]
    head = " ".join(["  #", *cols, *(pad(_(n), 8, right=True) for n in noises)])
    lines = [head + "  " + _("heard")]
    for c, f in rows:
        rate = f.get("error_rate")
        cells = [f"{rate:6.2f}" if rate is not None else f"{'-':>6s}"]
        cells += [f"{f['noise'][n]['error_rate']:8.2f}" if n in f.get("noise", {}) else f"{'-':>8s}" for n in noises]
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
