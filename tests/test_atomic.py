"""Whole-or-nothing outputs under SIGKILL: `patrol plan`, `patrol audit` and patrol.atomic itself, killed at
seeded random moments in a loop, always leave the previous complete folder or the complete new one.

A folder's identity is the sha256 of every file in it (name and bytes); each version's is taken from a run
that finished. After each kill the folder must be one of the two versions the killed writer could have left,
and the next write must clear whatever temporary folders the killed one left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from patrol.atomic import clean_stale, exchange, write_folder
from tests.conftest import ROOT
from tests.test_audit import write_tlog


def digest(folder: Path) -> str | None:
    """sha256 over the sorted (relative name, file sha256) pairs of ``folder``; None when it does not exist."""
    if not folder.exists():
        return None
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        h.update(str(p.relative_to(folder)).encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def kill_loop(argv: list[str], cwd: Path, out: Path, versions: dict[str, str], kills: int, seed: int) -> dict:
    """Start ``argv`` (with version ``v`` substituted for ``{v}``) alternately per version, SIGKILL it after a
    seeded random delay up to its full run time, and check ``out`` after each kill. Returns counts."""
    rng = random.Random(seed)
    names = sorted(versions)
    full_s = {}
    for v in names:  # the complete versions, and how long a whole run takes
        t0 = time.monotonic()
        res = subprocess.run([a.format(v=v) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600)
        assert res.returncode in (0, 3), f"the whole run of version {v} failed: {res.stderr}"  # 3: audit shortfall
        full_s[v] = time.monotonic() - t0
        versions[v] = digest(out)
    assert len(set(versions.values())) == len(names), "the versions must differ to tell them apart"
    seen = {"killed": 0, "old": 0, "new": 0}
    for k in range(kills):
        v = names[k % len(names)]
        before = digest(out)
        proc = subprocess.Popen(
            [a.format(v=v) for a in argv], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.2, 1.05) * full_s[v])
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            seen["killed"] += 1
        proc.wait(timeout=60)
        now = digest(out)
        assert now in (before, versions[v]), f"kill {k}: {out} is neither the previous nor the new version"
        seen["old" if now == before and now != versions[v] else "new"] += 1
    subprocess.run([a.format(v=names[0]) for a in argv], cwd=cwd, capture_output=True, check=False, timeout=600)
    assert digest(out) == versions[names[0]]
    assert leftovers(out) == [], "a finished write clears what killed writers left"
    return seen


WRITER = """
import sys
sys.path.insert(0, {root!r})
from patrol.atomic import write_folder
v = sys.argv[2]
files = {f"part/{k:04d}.txt": (v * 40000)[: 20000 + k] for k in range(int(sys.argv[3]))}
files["VERSION"] = v
write_folder(files, sys.argv[1], overwrite=True)
"""


def test_write_folder_killed_at_random_leaves_old_or_new(tmp_path):
    """300 files a version: a kill mid-write leaves the previous folder; mid-swap, one of the two."""
    out = tmp_path / "pkg"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.replace("{root!r}", repr(str(ROOT))))
    argv = [sys.executable, str(script), str(out), "{v}", "300"]
    seen = kill_loop(argv, tmp_path, out, {"a": "", "b": ""}, kills=20, seed=14)
    assert seen["killed"] >= 10, seen


def test_a_killed_writers_temporary_folder_is_removed_by_the_next_write(tmp_path):
    out = tmp_path / "pkg"
    write_folder({"a.txt": "1"}, out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".pkg.{int(dead.stdout)}.abcd.tmp"
    (stale / "half").mkdir(parents=True)
    mine = tmp_path / f".pkg.{os.getpid()}.efgh.tmp"  # a live writer's (this process): kept
    mine.mkdir()
    write_folder({"a.txt": "2"}, out, overwrite=True)
    assert not stale.exists() and mine.exists()
    assert (out / "a.txt").read_text() == "2"


def test_a_folder_renamed_aside_before_a_kill_is_put_back(tmp_path):
    """The fallback path's window (no exchange): `.pkg.old` complete, `pkg` gone; the next write restores it."""
    out = tmp_path / "pkg"
    write_folder({"a.txt": "old"}, out)
    os.replace(out, tmp_path / ".pkg.old")
    clean_stale(out)
    assert (out / "a.txt").read_text() == "old" and not (tmp_path / ".pkg.old").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_exchange_swaps_two_folders(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("x")
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "f").write_text("y")
    assert exchange(tmp_path / "x", tmp_path / "y")
    assert (tmp_path / "x" / "f").read_text() == "y" and (tmp_path / "y" / "f").read_text() == "x"


def test_plan_killed_at_random_leaves_the_previous_or_a_complete_package(small, tmp_path):
    out = tmp_path / "pkg"
    argv = [sys.executable, str(ROOT / "cli.py"), "plan", str(small), "-o", str(out), "--speaker", "none"]
    argv += ["--alt-m", "{v}", "--force", "--ledger", "off"]  # the output folder alone is under test
    seen = kill_loop(argv, ROOT, out, {"35": "", "40": ""}, kills=10, seed=15)
    assert seen["killed"] >= 3, seen
    man = json.loads((out / "manifest.json").read_text())
    assert man["parameters"]["patrol"]["alt_m"] == 35.0


def test_audit_killed_at_random_leaves_the_previous_or_a_complete_report(small, tmp_path):
    pkg = tmp_path / "pkg"
    plan = [sys.executable, str(ROOT / "cli.py"), "plan", str(small), "-o", str(pkg), "--speaker", "none"]
    plan += ["--ledger", "off"]
    subprocess.run(plan, cwd=ROOT, capture_output=True, check=True, timeout=600)
    xs = np.linspace(-200.0, 400.0, 300)
    log = write_tlog(tmp_path / "f.tlog", xs, np.zeros_like(xs), rate_hz=2.0, cues=[(0, "PTRL loop 1 0")])
    out = tmp_path / "audit"
    argv = [sys.executable, str(ROOT / "cli.py"), "audit", str(log), "-p", str(pkg), "-o", str(out), "--force"]
    argv += ["--ledger", "off"]
    argv += ["--min-coverage", "{v}"]
    seen = kill_loop(argv, ROOT, out, {"0.5": "", "0.9": ""}, kills=8, seed=16)
    assert seen["killed"] >= 3, seen
    assert json.loads((out / "report.json").read_text())["compounds"]
