"""The promise flown: at 110 dB (an audible radius over 150 m) one sortie of the sample district flown in SITL with
the shipped Lua applet; `patrol audit` on its .tlog finds every compound of the sortie heard whole, as the plan
predicted for that sortie from the legs where its cues make the speaker play, except the open ground in the
buildings' shadow, which both report (the audit's shadowed_m2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sitl_tests.conftest import BUILDINGS, ROOT, SAMPLE, fly_with_applet
from sitl_tests.test_sitl_broadcast import _shortest_whole_sortie

SPEAKER_DB = 110.0


@pytest.fixture(scope="module")
def loud_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample district planned by the CLI with the shipped prompts, the Lua-script speaker and 110 dB.

    Planned with ``--no-check``: checked, the demo voice's clips need 20 dB over the street (docs/broadcast.md),
    and the plan would shrink the audible radius to 39 m; this test is about the speaker's state and the
    prediction of a wide disc, so it plans at the 10 dB margin the issue names."""
    out = tmp_path_factory.mktemp("loud") / "sample"
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "plan", str(SAMPLE), "--buildings", str(BUILDINGS), "-o", str(out),
         "--speaker-db", str(SPEAKER_DB), "--no-check", "--ledger", "off"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return out


def test_every_compound_of_a_flown_sortie_hears_whole_as_predicted(tmp_path, loud_package):
    man = json.loads((loud_package / "manifest.json").read_text())
    assert man["audibility"]["radius_m"] > 150.0
    s = _shortest_whole_sortie(man)
    fly_with_applet(tmp_path, loud_package, s["index"])
    res = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "audit", str(tmp_path / "flight.tlog"), "--package", str(loud_package),
         "-o", str(tmp_path / "audit"), "--ledger", "off"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode in (0, 3), res.stdout + res.stderr
    audit = {c["id"]: c for c in json.loads((tmp_path / "audit" / "report.json").read_text())["compounds"]}
    predicted = {c["id"]: c["predicted_heard_whole_by_sortie"] for c in man["compounds"]}
    rows = []
    for cid, by_sortie in predicted.items():
        p = by_sortie.get(str(s["index"]), 0.0)
        rows.append(f"{cid}: predicted {p:.4f}, audit {audit[cid]['heard_whole_share']:.4f}")
    print(f"sortie {s['index']} at {SPEAKER_DB:g} dB\n" + "\n".join(rows))
    ground = {c["id"]: c["open_ground_m2"] for c in man["compounds"]}
    for cid in s["compounds"]:
        got, want = audit[cid]["heard_whole_share"], predicted[cid][str(s["index"])]
        # what the roofs take is reported as shadowed, never hidden: heard and shadowed make up the open ground
        reached = got + audit[cid]["shadowed_m2"] / ground[cid]
        assert reached >= 0.95, f"{cid}: heard whole or shadowed on {reached:.1%} of its open ground"
        assert abs(got - want) <= 0.03, f"{cid}: predicted {want:.1%}, audit {got:.1%}"
