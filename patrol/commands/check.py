"""``patrol check``: the pre-flight safety report of a mission package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import one_line_errors


@one_line_errors
def check(
    package: Annotated[Path, typer.Argument(help="Mission package folder.")],
    sortie: Annotated[int | None, typer.Option("--sortie", "-s", help="Check only this sortie.")] = None,
) -> None:
    """Pre-flight safety report: altitude, clearance over roofs, no-fly distance, fence margin, endurance."""
    from patrol.errors import SafetyError
    from patrol.i18n import _
    from patrol.package.check import check_package, fleet_check, report_text

    checks = check_package(package, [sortie] if sortie else None)
    typer.echo(report_text(checks))
    conflict, least = fleet_check(package)
    if conflict is None and (package / "schedule.csv").exists():
        far = _("never within a layer") if least is None else f"{least:.0f} m"
        typer.echo(
            _("fleet: separation kept; least horizontal distance of two vehicles not layered apart {d}").format(d=far)
        )
    bad = [c for c in checks if c.violations]
    if bad:
        raise SafetyError(
            _("{n} sortie(s) fail the pre-flight check: {first} (sortie {i})").format(
                n=len(bad), first=bad[0].violations[0], i=bad[0].index
            )
        )
