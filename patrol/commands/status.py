"""``patrol status``: per compound, when it last heard a whole warning and whether it is due; most overdue first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import EveryOpt, LedgerOpt, one_line_errors

DateOpt = Annotated[
    str | None, typer.Option("--date", help="Status as of the end of this day, YYYY-MM-DD (default: now).")
]
DistrictOpt = Annotated[
    list[Path] | None, typer.Option("--district", help="Only the compounds of this GeoJSON/KML file (repeatable).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for other tools instead of the table.")]


@one_line_errors
def status(
    date: DateOpt = None,
    district: DistrictOpt = None,
    every: EveryOpt = None,
    json_out: JsonOpt = False,
    ledger: LedgerOpt = None,
) -> None:
    """Per compound: last heard whole, times today and this week, last audit's coverage and prompts, due or not."""
    import json

    from patrol.ledger.status import (
        as_of_for,
        compound_status,
        district_scope,
        parse_date,
        parse_policy,
        status_json,
        status_table,
    )
    from patrol.ledger.store import reader

    policy = parse_policy(every)
    as_of = as_of_for(parse_date(date))
    scope = district_scope(district)
    led = reader(ledger)
    with led.read() as conn:
        rows = compound_status(conn, as_of, policy, scope)
    led.close()
    if json_out:
        typer.echo(json.dumps(status_json(rows, as_of, policy), indent=2, ensure_ascii=False))
    else:
        typer.echo(status_table(rows, as_of, policy))
