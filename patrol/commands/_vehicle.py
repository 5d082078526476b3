"""What the vehicle commands share: connecting, the checked sortie, upload with progress bars."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from patrol.commands.options import warn


def connect(url: str, signing_key: Path | None) -> Any:
    """A :class:`~patrol.vehicle.link.Link` to ``url``, saying so on stderr (a bad address fails first)."""
    from patrol.vehicle.link import connect as link_connect
    from patrol.vehicle.link import device_and_baud

    device_and_baud(url)  # a malformed address is refused before anything is printed
    typer.echo(f"connecting to {url} ...", err=True)
    link = link_connect(url, signing_key=signing_key)
    typer.echo(f"vehicle {link.target_system}/{link.target_component} is there", err=True)
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
            warn(f"pre-flight check overridden ({force!r}), logged to {log}")
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
            bars[name] = typer.progressbar(length=n, label=f"{name:7s}", file=sys.stderr)
            bars[name].__enter__()
        bars[name].update(i - bars[name].pos)
        if i == n:
            bars[name].__exit__(None, None, None)

    counts = upload_sortie(link, up, progress=progress)
    typer.echo(
        f"uploaded and read back: {counts['mission'] - 1} mission items (+home), {counts['fence']} fence items, "
        f"{counts['rally']} rally points - identical",
        err=True,
    )
    if fence_params:
        for name, value in needed_params(up, fence_action).items():
            link.set_param(name, value)
            typer.echo(f"set {name} = {value:g} (confirmed)", err=True)
    return counts


def watch(url: str, signing_key: Path | None, link_wait_s: float, t0: float) -> dict[str, Any]:
    """What :meth:`patrol.vehicle.fly.Flight.follow` needs to report events and reconnect: each event printed as one
    line on stderr with the time since the flight began, and a new connection to ``url`` for a lost link."""
    import time

    from patrol.vehicle.link import connect as link_connect

    def on_event(line: str) -> None:
        typer.echo(f"\npatrol: t+{time.monotonic() - t0:.0f} s: {line}", err=True)

    def relink() -> Any:
        return link_connect(url, signing_key=signing_key, heartbeat_timeout_s=5.0)

    return {"on_event": on_event, "relink": relink, "relink_wait_s": link_wait_s}
