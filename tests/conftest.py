"""Shared fixtures: the sample district and helpers to write small inputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_server import HOW_TO, PgServer, find_bin

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "geofences" / "sample_district.geojson"
BUILDINGS = ROOT / "geofences" / "sample_buildings.geojson"
SHARED = ROOT.parent / "shared" / "data"
LON, LAT = 112.730, 38.415  # the small test district's corner


@pytest.fixture
def sample_path() -> Path:
    return SAMPLE


def write_fc(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def poly_feature(coords: list, **props) -> dict:
    """A polygon feature; compounds get ``levels: 5`` (15 m roofs) unless told otherwise."""
    if not props.get("nofly") and "levels" not in props and "max_building_m" not in props:
        props = {**props, "levels": 5}
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": coords}}


def square_lonlat(lon0: float, lat0: float, size_deg: float) -> list:
    return [
        [
            [lon0, lat0],
            [lon0 + size_deg, lat0],
            [lon0 + size_deg, lat0 + size_deg],
            [lon0, lat0 + size_deg],
            [lon0, lat0],
        ]
    ]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """Three guarded 0.0015-degree squares (about 130 m) side by side, 0.003 degrees apart, as GeoJSON."""
    feats = [poly_feature(square_lonlat(LON + i * 0.003, LAT, 0.0015), id=f"C{i}", tier="guarded") for i in range(3)]
    return write_fc(tmp_path / "small.geojson", feats)


# The ledgers the ledger tests run against, with the same test code: an SQLite file and a database on a real
# PostgreSQL server started for the session (skipped with one line where the server cannot be found).


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    bindir = find_bin()
    if bindir is None:
        pytest.skip(HOW_TO)
    server = PgServer(bindir).start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty ledger: an SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return request.getfixturevalue("pg").new_database()
