"""``patrol replay``: one offline HTML page of a flight, against the plan it flew."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import HtmlOutOpt, TilesOpt, one_line_errors


@one_line_errors
def replay(
    logs: Annotated[list[Path], typer.Argument(help="Flight logs (.tlog or .bin).")],
    output: HtmlOutOpt,
    package: Annotated[
        Path | None, typer.Option("--package", "-p", help="The package flown (planned routes, prompt texts).")
    ] = None,
    tiles: TilesOpt = "osm",
) -> None:
    """One HTML page of a flight: track with a time slider, plan against flight, cues, breaches, altitude."""
    from patrol.review.maps import replay_command

    typer.echo(replay_command(logs, package, output, tiles))
