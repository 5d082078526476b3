"""``patrol fly PACKAGE --fleet fleet.toml``: every vehicle of the fleet schedule on its own link, at once."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from patrol.i18n import N_, _

# The live table's column heads (translated when it is drawn).
LIVE_HEADS = (N_("vehicle"), N_("sortie"), N_("item"), N_("mode"), N_("alt"), N_("battery"), N_("state"))


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
    link_wait_s: float = 120.0,
    live: bool | None = None,
) -> None:
    """Check every scheduled sortie, then fly them all (a thread per vehicle); a line per event, a line per vehicle
    at the end. Exit status 0 when every vehicle flew all its sorties, 3 if any failed, 130 on Ctrl-C (all RTL).
    Every sortie tried is recorded in the ledger as ``patrol fly`` records one (spooled when it is unreachable)."""
    import datetime as dt
    import json

    from patrol.config import load_config
    from patrol.ledger.session import begin
    from patrol.package.check import preflight
    from patrol.package.reader import read_sortie
    from patrol.vehicle.fleet import LEAD_S, FleetInterrupted, FleetRun, fleet_schedule, fly_fleet, read_fleet

    rec = begin(ledger, operator, "fly", field=True)
    man = json.loads((package / "manifest.json").read_text(encoding="utf-8")) if package.is_dir() else {}
    vehicles, slots = fleet_schedule(man, package)
    cfg, _path = load_config(config)
    planned = {v["id"]: v["sysid"] for v in man["fleet"]["vehicles"] if v.get("sysid") is not None}
    links = read_fleet(fleet_file, vehicles, {n: (p.connect, p.sysid) for n, p in cfg.vehicle.items()}, planned)
    live_sep_m = _live_separation(float(man["fleet"]["separation_m"]), separation_m)
    if max_sorties is not None:
        slots = [s for s in slots if [x for x in slots if x["vehicle"] == s["vehicle"]].index(s) < max_sorties]
    for s in slots if not no_checks else ():
        preflight(package, s["sortie"])
    uploads = {s["sortie"]: read_sortie(package, s["sortie"]) for s in slots}
    lock = threading.Lock()

    def log(line: str) -> None:
        with lock:
            typer.echo(f"{dt.datetime.now().strftime('%H:%M:%S')} {line}", err=True)

    log(
        _("fleet of {n}: {sorties} sorties, the schedule's +00:00:00 in {lead} s").format(
            n=len(links), sorties=len(slots), lead=f"{LEAD_S / time_scale:.0f}"
        )
    )
    run = FleetRun(package, links, slots, uploads, log, time_scale=time_scale, timeout_s=timeout_min * 60)
    run.fence_action, run.check, run.link_wait_s = fence_action, not no_checks, link_wait_s
    run.layer_m = float(man["fleet"]["layer_m"])
    run.separation_m = live_sep_m
    try:
        with _live_table(run, live):
            results = fly_fleet(run)
    except FleetInterrupted as e:
        _record(rec, package, e.results)
        for r in e.results:
            typer.echo(r.line())
        typer.echo(_("patrol: interrupted: every vehicle in the air was switched to RTL"), err=True)
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


def status_table(status: dict[str, Any]) -> Any:
    """The live table: a row per vehicle (sortie, mission item, mode, altitude, battery, what it is doing)."""
    import math

    from rich.table import Table

    t = Table(title=_("fleet"), title_justify="left", expand=False)
    for col in LIVE_HEADS:
        t.add_column(_(col), justify="right" if col in ("sortie", "item", "alt", "battery") else "left")
    for vid, row in status.items():
        t.add_row(
            vid,
            "-" if row.sortie is None else str(row.sortie),
            f"{row.item}/{row.items}" if row.items else "-",
            row.mode,
            "-" if math.isnan(row.alt_m) else _("{n} m").format(n=f"{row.alt_m:.0f}"),
            "-" if row.battery_pct < 0 else f"{row.battery_pct}%",
            _(row.state),  # set in the interface language, but for VehicleStatus's default (English, marked)
        )
    return t


@contextlib.contextmanager
def _live_table(run: Any, live: bool | None) -> Iterator[None]:
    """While the fleet flies, the table redrawn in place on a terminal's stderr (the event lines scroll above it);
    nothing when stderr is not a terminal (a log file, a test) unless ``live`` is True."""
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True)
    if not (console.is_terminal if live is None else live):
        yield
        return
    with Live(status_table(run.status), console=console, refresh_per_second=4) as view:
        run.tick = lambda: view.update(status_table(dict(run.status)))
        try:
            yield
        finally:
            run.tick = None
            view.update(status_table(dict(run.status)))


def _live_separation(planned_m: float, given_m: float | None) -> float:
    """The separation the monitor keeps: the plan's, or a larger ``--separation-m`` (a smaller one is refused)."""
    from patrol.errors import InputError

    if given_m is None:
        return planned_m
    if not given_m >= planned_m:
        raise InputError(
            _(
                "--separation-m {given}: the plan keeps {planned} m; give that or more "
                "(or re-plan with a smaller --separation-m)"
            ).format(given=f"{given_m:g}", planned=f"{planned_m:g}")
        )
    return given_m
