"""Writing payloads (:mod:`patrol.ledger.payloads`) into the ledger: one run row and its records, inside the
caller's transaction. Idempotent where the world is: a package (manifest hash) and a flight (log hash) are
recorded once however often they come; an audit of flights that a later audit of the same flights and more
covers is marked superseded, so a compound's hearings are never counted twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from patrol.i18n import _, shown
from patrol.ledger import schema as s
from patrol.ledger.payloads import json_text


def utc(ts: float) -> dt.datetime:
    """UNIX seconds as the naive UTC datetime the ledger stores."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None)


def _insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]], key: str) -> None:
    """INSERT, skipping rows whose ``key`` is already there (ON CONFLICT DO NOTHING on both databases)."""
    if not rows:
        return
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(mod.insert(table).on_conflict_do_nothing(index_elements=[key]), rows)


def _run(conn: Connection, run: dict[str, Any], spooled: bool) -> int:
    return conn.execute(
        insert(s.runs).returning(s.runs.c.id),
        {
            "kind": run["kind"],
            "started_utc": utc(run["started_s"]),
            "finished_utc": utc(run["finished_s"]),
            "operator": run["operator"],
            "host": run["host"],
            "command": run["command"],
            "patrol_version": run["patrol_version"],
            "spooled": spooled,
        },
    ).scalar_one()


def _compounds(conn: Connection, comps: list[dict[str, Any]], at: dt.datetime) -> dict[str, int]:
    """Ids of the compounds (by code), inserting new ones and refreshing name, tier, priority and geometry."""
    if not comps:
        return {}
    codes = [c["code"] for c in comps]
    _insert_ignore(
        conn,
        s.compounds,
        [
            {
                "code": c["code"],
                "name": c.get("name") or c["code"],
                "tier": c.get("tier") or "",
                "priority": int(c.get("priority") or 0),
                "geometry": json_text(c["geometry"]) if c.get("geometry") else None,
                "first_seen_utc": at,
                "updated_utc": at,
            }
            for c in comps
        ],
        "code",
    )
    ids = dict(conn.execute(select(s.compounds.c.code, s.compounds.c.id).where(s.compounds.c.code.in_(codes))).all())
    fresh = [c for c in comps if c.get("geometry")]
    for c in fresh:
        conn.execute(
            update(s.compounds)
            .where(s.compounds.c.id == ids[c["code"]])
            .values(
                name=c.get("name") or c["code"],
                tier=c.get("tier") or "",
                priority=int(c.get("priority") or 0),
                geometry=json_text(c["geometry"]),
                updated_utc=at,
            )
        )
    return ids


def _package(conn: Connection, run_id: int, pkg: dict[str, Any] | None) -> int | None:
    """The package's id (by manifest hash), recording it and its compounds the first time it is seen."""
    if not pkg:
        return None
    sha = pkg["manifest_sha256"]
    found = conn.execute(select(s.packages.c.id).where(s.packages.c.manifest_sha256 == sha)).scalar()
    if found is not None:
        return int(found)
    at = utc(pkg["planned_s"])
    ids = _compounds(conn, pkg["compounds"], at)
    _insert_ignore(
        conn,
        s.packages,
        [
            {
                "run_id": run_id,
                "manifest_sha256": sha,
                "folder": pkg["folder"],
                "planned_utc": at,
                "sorties": int(pkg["sorties"]),
                "inputs": json_text(pkg["inputs"]),
                "parameters": json_text(pkg["parameters"]),
            }
        ],
        "manifest_sha256",
    )
    pid = int(conn.execute(select(s.packages.c.id).where(s.packages.c.manifest_sha256 == sha)).scalar_one())
    rows = [
        {
            "package_id": pid,
            "compound_id": ids[c["code"]],
            "sorties": ",".join(str(x) for x in c.get("sorties", [])),
            "predicted_heard_whole_share": c.get("predicted_heard_whole_share"),
        }
        for c in pkg["compounds"]
    ]
    if rows:
        conn.execute(insert(s.package_compounds), rows)
    return pid


