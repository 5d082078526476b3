"""``patrol prompts``: build the warnings' clips from the catalogue, play one, manage the prompt cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import ForceOpt, NoCacheOpt, cache_report, one_line_errors

app = typer.Typer(help="The warnings: build clips from the catalogue, play one.", no_args_is_help=True)


@app.command("build")
@one_line_errors
def build(
    catalogue: Annotated[Path | None, typer.Argument(help="Prompt catalogue (TOML; default: the shipped one).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")] = Path("audio_prompts/build"),
    no_cache: NoCacheOpt = False,
    force: ForceOpt = False,
) -> None:
    """Text-to-speech (and recorded clips) to loudness-normalised WAV, with a manifest."""
    from patrol.speech.build import build_prompts
    from patrol.speech.cache import PromptCache
    from patrol.speech.catalogue import DEFAULT_CATALOGUE, read_catalogue

    cache = PromptCache(enabled=not no_cache)
    built = build_prompts(read_catalogue(catalogue or DEFAULT_CATALOGUE), output, overwrite=force, cache=cache)
    for c in built.clips:
        typer.echo(f"#{c.track:<3d} {c.prompt_id:18s} {c.lang}  {c.duration_s:5.2f} s  {c.source}")
    cache_report(cache, len(built.clips))
    typer.echo(f"wrote {output}/ ({len(built.clips)} clips, manifest.json, sd/ for the speaker's SD card)")


@app.command("say")
@one_line_errors
def say(
    prompt_id: Annotated[str, typer.Argument(help="Prompt id from the catalogue.")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    catalogue: Annotated[Path | None, typer.Option("--catalogue", help="Prompt catalogue (default: shipped).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the WAV here instead of playing it.")
    ] = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Play one prompt through the sound device (or write it to a file where there is none)."""
    import tempfile

    from patrol.atomic import write_bytes
    from patrol.errors import InputError
    from patrol.speech.audio import RATE_HZ, play
    from patrol.speech.build import catalogue_jobs, clip_bytes
    from patrol.speech.cache import PromptCache
    from patrol.speech.catalogue import DEFAULT_CATALOGUE, read_catalogue

    catalogue = catalogue or DEFAULT_CATALOGUE
    cat = read_catalogue(catalogue)
    cat.get(prompt_id)  # an unknown id is named before anything else
    job = next((j for j in catalogue_jobs(cat) if j.prompt_id == prompt_id and j.lang == lang), None)
    if job is None:
        raise InputError(f"{catalogue}: prompt {prompt_id} has no {lang} text or clip")
    data, _ = clip_bytes(job, PromptCache(enabled=not no_cache))
    seconds = (len(data) - 44) / 2 / RATE_HZ
    if output is None:
        with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as f:
            f.write(data)
        if play(f.name):
            typer.echo(f"played {prompt_id} ({lang}), {seconds:.2f} s")
            Path(f.name).unlink()
            return
        output = Path(f"{prompt_id}.{lang}.wav")
        Path(f.name).replace(output)
        typer.echo(f"no sound device: wrote {output}")
        return
    write_bytes(output, data)
    typer.echo(f"wrote {output} ({seconds:.2f} s)")


@app.command("cache")
@one_line_errors
def cache(
    clear_: Annotated[bool, typer.Option("--clear", help="Remove every cached clip.")] = False,
) -> None:
    """Where the prompt cache is, how many clips it holds; --clear empties it."""
    from patrol.speech.cache import PromptCache

    store = PromptCache()
    if clear_:
        typer.echo(f"removed {store.clear()} cached clip(s) from {store.root}")
        return
    entries = store.entries()
    size = sum(e.stat().st_size for e in entries)
    typer.echo(f"{store.root}: {len(entries)} clip(s), {size / 1e6:.1f} MB")
