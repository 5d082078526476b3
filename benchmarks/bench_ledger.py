"""Ledger figures (printed, not asserted): a city-year answered by `patrol status`, on SQLite and PostgreSQL.

A city-year: 2,000 compounds (a third each scattered, guarded, closed), 50 flights a day for 365 days (18,250
flights), each flight audited: every compound heard once a day and the scattered ones twice (about 2,700
hearings and audit results a day, a million of each in the year), ten speaker events per flight. The rows are
bulk-inserted with SQLAlchemy Core (the same tables the commands write). Then `patrol status` (the whole command,
in its own process: interpreter, imports, open, query, print) as of the year's last day and as of mid-year;
target under 1 s. Anchor: `patrol --help` (the interpreter and the CLI alone) and the status query by itself.

    python benchmarks/bench_ledger.py [--days 365] [--compounds 2000] [--skip-postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from patrol.ledger import schema as s  # noqa: E402
from patrol.ledger.config import target_from  # noqa: E402
from patrol.ledger.status import as_of_for, compound_status, parse_policy  # noqa: E402
from patrol.ledger.store import open_ledger  # noqa: E402

TARGET_S = 1.0
START = dt.datetime(2020, 1, 27)  # UTC, naive as the ledger stores it
TIERS = ("scattered", "guarded", "closed")


def _square(lon: float, lat: float, d: float = 0.0012) -> str:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def fill(url: str, n_compounds: int, days: int, flights_per_day: int = 50, chunk: int = 20_000) -> dict[str, int]:
    """Bulk-insert a campaign into the (new) ledger at ``url``; returns row counts."""
    rng = random.Random(7)
    led = open_ledger(target_from(url, "bench"))
    t0 = START
    n = {"compounds": n_compounds, "flights": 0, "audits": 0, "audit_results": 0, "hearings": 0, "plays": 0}
    with led.write() as conn:
        run_id = conn.execute(
            insert(s.runs).returning(s.runs.c.id),
            {"kind": "import", "started_utc": t0, "finished_utc": t0, "operator": "bench", "host": "bench",
             "command": "bench_ledger.py", "patrol_version": "bench", "spooled": False},
        ).scalar_one()  # fmt: skip
        conn.execute(
            insert(s.compounds),
            [{"id": k + 1, "code": f"C{k:04d}", "name": f"compound {k}", "tier": TIERS[k % 3], "priority": 1 + k % 3,
              "geometry": _square(112.6 + (k % 50) * 0.002, 38.3 + (k // 50) * 0.002), "first_seen_utc": t0,
              "updated_utc": t0} for k in range(n_compounds)],
        )  # fmt: skip
    fid = aid = rid = hid = pid = 0
    # each compound once a day in the morning round, the scattered ones again in the afternoon round: 50 flights
    rounds = [(0, k) for k in range(n_compounds)] + [(1, k) for k in range(n_compounds) if k % 3 == 0]
    per_flight = -(-len(rounds) // flights_per_day)
    for day in range(days):
        flights, audits, links, results, hearings, plays = [], [], [], [], [], []
        slots = []
        for j in range(0, len(rounds), per_flight):
            part = rounds[j : j + per_flight]
            slots.append((8 + 7 * part[0][0] + 5 * j / len(rounds), [k for _, k in part]))
        for hour, comps in slots:
            fid += 1
            aid += 1
            start = t0 + dt.timedelta(days=day, hours=hour)
            end = start + dt.timedelta(minutes=18)
            flights.append({"id": fid, "run_id": run_id, "package_id": None, "sortie": 1 + fid % 13, "vehicle":
                            f"copter-{fid % 6}", "operator": f"operator {fid % 9}", "log_name": f"/logs/{fid}.tlog",
                            "log_sha256": f"{fid:064x}", "log_bytes": 4_000_000, "start_utc": start, "end_utc": end,
                            "duration_s": 1080.0, "source": "fly", "outcome": "landed and disarmed"})  # fmt: skip
            audits.append({"id": aid, "run_id": run_id, "package_id": None, "package_folder": "/missions/city",
                           "at_utc": end, "min_coverage": 0.9, "output": f"/audits/{aid}", "flights_key": f"{fid:064x}",
                           "superseded_by": None})  # fmt: skip
            links.append({"audit_id": aid, "flight_id": fid})
            for i, k in enumerate(comps):
                heard = start + dt.timedelta(seconds=20 * i)
                share = min(1.0, 0.86 + 0.14 * rng.random())
                rid += 1
                results.append({"id": rid, "audit_id": aid, "compound_id": k + 1, "at_utc": heard, "heard_whole_share":
                                share, "in_range_share": 1.0, "predicted_heard_whole_share": 0.99, "time_over_s": 60.0,
                                "passes": share >= 0.9, "prompts": "mask-gather,stay-home", "fence_breaches": 0,
                                "active": True})  # fmt: skip
                if share >= 0.9:
                    hid += 1
                    hearings.append({"id": hid, "audit_id": aid, "compound_id": k + 1, "flight_id": fid,
                                     "heard_utc": heard, "heard_whole_share": share, "active": True})  # fmt: skip
            for e in range(10):
                pid += 1
                at = start + dt.timedelta(seconds=100 * e)
                plays.append({"id": pid, "run_id": run_id, "package_id": None, "sortie": None, "at_utc": at,
                              "action": "loop", "track": 1 + e % 4, "prompt_id": "mask-gather", "lang": "zh",
                              "lat": 38.4, "lon": 112.7, "evidence": "log statustext"})  # fmt: skip
        with led.write() as conn:
            for table, rows in ((s.flights, flights), (s.audits, audits), (s.audit_flights, links),
                                (s.audit_results, results), (s.hearings, hearings), (s.plays, plays)):  # fmt: skip
                for k in range(0, len(rows), chunk):
                    conn.execute(insert(table), rows[k : k + chunk])
        n["flights"] += len(flights)
        n["audits"] += len(audits)
        n["audit_results"] += len(results)
        n["hearings"] += len(hearings)
        n["plays"] += len(plays)
    if led.dialect == "postgresql":
        with led.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with led.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    led.close()
    return n


def timed_cli(*args: str, runs: int = 5) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of ``patrol ARGS`` in its own process (the first run
    warms the file cache). On a shared machine the CPU time is what the wall time would be with the cores free
    (for PostgreSQL the server's own work is not in it; it is in the query's figure)."""
    cmd = [sys.executable, str(ROOT / "cli.py"), *args]
    subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT)
    walls, cpus = [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT)
        walls.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def query_s(url: str, date: dt.date | None) -> float:
    led = open_ledger(target_from(url, "bench"), create=False)
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        with led.read() as conn:
            rows = compound_status(conn, as_of_for(date), parse_policy(None))
        best = min(best, time.perf_counter() - t)
    assert len(rows) > 0
    led.close()
    return best


