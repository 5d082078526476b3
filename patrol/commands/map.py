"""``patrol map``: one offline HTML page of a mission package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import HtmlOutOpt, TilesOpt, one_line_errors


@one_line_errors
def map_(
    package: Annotated[Path, typer.Argument(help="Mission package folder.")],
    output: HtmlOutOpt,
    tiles: TilesOpt = "osm",
) -> None:
    """One HTML page of the plan: compounds, routes, swaths, cues, hotspots, fences, rally points, home."""
    from patrol.review.maps import map_command

    typer.echo(map_command(package, output, tiles))