def _flights(conn: Connection, run_id: int, pid: int | None, flights: list[dict[str, Any]]) -> tuple[dict, int]:
    """Ids of the flights (by log hash) and how many were new; a new flight's cue plays are recorded with it."""
    if not flights:
        return {}, 0
    shas = [f["log_sha256"] for f in flights]
    have = set(conn.execute(select(s.flights.c.log_sha256).where(s.flights.c.log_sha256.in_(shas))).scalars())
    new = [f for f in {f["log_sha256"]: f for f in flights}.values() if f["log_sha256"] not in have]
    _insert_ignore(
        conn,
        s.flights,
        [
            {
                "run_id": run_id,
                "package_id": pid,
                "sortie": f.get("sortie"),
                "vehicle": f["vehicle"],
                "operator": f["operator"],
                "log_name": f["log_name"],
                "log_sha256": f["log_sha256"],
                "log_bytes": f["log_bytes"],
                "start_utc": utc(f["start_s"]),
                "end_utc": utc(f["end_s"]),
                "duration_s": f["duration_s"],
                "source": f["source"],
                "outcome": f["outcome"],
            }
            for f in new
        ],
        "log_sha256",
    )
    known = select(s.flights.c.log_sha256, s.flights.c.id).where(s.flights.c.log_sha256.in_(shas))
    ids = dict(conn.execute(known).all())
    for f in new:
        _plays(conn, run_id, pid, f.get("sortie"), f.get("plays", []))
    return ids, len(new)


def _plays(conn: Connection, run_id: int, pid: int | None, sortie: int | None, plays: list[dict[str, Any]]) -> None:
    if plays:
        conn.execute(
            insert(s.plays),
            [
                {
                    "run_id": run_id,
                    "package_id": pid,
                    "sortie": sortie,
                    "at_utc": utc(p["at_s"]),
                    "action": p["action"],
                    "track": int(p["track"]),
                    "prompt_id": p.get("prompt_id"),
                    "lang": p.get("lang"),
                    "lat": p.get("lat"),
                    "lon": p.get("lon"),
                    "evidence": p["evidence"],
                }
                for p in plays
            ],
        )


def _upload(conn: Connection, run_id: int, pid: int | None, up: dict[str, Any]) -> None:
    counts = up.get("counts") or {}
    conn.execute(
        insert(s.uploads),
        {
            "run_id": run_id,
            "package_id": pid,
            "package_folder": up["package_folder"],
            "sortie": up["sortie"],
            "vehicle": up["vehicle"],
            "at_utc": utc(up["at_s"]),
            "verified": bool(up["verified"]),
            "mission_items": counts.get("mission"),
            "fence_items": counts.get("fence"),
            "rally_items": counts.get("rally"),
            "detail": up["detail"],
        },
    )
    ov = up.get("override")
    if ov:
        conn.execute(
            insert(s.overrides),
            {
                "run_id": run_id,
                "package_id": pid,
                "sortie": up["sortie"],
                "at_utc": utc(up["at_s"]),
                "reason": ov["reason"],
                "violations": json_text(ov["violations"]),
            },
        )


def write_plan(conn: Connection, run_id: int, p: dict[str, Any]) -> str:
    """A planned package and its compounds."""
    pid = _package(conn, run_id, p["package"])
    text = _("package #{id} ({compounds} compounds, {sorties} sorties)")
    return text.format(id=pid, compounds=len(p["package"]["compounds"]), sorties=p["package"]["sorties"])


def write_upload(conn: Connection, run_id: int, p: dict[str, Any]) -> str:
    """An upload with its read-back result (and any override)."""
    pid = _package(conn, run_id, p.get("package"))
    _upload(conn, run_id, pid, p["upload"])
    text = _("upload of sortie {n} (verified)") if p["upload"]["verified"] else _("upload of sortie {n} (failed)")
    return text.format(n=p["upload"]["sortie"])


def write_fly(conn: Connection, run_id: int, p: dict[str, Any]) -> str:
    """A flight: its upload, and the flight with its log (when one was recorded)."""
    pid = _package(conn, run_id, p.get("package"))
    if p.get("upload"):
        _upload(conn, run_id, pid, p["upload"])
    if p.get("flight"):
        _flights(conn, run_id, pid, [p["flight"]])
        outcome = shown(p["flight"]["outcome"])  # recorded in English, said in the language in use
        return _("flight of sortie {n} ({outcome})").format(n=p["flight"].get("sortie"), outcome=outcome)
    return _("upload (no flight log)")


def write_broadcast(conn: Connection, run_id: int, p: dict[str, Any]) -> str:
    """The companion player's speaker events."""
    pid = _package(conn, run_id, p.get("package"))
    _plays(conn, run_id, pid, p.get("sortie"), p["plays"])
    return _("{n} speaker event(s)").format(n=len(p["plays"]))


def write_import(conn: Connection, run_id: int, p: dict[str, Any]) -> str:
    """Flights flown elsewhere (``patrol ledger add``): each log once."""
    pid = _package(conn, run_id, p.get("package"))
    _fids, n_new = _flights(conn, run_id, pid, p["flights"])
    return _("{new} new flight(s), {old} already recorded").format(new=n_new, old=len(p["flights"]) - n_new)


