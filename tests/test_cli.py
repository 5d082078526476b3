"""The `patrol` command as an operator runs it: a summary, a package, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BUILDINGS, LAT, LON, ROOT, SAMPLE


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=cwd, capture_output=True, text=True)


def test_plan_writes_a_package_and_prints_a_summary(small, tmp_path):
    out = tmp_path / "pkg"
    res = run("plan", str(small), "-o", str(out), "--home", f"{LAT - 0.001},{LON}", "--alt-m", "35")
    assert res.returncode == 0, res.stderr
    assert "audible radius" in res.stdout and "C0" in res.stdout and "heard_whole%" in res.stdout
    man = json.loads((out / "manifest.json").read_text())
    assert man["parameters"]["patrol"]["alt_m"] == 35.0
    assert man["command"].startswith("patrol plan")
    assert (out / "sortie-01.plan").exists() and (out / "sortie-01.waypoints").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--home", "nonsense"], "--home 'nonsense'"),
        (["--home", "112.73,38.41"], "order is LAT,LON"),
        (["--alt-m", "200"], "--max-alt-m"),
        (["--alt-m", "90"], "not heard on the ground"),
        (["--spacing-m", "500"], "--spacing-m 500"),
    ],
)
def test_bad_options_give_one_line_and_write_nothing(small, tmp_path, args, needle):
    out = tmp_path / "pkg"
    res = run("plan", str(small), "-o", str(out), *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr
    assert not out.exists()


def test_bad_file_gives_one_line(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    res = run("plan", str(bad), "-o", str(tmp_path / "pkg"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and str(bad) in res.stderr


def test_existing_output_needs_force(small, tmp_path):
    out = tmp_path / "pkg"
    assert run("plan", str(small), "-o", str(out)).returncode == 0
    res = run("plan", str(small), "-o", str(out))
    assert res.returncode == 2 and "--force" in res.stderr
    assert run("plan", str(small), "-o", str(out), "--force").returncode == 0


def test_sample_district_plans(tmp_path):
    if not SAMPLE.exists():
        pytest.fail(f"{SAMPLE} is missing: the bundled sample district must ship with the repo")
    res = run("plan", str(SAMPLE), "--buildings", str(BUILDINGS), "-o", str(tmp_path / "pkg"))
    assert res.returncode == 0, res.stderr
    man = json.loads((tmp_path / "pkg" / "manifest.json").read_text())
    assert 12 <= len(man["compounds"]) <= 20
    assert all(c["predicted_in_range_share"] >= 0.99 for c in man["compounds"])
    # the buildings' shadows are reported, never hidden: heard whole and shadowed make up the open ground
    for c in man["compounds"]:
        assert 0.0 < c["predicted_shadowed_m2"] < c["open_ground_m2"]
        assert c["predicted_heard_whole_share"] + c["predicted_shadowed_m2"] / c["open_ground_m2"] >= 0.995


def test_the_readme_plan_example_plans(tmp_path):
    """The README's "Plan a patrol" command, as a new user copies it, writes a package (its --home once sat
    beside a building and was refused)."""
    text = (ROOT / "README.md").read_text()
    start = text.index("    patrol plan geofences/")
    block = text[start : text.index("\n\n", start)]
    args = block.replace("\\\n", " ").split()[2:]
    out = tmp_path / "today"
    args[args.index("-o") + 1] = str(out)
    res = run("plan", *args)
    assert res.returncode == 0, res.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert len(man["sorties"]) >= 1 and (out / "sortie-01.plan").exists()
