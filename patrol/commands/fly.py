"""``patrol fly``: upload and verify a sortie, take off in AUTO, follow it to the ground, record a .tlog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from patrol.commands import _vehicle
from patrol.commands.options import (
    ConfigOpt,
    FenceActionOpt,
    FenceParamsOpt,
    ForceReasonOpt,
    LedgerOpt,
    NoCheckOpt,
    OperatorOpt,
    PackageArg,
    SigningOpt,
    SortieOpt,
    VehicleConnectOpt,
    VehicleOpt,
    one_line_errors,
    say,
)
from patrol.i18n import N_, _, shown

TlogOpt = Annotated[Path | None, typer.Option("--tlog", help="Telemetry log to record (default: PACKAGE/flights/...).")]
LoiterOpt = Annotated[bool, typer.Option("--loiter-on-interrupt", help="On Ctrl-C switch to LOITER instead of RTL.")]
FleetOpt = Annotated[
    Path | None,
    typer.Option("--fleet", help="Fly the package's fleet schedule: fleet.toml gives each vehicle's connection."),
]
MaxSortiesOpt = Annotated[
    int | None, typer.Option("--max-sorties", help="Fleet: fly only each vehicle's first N sorties.", min=1)
]
TimeScaleOpt = Annotated[
    float, typer.Option("--time-scale", help="Fleet: compress the schedule (SITL speed-up).", hidden=True, min=1.0)
]
LiveTableOpt = Annotated[
    bool | None, typer.Option("--live/--no-live", help="Fleet: the live table (default: when stderr is a terminal).")
]
LiveSeparationOpt = Annotated[
    float | None,
    typer.Option(
        "--separation-m",
        help="Fleet: hold any two vehicles closer than this within a layer (default and least: the plan's).",
    ),
]
TimeoutOpt = Annotated[float, typer.Option("--timeout-min", help="Give up watching after this long.")]
LinkWaitOpt = Annotated[
    float, typer.Option("--link-wait-s", help="After the link is lost, try to reconnect this long (then exit 6).")
]


@one_line_errors
def fly(
    package: PackageArg,
    connect: VehicleConnectOpt = None,
    fleet: FleetOpt = None,
    sortie: SortieOpt = 1,
    tlog: TlogOpt = None,
    signing_key: SigningOpt = None,
    fence_params: FenceParamsOpt = True,
    fence_action: FenceActionOpt = 1,
    loiter_on_interrupt: LoiterOpt = False,
    timeout_min: TimeoutOpt = 60.0,
    link_wait_s: LinkWaitOpt = 120.0,
    force: ForceReasonOpt = None,
    no_checks: NoCheckOpt = False,
    vehicle: VehicleOpt = None,
    operator: OperatorOpt = None,
    ledger: LedgerOpt = None,
    max_sorties: MaxSortiesOpt = None,
    time_scale: TimeScaleOpt = 1.0,
    separation_m: LiveSeparationOpt = None,
    config: ConfigOpt = None,
    live: LiveTableOpt = None,
) -> None:
    """Upload and verify a sortie, arm, take off in AUTO and follow it until landed and disarmed.

    Each event in flight is one line (GPS, failsafe, the vehicle's own RTL/LAND, a reboot, the link lost and back);
    a lost link is reconnected and the .tlog goes on. Exit status: 0 flown to the end, 5 landed before the mission's
    end, 6 link lost and not regained, 3 other link failures, 130 Ctrl-C (docs/flying.md).

    The flight is recorded in the ledger; a ledger that cannot be reached never holds the vehicle on the ground:
    the record is spooled and lands with the next command that reaches the ledger (docs/ledger.md).
    With --fleet, every vehicle of the package's fleet schedule flies its sorties at their starts (docs/fleet.md)."""
    if fleet is not None:
        from patrol.commands.fleet import fly_fleet

        o = (timeout_min, fence_action, no_checks, max_sorties, time_scale, ledger, operator, separation_m, config)
        return fly_fleet(package, fleet, *o, link_wait_s=link_wait_s, live=live)
    url, sysid = _vehicle.address(connect, vehicle, config, fleet=True)
    import datetime as dt
    import os

    from patrol.ledger.hooks import Trail
    from patrol.ledger.session import begin
    from patrol.vehicle.fly import Flight, default_tlog, sortie_end

    rec = begin(ledger, operator, "fly", field=True)
    up, override = _vehicle.checked_sortie(package, sortie, force, no_checks)
    tlog = tlog or default_tlog(package, sortie, dt.datetime.now(dt.UTC))
    tlog.parent.mkdir(parents=True, exist_ok=True)
    part = tlog.with_name(tlog.name + ".part")
    link = _vehicle.connect(url, signing_key, sysid, vehicle)
    trail = Trail(package, sortie, vehicle or f"sysid {link.target_system}", override)
    link.conn.setup_logfile(str(part), mode="wb")
    flight, outcome, code = None, "interrupted before take-off", 0
    try:
        trail.uploaded(_vehicle.upload(link, up, fence_params, fence_action, not no_checks))
        flight = Flight(link)
        typer.echo(_("waiting for a 3D fix and a ready EKF, then GUIDED, arm, AUTO ..."), err=True)
        last = len(up.mission)
        watch = _vehicle.watch(url, signing_key, link_wait_s, flight.t0)
        state = flight.fly(last, timeout_min * 60, lambda s: _progress(s, last), **watch)
        outcome, code = sortie_end(state, last)
        typer.echo("", err=True)
        text = _("sortie {n} flown: {outcome}; {reached} items reached, {positions} positions logged")
        shown_outcome = shown(outcome)
        typer.echo(text.format(n=sortie, outcome=shown_outcome, reached=len(state.reached), positions=len(state.track)))
    except KeyboardInterrupt:
        outcome = _interrupted(flight, loiter_on_interrupt) or outcome
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
    if code:
        raise typer.Exit(code)


# The fixed outcome, translated where it is shown (the ledger records it in English; sortie_end's are Said).
OUTCOMES = (N_("interrupted while the link was lost: the vehicle was told nothing"),)


def _interrupted(flight: Any, loiter: bool) -> str | None:
    """Ctrl-C in flight: the vehicle told to RTL (or LOITER), or nothing over a lost link; the outcome to record."""
    if flight is not None and flight.link_lost:
        outcome = "interrupted while the link was lost: the vehicle was told nothing"
        typer.echo("\n" + _("patrol: {outcome}; take over with the RC transmitter or another ground station").format(
            outcome=_(outcome)), err=True)  # fmt: skip
        return outcome
    if flight is not None and flight.state.armed:
        mode = "LOITER" if loiter else "RTL"
        flight.set_mode(mode)
        typer.echo("\n" + _("patrol: interrupted: vehicle switched to {mode}").format(mode=mode), err=True)
        return f"interrupted: switched to {mode}"
    return None


def _progress(s: Any, last: int) -> None:
    line = _("item {item}/{last}  next {next} m  alt {alt} m  battery {battery}%  {mode}").format(
        item=f"{max(s.current_seq, 0):3d}", last=last, next=f"{s.wp_dist_m:6.0f}", alt=f"{s.rel_alt_m:5.1f}",
        battery=f"{s.battery_pct:3d}", mode=f"{s.mode:8s}",
    )  # fmt: skip
    typer.echo("\r" + line, err=True, nl=False)
