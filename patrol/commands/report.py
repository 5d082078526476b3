"""``patrol report --week``: a week of the ledger as HTML (with a chart of coverage per day) and CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import EveryOpt, ForceOpt, LedgerOpt, one_line_errors
from patrol.commands.status import DistrictOpt
from patrol.i18n import _

WeekOpt = Annotated[str | None, typer.Option("--week", help="ISO week (2020-W06), a date in it, this or last.")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Folder for report.html, report.csv, flights.csv.")]


@one_line_errors
def report(
    output: OutOpt,
    week: WeekOpt = None,
    district: DistrictOpt = None,
    every: EveryOpt = None,
    force: ForceOpt = False,
    ledger: LedgerOpt = None,
) -> None:
    """The week's audit: coverage per day (chart), hearings per compound and day, the flights (HTML and CSV)."""
    from patrol.atomic import write_folder
    from patrol.ledger.status import district_scope, parse_policy
    from patrol.ledger.store import reader
    from patrol.ledger.weekly import parse_week, week_data, week_files

    monday = parse_week(week)
    policy = parse_policy(every)
    scope = district_scope(district)
    led = reader(ledger)
    with led.read() as conn:
        data = week_data(conn, monday, policy, scope)
    led.close()
    write_folder(week_files(data), output, overwrite=force)
    heard = ", ".join(f"{v:.0%}" for v in data.heard_share)
    text = _("week {label}: {compounds} compounds, {flights} flights; heard per day {heard}")
    typer.echo(text.format(label=data.label, compounds=len(data.compounds), flights=len(data.flights), heard=heard))
    typer.echo(_("wrote {path}/ (report.html, report.csv, flights.csv)").format(path=output))
