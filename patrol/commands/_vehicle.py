"""What the vehicle commands share: connecting, the checked sortie, upload with progress bars."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from patrol.commands.options import warn
from patrol.i18n import N_, _, pad

LISTS = (N_("mission"), N_("fence"), N_("rally"))  # the progress bars' labels


def address(
    connect: str | None, vehicle: str | None, config: Path | None, fleet: bool = False
) -> tuple[str, int | None]:
    """The link to open and the MAVLink system id to expect there.

    ``--connect`` wins; without it, ``vehicle``'s profile (``[vehicle.NAME]`` of patrol.toml) gives ``connect``.
    The profile's ``sysid`` is expected either way. One line when neither gives an address (``fleet``: it names
    ``--fleet fleet.toml`` too, the command's other way).
    """
    from patrol.config import load_config
    from patrol.errors import InputError

    cfg, path = load_config(config)
    prof = cfg.vehicle.get(vehicle) if vehicle else None
    url = connect or (prof.connect if prof is not None else None)
    if url is None:
        if prof is not None:
            where = _("{path}: [vehicle.{vehicle}] has no connect").format(path=path, vehicle=vehicle)
        else:
            where = _("no --connect given")
        if fleet:
            text = _(
                '{where}; give --connect URL, or a --vehicle whose profile has connect = "tcp:HOST:PORT", '
                "or --fleet fleet.toml (a fleet)"
            )
        else:
            text = _('{where}; give --connect URL, or a --vehicle whose profile has connect = "tcp:HOST:PORT"')
        raise InputError(text.format(where=where))
    return url, (prof.sysid if prof is not None else None)


def connect(url: str, signing_key: Path | None, sysid: int | None = None, vehicle: str | None = None) -> Any:
    """A :class:`~patrol.vehicle.link.Link` to ``url``, saying so on stderr (a bad address fails first).

    With ``sysid`` (the vehicle profile's), a link that reaches another system is closed and refused in one line:
    the wrong drone, or the right address of another one, is never sent a mission.
    """
    from patrol.vehicle.link import connect as link_connect
    from patrol.vehicle.link import device_and_baud, expect_system

    device_and_baud(url)  # a malformed address is refused before anything is printed
    typer.echo(_("connecting to {url} ...").format(url=url), err=True)
    link = link_connect(url, signing_key=signing_key)
    expect_system(link, sysid, _("vehicle {name}").format(name=vehicle) if vehicle else _("the vehicle"), url)
    typer.echo(_("vehicle {id} is there").format(id=f"{link.target_system}/{link.target_component}"), err=True)
    return link


def checked_sortie(package: Path, sortie: int, force: str | None, no_checks: bool) -> tuple[Any, dict | None]:
    """The sortie to upload, after the package's pre-flight check (unless the hidden bench flag skips it), and
    the override of a failing check (``--force`` reason and violations; None when it passed)."""
    from patrol.package.check import preflight
    from patrol.package.reader import read_sortie

    up = read_sortie(package, sortie)
    override = None
    if not no_checks:
        forced = preflight(package, sortie, force)
        if forced is not None:
            log, override = forced
            warn(_("pre-flight check overridden ({reason}), logged to {log}").format(reason=repr(force), log=log))
    return up, override


def upload(link: Any, up: Any, fence_params: bool, fence_action: int, check: bool) -> dict[str, int]:
    """Upload and read back ``up``, with a progress bar per list; then set the fence parameters. Returns the item
    count per list (mission, fence, rally)."""
    from patrol.vehicle.upload import check_sortie_upload, upload_sortie, vehicle_home
    from patrol.vehicle.upload import fence_params as needed_params

    if check:
        check_sortie_upload(up, vehicle_home(link))
    bars: dict[str, Any] = {}

    def progress(name: str, i: int, n: int) -> None:
        if name not in bars:
            bars[name] = typer.progressbar(length=n, label=pad(_(name), 7), file=sys.stderr)
            bars[name].__enter__()
        bars[name].update(i - bars[name].pos)
        if i == n:
            bars[name].__exit__(None, None, None)

    counts = upload_sortie(link, up, progress=progress)
    text = _(
        "uploaded and read back: {mission} mission items (+home), {fence} fence items, {rally} rally points - identical"
    )
    typer.echo(text.format(mission=counts["mission"] - 1, fence=counts["fence"], rally=counts["rally"]), err=True)
    if fence_params:
        for name, value in needed_params(up, fence_action).items():
            link.set_param(name, value)
            typer.echo(_("set {name} = {value} (confirmed)").format(name=name, value=f"{value:g}"), err=True)
    return counts


def watch(url: str, signing_key: Path | None, link_wait_s: float, t0: float) -> dict[str, Any]:
    """What :meth:`patrol.vehicle.fly.Flight.follow` needs to report events and reconnect: each event printed as one
    line on stderr with the time since the flight began, and a new connection to ``url`` for a lost link."""
    import time

    from patrol.vehicle.link import connect as link_connect

    def on_event(line: str) -> None:
        typer.echo("\n" + _("patrol: t+{s} s: {event}").format(s=f"{time.monotonic() - t0:.0f}", event=line), err=True)

    def relink() -> Any:
        return link_connect(url, signing_key=signing_key, heartbeat_timeout_s=5.0)

    return {"on_event": on_event, "relink": relink, "relink_wait_s": link_wait_s}
