"""What a command records, as plain JSON-able dicts (the same dict is written to the ledger or, when the ledger
cannot be reached, to the spool). Times are UNIX seconds (UTC). Nothing here touches a database.

Every payload that concerns a package carries its summary (:func:`package_summary`), so a flight or an audit of a
package the ledger has not seen (planned with the ledger off, or on another laptop) still joins its compounds.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patrol import __version__

if TYPE_CHECKING:
    from patrol.package.reader import Package
    from patrol.review.audit import CompoundAudit
    from patrol.review.flightlog import FlightLog


def file_sha256(path: str | Path) -> tuple[str, int]:
    """``(sha256 hex, size in bytes)`` of a file, read in blocks."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def run_info(kind: str, operator: str, started_s: float) -> dict[str, Any]:
    """The run row: what command, who, where, when it started (now is when it finished)."""
    return {
        "kind": kind,
        "started_s": started_s,
        "finished_s": time.time(),
        "operator": operator,
        "host": socket.gethostname(),
        "command": "patrol " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "patrol_version": __version__,
    }


def package_summary(pkg: Package) -> dict[str, Any]:
    """A package as the ledger keeps it: manifest hash, folder, sorties, inputs, parameters, compounds with their
    WGS84 geometry, tier, priority, sorties and predicted heard-whole share."""
    man_path = pkg.folder / "manifest.json"
    sha, _ = file_sha256(man_path)
    stats = {c["id"]: c for c in pkg.manifest.get("compounds", [])}
    comps = []
    for feat in pkg.layer("compound"):
        p = feat["properties"]
        s = stats.get(p.get("id"), {})
        comps.append(
            {
                "code": str(p["id"]),
                "name": str(p.get("name") or p["id"]),
                "tier": str(p.get("tier") or ""),
                "priority": int(p.get("priority") or 0),
                "geometry": feat["geometry"],
                "sorties": [int(x) for x in s.get("sorties", p.get("sorties", []))],
                "predicted_heard_whole_share": s.get("predicted_heard_whole_share"),
            }
        )
    return {
        "manifest_sha256": sha,
        "folder": str(pkg.folder.absolute()),
        "planned_s": os.stat(man_path).st_mtime,
        "sorties": len(pkg.sortie_indices),
        "inputs": pkg.manifest.get("inputs", []),
        "parameters": pkg.manifest.get("parameters", {}),
        "compounds": comps,
    }


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def flight_summary(
    path: str | Path, log: FlightLog | None, vehicle: str | None, operator: str, source: str, **extra: Any
) -> dict[str, Any]:
    """A flight log as the ledger keeps it: name, sha256, size, start and end (UTC, from the log's GPS/system
    time; else ``start_s``/``end_s`` in ``extra``; else the file's modification time as the end), vehicle."""
    sha, size = file_sha256(path)
    duration = log.duration_s if log is not None else 0.0
    start = extra.pop("start_s", None)
    end = extra.pop("end_s", None)
    if log is not None and log.start_utc is not None:
        start, end = log.start_utc, log.start_utc + duration
    if end is None:
        end = os.stat(path).st_mtime
    if start is None:
        start = end - duration
    sysid = getattr(log, "system_id", None) if log is not None else None
    return {
        "log_name": str(Path(path).absolute()),
        "log_sha256": sha,
        "log_bytes": size,
        "start_s": start,
        "end_s": end,
        "duration_s": round(duration, 1),
        "vehicle": vehicle or (f"sysid {sysid}" if sysid else "unknown"),
        "operator": operator,
        "source": source,
        "outcome": extra.pop("outcome", "flown"),
        "sortie": extra.pop("sortie", None),
        "plays": [
            {
                "at_s": (start + p.t_s),
                "action": p.action,
                "track": p.track,
                "lat": _finite(p.lat),
                "lon": _finite(p.lon),
                "evidence": f"log {p.source}",
            }
            for p in (log.plays if log is not None else ())
        ],
    }


def audit_results(
    audits: Iterable[CompoundAudit], doc: dict[str, Any], logs: list[FlightLog], flights: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-compound results and hearings of one audit.

    A *hearing* is a moment a compound heard a whole warning: one per flight that alone covered the compound's
    required share, at that flight's last whole warning over it; or, when only the flights together did, one for
    them all, at the last of theirs. ``flights`` are :func:`flight_summary` of ``logs``, in the same order.
    """
    min_cov = float(doc["min_coverage"])
    rows = {r["id"]: r for r in doc["compounds"]}
    by_path = {lg.path: (lg, f) for lg, f in zip(logs, flights, strict=True)}
    results, hearings = [], []
    for a in audits:
        r = rows[a.id]
        times: dict[str, float] = {}
        for path in a.logs:
            f = by_path[path][1]
            name = Path(path).name
            starts = [p["start_utc"] for p in a.prompts if p.get("log") == name and p.get("start_utc") is not None]
            times[path] = max(starts) if starts else f["end_s"]
        at = max(times.values()) if times else max((f["end_s"] for f in flights), default=time.time())
        prompts = sorted({str(p["prompt_id"]) for p in a.prompts if p.get("prompt_id")})
        results.append(
            {
                "code": a.id,
                "name": a.name,
                "tier": a.tier,
                "at_s": at,
                "heard_whole_share": r["heard_whole_share"],
                "in_range_share": r["in_range_share"],
                "predicted_heard_whole_share": r.get("predicted_heard_whole_share"),
                "time_over_s": r["time_over_s"],
                "passes": bool(r["passes"]),
                "prompts": ",".join(prompts),
                "fence_breaches": int(r["fence_breaches"]),
            }
        )
        alone = [(p, s) for p, s in a.heard_by_log.items() if round(s, 4) >= min_cov and p in times]
        for path, share in alone:
            hearings.append(
                {"code": a.id, "log_sha256": by_path[path][1]["log_sha256"], "at_s": times[path], "share": share}
            )
        if not alone and r["passes"]:
            hearings.append({"code": a.id, "log_sha256": None, "at_s": at, "share": r["heard_whole_share"]})
    return results, hearings


def json_text(obj: Any) -> str:
    """Compact, stable JSON (as the ledger stores lists and parameters)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
