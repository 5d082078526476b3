"""``patrol keys``: make a fleet's MAVLink signing key, put it on a vehicle, take it off."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import ConnectOpt, SigningOpt, one_line_errors
from patrol.i18n import _

app = typer.Typer(help="MAVLink 2 signing keys: make one, install it on a vehicle, remove it.", no_args_is_help=True)

KeyFileArg = Annotated[Path, typer.Argument(help="Key file to write (32 random bytes, mode 0600).")]
KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="The key file to install (from patrol keys new).")]
ForceKeyOpt = Annotated[bool, typer.Option("--force", help="Replace an existing key file.")]


def _say(line: str) -> None:
    typer.echo(line, err=True)


@app.command("new")
@one_line_errors
def new(path: KeyFileArg, force: ForceKeyOpt = False) -> None:
    """Write a new random signing key (keep it like an ssh private key: it commands the fleet)."""
    from patrol.vehicle.signing import new_key_file

    out, kid = new_key_file(path, overwrite=force)
    typer.echo(
        _("wrote {path} (key id {id}); install it with patrol keys install --connect URL --key {path}").format(
            path=out, id=kid
        )
    )


@app.command("install")
@one_line_errors
def install(connect: ConnectOpt, key: KeyOpt, signing_key: SigningOpt = None) -> None:
    """Send the key to the vehicle (SETUP_SIGNING) over a trusted link: USB, or signed with its current key
    (--signing-key). The vehicle then refuses unsigned commands on every port but USB."""
    from patrol.vehicle.keys import install_key

    _say(_("connecting to {url} ...").format(url=connect))
    kid = install_key(connect, key, signing_key, say=_say)
    typer.echo(_("installed key id {id}; fly with --signing-key {key}").format(id=kid, key=key))


@app.command("remove")
@one_line_errors
def remove(connect: ConnectOpt, signing_key: SigningOpt = None) -> None:
    """Make the vehicle stop signing (SETUP_SIGNING with a zero key); over a port other than USB give its key."""
    from patrol.vehicle.keys import remove_key

    _say(_("connecting to {url} ...").format(url=connect))
    remove_key(connect, signing_key, say=_say)
    typer.echo(_("signing removed: the vehicle takes unsigned commands again"))
