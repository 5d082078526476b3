"""``patrol broadcast``: the companion-computer player that follows the vehicle's speaker cues."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from patrol.commands import _vehicle
from patrol.commands.options import (
    ConnectOpt,
    LedgerOpt,
    OperatorOpt,
    SigningOpt,
    SortieOpt,
    one_line_errors,
    say,
    warn,
)
from patrol.i18n import _

OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Folder for the play log and WAV copies (default: PACKAGE/plays).")
]
SoundOpt = Annotated[
    bool | None, typer.Option("--sound/--no-sound", help="Play through the sound device (default: if there is one).")
]


@one_line_errors
def broadcast(
    connect: ConnectOpt,
    package: Annotated[Path, typer.Option("--package", "-p", help="Mission package folder (with audio/).")],
    sortie: SortieOpt = 1,
    out: OutOpt = None,
    sound: SoundOpt = None,
    timeout_min: Annotated[float, typer.Option("--timeout-min", help="Stop following after this long.")] = 120.0,
    signing_key: SigningOpt = None,
    operator: OperatorOpt = None,
    ledger: LedgerOpt = None,
) -> None:
    """Companion-computer player: follow the vehicle's speaker cues, play each prompt, log every play."""
    import datetime as dt

    from patrol.errors import InputError
    from patrol.ledger.hooks import broadcast_payload
    from patrol.ledger.session import begin
    from patrol.package.reader import read_package
    from patrol.speech.build import repair_build
    from patrol.speech.cache import PromptCache
    from patrol.speech.catalogue import read_build
    from patrol.vehicle.player import Player, follow, package_decoder

    rec = begin(ledger, operator, "broadcast", field=True)
    pkg = read_package(package)
    if not pkg.broadcast:
        raise InputError(
            _("{package}: planned with --speaker none; re-plan with a speaker to broadcast").format(package=package)
        )
    build = read_build(package / "audio")
    for line in repair_build(build, PromptCache()):
        warn(line)
    mission, decode = package_decoder(pkg, sortie)
    out_dir = out or package / "plays"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = out_dir / f"sortie-{sortie:02d}-{stamp}.jsonl"
    player = Player(build, out_dir / f"sortie-{sortie:02d}-{stamp}", sound)
    link = _vehicle.connect(connect, signing_key)
    how = _("aloud") if player.sound else _("into WAV files")
    text = _("following speaker cues ({speaker}); playing {how}")
    typer.echo(text.format(speaker=pkg.broadcast["speaker"], how=how), err=True)
    try:
        plays = follow(
            link,
            player,
            log_path,
            mission,
            decode,
            timeout_s=timeout_min * 60,
            on_play=_say_play,
        )
    finally:
        link.close()
        say(rec.save(broadcast_payload(package, sortie, log_path)))
    typer.echo(_("{n} speaker events logged to {path}").format(n=len(plays), path=log_path))


def _say_play(p: Any) -> None:
    """One line on stderr per clip the player starts: when, what, which track and prompt, where."""
    line = _("{t}  {action} #{track} {prompt} at {lat}, {lon}").format(
        t=p.t_utc, action=f"{p.action:4s}", track=f"{p.track:<3d}", prompt=f"{p.prompt_id or '-':18s}", lat=p.lat,
        lon=p.lon,
    )  # fmt: skip
    typer.echo(line, err=True)
