"""``patrol audit``: what each compound really heard, from real flight logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patrol.commands.options import (
    ForceOpt,
    LedgerOpt,
    OperatorOpt,
    PackageOpt,
    VehicleOpt,
    one_line_errors,
    say,
    warn,
)
from patrol.i18n import _

LogsArg = Annotated[list[Path], typer.Argument(help="Flight logs: .tlog and/or DataFlash .bin (a day's sorties).")]
AuditOutOpt = Annotated[Path, typer.Option("--output", "-o", help="Folder for report.json, .csv, .html.")]
MinCoverageOpt = Annotated[
    float, typer.Option("--min-coverage", help="Share of each compound that must hear a whole warning.")
]
OnlyFlownOpt = Annotated[
    bool, typer.Option("--only-flown", help="Report only compounds the logs swept (a quarter or more in range).")
]
CompoundsOpt = Annotated[str, typer.Option("--compounds", help="Report only these compound ids (comma-separated).")]
AssumePlayingOpt = Annotated[
    bool, typer.Option("--assume-playing", help="Count all airborne time as playing (logs without speaker reports).")
]


@one_line_errors
def audit(
    logs: LogsArg,
    package: PackageOpt,
    output: AuditOutOpt,
    min_coverage: MinCoverageOpt = 0.9,
    only_flown: OnlyFlownOpt = False,
    compounds: CompoundsOpt = "",
    assume_playing: AssumePlayingOpt = False,
    force: ForceOpt = False,
    vehicle: VehicleOpt = None,
    operator: OperatorOpt = None,
    ledger: LedgerOpt = None,
) -> None:
    """Per-compound coverage from real flight logs: heard whole, in range, uncovered areas, prompts, breaches."""
    from patrol.atomic import write_folder
    from patrol.errors import CoverageShortfallError, InputError
    from patrol.ledger.hooks import audit_payload
    from patrol.ledger.session import begin
    from patrol.package.reader import read_package
    from patrol.review.audit import audit_view, report, report_files, report_table, run_audit, select_audits
    from patrol.review.flightlog import read_log

    if not 0.0 <= min_coverage <= 1.0:
        raise InputError(
            _("--min-coverage {min_coverage}: give a share between 0 and 1, e.g. 0.9").format(
                min_coverage=format(min_coverage, "g")
            )
        )
    rec = begin(ledger, operator, "audit")
    pkg = audit_view(read_package(package))
    flights = [read_log(p) for p in logs]
    for f in flights:
        for w in f.warnings:
            warn(f"{f.path}: {w}")
        if not f.plays and not assume_playing:
            msg = _(
                "no speaker cue reports; nothing counts as heard (use --assume-playing for a speaker without reports)"
            )
            warn(f"{f.path}: {msg}")
    audits = select_audits(run_audit(flights, pkg, assume_playing), compounds, only_flown, str(package))
    doc = report(audits, pkg, flights, min_coverage)
    write_folder(report_files(doc, audits, pkg, flights), output, overwrite=force)
    if rec.on:
        say(rec.save(audit_payload(package, audits, doc, flights, output, rec.operator, vehicle)))
    typer.echo(report_table(doc, min_coverage))
    typer.echo(_("wrote {path}/ (report.json, report.csv, report.html, uncovered.geojson)").format(path=output))
    failing = [c["id"] for c in doc["compounds"] if not c["passes"]]
    if failing:
        ids = ", ".join(failing[:8]) + (" ..." if len(failing) > 8 else "")
        text = _("{n} compound(s) under {share} heard whole: {ids}")
        raise CoverageShortfallError(text.format(n=len(failing), share=f"{min_coverage:.0%}", ids=ids)) from None
