"""``patrol ledger``: import flights flown with another ground station, write spooled records, check a ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import LedgerOpt, OperatorOpt, VehicleOpt, one_line_errors, say
from patrol.i18n import _

app = typer.Typer(help="The campaign ledger: import flights, write the spool, check it.", no_args_is_help=True)

LogsArg = Annotated[list[Path], typer.Argument(help="Flight logs (.tlog, .bin) flown with another ground station.")]
PkgOpt = Annotated[Path | None, typer.Option("--package", "-p", help="The mission package they flew (to join them).")]


@app.command("add")
@one_line_errors
def add(
    logs: LogsArg,
    package: PkgOpt = None,
    vehicle: VehicleOpt = None,
    operator: OperatorOpt = None,
    ledger: LedgerOpt = None,
) -> None:
    """Record flights from their logs (each log once, by its sha256); audit them with `patrol audit`."""
    from patrol.ledger.hooks import import_payload
    from patrol.ledger.session import begin

    rec = begin(ledger, operator, "import")
    payload = import_payload(logs, package, vehicle, rec.operator, say)
    say(rec.save(payload))


@app.command("sync")
@one_line_errors
def sync(ledger: LedgerOpt = None) -> None:
    """Write the records spooled while the ledger could not be reached."""
    from patrol.ledger.session import sync
    from patrol.ledger.spool import spool_dir
    from patrol.ledger.store import reader

    led = reader(ledger)
    done, left = sync(led)
    led.close()
    text = _("{done} spooled record(s) written to {ledger}; {left} left in {spool}")
    typer.echo(text.format(done=done, ledger=led.target.shown, left=left, spool=spool_dir()))


@app.command("check")
@one_line_errors
def check(ledger: LedgerOpt = None) -> None:
    """Say which ledger this is, its schema, what it holds, and (SQLite) run its integrity check."""
    from patrol.ledger.store import inventory, reader

    led = reader(ledger)
    for line in inventory(led):
        typer.echo(line)
    led.close()
