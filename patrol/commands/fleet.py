"""``patrol fly PACKAGE --fleet fleet.toml``: every vehicle of the fleet schedule on its own link, at once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import typer


def fly_fleet(
    package: Path,
    fleet_file: Path,
    timeout_min: float,
    fence_action: int,
    no_checks: bool,
    max_sorties: int | None,
    time_scale: float,
    ledger: str | None = None,
    operator: str | None = None,
    separation_m: float | None = None,
    config: Path | None = None,
) -> None:
    """Check every scheduled sortie, then fly them all (a thread per vehicle); a line per event, a line per vehicle
    at the end. Exit status 0 when every vehicle flew all its sorties, 3 if any failed, 130 on Ctrl-C (all RTL).
    Every sortie tried is recorded in the ledger as ``patrol fly`` records one (spooled when it is unreachable)."""
    import datetime as dt
    import json

    from patrol.config import load_config
    from patrol.errors import InputError
    from patrol.ledger.session import begin
    from patrol.package.check import preflight
    from patrol.package.reader import read_sortie
    from patrol.vehicle.fleet import LEAD_S, FleetInterrupted, FleetRun, fleet_schedule, fly_fleet, read_fleet

    rec = begin(ledger, operator, "fly", field=True)
    man = json.loads((package / "manifest.json").read_text(encoding="utf-8")) if package.is_dir() else {}
    vehicles, slots = fleet_schedule(man, package)
    cfg, _ = load_config(config)
    links = read_fleet(fleet_file, vehicles, {n: (p.connect, p.sysid) for n, p in cfg.vehicle.items()})
    live_sep_m = planned_sep_m = float(man["fleet"]["separation_m"])
    if separation_m is not None:
        if not separation_m >= planned_sep_m:
            raise InputError(
                f"--separation-m {separation_m:g}: the plan keeps {planned_sep_m:g} m; give that or more "
                "(or re-plan with a smaller --separation-m)"
            )
        live_sep_m = separation_m
    if max_sorties is not None:
        slots = [s for s in slots if [x for x in slots if x["vehicle"] == s["vehicle"]].index(s) < max_sorties]
    for s in slots if not no_checks else ():
        preflight(package, s["sortie"])
    uploads = {s["sortie"]: read_sortie(package, s["sortie"]) for s in slots}
    lock = threading.Lock()

    def log(line: str) -> None:
        with lock:
            typer.echo(f"{dt.datetime.now().strftime('%H:%M:%S')} {line}", err=True)

    log(f"fleet of {len(links)}: {len(slots)} sorties, the schedule's +00:00:00 in {LEAD_S / time_scale:.0f} s")
    run = FleetRun(package, links, slots, uploads, log, time_scale=time_scale, timeout_s=timeout_min * 60)
    run.fence_action, run.check = fence_action, not no_checks
    run.layer_m = float(man["fleet"]["layer_m"])
    run.separation_m = live_sep_m
    try:
        results = fly_fleet(run)
    except FleetInterrupted as e:
        _record(rec, package, e.results)
        for r in e.results:
            typer.echo(r.line())
        typer.echo("patrol: interrupted: every vehicle in the air was switched to RTL", err=True)
        raise typer.Exit(130) from None
    _record(rec, package, results)
    for r in results:
        typer.echo(r.line())
    if not all(r.ok for r in results):
        raise typer.Exit(3)


def _record(rec: Any, package: Path, results: list[Any]) -> None:
    """One ledger record per sortie tried, with its vehicle, verified upload, telemetry log and outcome."""
    from patrol.commands.options import say
    from patrol.ledger.hooks import Trail

    for r in results:
        for sr in r.records:
            trail = Trail(package, sr.sortie, r.name or r.vehicle, None, started_s=sr.started_s)
            if sr.counts is not None:
                trail.uploaded(sr.counts)
            elif sr.outcome.startswith("failed"):
                trail.detail = sr.outcome
            say(rec.save(trail.fly_payload(sr.tlog, sr.outcome, rec.operator)))
