"""A prompt build: every clip of a catalogue, made (or taken from the cache) into a folder.

``build_files`` is pure apart from synthesis and the cache: it returns the clips and the files of the
build (``<prompt>.<lang>.wav``, ``sd/NNNN.wav`` for the speaker's SD card, ``manifest.json``);
``build_prompts`` writes them as a folder atomically; ``repair_build`` restores a damaged clip of a
shipped build from the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from patrol.errors import InputError, PatrolError
from patrol.speech import engines
from patrol.speech.audio import (
    PEAK_DBFS,
    RATE_HZ,
    TARGET_LUFS,
    check_clip,
    normalise,
    read_wav,
    resample,
    trim_silence,
    wav_bytes,
)
from patrol.speech.cache import PromptCache, recipe_key
from patrol.speech.catalogue import Build, Catalogue, Clip


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ClipJob:
    """What one clip is made from: a prompt in one language, spoken (``text``) or recorded (``clip``)."""

    prompt_id: str
    lang: str
    text: str | None = None
    clip: Path | None = None
    where: str = ""  # names the catalogue entry in error messages

    def recipe(self) -> dict:
        """Everything that decides the clip's bytes (its cache key is the hash of this)."""
        common = {"lang": self.lang, "target_lufs": TARGET_LUFS, "peak_dbfs": PEAK_DBFS, "rate_hz": RATE_HZ}
        if self.clip is not None:
            try:
                digest = _sha256(self.clip.read_bytes())
            except FileNotFoundError:
                raise InputError(f"{self.where}: clip not found") from None
            return {**common, "kind": "recorded", "clip_sha256": digest}
        voice = engines.VOICES[self.lang]
        return {
            **common,
            "kind": "tts",
            "engine": engines.ENGINE,
            "engine_version": engines.engine_version(),
            "voice": voice,
            "rate_wpm": engines.SPEECH_WPM,
            "text": self.text,
        }

    @property
    def source(self) -> str:
        """``recorded:<file>`` or ``tts:<voice id>``, as the build manifest says it."""
        return f"recorded:{self.clip.name}" if self.clip is not None else f"tts:{engines.VOICES[self.lang]}"


def render_clip(job: ClipJob) -> bytes:
    """The shipped WAV bytes of ``job``: recorded or synthesised, trimmed, resampled, normalised."""
    if job.clip is not None:
        x, rate = read_wav(job.clip)
        check_clip(x, rate, job.where)
    else:
        assert job.text is not None
        x, rate = engines.tts(job.text, job.lang)
    x = trim_silence(resample(x, rate), RATE_HZ)
    check_clip(x, RATE_HZ, f"prompt {job.prompt_id} ({job.lang})")
    return wav_bytes(normalise(x, RATE_HZ))


def clip_bytes(job: ClipJob, cache: PromptCache | None = None) -> tuple[bytes, str]:
    """``job``'s WAV bytes and cache key: from the cache when it holds them whole, else made and stored."""
    recipe = job.recipe()
    key = recipe_key(recipe)
    if cache is not None and (data := cache.get(key)) is not None:
        return data, key
    data = render_clip(job)
    if cache is not None:
        cache.put(key, data, recipe)
    return data, key


def catalogue_jobs(cat: Catalogue) -> list[ClipJob]:
    """One job per clip of the catalogue, in track order (catalogue order, zh before en)."""
    jobs = []
    for p in cat.prompts:
        for lang in ("zh", "en"):
            if lang in p.clips:
                jobs.append(
                    ClipJob(
                        p.id, lang, clip=p.clips[lang], where=f"{cat.path}: prompt {p.id} clip.{lang} ({p.clips[lang]})"
                    )
                )
            elif lang in p.texts:
                jobs.append(ClipJob(p.id, lang, text=p.texts[lang], where=f"{cat.path}: prompt {p.id} text.{lang}"))
    return jobs


def build_files(
    cat: Catalogue, cache: PromptCache | None = None, workers: int | None = None
) -> tuple[tuple[Clip, ...], dict[str, str | bytes]]:
    """Every clip of the catalogue, and the files of its build folder (relative names to contents).

    Files: ``<prompt>.<lang>.wav`` plus ``sd/NNNN.wav`` (the same clip under its speaker track number,
    for the SD card of a serial MP3/WAV module) and ``manifest.json``. Tracks are numbered in catalogue
    order, zh before en. Clips come from ``cache`` where it holds them (no synthesis at all on a full
    hit); the others are made ``workers`` at a time (default: one per core) and stored in it.
    """
    jobs = catalogue_jobs(cat)
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        made = list(pool.map(lambda j: clip_bytes(j, cache), jobs))
    files: dict[str, str | bytes] = {}
    clips = []
    for track, (job, (data, key)) in enumerate(zip(jobs, made, strict=True), start=1):
        name = f"{job.prompt_id}.{job.lang}.wav"
        files[name] = data
        files[f"sd/{track:04d}.wav"] = data
        dur = (len(data) - 44) / 2 / RATE_HZ
        engine = "recorded" if job.clip is not None else f"{engines.ENGINE} ({engines.engine_version()})"
        clips.append(
            Clip(job.prompt_id, job.lang, name, track, round(dur, 3), RATE_HZ, _sha256(data), job.source, engine, key)
        )
    manifest = {
        "catalogue": str(cat.path),
        "catalogue_sha256": _sha256(cat.path.read_bytes()),
        "target_lufs": TARGET_LUFS,
        "peak_dbfs": PEAK_DBFS,
        "voices": engines.VOICES,
        "clips": [asdict(c) for c in clips],
    }
    files["manifest.json"] = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    return tuple(clips), files


def build_prompts(
    cat: Catalogue,
    out_dir: str | Path,
    overwrite: bool = False,
    cache: PromptCache | None = None,
    workers: int | None = None,
) -> Build:
    """Make every clip of the catalogue into the folder ``out_dir`` atomically (:func:`build_files`)."""
    from patrol.atomic import write_folder

    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise PatrolError(f"{out}: already exists; pass --force to replace it")
    clips, files = build_files(cat, cache, workers)
    write_folder(files, out, overwrite=overwrite)
    return Build(out, str(cat.path), clips)


def repair_build(build: Build, cache: PromptCache | None = None) -> list[str]:
    """Check every clip of ``build`` against its manifest sha256; restore a missing or damaged one.

    A bad clip is put back from ``cache`` (by its recorded cache key) when the cache holds the same
    bytes; the returned lines say what was restored. A clip that cannot be restored raises
    :class:`InputError` naming it, so a speaker never plays a damaged file.
    """
    from patrol.atomic import write_bytes

    restored = []
    for c in build.clips:
        names = [c.file, f"sd/{c.track:04d}.wav"]
        for name in names:
            f = build.folder / name
            try:
                ok = _sha256(f.read_bytes()) == c.sha256
            except FileNotFoundError:
                ok = False
            if ok:
                continue
            data = cache.get(c.cache_key) if cache is not None and c.cache_key else None
            if data is None or _sha256(data) != c.sha256:
                raise InputError(
                    f"{f}: missing or damaged (sha256 differs from {build.folder / 'manifest.json'}) and not in the "
                    "prompt cache; re-plan the package or run `patrol prompts build`"
                )
            write_bytes(f, data)
            restored.append(f"{f}: was missing or damaged; restored from the prompt cache")
    return restored
