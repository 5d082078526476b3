"""``patrol download``: what the vehicle holds, as a QGroundControl ``.plan``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands import _vehicle
from patrol.commands.options import ConnectOpt, ForceOpt, SigningOpt, one_line_errors
from patrol.i18n import _


@one_line_errors
def download(
    connect: ConnectOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="QGroundControl .plan file to write.")],
    signing_key: SigningOpt = None,
    force: ForceOpt = False,
) -> None:
    """Download the vehicle's mission, fence and rally points into a QGroundControl .plan file."""
    import json

    from patrol.atomic import write_text
    from patrol.errors import PatrolError
    from patrol.package.reader import upload_to_plan
    from patrol.vehicle.upload import download_sortie

    if output.exists() and not force:
        raise PatrolError(_("{path}: already exists; pass --force to replace it").format(path=output))
    link = _vehicle.connect(connect, signing_key)
    try:
        up = download_sortie(link, str(output))
    finally:
        link.close()
    write_text(output, json.dumps(upload_to_plan(up), indent=4) + "\n")
    text = _("wrote {path}: {mission} mission items, {fence} fence items, {rally} rally points")
    typer.echo(text.format(path=output, mission=len(up.mission), fence=len(up.fence), rally=len(up.rally)))
