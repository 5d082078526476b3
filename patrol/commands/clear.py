"""``patrol clear``: delete the vehicle's mission, fence and rally points."""

from __future__ import annotations

import typer

from patrol.commands import _vehicle
from patrol.commands.options import ConnectOpt, SigningOpt, one_line_errors
from patrol.i18n import _


@one_line_errors
def clear(connect: ConnectOpt, signing_key: SigningOpt = None) -> None:
    """Delete the vehicle's mission, fence and rally points."""
    from patrol.package.reader import FENCE, MISSION, RALLY

    link = _vehicle.connect(connect, signing_key)
    try:
        for mt in (MISSION, FENCE, RALLY):
            link.clear(mt)
    finally:
        link.close()
    typer.echo(_("cleared mission, fence and rally points"))
