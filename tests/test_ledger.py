"""The ledger on SQLite and on a real PostgreSQL server, with the same test code: the schema the migrations make,
writers at the same moment, a killed `patrol audit`, bad ledgers (damaged, newer, down) refused in one line with
nothing touched, field commands that spool when the ledger is down and land later, and what each command records."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, text

from patrol.ledger import schema as s
from patrol.ledger.config import target_from
from patrol.ledger.store import open_ledger
from tests.conftest import ROOT
from tests.ledger_fixtures import LAT, LON, cli, district_file, plan_district
from tests.ledger_logs import write_flight
from tests.mission_peer_double import MissionPeerDouble
from tests.pg_server import free_port
from tests.test_audit import write_tlog


def popen(*args: str, env: dict | None = None) -> subprocess.Popen:
    """``patrol ARGS`` started in its own process, stderr readable line by line."""
    cmd = [sys.executable, str(ROOT / "cli.py"), *args]
    return subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def counts(url: str) -> dict[str, int]:
    led = open_ledger(target_from(url, "test"), create=False)
    with led.read() as conn:
        out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in s.metadata.sorted_tables}
    led.close()
    return out


def one_line(res: subprocess.CompletedProcess, code: int, needle: str) -> None:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == code, res.stderr
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr, res.stderr


def test_the_migrations_make_exactly_the_schema_of_the_code(ledger_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    led = open_ledger(target_from(ledger_url, "test"))
    with led.read() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == s.HEAD
        diffs = compare_metadata(MigrationContext.configure(conn), s.metadata)
    assert diffs == []
    assert sorted(p.stem for p in (ROOT / "patrol/ledger/migrations/versions").glob("0*.py"))[-1] == s.HEAD


def test_writers_at_the_same_moment_all_land_and_a_log_counts_once(ledger_url, tmp_path):
    logs = []
    for k in range(4):
        n = 121
        logs.append(write_tlog(tmp_path / f"f{k}.tlog", np.linspace(-300, 300, n), np.full(n, 10.0 * k)))
    env = {"PATROL_LEDGER_TEST_STALL_S": "3"}
    first = popen("ledger", "add", str(logs[0]), "--ledger", ledger_url, env=env)
    assert "test stall" in first.stderr.readline()  # the first writer holds its transaction open for 3 s
    t_stall = time.time()
    others = [popen("ledger", "add", str(p), "--ledger", ledger_url) for p in [*logs[1:], logs[3], logs[0]]]
    errs = [p.communicate(timeout=120)[1] for p in others]
    rest = first.communicate(timeout=120)[1]
    assert first.returncode == 0 and all(p.returncode == 0 for p in others), (rest, errs)
    assert time.time() - t_stall >= 2.5  # they queued behind the open transaction instead of failing
    c = counts(ledger_url)
    assert c["runs"] == 6 and c["flights"] == 4
    assert sum("1 new flight(s)" in e for e in errs) == 3 and sum("1 already recorded" in e for e in errs) == 2


def test_processes_opening_a_new_ledger_at_once_all_create_it_once(ledger_url, tmp_path):
    logs = [write_tlog(tmp_path / f"n{k}.tlog", np.linspace(0, 100, 11), np.full(11, 5.0 * k)) for k in range(3)]
    procs = [popen("ledger", "add", str(p), "--ledger", ledger_url) for p in logs]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    c = counts(ledger_url)
    assert c["runs"] == 3 and c["flights"] == 3


def test_a_killed_audit_leaves_no_partial_record(ledger_url, tmp_path):
    pkg = plan_district(tmp_path, ledger_url)
    log = write_flight(tmp_path / "f.tlog", pkg, ["S1", "S2"], time.time() - 3600)
    before = counts(ledger_url)
    args = ["audit", str(log), "-p", str(pkg), "-o", str(tmp_path / "a"), "--assume-playing", "--only-flown"]
    proc = popen(*args, "--ledger", ledger_url, env={"PATROL_LEDGER_TEST_STALL_S": "120"})
    line = proc.stderr.readline()
    assert "test stall" in line, line  # inside the write transaction, everything written but not committed
    assert counts(ledger_url) == before  # nobody else sees any of it
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert counts(ledger_url) == before  # the kill left the ledger as it was
    res = cli(*args, "--force", "--ledger", ledger_url)
    assert res.returncode == 0, res.stderr
    after = counts(ledger_url)
    assert after["audits"] == 1 and after["audit_results"] == 2 and after["hearings"] == 2 and after["flights"] == 1
    assert after["runs"] == before["runs"] + 1


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = os.urandom(100)  # the SQLite header
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["garbage", "header"])
def test_a_damaged_sqlite_ledger_is_refused_in_one_line_and_left_alone(tmp_path, how):
    led = tmp_path / "ledger.sqlite"
    if how == "garbage":
        led.write_bytes(b"this is not a database\n" * 500)
    else:
        plan_district(tmp_path, str(led))
        _damage(led)
    digest = hashlib.sha256(led.read_bytes()).hexdigest()
    out = tmp_path / "pkg2"
    one_line(cli("status", "--ledger", str(led)), 4, "damaged or not an SQLite file")
    res = cli("plan", str(district_file(tmp_path)), "-o", str(out), "--speaker", "none", "--ledger", str(led))
    one_line(res, 4, f"ledger {led}: damaged or not an SQLite file")
    assert not out.exists()
    assert hashlib.sha256(led.read_bytes()).hexdigest() == digest


def test_a_ledger_of_a_newer_schema_is_refused_in_one_line(ledger_url, tmp_path):
    plan_district(tmp_path, ledger_url)
    led = open_ledger(target_from(ledger_url, "test"))
    with led.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    led.close()
    out = tmp_path / "pkg2"
    res = cli("plan", str(district_file(tmp_path)), "-o", str(out), "--speaker", "none", "--ledger", ledger_url)
    one_line(res, 4, "has schema 0099_from_the_future, newer than this patrol knows (0001_initial); upgrade patrol")
    assert not out.exists()
    one_line(cli("status", "--ledger", ledger_url), 4, "newer than this patrol knows")
    eng = open_ledger.__globals__["_engine"](target_from(ledger_url, "test"))
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.packages)).scalar_one() == 1
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0099_from_the_future"
    eng.dispose()


def test_a_database_that_is_down_is_one_line_and_nothing_is_written(tmp_path):
    url = f"postgresql://patrol@127.0.0.1:{free_port()}/patrol"
    out = tmp_path / "pkg"
    res = cli("plan", str(district_file(tmp_path)), "-o", str(out), "--speaker", "none", "--ledger", url)
    one_line(res, 4, f"ledger postgresql://patrol@127.0.0.1:{url.split(':')[2].split('/')[0]}/patrol is unreachable")
    assert not out.exists()
    one_line(cli("status", "--ledger", url), 4, "is unreachable")
    one_line(cli("report", "-o", str(tmp_path / "r"), "--ledger", url), 4, "is unreachable")
    assert not (tmp_path / "r").exists()


def _home(package: Path) -> tuple[float, float]:
    h = json.loads((package / "manifest.json").read_text())["home"]
    return h["lat"], h["lon"]


def test_an_upload_is_never_held_by_a_ledger_that_is_down(pg, tmp_path):
    """The ledger's server stops: the upload goes ahead, its record waits in the spool, and lands once the server is
    back (with the next command that reaches it, here `patrol ledger sync`)."""
    url = pg.new_database()
    pkg = plan_district(tmp_path, url)
    spool = tmp_path / "spool"
    env = {"PATROL_SPOOL": str(spool)}
    pg.stop()
    try:
        with MissionPeerDouble(home=_home(pkg)) as peer:
            res = cli("upload", str(pkg), "-c", peer.url, "--vehicle", "copter-7", "--ledger", url, env=env)
        assert res.returncode == 0, res.stderr
        assert "is unreachable" in res.stderr and "record is spooled" in res.stderr and "identical" in res.stderr
        assert len(list(spool.glob("*-upload-*.json"))) == 1
    finally:
        pg.start()
    res = cli("ledger", "sync", "--ledger", url, env=env)
    assert res.returncode == 0, res.stderr
    assert "1 spooled record(s) written" in res.stdout and not list(spool.glob("*.json"))
    led = open_ledger(target_from(url, "test"))
    with led.read() as conn:
        (row,) = conn.execute(select(s.uploads)).all()
        run = conn.execute(select(s.runs).where(s.runs.c.id == row.run_id)).one()
    assert row.verified and row.vehicle == "copter-7" and row.detail == "identical" and row.mission_items > 1
    assert run.kind == "upload" and run.spooled


def test_a_damaged_sqlite_ledger_spools_a_field_record_until_it_is_replaced(tmp_path):
    led = tmp_path / "ledger.sqlite"
    pkg = plan_district(tmp_path, str(led))
    _damage(led)
    env = {"PATROL_SPOOL": str(tmp_path / "spool")}
    with MissionPeerDouble(home=_home(pkg)) as peer:
        res = cli("upload", str(pkg), "-c", peer.url, "--ledger", str(led), env=env)
    assert res.returncode == 0 and "record is spooled" in res.stderr, res.stderr
    led.rename(tmp_path / "damaged.sqlite")  # the operator moves it aside; the next command starts a new ledger
    res = cli("ledger", "add", str(write_tlog(tmp_path / "f.tlog", np.zeros(5), np.zeros(5))), "--ledger", str(led),
              env=env)  # fmt: skip
    assert res.returncode == 0 and "spooled upload of sortie 1 (verified) written" in res.stderr, res.stderr
    c = counts(str(led))
    assert c["uploads"] == 1 and c["packages"] == 1 and c["compounds"] == 6 and c["flights"] == 1


def test_upload_records_the_read_back_and_plan_the_package(ledger_url, tmp_path):
    pkg = plan_district(tmp_path, ledger_url)
    with MissionPeerDouble(home=_home(pkg)) as peer:
        res = cli("upload", str(pkg), "-c", peer.url, "--operator", "Li Ming", "--ledger", ledger_url)
    assert res.returncode == 0, res.stderr
    assert "ledger: recorded upload of sortie 1 (verified)" in res.stderr
    led = open_ledger(target_from(ledger_url, "test"))
    with led.read() as conn:
        (up,) = conn.execute(select(s.uploads)).all()
        runs = {r.kind: r for r in conn.execute(select(s.runs))}
        comps = {r.code: r for r in conn.execute(select(s.compounds))}
        (p,) = conn.execute(select(s.packages)).all()
    man = (pkg / "manifest.json").read_bytes()
    assert p.manifest_sha256 == hashlib.sha256(man).hexdigest() and p.sorties >= 1
    assert up.package_id == p.id and up.verified and up.vehicle.startswith("sysid ")
    assert runs["upload"].operator == "Li Ming" and runs["plan"].command.startswith("patrol plan")
    assert set(comps) == {"S1", "S2", "G1", "G2", "C1", "N1"} and comps["C1"].tier == "closed"
    geom = json.loads(comps["S1"].geometry)
    assert geom["type"] == "Polygon" and abs(geom["coordinates"][0][0][0] - LON) < 0.01


def test_overrides_and_cue_plays_are_recorded(ledger_url, tmp_path):
    from patrol.ledger import record
    from patrol.ledger.hooks import Trail, broadcast_payload
    from patrol.ledger.payloads import run_info

    pkg = plan_district(tmp_path, ledger_url)
    trail = Trail(pkg, 1, "copter-2", {"reason": "wind check done", "violations": ["leg 3 passes 9.0 m over a roof"]})
    trail.failed(RuntimeError("vehicle did not answer"))
    plays = tmp_path / "plays.jsonl"
    plays.write_text(
        json.dumps({"t_utc": "2020-02-03T08:00:00Z", "action": "loop", "track": 1, "prompt_id": "mask", "lang": "zh",
                    "lat": LAT, "lon": LON, "evidence": "statustext"}) + "\n" + '{"t_utc": "2020-02-03T08:0'
    )  # fmt: skip
    led = open_ledger(target_from(ledger_url, "test"))
    with led.write() as conn:
        record.write(conn, "upload", {**trail.upload_payload(), "run": run_info("upload", "op", time.time())})
        record.write(conn, "broadcast", {**broadcast_payload(pkg, 1, plays), "run": run_info("broadcast", "op", 0.0)})
    with led.read() as conn:
        (ov,) = conn.execute(select(s.overrides)).all()
        (up,) = conn.execute(select(s.uploads)).all()
        (play,) = conn.execute(select(s.plays)).all()  # the line a crash cut off is not a play
    assert ov.reason == "wind check done" and json.loads(ov.violations) == ["leg 3 passes 9.0 m over a roof"]
    assert not up.verified and up.detail == "failed: vehicle did not answer"
    assert (play.prompt_id, play.lang, play.at_utc.isoformat()) == ("mask", "zh", "2020-02-03T08:00:00")


def test_where_the_ledger_is(tmp_path, monkeypatch):
    from patrol.ledger.config import ledger_url

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PATROL_LEDGER")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert ledger_url(None).path == Path("missions/ledger.sqlite") and ledger_url(None).source == "default"
    (tmp_path / "patrol.toml").write_text('[ledger]\nurl = "shared/city.sqlite"\n')
    assert ledger_url(None).path == tmp_path / "shared" / "city.sqlite"
    monkeypatch.setenv("PATROL_LEDGER", "postgresql://u:pw@db.example/city")
    t = ledger_url(None)
    assert t.url == "postgresql+psycopg://u:pw@db.example/city" and t.shown == "postgresql://u:***@db.example/city"
    assert ledger_url("off").off
    res = cli("plan", str(district_file(tmp_path)), "-o", str(tmp_path / "p"), "--home", f"{LAT - 0.001},{LON}",
              "--speaker", "none", "--ledger", "off")  # fmt: skip
    assert res.returncode == 0 and "ledger:" not in res.stderr, res.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["status", "--every", "5x"], "--every '5x': not an interval; give 4h"),
        (["status", "--every", "scattered=soon"], "--every scattered 'soon': not an interval"),
        (["status", "--date", "2020-13-01"], "--date '2020-13-01': give a day as YYYY-MM-DD"),
        (["report", "--week", "W99", "-o", "{tmp}/r"], "--week 'W99': not a week; give an ISO week such as 2020-W06"),
        (["status", "--ledger", "{tmp}/none.sqlite"], "no ledger at {tmp}/none.sqlite (--ledger): nothing recorded"),
        (["status", "--ledger", "mysql://db/x"], "patrol keeps its ledger in SQLite or PostgreSQL"),
        (["plan", "{district}", "-o", "{tmp}/p", "--due", "--ledger", "off"], "--due needs the ledger"),
    ],
)
def test_bad_supervisor_options_get_one_line(tmp_path, args, needle):
    district = district_file(tmp_path)
    fill = {"{tmp}": str(tmp_path), "{district}": str(district)}
    args = [a.replace("{tmp}", fill["{tmp}"]).replace("{district}", fill["{district}"]) for a in args]
    res = cli(*args)
    lines = res.stderr.strip().splitlines()
    assert res.returncode in (2, 4) and len(lines) == 1, res.stderr
    assert needle.replace("{tmp}", str(tmp_path)) in lines[0] and "Traceback" not in res.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "p").exists() and not (tmp_path / "none.sqlite").exists()
