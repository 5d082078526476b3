"""The sample district planned as `make demo` plans it gives the same package, file by file, byte for byte.

This pins behaviour across refactors: a change that moves code must not move a waypoint, a fence vertex,
a figure of the manifest or a sample of a clip. A deliberate change of behaviour regenerates the digests:

    PATROL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py

Only what depends on where the package was planned is normalised: the output folder in the recorded
command and the catalogue's absolute path. Clip digests are compared only when this machine's speech
engine is the one the digests were made with (another espeak-ng speaks other samples).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "sample_district.json"
DEMO_ARGS = [
    "plan",
    "geofences/sample_district.geojson",
    "--buildings",
    "geofences/sample_buildings.geojson",
    "--force",
]


def _normalised(name: str, data: bytes, out: Path) -> bytes:
    """The bytes that must not change: absolute paths of this checkout and the output folder taken out."""
    if name not in ("manifest.json", "audio/manifest.json"):
        return data
    text = data.decode("utf-8").replace(str(out), "OUT").replace(str(ROOT), "ROOT")
    return text.encode("utf-8")


def package_digests(out: Path) -> dict[str, str]:
    """sha256 of every file of the package folder ``out`` (normalised where noted above)."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(
            _normalised(p.relative_to(out).as_posix(), p.read_bytes(), out)
        ).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _engine(out: Path) -> str:
    clips = json.loads((out / "audio" / "manifest.json").read_text(encoding="utf-8"))["clips"]
    return str(clips[0].get("engine", ""))


def test_sample_district_package_is_unchanged(tmp_path):
    out = tmp_path / "sample_district"
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *DEMO_ARGS, "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    got = package_digests(out)
    doc = {"engine": _engine(out), "files": got}
    if os.environ.get("PATROL_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"wrote {GOLDEN}")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    expected, actual = dict(want["files"]), dict(got)
    if want["engine"] != doc["engine"]:  # another speech engine: compare everything but the clips
        expected = {k: v for k, v in expected.items() if not k.startswith("audio/")}
        actual = {k: v for k, v in actual.items() if not k.startswith("audio/")}
    assert sorted(actual) == sorted(expected), "the package holds other files"
    changed = sorted(k for k in expected if actual[k] != expected[k])
    assert not changed, f"changed: {', '.join(changed)}"
