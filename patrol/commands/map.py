"""``patrol map``: one offline HTML page of a mission package, or (``--ledger``) of the campaign so far."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import EveryOpt, HtmlOutOpt, TilesOpt, one_line_errors
from patrol.commands.status import DateOpt, DistrictOpt
from patrol.i18n import _

MapLedgerOpt = Annotated[
    bool,
    typer.Option(
        "--ledger",
        help="Map the campaign instead of a package: time since each compound last heard, with a day slider. "
        "`--ledger` alone reads the default ledger; `--ledger PATH|URL` names one.",
    ),
]
DaysOpt = Annotated[int, typer.Option("--days", help="--ledger: days on the slider, ending today.")]


@one_line_errors
def map_(
    output: HtmlOutOpt,
    package: Annotated[str | None, typer.Argument(help="Mission package folder (with --ledger: the ledger).")] = None,
    tiles: TilesOpt = "osm",
    ledger: MapLedgerOpt = False,
    district: DistrictOpt = None,
    date: DateOpt = None,
    days: DaysOpt = 14,
    every: EveryOpt = None,
) -> None:
    """One HTML page of the plan: compounds, routes, swaths, cues, hotspots, fences, rally points, home.

    With --ledger: the district coloured by the time since each compound last heard a whole warning."""
    from patrol.errors import InputError

    if not ledger:
        if package is None:
            raise InputError(_("give a mission package folder, or --ledger to map the campaign"))
        from patrol.review.maps import map_command

        typer.echo(map_command(Path(package), output, tiles))
        return
    from patrol.ledger.ledger_map import ledger_map
    from patrol.ledger.status import as_of_for, district_scope, parse_date
    from patrol.ledger.store import reader
    from patrol.review.map_parts import _check_output, _check_tiles, _size
    from patrol.review.maps import write_html_atomic

    out = _check_output(output)
    _check_tiles(tiles)
    scope = district_scope(district)
    as_of = as_of_for(parse_date(date))
    led = reader(package)  # `--ledger URL`: the URL arrives as the positional argument
    with led.read() as conn:
        page = ledger_map(conn, as_of, days, scope, tiles)
    led.close()
    write_html_atomic(page, out)
    text = _("wrote {path} ({size}): the ledger's compounds over {days} day(s), tiles {tiles}")
    typer.echo(text.format(path=out, size=_size(len(page.encode())), days=days, tiles=tiles))
