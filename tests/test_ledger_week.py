"""A simulated week, on SQLite and on PostgreSQL with the same code: fourteen patrol rounds, twelve hours apart,
flown over chosen compounds (telemetry logs along the planned lanes, with GPS time), each day's two audited by
`patrol audit`, the first day audited again with one more log (which must not count twice); then `patrol status`
shows the right compounds as due and the right counts, `plan --due` plans only those, `report --week` and
`map --ledger` say the same."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time

import pytest
from typer.testing import CliRunner

from cli import app
from tests.ledger_fixtures import cli, make_url, plan_district
from tests.ledger_logs import lanes_track, write_flight
from tests.test_maps import CHROMIUM, OFFLINE_FLAGS, assert_offline, needs_chromium

HOUR = 3600.0
ROUNDS = 14  # every 12 h for a week, the last 5 h ago
FLOWN = {  # compound -> the rounds (0 = the latest) that fly over it
    "S1": set(range(ROUNDS)),
    "G1": set(range(0, ROUNDS, 2)),
    "S2": {1},
    "G2": {4, 6, 8},
    "C1": {3},
}
DUE = ["N1", "G2", "S2"]  # never heard; 53 h > 24 h; 17 h > 12 h (most overdue first)
NOT_DUE = {"S1", "G1", "C1"}  # 5 h < 12 h; 5 h < 24 h; 41 h < 48 h


def round_time(now: float, r: int) -> float:
    return now - 5 * HOUR - 12 * HOUR * r


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def week(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp(f"week-{request.param}")
    url = make_url(request.param, folder, request)
    pkg = plan_district(folder, url)
    now = time.time()
    runner = CliRunner()
    logs = {}
    for r in range(ROUNDS):
        codes = [c for c, rounds in FLOWN.items() if r in rounds]
        n = len(lanes_track(pkg, codes)[0])
        logs[r] = write_flight(folder / f"round-{r:02d}.tlog", pkg, codes, round_time(now, r) - (n - 1) / 2.0)
    for day in range(ROUNDS // 2):  # each day's two rounds audited together, as a supervisor does at night
        rounds = (2 * day, 2 * day + 1)
        codes = ",".join(c for c, flown in FLOWN.items() if flown & set(rounds))
        args = ["audit", *(str(logs[r]) for r in rounds), "-p", str(pkg), "-o", str(folder / f"audit-{day}")]
        res = runner.invoke(
            app, [*args, "--assume-playing", "--compounds", codes, "--ledger", url, "--operator", "Wang Li"]
        )
        assert res.exit_code == 0, res.output
        assert f"{codes.count(',') + 1}/{codes.count(',') + 1} compounds heard whole" in res.stderr
    # the first day audited again with one more log: the earlier audit is superseded, nothing counts twice
    args = ["audit", str(logs[0]), str(logs[1]), str(logs[2]), "-p", str(pkg), "-o", str(folder / "again")]
    res = runner.invoke(app, [*args, "--assume-playing", "--compounds", "S1,S2,G1", "--ledger", url])
    assert res.exit_code == 0, res.output
    assert re.search(r"supersedes audit #1\b", res.stderr), res.stderr
    return {"url": url, "pkg": pkg, "now": now, "folder": folder, "district": folder / "district.geojson"}


def _expected(now: float) -> dict[str, dict]:
    today = dt.datetime.fromtimestamp(now).astimezone().date()
    monday = today - dt.timedelta(days=today.weekday())
    out = {}
    for code, rounds in {**FLOWN, "N1": set()}.items():
        days = [dt.datetime.fromtimestamp(round_time(now, r)).astimezone().date() for r in rounds]
        out[code] = {
            "last": max((round_time(now, r) for r in rounds), default=None),
            "today": sum(1 for d in days if d == today),
            "week": sum(1 for d in days if d >= monday),
            "per_day": [sum(1 for d in days if d == monday + dt.timedelta(days=k)) for k in range(7)],
        }
    return out


def test_status_shows_the_due_compounds_most_overdue_first(week):
    res = cli("status", "--json", "--ledger", week["url"])
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    rows = {c["id"]: c for c in doc["compounds"]}
    assert [c["id"] for c in doc["compounds"] if c["due"]] == DUE
    assert {c["id"] for c in doc["compounds"] if not c["due"]} == NOT_DUE
    assert doc["due"] == 3
    want = _expected(week["now"])
    for code, exp in want.items():
        row = rows[code]
        assert (row["heard_today"], row["heard_week"]) == (exp["today"], exp["week"]), code
        if exp["last"] is None:
            assert row["last_heard_utc"] is None and row["overdue_s"] is None
            continue
        last = dt.datetime.fromisoformat(row["last_heard_utc"].replace("Z", "+00:00")).timestamp()
        assert last == pytest.approx(exp["last"], abs=1.0), code
        assert row["last_audit_heard_whole_share"] > 0.9
    assert rows["G2"]["overdue_s"] == pytest.approx(53 * HOUR - 24 * HOUR + (time.time() - week["now"]), abs=120)
    table = cli("status", "--ledger", week["url"], "--district", str(week["district"]))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[1:4]] == DUE and "3 of 6 compound(s) due" in lines[-1]
    assert "DUE (never heard" in lines[1] and "DUE overdue 1d05h" in lines[2]


def test_a_policy_of_every_4h_makes_everything_but_the_last_round_due(week):
    res = cli("status", "--json", "--every", "4h", "--ledger", week["url"])
    doc = json.loads(res.stdout)
    assert {c["id"] for c in doc["compounds"] if not c["due"]} == set()  # the last round was 5 h ago
    res = cli("status", "--json", "--every", "6h", "--ledger", week["url"])
    assert {c["id"] for c in json.loads(res.stdout)["compounds"] if not c["due"]} == {"S1", "G1"}


def test_plan_due_plans_only_the_due_compounds(week, tmp_path):
    out = tmp_path / "due"
    res = cli("plan", str(week["district"]), "-o", str(out), "--speaker", "none", "--due", "--ledger", week["url"])
    assert res.returncode == 0, res.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert sorted(c["id"] for c in man["compounds"]) == sorted(DUE)


def test_report_week_counts_each_day(week, tmp_path):
    out = tmp_path / "week"
    res = cli("report", "--week", "this", "-o", str(out), "--ledger", week["url"])
    assert res.returncode == 0, res.stderr
    want = _expected(week["now"])
    rows = [ln.split(",") for ln in (out / "report.csv").read_text().splitlines()]
    head, body = rows[0], {r[0]: r for r in rows[1:]}
    assert head[3:10] == [d.isoformat() for d in _week_days(week["now"])]
    for code, exp in want.items():
        assert [int(v) for v in body[code][3:10]] == exp["per_day"], code
    flights = (out / "flights.csv").read_text().splitlines()
    monday = _week_days(week["now"])[0]
    in_week = sum(1 for r in range(ROUNDS)
                  if dt.datetime.fromtimestamp(round_time(week["now"], r)).astimezone().date() >= monday)  # fmt: skip
    assert len(flights) - 1 >= in_week  # a round that started before Monday and ended after counts too
    page = (out / "report.html").read_text()
    assert page.count('<rect class="heard"') == 7 and page.count('<rect class="met"') == 7 and "<script" not in page


def _week_days(now: float) -> list[dt.date]:
    today = dt.datetime.fromtimestamp(now).astimezone().date()
    monday = today - dt.timedelta(days=today.weekday())
    return [monday + dt.timedelta(days=k) for k in range(7)]


@needs_chromium
def test_map_ledger_colours_each_compound_by_hours_since_heard(week, tmp_path):
    out = tmp_path / "ledger.html"
    res = cli("map", "--ledger", week["url"], "-o", str(out), "--tiles", "none", "--days", "7")
    assert res.returncode == 0, res.stderr
    html = out.read_text()
    assert_offline(html)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", *OFFLINE_FLAGS, "--virtual-time-budget=5000"]
    dom = subprocess.run([*cmd, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120).stdout
    hours = {m.group(1): m.group(2) for m in re.finditer(r'data-code="(\w+)" data-hours="([\d.]*)"', dom)}
    assert set(hours) == {"S1", "S2", "G1", "G2", "C1", "N1"}
    assert hours["N1"] == ""
    for code, exp in _expected(week["now"]).items():
        if exp["last"] is not None:
            assert float(hours[code]) == pytest.approx((time.time() - exp["last"]) / HOUR, abs=0.2), code
    assert 'data-ledger-day="6"' in dom
    data = json.loads(re.search(r"const data = (\{.*?\});\n", html).group(1))
    assert len(data["labels"]) == 7 and data["hours"]["N1"] == [None] * 7
