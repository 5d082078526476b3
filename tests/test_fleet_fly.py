"""``patrol fly PACKAGE --fleet fleet.toml``: the fleet file is checked against the schedule, errors are one
line naming the file and the item, and a vehicle that cannot be reached fails alone with a summary line."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from patrol.errors import InputError
from patrol.vehicle.fleet import read_fleet
from tests.conftest import BUILDINGS, SAMPLE
from tests.test_cli import run


@pytest.fixture(scope="module")
def fleet_pkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fleetfly") / "pkg"
    res = run("plan", str(SAMPLE), "--buildings", str(BUILDINGS), "-o", str(out), "--speaker", "none",
              "--vehicles", "2", "--ledger", "off")  # fmt: skip
    assert res.returncode == 0, res.stderr
    return out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def test_fleet_file_maps_each_vehicle_to_its_link_and_key(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "v2.key").write_text("a passphrase\n")
    f = tmp_path / "fleet.toml"
    f.write_text(
        '[V1]\nconnect = "tcp:127.0.0.1:5760"\n[V2]\nconnect = "udpin:0.0.0.0:14551"\nsigning_key = "keys/v2.key"\n'
    )
    links = read_fleet(f, ["V1", "V2"])
    assert links["V1"].url == "tcp:127.0.0.1:5760" and links["V1"].signing_key is None
    assert links["V2"].url == "udpin:0.0.0.0:14551" and links["V2"].signing_key == tmp_path / "keys" / "v2.key"


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('[V1]\nconnect = "tcp:127.0.0.1:5760"\n[V2]\nconnect = "tcp:127.0.0.1:5770"\n[V3]\nconnect = "tcp:h:1"\n',
         ("[V3]", "not in the package's fleet", "V1, V2")),
        ('[V1]\nconnect = "tcp:127.0.0.1:5760"\n', ("no connection for vehicle V2",)),
        ('[V1]\nconnect = "tcp:127.0.0.1"\n[V2]\nconnect = "tcp:127.0.0.1:5770"\n', ("[V1]", "tcp:HOST:PORT")),
        ('[V1]\nconnect = "carrier-pigeon"\n[V2]\nconnect = "tcp:127.0.0.1:5770"\n', ("[V1]", "carrier-pigeon")),
        ('[V1]\nurl = "tcp:127.0.0.1:5760"\n[V2]\nconnect = "tcp:127.0.0.1:5770"\n', ("[V1]", "unknown key 'url'")),
        ('[V1]\nconnect = "tcp:127.0.0.1:5760"\nsigning_key = "nope.key"\n[V2]\nconnect = "tcp:127.0.0.1:5770"\n',
         ("[V1]", "signing_key", "does not exist")),
        ('[V1\nconnect = "tcp:127.0.0.1:5760"\n', ("not valid TOML",)),
    ],
)  # fmt: skip
def test_bad_fleet_file_is_one_line_naming_the_file_and_the_item(fleet_pkg, tmp_path, text, needles):
    f = tmp_path / "fleet.toml"
    f.write_text(text)
    res = run("fly", str(fleet_pkg), "--fleet", str(f), "--ledger", "off")
    assert res.returncode == InputError.exit_code, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(f) in lines[0], res.stderr
    assert all(n in lines[0] for n in needles), lines[0]
    assert "Traceback" not in res.stderr and not (fleet_pkg / "flights").exists()


def test_a_package_without_a_fleet_schedule_is_refused(tmp_path):
    pkg = tmp_path / "one"
    res = run(
        "plan", str(SAMPLE), "--buildings", str(BUILDINGS), "-o", str(pkg), "--speaker", "none", "--ledger", "off"
    )
    assert res.returncode == 0, res.stderr
    f = tmp_path / "fleet.toml"
    f.write_text('[V1]\nconnect = "tcp:127.0.0.1:5760"\n')
    res = run("fly", str(pkg), "--fleet", str(f), "--ledger", "off")
    assert res.returncode == InputError.exit_code and "no fleet schedule" in res.stderr and "--vehicles" in res.stderr


def test_missing_fleet_file_and_missing_connect_are_one_line(fleet_pkg, tmp_path):
    res = run("fly", str(fleet_pkg), "--fleet", str(tmp_path / "absent.toml"), "--ledger", "off")
    assert res.returncode == InputError.exit_code and "absent.toml" in res.stderr and "Traceback" not in res.stderr
    res = run("fly", str(fleet_pkg), "--ledger", "off")
    assert res.returncode != 0 and "--fleet" in res.stderr and "Traceback" not in res.stderr


def test_an_unreachable_vehicle_fails_alone_and_the_summary_and_exit_code_say_so(fleet_pkg, tmp_path):
    """V1 cannot be reached; V2 answers nothing either, but each is tried and reported on its own line."""
    f = tmp_path / "fleet.toml"
    f.write_text(
        f'[V1]\nconnect = "tcp:127.0.0.1:{_closed_port()}"\n[V2]\nconnect = "tcp:127.0.0.1:{_closed_port()}"\n'
    )
    res = run("fly", str(fleet_pkg), "--fleet", str(f), "--max-sorties", "1", "--time-scale", "1000", "--ledger", "off")
    assert res.returncode == 3, res.stderr
    summary = [ln for ln in res.stdout.splitlines() if ln.startswith("V")]  # pymavlink prints its own retries
    assert [ln.split(":")[0] for ln in summary] == ["V1", "V2"]
    assert all("0/1 sorties flown" in ln and "FAILED" in ln for ln in summary), res.stdout
    assert "V1 sortie" in res.stderr and "V2 sortie" in res.stderr and "Traceback" not in res.stderr


def test_ctrl_c_before_take_off_stops_every_vehicle_with_a_summary_and_exit_130(fleet_pkg, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    f = tmp_path / "fleet.toml"
    f.write_text(
        f'[V1]\nconnect = "tcp:127.0.0.1:{_closed_port()}"\n[V2]\nconnect = "tcp:127.0.0.1:{_closed_port()}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "fly", str(fleet_pkg), "--fleet", str(f), "--ledger", "off"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a runner in the background ignores it
    )  # fmt: skip
    deadline = time.monotonic() + 60
    seen = ""
    while "fleet of 2" not in seen and time.monotonic() < deadline:  # the threads wait for the 2-min lead
        seen += proc.stderr.readline()
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, seen + err
    summary = [ln for ln in out.splitlines() if ln.startswith("V")]
    slots = json.loads((fleet_pkg / "manifest.json").read_text(encoding="utf-8"))["fleet"]["slots"]
    each = {v: sum(1 for sl in slots if sl["vehicle"] == v) for v in ("V1", "V2")}
    assert [ln.split(":")[0] for ln in summary] == ["V1", "V2"], out
    assert all(f"0/{each[ln.split(':')[0]]} sorties flown" in ln for ln in summary), out
    # V1's first slot starts at +00:00:00: it was connecting (and refused) when Ctrl-C came; V2 still waited
    assert "interrupted at sortie 1: before take-off" in summary[1], out
    assert "RTL" in err and "Traceback" not in err


def test_every_sortie_tried_by_the_fleet_is_recorded_in_the_ledger_with_its_vehicle(fleet_pkg, tmp_path):
    from sqlalchemy import select

    from patrol.ledger import schema as s
    from patrol.ledger.config import target_from
    from patrol.ledger.store import open_ledger

    url = str(tmp_path / "ledger.sqlite")
    f = tmp_path / "fleet.toml"
    f.write_text(
        f'[V1]\nconnect = "tcp:127.0.0.1:{_closed_port()}"\n[V2]\nconnect = "tcp:127.0.0.1:{_closed_port()}"\n'
    )
    res = run("fly", str(fleet_pkg), "--fleet", str(f), "--max-sorties", "1", "--time-scale", "1000",
              "--ledger", url, "--operator", "wang")  # fmt: skip
    assert res.returncode == 3, res.stderr
    led = open_ledger(target_from(url, "test"), create=False)
    with led.read() as conn:
        ups = conn.execute(select(s.uploads.c.vehicle, s.uploads.c.sortie, s.uploads.c.verified)).all()
        runs = conn.execute(select(s.runs.c.kind, s.runs.c.operator)).all()
    led.close()
    first = {v: min(x["sortie"] for x in _slots(fleet_pkg) if x["vehicle"] == v) for v in ("V1", "V2")}
    assert sorted(ups) == [("V1", first["V1"], False), ("V2", first["V2"], False)]  # tried, never verified
    assert sorted(runs) == [("fly", "wang"), ("fly", "wang")]


def _slots(pkg: Path) -> list[dict]:
    import json

    return json.loads((pkg / "manifest.json").read_text())["fleet"]["slots"]


def test_a_live_separation_below_the_plans_is_refused_in_one_line(fleet_pkg, tmp_path):
    f = tmp_path / "fleet.toml"
    f.write_text('[V1]\nconnect = "tcp:127.0.0.1:5760"\n[V2]\nconnect = "tcp:127.0.0.1:5770"\n')
    res = run("fly", str(fleet_pkg), "--fleet", str(f), "--separation-m", "20", "--ledger", "off")
    lines = res.stderr.strip().splitlines()
    assert res.returncode != 0 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "--separation-m 20" in lines[0] and "the plan keeps 50 m" in lines[0]


def test_the_live_table_shows_every_vehicle_and_how_it_ended(fleet_pkg, tmp_path):
    f = tmp_path / "fleet.toml"
    f.write_text(
        f'[V1]\nconnect = "tcp:127.0.0.1:{_closed_port()}"\n[V2]\nconnect = "tcp:127.0.0.1:{_closed_port()}"\n'
    )
    res = run("fly", str(fleet_pkg), "--fleet", str(f), "--max-sorties", "1", "--time-scale", "1000", "--ledger",
              "off", "--live")  # fmt: skip
    assert res.returncode == 3, res.stderr
    rows = [ln for ln in res.stderr.splitlines() if ln.startswith("│ V")]
    assert rows and {r.split("│")[1].strip() for r in rows} == {"V1", "V2"}
    last = {r.split("│")[1].strip(): r for r in rows}  # the final redraw is the last of each
    assert all("FAILED" in r for r in last.values()), res.stderr[-2000:]
