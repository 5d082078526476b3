"""The commands' side of recording: the payload each command saves, built from what it already has in hand
(a package folder, a flight log, an audit), and the district ``plan --due`` plans. Reading files, never a
database (that is :mod:`patrol.ledger.session`'s)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from patrol.errors import InputError, PatrolError
from patrol.i18n import _
from patrol.ledger.payloads import audit_results, flight_summary, package_summary
from patrol.ledger.session import Recorder
from patrol.package.reader import read_package
from patrol.review.audit import CompoundAudit
from patrol.review.flightlog import FlightLog, read_log
from patrol.types import District


def package_of(path: str | Path) -> dict[str, Any] | None:
    """The summary of the package at ``path`` (a folder or a ``.plan`` in one); None for a bare ``.plan``."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if not (folder / "manifest.json").exists():
        return None
    return package_summary(read_package(folder))


def plan_payload(folder: Path) -> dict[str, Any]:
    """What ``patrol plan`` records: the package it wrote."""
    return {"package": package_summary(read_package(folder))}


def due_district(district: District, rec: Recorder, every: str | None) -> District:
    """``district`` with only the compounds due now under the policy ``every`` (``plan --due``); an error when none
    is due, or when the ledger is off."""
    from patrol.ledger.status import as_of_for, compound_status, parse_policy

    if rec.ledger is None:
        raise InputError(_("--due needs the ledger; give --ledger PATH|URL (it is off)"))
    policy = parse_policy(every)
    wanted = [{"code": c.id, "name": c.name, "tier": c.tier, "priority": c.priority} for c in district.compounds]
    with rec.ledger.read() as conn:
        rows = compound_status(conn, as_of_for(None), policy, wanted)
    due = {r.id for r in rows if r.due}
    if not due:
        raise PatrolError(_("--due: no compound of the district is due now; see `patrol status`"))
    return dataclasses.replace(district, compounds=tuple(c for c in district.compounds if c.id in due))


@dataclasses.dataclass
class Trail:
    """What ``upload`` and ``fly`` learn about one sortie as they go, and the payload it makes."""

    package: Path
    sortie: int
    vehicle: str
    override: dict[str, Any] | None = None
    counts: dict[str, int] | None = None
    detail: str = "not uploaded"
    started_s: float = dataclasses.field(default_factory=time.time)

    def uploaded(self, counts: dict[str, int]) -> None:
        """The upload was read back identical."""
        self.counts, self.detail = counts, "identical"

    def failed(self, exc: BaseException) -> None:
        """The upload (or the flight) failed with ``exc``."""
        self.detail = f"failed: {exc}" if self.counts is None else self.detail

    def _upload(self) -> dict[str, Any] | None:
        if self.detail == "not uploaded":
            return None
        return {
            "package_folder": str(self.package.absolute()),
            "sortie": self.sortie,
            "vehicle": self.vehicle,
            "at_s": self.started_s,
            "verified": self.counts is not None,
            "counts": self.counts,
            "detail": self.detail,
            "override": self.override,
        }

    def upload_payload(self) -> dict[str, Any]:
        """What ``patrol upload`` records."""
        return {"package": package_of(self.package), "upload": self._upload()}

    def fly_payload(self, tlog: Path | None, outcome: str, operator: str) -> dict[str, Any]:
        """What ``patrol fly`` records: the upload and the flight with its telemetry log (when one was written)."""
        flight = None
        if tlog is not None and tlog.exists() and tlog.stat().st_size:
            try:
                log: FlightLog | None = read_log(tlog)
            except InputError:
                log = None  # no position was logged (it never flew); the file is still evidence
            flight = flight_summary(
                tlog, log, self.vehicle, operator, "fly", start_s=self.started_s, end_s=time.time(), outcome=outcome
            )
            flight["sortie"] = self.sortie
        return {"package": package_of(self.package), "upload": self._upload(), "flight": flight}


def broadcast_payload(package: Path, sortie: int, play_log: Path) -> dict[str, Any]:
    """What ``patrol broadcast`` records: every speaker event of its play log (JSON lines)."""
    plays = []
    if play_log.exists():
        for line in play_log.read_text(encoding="utf-8").splitlines():
            try:
                p = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            t = dt.datetime.fromisoformat(p["t_utc"].replace("Z", "+00:00"))
            plays.append(
                {
                    "at_s": t.timestamp(),
                    "action": p["action"],
                    "track": p["track"],
                    "prompt_id": p.get("prompt_id"),
                    "lang": p.get("lang"),
                    "lat": p.get("lat"),
                    "lon": p.get("lon"),
                    "evidence": f"player {p.get('evidence', '')}".strip(),
                }
            )
    return {"package": package_of(package), "sortie": sortie, "plays": plays}


def audit_payload(
    package: Path,
    audits: list[CompoundAudit],
    doc: dict[str, Any],
    logs: list[FlightLog],
    output: Path,
    operator: str,
    vehicle: str | None = None,
) -> dict[str, Any]:
    """What ``patrol audit`` records: the package, the audited flights, per-compound results and hearings."""
    flights = [flight_summary(lg.path, lg, vehicle, operator, "audit") for lg in logs]
    results, hearings = audit_results(audits, doc, logs, flights)
    return {
        "package": package_of(package),
        "package_folder": str(Path(package).absolute()),
        "at_s": time.time(),
        "min_coverage": float(doc["min_coverage"]),
        "output": str(Path(output).absolute()),
        "flights": flights,
        "results": results,
        "hearings": hearings,
    }


def import_payload(
    logs: list[Path], package: Path | None, vehicle: str | None, operator: str, say: Any
) -> dict[str, Any]:
    """What ``patrol ledger add`` records: each log as a flight (a log with no position is refused by name)."""
    flights = []
    for path in logs:
        log = read_log(path)
        for w in log.warnings:
            say(_("patrol: warning: {path}: {warning}").format(path=path, warning=w))
        flights.append(flight_summary(path, log, vehicle, operator, "import"))
    return {"package": package_of(package) if package else None, "flights": flights}
