"""``--vehicle NAME`` on upload and fly takes the link from patrol.toml's ``[vehicle.NAME]`` and refuses a link that
reaches another MAVLink system than the profile's ``sysid`` (the wrong drone is never sent a mission); a fleet file
can name profiles too. Against the MAVLink peer double on a real UDP socket (it is system 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patrol.errors import InputError
from patrol.package.reader import MISSION, read_sortie
from patrol.vehicle.fleet import read_fleet
from tests.conftest import BUILDINGS, SAMPLE
from tests.mission_peer_double import MissionPeerDouble
from tests.test_cli import run


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prof") / "pkg"
    res = run("plan", str(SAMPLE), "--buildings", str(BUILDINGS), "-o", str(out), "--speaker", "none",
              "--ledger", "off")  # fmt: skip
    assert res.returncode == 0, res.stderr
    return out


def _home(package: Path) -> tuple[float, float]:
    h = json.loads((package / "manifest.json").read_text())["home"]
    return h["lat"], h["lon"]


def _config(tmp_path: Path, url: str, sysid: int) -> Path:
    cfg = tmp_path / "patrol.toml"
    cfg.write_text(f'[vehicle.m300a]\nsysid = {sysid}\nconnect = "{url}"\n[vehicle.bare]\nendurance_min = 25\n')
    return cfg


def test_upload_takes_the_profiles_link_and_checks_its_system_id(package, tmp_path):
    with MissionPeerDouble(home=_home(package)) as peer:
        cfg = _config(tmp_path, peer.url, 1)
        res = run("upload", str(package), "--vehicle", "m300a", "--config", str(cfg), "--ledger", "off")
        assert res.returncode == 0, res.stderr
        assert f"connecting to {peer.url}" in res.stderr
        assert len(peer.lists[MISSION]) == len(read_sortie(package, 1).mission) + 1


def test_a_link_to_another_system_than_the_profiles_is_refused_and_nothing_is_sent(package, tmp_path):
    with MissionPeerDouble(home=_home(package)) as peer:
        cfg = _config(tmp_path, peer.url, 7)
        for cmd in ("upload", "fly"):
            res = run(cmd, str(package), "--vehicle", "m300a", "--config", str(cfg), "--ledger", "off")
            lines = [ln for ln in res.stderr.splitlines() if ln.startswith("patrol:")]
            assert res.returncode == 3 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
            assert "reaches MAVLink system 1, but vehicle m300a is system 7" in lines[0]
        assert peer.lists[MISSION] == []  # nothing was uploaded


def test_no_address_anywhere_is_one_line_naming_what_to_give(package, tmp_path):
    cfg = _config(tmp_path, "tcp:127.0.0.1:1", 1)
    res = run("upload", str(package), "--vehicle", "bare", "--config", str(cfg), "--ledger", "off")
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "[vehicle.bare] has no connect" in res.stderr and "--connect URL" in res.stderr
    res = run("fly", str(package), "--ledger", "off", "--config", str(cfg))
    assert res.returncode != 0 and "no --connect given" in res.stderr and "Traceback" not in res.stderr


def test_a_fleet_file_names_profiles_and_its_own_keys_win(tmp_path):
    f = tmp_path / "fleet.toml"
    f.write_text('[V1]\nvehicle = "m300a"\n[V2]\nvehicle = "m300b"\nconnect = "tcp:10.0.0.9:5760"\nsysid = 4\n')
    profiles = {"m300a": ("tcp:10.0.0.5:5760", 2), "m300b": ("tcp:10.0.0.6:5760", 3)}
    links = read_fleet(f, ["V1", "V2"], profiles)
    assert (links["V1"].url, links["V1"].sysid, links["V1"].name) == ("tcp:10.0.0.5:5760", 2, "m300a")
    assert (links["V2"].url, links["V2"].sysid, links["V2"].name) == ("tcp:10.0.0.9:5760", 4, "m300b")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[V1]\nvehicle = "nope"\n[V2]\nconnect = "tcp:h:1"\n', "vehicle = 'nope' is not a [vehicle.NAME] profile"),
        ('[V1]\nvehicle = "bare"\n[V2]\nconnect = "tcp:h:1"\n', "(profile bare has no connect)"),
        ('[V1]\nconnect = "tcp:h:1"\nsysid = 0\n[V2]\nconnect = "tcp:h:2"\n', "sysid = 0"),
    ],
)
def test_a_bad_profile_reference_in_a_fleet_file_is_one_line(tmp_path, text, needle):
    f = tmp_path / "fleet.toml"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        read_fleet(f, ["V1", "V2"], {"m300a": ("tcp:h:5", 1), "bare": (None, None)})
    assert needle in str(e.value) and str(f) in str(e.value) and "[V1]" in str(e.value)
