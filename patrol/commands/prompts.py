"""``patrol prompts``: build the warnings' clips, check they are understood, play one, manage the prompt cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol import i18n
from patrol.commands.options import (
    CheckOpt,
    EngineOpt,
    ForceOpt,
    MaxCerOpt,
    NoCacheOpt,
    cache_report,
    check_report,
    one_line_errors,
    warn,
)

app = typer.Typer(help="The warnings: build clips from the catalogue, check them, play one.", no_args_is_help=True)
SnrCheckOpt = Annotated[
    float, typer.Option("--snr-db", help="Noise check: speech this many dB(A) over pink and traffic noise.")
]


@app.command("build")
@one_line_errors
def build(
    catalogue: Annotated[Path | None, typer.Argument(help="Prompt catalogue (TOML; default: the shipped one).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")] = Path("audio_prompts/build"),
    engine: EngineOpt = None,
    check: CheckOpt = True,
    max_cer: MaxCerOpt = 0.15,
    snr_db: SnrCheckOpt = 10.0,
    no_cache: NoCacheOpt = False,
    force: ForceOpt = False,
) -> None:
    """Text-to-speech (and recorded clips) to loudness-normalised WAV, each clip checked by a recogniser."""
    from patrol.speech.build import build_prompts, choose_voices
    from patrol.speech.cache import PromptCache
    from patrol.speech.catalogue import DEFAULT_CATALOGUE, read_catalogue
    from patrol.speech.check import make_checker
    from patrol.speech.engines import parse_engines

    cache = PromptCache(enabled=not no_cache)
    cat = read_catalogue(catalogue or DEFAULT_CATALOGUE)
    voices, notes = choose_voices(cat, parse_engines(engine))
    checker, why = make_checker(check, max_cer, snr_db, cache_folder=cache.root.parent if cache.enabled else None)
    for line in [*notes, *([why] if why else [])]:
        warn(line)
    built = build_prompts(cat, output, overwrite=force, cache=cache, voices=voices, checker=checker)
    for c in built.clips:
        rate = (
            f"  {c.check['metric'].upper()} {c.check['error_rate']:.2f}"
            if c.check and c.check["error_rate"] is not None
            else ""
        )
        line = i18n._("#{track} {prompt} {lang}  {seconds} s  {source}{rate}")
        typer.echo(line.format(track=f"{c.track:<3d}", prompt=f"{c.prompt_id:18s}", lang=c.lang,
                               seconds=f"{c.duration_s:5.2f}", source=c.source, rate=rate))  # fmt: skip
    cache_report(cache, len(built.clips))
    check_report(built.clips, max_cer)
    typer.echo(
        i18n._("wrote {output}/ ({n_clips} clips, manifest.json, sd/ for the speaker's SD card)").format(
            output=output, n_clips=len(built.clips)
        )
    )


@app.command("check")
@one_line_errors
def check(
    build: Annotated[
        Path | None,
        typer.Argument(help="A prompt build or mission package folder (default: build the shipped catalogue)."),
    ] = None,
    max_cer: MaxCerOpt = 0.15,
    snr_db: SnrCheckOpt = 10.0,
    noise: Annotated[bool, typer.Option("--noise/--no-noise", help="Also check in pink and traffic noise.")] = True,
    lang: Annotated[str | None, typer.Option("--lang", help="Check only zh or en clips.")] = None,
    engine: EngineOpt = None,
) -> None:
    """Transcribe every clip offline; per clip error rate in quiet and in noise; exit 3 if any is above --max-cer."""
    import tempfile

    from patrol.errors import InputError
    from patrol.speech.build import build_prompts, choose_voices
    from patrol.speech.cache import PromptCache
    from patrol.speech.catalogue import read_build, read_catalogue
    from patrol.speech.check import IntelligibilityError, check_build, failures, figures_table, make_checker
    from patrol.speech.engines import parse_engines
    from patrol.speech.noise import NOISES
    from patrol.speech.recognise import corpus_error_rate

    cache = PromptCache()
    checker, why = make_checker(True, max_cer, snr_db if noise else None, (lang,) if lang else None, cache.root.parent)
    if checker is None:
        raise InputError(i18n._("{why}; `make setup` installs it").format(why=why))
    with tempfile.TemporaryDirectory(prefix="patrol-check-") as d:
        if build is None:
            cat = read_catalogue()
            voices, notes = choose_voices(cat, parse_engines(engine))
            for line in notes:
                warn(line)
            built = build_prompts(cat, Path(d) / "build", cache=cache, voices=voices, checker=checker)
        else:
            built = read_build(build / "audio" if (build / "audio" / "manifest.json").exists() else build)
        rows = check_build(built, checker)
    typer.echo(figures_table(rows, NOISES if noise else ()))
    for lg in sorted({c.lang for c, _ in rows}):
        pairs = [(c.text, f["heard"]) for c, f in rows if c.lang == lg and c.text]
        if pairs:
            metric = "CER" if lg == "zh" else "WER"
            typer.echo(
                i18n._("{lg}: {metric} {corpus_error_rate} over {n_pairs} clip(s) in quiet").format(
                    lg=lg,
                    metric=metric,
                    corpus_error_rate=format(corpus_error_rate(pairs, lg), ".3f"),
                    n_pairs=len(pairs),
                )
            )
    bad = failures([(c.prompt_id, c.lang, f) for c, f in rows], max_cer)
    typer.echo(
        i18n._("{n_rows} clip(s) checked by {recogniser}; {n_bad} above {max_cer}").format(
            n_rows=len(rows), recogniser=checker.describe()["recogniser"], n_bad=len(bad), max_cer=format(max_cer, "g")
        )
    )
    if bad:
        raise IntelligibilityError("; ".join(bad))


@app.command("say")
@one_line_errors
def say(
    prompt_id: Annotated[str, typer.Argument(help="Prompt id from the catalogue.")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    catalogue: Annotated[Path | None, typer.Option("--catalogue", help="Prompt catalogue (default: shipped).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the WAV here instead of playing it.")
    ] = None,
    engine: EngineOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Play one prompt through the sound device (or write it to a file where there is none)."""
    import tempfile

    from patrol.atomic import write_bytes
    from patrol.errors import InputError
    from patrol.speech.audio import RATE_HZ, play
    from patrol.speech.build import catalogue_jobs, choose_voices, clip_bytes
    from patrol.speech.cache import PromptCache
    from patrol.speech.catalogue import DEFAULT_CATALOGUE, read_catalogue
    from patrol.speech.engines import parse_engines

    catalogue = catalogue or DEFAULT_CATALOGUE
    cat = read_catalogue(catalogue)
    cat.get(prompt_id)  # an unknown id is named before anything else
    voices, notes = choose_voices(cat, parse_engines(engine))
    for line in notes:
        warn(line)
    job = next((j for j in catalogue_jobs(cat, voices) if j.prompt_id == prompt_id and j.lang == lang), None)
    if job is None:
        raise InputError(
            i18n._("{catalogue}: prompt {prompt_id} has no {lang} text or clip").format(
                catalogue=catalogue, prompt_id=prompt_id, lang=lang
            )
        )
    data, _ = clip_bytes(job, PromptCache(enabled=not no_cache))
    seconds = (len(data) - 44) / 2 / RATE_HZ
    if output is None:
        with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as f:
            f.write(data)
        if play(f.name):
            typer.echo(
                i18n._("played {prompt_id} ({lang}), {seconds} s").format(
                    prompt_id=prompt_id, lang=lang, seconds=format(seconds, ".2f")
                )
            )
            Path(f.name).unlink()
            return
        output = Path(f"{prompt_id}.{lang}.wav")
        Path(f.name).replace(output)
        typer.echo(i18n._("no sound device: wrote {output}").format(output=output))
        return
    write_bytes(output, data)
    typer.echo(i18n._("wrote {output} ({seconds} s)").format(output=output, seconds=format(seconds, ".2f")))


@app.command("cache")
@one_line_errors
def cache(
    clear_: Annotated[bool, typer.Option("--clear", help="Remove every cached clip.")] = False,
) -> None:
    """Where the prompt cache is, how many clips it holds; --clear empties it."""
    from patrol.speech.cache import PromptCache

    store = PromptCache()
    if clear_:
        typer.echo(i18n._("removed {clear} cached clip(s) from {root}").format(clear=store.clear(), root=store.root))
        return
    entries = store.entries()
    size = sum(e.stat().st_size for e in entries)
    typer.echo(
        i18n._("{root}: {n_entries} clip(s), {n} MB").format(
            root=store.root, n_entries=len(entries), n=format(size / 1e6, ".1f")
        )
    )
