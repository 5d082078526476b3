"""patrol.toml profiles: a plan made from them, the command line winning, the manifest saying where each value
came from, and `patrol config check` naming every problem on a line of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, poly_feature, square_lonlat, write_fc

LON, LAT = 112.730, 38.415


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "cli.py"), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """A district office's folder: two compounds and a patrol.toml with one profile of each kind."""
    feats = [poly_feature(square_lonlat(LON + i * 0.003, LAT, 0.0015), id=f"C{i}", tier="guarded") for i in range(2)]
    (tmp_path / "data").mkdir()
    write_fc(tmp_path / "data" / "small.geojson", feats)
    (tmp_path / "patrol.toml").write_text(
        """
[district.small]
compounds = ["data/small.geojson"]
home = "38.414,112.730"
alt_m = "35 m"
max_alt_m = 100

[vehicle.short]
endurance_min = 12
reserve_pct = 25
max_speed_mps = 8

[speaker.quiet]
speaker_db = 105
encoding = "none"
""",
        encoding="utf-8",
    )
    return tmp_path


def test_plan_from_profiles_with_a_command_line_override(office, tmp_path):
    args = ["plan", "--district", "small", "--vehicle", "short", "--speaker-profile", "quiet", "--reserve-pct", "30"]
    res = run(*args, "-o", "pkg", "--ledger", "off", cwd=office)
    assert res.returncode == 0, res.stderr
    man = json.loads((office / "pkg" / "manifest.json").read_text(encoding="utf-8"))
    p = man["parameters"]
    assert p["patrol"]["alt_m"] == 35.0 and p["patrol"]["max_alt_m"] == 100.0
    assert p["vehicle"]["endurance_min"] == 12.0 and p["vehicle"]["max_speed_mps"] == 8.0
    assert p["vehicle"]["reserve_pct"] == 30.0  # the command line wins over [vehicle.short]
    assert p["speaker"]["level_db_at_1m"] == 105.0
    assert "broadcast" not in man  # [speaker.quiet] encoding = "none": no cues, no clips
    s = man["settings"]
    assert s["config"] == "patrol.toml"
    assert s["profiles"] == {"district": "small", "vehicle": "short", "speaker": "quiet"}
    v = s["values"]
    assert v["alt_m"] == {"value": 35.0, "from": "district.small"}
    assert v["endurance_min"] == {"value": 12.0, "from": "vehicle.short"}
    assert v["reserve_pct"] == {"value": 30.0, "from": "command line"}
    assert v["speaker"] == {"value": "none", "from": "speaker.quiet"}
    assert v["clearance_m"] == {"value": 15.0, "from": "default"}
    assert v["compounds"]["value"] == ["data/small.geojson"]
    assert [i["path"] for i in man["inputs"]] == ["data/small.geojson"]
    # every waypoint of the lanes flies at the district's 35 m (above roofs of 15 m plus 15 m clearance)
    items = json.loads((office / "pkg" / "sortie-01.plan").read_text())["mission"]["items"]
    alts = {round(it["Altitude"]) for it in items if it.get("command") == 16}
    assert alts == {35}


def test_config_file_given_from_another_folder(office, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    conf = str(office / "patrol.toml")
    res = run("plan", "--config", conf, "--district", "small", "--speaker", "none", "-o", "pkg", "--ledger", "off",
              cwd=elsewhere)  # fmt: skip
    assert res.returncode == 0, res.stderr
    man = json.loads((elsewhere / "pkg" / "manifest.json").read_text(encoding="utf-8"))
    assert man["parameters"]["patrol"]["alt_m"] == 35.0
    assert man["inputs"][0]["sha256"]  # the district's file found relative to the config file


def test_unknown_profile_is_one_line(office):
    res = run("plan", "--district", "wuhou", "-o", "pkg", "--ledger", "off", cwd=office)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "patrol: error: patrol.toml: no [district.wuhou] profile (profiles of that kind there: small)"
    ]
    assert not (office / "pkg").exists()


def test_a_profile_with_no_config_file_anywhere_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no user config.toml either
    res = run("plan", "--vehicle", "m300", "-o", "pkg", "--ledger", "off", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "patrol: error: --vehicle m300: no patrol.toml in this folder (nor ~/.config/patrol/config.toml);"
        " give --config FILE (docs/profiles.md)"
    ]
    assert not (tmp_path / "pkg").exists()


def test_no_compounds_and_no_district_is_one_line(office):
    res = run("plan", "-o", "pkg", cwd=office)
    assert res.returncode == 2 and "give the compound files (COMPOUNDS) or --district NAME" in res.stderr


def test_config_check_names_every_problem(tmp_path):
    (tmp_path / "patrol.toml").write_text(
        """
[district.tall]
compounds = ["missing.geojson"]
alt_m = 110
colour = "red"

[vehicle.v]
endurance_min = "30 s"
reserve_pct = 120

[speaker.toy]
speaker_db = 80
""",
        encoding="utf-8",
    )
    res = run("config", "check", cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stdout.strip().splitlines()
    assert lines[:3] == [
        "patrol.toml: [district.tall] colour: unknown key (see docs/profiles.md for the keys of [district.NAME])",
        "patrol.toml: [vehicle.v] endurance_min: bad unit 's': endurance_min is in min (give e.g. 30 min)",
        "patrol.toml: [vehicle.v] reserve_pct: Input should be less than 100",
    ]
    assert lines[3].startswith("patrol.toml: [speaker.toy] is not heard at the default 40 m: at 40 m the warning")
    assert len(lines) == 4  # [district.tall] is invalid as a whole, so its altitude and files are not judged


def test_config_check_hearing_and_files(tmp_path):
    (tmp_path / "patrol.toml").write_text(
        '[district.tall]\ncompounds = ["missing.geojson"]\nalt_m = 110\n\n[speaker.toy]\nspeaker_db = 90\n'
        "\n[speaker.loud]\nspeaker_db = 125\n",
        encoding="utf-8",
    )
    res = run("config", "check", cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("patrol.toml: [speaker.toy] is not heard at [district.tall]'s 110 m:")
    assert lines[1] == "patrol.toml: [district.tall] compounds: missing.geojson not found (relative to .)"


def test_shipped_sample_config_is_valid_and_shown():
    res = run("config", "check", cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == "patrol.toml: ok (1 district profile(s), 1 vehicle profile(s), 1 speaker profile(s))"
    res = run("config", "show", "--district", "xinzhou", "--vehicle", "quad25", cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "  alt_m = 40.0  (district.xinzhou)" in res.stdout.splitlines()
    assert "  endurance_min = 25.0  (vehicle.quad25)" in res.stdout.splitlines()


def test_the_ledger_reads_the_same_file(office, monkeypatch):
    with open(office / "patrol.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[ledger]\nurl = "records/city.sqlite"\noperator = "Wang Li"\n')
    monkeypatch.delenv("PATROL_LEDGER", raising=False)  # the test session's own ledger would win over the file
    res = run("plan", "--district", "small", "--speaker", "none", "-o", "pkg", cwd=office)
    assert res.returncode == 0, res.stderr
    assert (office / "records" / "city.sqlite").is_file(), res.stderr
    assert run("config", "check", cwd=office).returncode == 0
