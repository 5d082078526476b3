"""What patrol writes for others names no absolute path of the planning machine: the sample district planned
into a temporary folder, and its review page, hold neither the checkout's folder, nor the temporary folder, nor
the home folder, in any text file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import BUILDINGS, ROOT, SAMPLE


def _machine_paths(*extra: Path) -> list[str]:
    out = set()
    for p in (ROOT, Path.home(), *extra):
        out |= {str(p), str(p.resolve())}
    return sorted(out)


def test_package_and_page_hold_no_absolute_path(tmp_path):
    work = tmp_path / "office"
    work.mkdir()
    cmd = [sys.executable, str(ROOT / "cli.py")]
    plan = [*cmd, "plan", str(SAMPLE), "--buildings", str(BUILDINGS), "-o", str(tmp_path / "pkg"), "--ledger", "off"]
    res = subprocess.run(plan, cwd=work, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    page = tmp_path / "review.html"
    res = subprocess.run([*cmd, "map", str(tmp_path / "pkg"), "-o", str(page), "--tiles", "none"], cwd=work,
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stderr
    texts = [p for p in (tmp_path / "pkg").rglob("*") if p.is_file() and p.suffix != ".wav"] + [page]
    assert len(texts) > 20
    leaks = [
        f"{p.relative_to(tmp_path)}: {needle}"
        for p in texts
        for needle in _machine_paths(tmp_path)
        if needle + "/" in p.read_text(encoding="utf-8") or f'"{needle}"' in p.read_text(encoding="utf-8")
    ]
    assert not leaks, leaks
    # what the page and manifest say instead
    assert "prompt texts: audio_prompts/catalogue.toml" in page.read_text(encoding="utf-8")
    man = (tmp_path / "pkg" / "manifest.json").read_text(encoding="utf-8")
    assert '"path": "geofences/sample_district.geojson"' in man and " -o pkg " in man  # inside patrol's folder
