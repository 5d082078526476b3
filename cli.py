"""The ``patrol`` command: assembles the commands of :mod:`patrol.commands`, one module each."""

from __future__ import annotations

import typer

from patrol.commands import (
    audit,
    broadcast,
    check,
    clear,
    config,
    download,
    fly,
    import_osm,
    keys,
    ledger,
    plan,
    prompts,
    replay,
    report,
    status,
    upload,
)
from patrol.commands import map as map_cmd
from patrol.commands.helptext import PatrolGroup
from patrol.commands.options import root

HELP = "Plan, fly and audit drone loudspeaker patrols over residential compounds (ArduPilot)."
app = typer.Typer(name="patrol", cls=PatrolGroup, help=HELP, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)  # fmt: skip
app.callback(help=HELP)(root)

app.command("plan")(plan.plan)
app.add_typer(prompts.app, name="prompts")
app.command("upload")(upload.upload)
app.command("check")(check.check)
app.command("download")(download.download)
app.command("clear")(clear.clear)
app.command("fly")(fly.fly)
app.command("map")(map_cmd.map_)
app.command("replay")(replay.replay)
app.command("audit")(audit.audit)
app.command("broadcast")(broadcast.broadcast)
app.add_typer(import_osm.app, name="import")
app.command("status")(status.status)
app.command("report")(report.report)
app.add_typer(ledger.app, name="ledger")
app.add_typer(config.app, name="config")
app.add_typer(keys.app, name="keys")


def main() -> None:
    """Entry point for ``python cli.py``."""
    app()


if __name__ == "__main__":
    main()