def write_audit(conn: Connection, run_id: int, p: dict[str, Any]) -> str:
    """An audit: its flights, per-compound results and hearings; earlier audits of a subset of its flights are
    superseded (their results and hearings no longer count)."""
    pid = _package(conn, run_id, p.get("package"))
    fids, _new = _flights(conn, run_id, pid, p["flights"])
    key = ",".join(sorted(fids))
    aid = conn.execute(
        insert(s.audits).returning(s.audits.c.id),
        {
            "run_id": run_id,
            "package_id": pid,
            "package_folder": p["package_folder"],
            "at_utc": utc(p["at_s"]),
            "min_coverage": p["min_coverage"],
            "output": p["output"],
            "flights_key": key,
        },
    ).scalar_one()
    conn.execute(insert(s.audit_flights), [{"audit_id": aid, "flight_id": f} for f in sorted(set(fids.values()))])
    mine = set(fids)
    sharing = select(s.audit_flights.c.audit_id).where(s.audit_flights.c.flight_id.in_(list(fids.values())))
    older = conn.execute(
        select(s.audits.c.id, s.audits.c.flights_key).where(
            s.audits.c.superseded_by.is_(None), s.audits.c.id != aid, s.audits.c.id.in_(sharing)
        )
    ).all()
    gone = [a for a, k in older if k and set(k.split(",")) <= mine]
    if gone:
        conn.execute(update(s.audits).where(s.audits.c.id.in_(gone)).values(superseded_by=aid))
        conn.execute(update(s.audit_results).where(s.audit_results.c.audit_id.in_(gone)).values(active=False))
        conn.execute(update(s.hearings).where(s.hearings.c.audit_id.in_(gone)).values(active=False))
    at = utc(p["at_s"])
    cids = _compounds(conn, [{"code": r["code"], "name": r["name"], "tier": r["tier"]} for r in p["results"]], at)
    if p["results"]:
        conn.execute(
            insert(s.audit_results),
            [
                {
                    "audit_id": aid,
                    "compound_id": cids[r["code"]],
                    "at_utc": utc(r["at_s"]),
                    "heard_whole_share": r["heard_whole_share"],
                    "in_range_share": r["in_range_share"],
                    "predicted_heard_whole_share": r.get("predicted_heard_whole_share"),
                    "time_over_s": r["time_over_s"],
                    "passes": r["passes"],
                    "prompts": r["prompts"],
                    "fence_breaches": r["fence_breaches"],
                    "active": True,
                }
                for r in p["results"]
            ],
        )
    counted = set(
        conn.execute(
            select(s.hearings.c.compound_id, s.hearings.c.flight_id).where(
                s.hearings.c.active.is_(True), s.hearings.c.flight_id.in_(list(fids.values()))
            )
        ).all()
    )
    rows = []
    for h in p["hearings"]:
        fid = fids.get(h["log_sha256"]) if h["log_sha256"] else None
        if fid is not None and (cids[h["code"]], fid) in counted:
            continue  # that flight's hearing of that compound is already counted by a standing audit
        rows.append(
            {
                "audit_id": aid,
                "compound_id": cids[h["code"]],
                "flight_id": fid,
                "heard_utc": utc(h["at_s"]),
                "heard_whole_share": h["share"],
                "active": True,
            }
        )
    if rows:
        conn.execute(insert(s.hearings), rows)
    n_pass = sum(1 for r in p["results"] if r["passes"])
    extra = _("; supersedes audit #{ids}").format(ids=", #".join(map(str, gone))) if gone else ""
    text = _("audit #{id} ({ok}/{n} compounds heard whole, {hearings} hearing(s){extra})")
    return text.format(id=aid, ok=n_pass, n=len(p["results"]), hearings=len(rows), extra=extra)


WRITERS: dict[str, Callable[[Connection, int, dict[str, Any]], str]] = {
    "plan": write_plan,
    "upload": write_upload,
    "fly": write_fly,
    "broadcast": write_broadcast,
    "import": write_import,
    "audit": write_audit,
}


def write(conn: Connection, kind: str, payload: dict[str, Any], spooled: bool = False) -> str:
    """Write one command's payload (its run row first) in ``conn``'s transaction; returns what was recorded."""
    run_id = _run(conn, payload["run"], spooled)
    return WRITERS[kind](conn, run_id, payload)


def loads(text: str) -> dict[str, Any]:
    """A payload back from its JSON text (the spool's)."""
    return json.loads(text)