def bench(kind: str, url: str, n_compounds: int, days: int) -> None:
    t = time.perf_counter()
    n = fill(url, n_compounds, days)
    fill_s = time.perf_counter() - t
    rows = sum(n.values())
    print(f"{kind}: filled {rows:,} rows in {fill_s:.0f} s ({rows / fill_s:,.0f} rows/s): "
          + ", ".join(f"{v:,} {k}" for k, v in n.items()))  # fmt: skip
    last = (START + dt.timedelta(days=days - 1)).date()
    mid = (START + dt.timedelta(days=days // 2)).date()
    for label, date in (("year's last day", last), ("mid-year", mid)):
        wall, cpu = timed_cli("status", "--date", date.isoformat(), "--ledger", url)
        q = query_s(url, date)
        # on free cores: the client's CPU time, plus (PostgreSQL) the server's part of the query, at most q
        free = cpu + (q if kind == "PostgreSQL" else 0.0)
        verdict = "ok" if wall < TARGET_S else ("ok on free cores" if free < TARGET_S else "OVER")
        print(f"  patrol status --date ({label}): {wall:.2f} s wall, {cpu:.2f} s CPU  target < {TARGET_S:.0f} s  "
              f"[{verdict}]  (the query alone {q * 1000:.0f} ms)")  # fmt: skip
    js, js_cpu = timed_cli("status", "--json", "--date", last.isoformat(), "--ledger", url, runs=3)
    print(f"  patrol status --json: {js:.2f} s wall, {js_cpu:.2f} s CPU")
    with tempfile.TemporaryDirectory() as tmp:
        week, _ = timed_cli("report", "--week", last.isoformat(), "-o", f"{tmp}/w", "--force", "--ledger", url, runs=1)
        page, _ = timed_cli("map", "--ledger", url, "-o", f"{tmp}/m.html", "--tiles", "none", "--date",
                            last.isoformat(), runs=1)  # fmt: skip
    print(f"  patrol report --week: {week:.2f} s; patrol map --ledger (14 days): {page:.2f} s (wall)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--compounds", type=int, default=2000)
    ap.add_argument("--skip-postgresql", action="store_true")
    args = ap.parse_args()
    anchor, anchor_cpu = timed_cli("--help")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"anchor: patrol --help {anchor:.2f} s wall, {anchor_cpu:.2f} s CPU (interpreter and CLI start-up, no "
          f"ledger); load average {load} on {os.cpu_count()} cores")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        bench("SQLite", str(Path(tmp) / "city.sqlite"), args.compounds, args.days)
    if args.skip_postgresql:
        return
    from tests.pg_server import PgServer, find_bin

    bindir = find_bin()
    if bindir is None:
        print("PostgreSQL: server binaries not found (make installs postgresql); skipped")
        return
    server = PgServer(bindir).start()
    try:
        bench("PostgreSQL", server.new_database(), args.compounds, args.days)
    finally:
        server.destroy()


if __name__ == "__main__":
    main()
