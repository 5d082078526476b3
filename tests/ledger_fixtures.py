"""Helpers of the ledger tests: a fresh ledger of either kind (the fixtures ``pg`` and ``ledger_url`` are in
conftest.py), the patrol command in its own process, and a small district planned into a ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, poly_feature, square_lonlat, write_fc

LON, LAT = 112.730, 38.415
# six compounds in a row: two scattered, two guarded, one closed, one that is never flown
DISTRICT = (("S1", "scattered"), ("S2", "scattered"), ("G1", "guarded"), ("G2", "guarded"), ("C1", "closed"),
            ("N1", "guarded"))  # fmt: skip


def make_url(kind: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty ledger of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        return str(tmp / "ledger.sqlite")
    return request.getfixturevalue("pg").new_database()


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``patrol ARGS`` in its own process, as an operator runs it."""
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=full,
        timeout=timeout,
    )


def district_file(folder: Path) -> Path:
    feats = [
        poly_feature(
            square_lonlat(LON + k * 0.004, LAT, 0.0015), id=code, name=f"compound {code}", tier=tier, priority=1 + k % 2
        )
        for k, (code, tier) in enumerate(DISTRICT)
    ]
    return write_fc(folder / "district.geojson", feats)


def plan_district(folder: Path, ledger: str) -> Path:
    """The small district planned (no speaker: audits assume it played) and recorded in ``ledger``."""
    out = folder / "pkg"
    res = cli("plan", str(district_file(folder)), "-o", str(out), "--home", f"{LAT - 0.001},{LON}",
              "--speaker", "none", "--ledger", ledger)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "ledger: recorded package #1 (6 compounds" in res.stderr
    return out
