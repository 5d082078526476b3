"""Fixtures that start ArduPilot SITL copters; every SITL test is skipped where no binary exists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from patrol.atomic import write_folder
from patrol.inputs.compounds import read_district
from patrol.package.writer import package_files
from patrol.plan.pipeline import plan_patrol
from patrol.types import PatrolParams
from patrol.vehicle.link import Link, connect
from sitl_tests.sitl import HOW_TO, SPEEDUP, Sitl, find_sitl, free_instance

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "geofences" / "sample_district.geojson"
BUILDINGS = ROOT / "geofences" / "sample_buildings.geojson"
GROUND_AMSL_M = 800.0  # Xinzhou lies about 800 m above sea level


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if find_sitl() is None:
        skip = pytest.mark.skip(reason=HOW_TO)
        for item in items:
            if "sitl_tests" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def sample_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample district planned with default parameters into a package folder."""
    district = read_district(SAMPLE, building_paths=BUILDINGS)
    plan = plan_patrol(district, PatrolParams())
    out = tmp_path_factory.mktemp("pkg") / "sample"
    write_folder(package_files(plan, "sitl_tests"), out)
    return out


def package_home(package: Path) -> tuple[float, float]:
    home = json.loads((package / "manifest.json").read_text())["home"]
    return home["lat"], home["lon"]


def start_sitl(
    workdir: Path, home: tuple[float, float], extra_params: str = "", scripts: tuple = (), speedup: int = SPEEDUP
) -> Sitl:
    binary = find_sitl()
    assert binary is not None
    home4 = (home[0], home[1], GROUND_AMSL_M, 0.0)
    sitl = Sitl(binary, workdir, home4, free_instance(), extra_params=extra_params, scripts=scripts, speedup=speedup)
    return sitl.start()


@pytest.fixture
def sitl(tmp_path: Path, sample_package: Path) -> Iterator[Sitl]:
    """A fresh SITL copter at the sample package's home; stopped on teardown, even on failure."""
    s = start_sitl(tmp_path / "sitl", package_home(sample_package))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def link(sitl: Sitl) -> Iterator[Link]:
    lk = connect(sitl.url, heartbeat_timeout_s=30)
    try:
        yield lk
    finally:
        lk.close()


@pytest.fixture(scope="session")
def cued_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample district planned by the CLI with the shipped prompts and the Lua-script speaker."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("cued") / "sample"
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "plan", str(SAMPLE), "--buildings", str(BUILDINGS), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    return out


def fly_sortie(link: Link, up, timeout_s: float = 900.0):
    """Set the sortie's fence and RTL parameters, then fly what the vehicle holds; returns (state, modes seen)."""
    from patrol.vehicle.fly import fly_uploaded
    from patrol.vehicle.upload import fence_params

    for name, value in fence_params(up).items():
        link.set_param(name, value)
    modes: list[str] = []
    _, state = fly_uploaded(link, len(up.mission), timeout_s, report=lambda s: modes.append(s.mode))
    return state, modes


LUA = ROOT / "audio_prompts" / "lua" / "patrol_speaker.lua"


def fly_with_applet(workdir: Path, package: Path, index: int) -> Path:
    """Sortie ``index`` of ``package`` uploaded and flown to the end in a SITL running the shipped Lua applet
    (SCR_ENABLE 1); the flight's .tlog, ``workdir / "flight.tlog"`` (SITL's own logs under ``workdir / "sitl"``)."""
    from patrol.package.reader import read_sortie
    from patrol.vehicle.upload import upload_sortie

    up = read_sortie(package, index)
    tlog = workdir / "flight.tlog"
    sitl = start_sitl(workdir / "sitl", package_home(package), "SCR_ENABLE 1\n", (LUA,))
    try:
        link = connect(sitl.url, heartbeat_timeout_s=30)
        link.conn.setup_logfile(str(tlog), mode="wb")
        upload_sortie(link, up)
        fly_sortie(link, up)
        link.close()
    finally:
        sitl.stop()
    return tlog
