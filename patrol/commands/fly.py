"""``patrol fly``: upload and verify a sortie, take off in AUTO, follow it to the ground, record a .tlog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from patrol.commands import _vehicle
from patrol.commands.options import (
    ConnectOpt,
    FenceActionOpt,
    FenceParamsOpt,
    ForceReasonOpt,
    LedgerOpt,
    NoCheckOpt,
    OperatorOpt,
    PackageArg,
    SigningOpt,
    SortieOpt,
    VehicleOpt,
    one_line_errors,
    say,
)
from patrol.i18n import _

TlogOpt = Annotated[Path | None, typer.Option("--tlog", help="Telemetry log to record (default: PACKAGE/flights/...).")]
LoiterOpt = Annotated[bool, typer.Option("--loiter-on-interrupt", help="On Ctrl-C switch to LOITER instead of RTL.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout-min", help="Give up watching after this long.")]


@one_line_errors
def fly(
    package: PackageArg,
    connect: ConnectOpt,
    sortie: SortieOpt = 1,
    tlog: TlogOpt = None,
    signing_key: SigningOpt = None,
    fence_params: FenceParamsOpt = True,
    fence_action: FenceActionOpt = 1,
    loiter_on_interrupt: LoiterOpt = False,
    timeout_min: TimeoutOpt = 60.0,
    force: ForceReasonOpt = None,
    no_checks: NoCheckOpt = False,
    vehicle: VehicleOpt = None,
    operator: OperatorOpt = None,
    ledger: LedgerOpt = None,
) -> None:
    """Upload and verify a sortie, arm, take off in AUTO and follow it until landed and disarmed.

    The flight is recorded in the ledger; a ledger that cannot be reached never holds the vehicle on the ground:
    the record is spooled and lands with the next command that reaches the ledger (docs/ledger.md)."""
    import datetime as dt
    import os

    from patrol.ledger.hooks import Trail
    from patrol.ledger.session import begin
    from patrol.vehicle.fly import Flight, default_tlog

    rec = begin(ledger, operator, "fly", field=True)
    up, override = _vehicle.checked_sortie(package, sortie, force, no_checks)
    tlog = tlog or default_tlog(package, sortie, dt.datetime.now(dt.UTC))
    tlog.parent.mkdir(parents=True, exist_ok=True)
    part = tlog.with_name(tlog.name + ".part")
    link = _vehicle.connect(connect, signing_key)
    trail = Trail(package, sortie, vehicle or f"sysid {link.target_system}", override)
    link.conn.setup_logfile(str(part), mode="wb")
    flight, outcome = None, "interrupted before take-off"
    try:
        trail.uploaded(_vehicle.upload(link, up, fence_params, fence_action, not no_checks))
        flight = Flight(link)
        typer.echo(_("waiting for a 3D fix and a ready EKF, then GUIDED, arm, AUTO ..."), err=True)
        last = len(up.mission)
        state = flight.fly(last, timeout_min * 60, lambda s: _progress(s, last))
        outcome = "landed and disarmed"
        typer.echo("", err=True)
        text = _("sortie {n} flown: landed and disarmed; {reached} items reached, {positions} positions logged")
        typer.echo(text.format(n=sortie, reached=len(state.reached), positions=len(state.track)))
    except KeyboardInterrupt:
        if flight is not None and flight.state.armed:
            mode = "LOITER" if loiter_on_interrupt else "RTL"
            flight.set_mode(mode)
            outcome = f"interrupted: switched to {mode}"
            typer.echo("\n" + _("patrol: interrupted: vehicle switched to {mode}").format(mode=mode), err=True)
        raise
    except Exception as e:
        trail.failed(e)
        outcome = f"failed: {e}"
        raise
    finally:
        link.close()
        if part.exists():
            os.replace(part, tlog)
            typer.echo(_("telemetry log: {path}").format(path=tlog), err=True)
        say(rec.save(trail.fly_payload(tlog, outcome, rec.operator)))


def _progress(s: Any, last: int) -> None:
    line = _("item {item}/{last}  next {next} m  alt {alt} m  battery {battery}%  {mode}").format(
        item=f"{max(s.current_seq, 0):3d}", last=last, next=f"{s.wp_dist_m:6.0f}", alt=f"{s.rel_alt_m:5.1f}",
        battery=f"{s.battery_pct:3d}", mode=f"{s.mode:8s}",
    )  # fmt: skip
    typer.echo("\r" + line, err=True, nl=False)
