"""`patrol upload`, `download` and `clear` as an operator runs them, against the mission-protocol test double."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.package.reader import FENCE, MISSION, RALLY, plan_to_upload, read_sortie
from patrol.vehicle.readback import compare_items
from patrol.vehicle.upload import mission_with_home
from tests.conftest import BUILDINGS, SAMPLE
from tests.mission_peer_double import Faults, MissionPeerDouble
from tests.test_cli import run


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "pkg"
    res = run("plan", str(SAMPLE), "--buildings", str(BUILDINGS), "-o", str(out))
    assert res.returncode == 0, res.stderr
    return out


def _home(package: Path) -> tuple[float, float]:
    h = json.loads((package / "manifest.json").read_text())["home"]
    return h["lat"], h["lon"]


def test_upload_sets_fence_params_and_download_gives_back_a_plan_qgc_loads(package, tmp_path):
    up = read_sortie(package, 2)
    with MissionPeerDouble(Faults(drop=0.05, seed=2), home=_home(package)) as peer:
        res = run("upload", str(package), "--sortie", "2", "--connect", peer.url)
        assert res.returncode == 0, res.stderr
        assert "identical" in res.stderr and "set FENCE_ALT_MAX = 120 (confirmed)" in res.stderr
        assert peer.params["FENCE_ENABLE"] == 1.0 and peer.params["FENCE_TYPE"] == 5.0
        assert len(peer.lists[MISSION]) == len(up.mission) + 1
        out = tmp_path / "back.plan"
        res = run("download", "--connect", peer.url, "-o", str(out))
        assert res.returncode == 0, res.stderr
    back = plan_to_upload(json.loads(out.read_text()), "back.plan")
    assert compare_items(mission_with_home(up), mission_with_home(back), MISSION) == []
    assert compare_items(list(up.fence), list(back.fence), FENCE) == []
    assert compare_items(list(up.rally), list(back.rally), RALLY) == []
    assert back.mission[0].command == mav.MAV_CMD_NAV_TAKEOFF


def test_clear_empties_every_list(package):
    with MissionPeerDouble(home=_home(package)) as peer:
        assert run("upload", str(package), "-c", peer.url, "--no-fence-params").returncode == 0
        assert peer.lists[MISSION] and peer.lists[FENCE]
        res = run("clear", "-c", peer.url)
        assert res.returncode == 0, res.stderr
        assert peer.lists == {MISSION: [], FENCE: [], RALLY: []}


def test_upload_refuses_a_vehicle_launched_elsewhere(package):
    lat, lon = _home(package)
    with MissionPeerDouble(home=(lat + 0.01, lon)) as peer:
        res = run("upload", str(package), "-c", peer.url)
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()[-1]
    assert "planned home is 111" in err and "from the vehicle's home" in err and "Traceback" not in res.stderr
    assert peer.lists[MISSION] == []  # nothing sent


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["upload", "{pkg}", "-s", "99", "-c", "udpout:127.0.0.1:9"], "no such sortie; the package has sortie-01.plan"),
        (["upload", "{pkg}", "-c", "bluetooth:1"], "use tcp:HOST:PORT"),
    ],
)
def test_bad_upload_arguments_get_one_line(package, args, needle):
    res = run(*[a.replace("{pkg}", str(package)) for a in args])
    assert res.returncode == 2
    assert needle in res.stderr and len(res.stderr.strip().splitlines()) == 1
