"""A sortie with speaker cues flown in SITL with patrol's Lua applet: the plays the vehicle reports (tlog)
and the plays `patrol broadcast` makes alongside match the plan in prompt, order and place."""

from __future__ import annotations

import datetime as dt
import json
import math
import signal
import subprocess
import sys

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav

from patrol.package.reader import read_sortie
from patrol.vehicle.link import connect
from patrol.vehicle.player import parse_report
from patrol.vehicle.upload import upload_sortie
from sitl_tests.conftest import LUA, ROOT, fly_sortie, fly_with_applet, package_home, start_sitl

ACTION = {1: "loop", 2: "stop", 3: "play"}


def _metres(a, b):
    dlat = (a[0] - b[0]) * 111_320.0
    dlon = (a[1] - b[1]) * 111_320.0 * math.cos(math.radians(a[0]))
    return math.hypot(dlat, dlon)


def _shortest_whole_sortie(man):
    """The shortest sortie that sweeps each of its compounds whole (a compound split over two sorties is
    heard whole only by both flights together, so one flight's audit would find most of it unheard)."""
    count = {}
    for s in man["sorties"]:
        for cid in s["compounds"]:
            count[cid] = count.get(cid, 0) + 1
    whole = [s for s in man["sorties"] if all(count[c] == 1 for c in s["compounds"])]
    return min(whole, key=lambda x: x["predicted_time_s"])


def planned_cues(mission):
    """(action, track, (lat, lon)) per speaker command, placed at the NAV item it follows."""
    out, last = [], None
    for it in mission:
        if it.command == mav.MAV_CMD_DO_SEND_SCRIPT_MESSAGE:
            out.append((ACTION[round(it.param1)], round(it.param2), last))
        elif it.command in (mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_CMD_NAV_LOITER_TIME, mav.MAV_CMD_NAV_TAKEOFF):
            last = (it.lat, it.lon)
    return out


def tlog_plays(path):
    """(action, track, (lat, lon)) for every PTRL STATUSTEXT in a tlog, at the position last reported."""
    log = mavutil.mavlink_connection(str(path), dialect="ardupilotmega")
    pos, out = None, []
    while (m := log.recv_match(type=["GLOBAL_POSITION_INT", "STATUSTEXT"])) is not None:
        if m.get_type() == "GLOBAL_POSITION_INT" and (m.lat or m.lon):
            pos = (m.lat / 1e7, m.lon / 1e7)
        elif m.get_type() == "STATUSTEXT" and (rep := parse_report(m.text)) is not None:
            out.append((rep[0], rep[1], pos))
    return out


def test_cues_play_in_order_where_planned(tmp_path, cued_package):
    man = json.loads((cued_package / "manifest.json").read_text())
    s = _shortest_whole_sortie(man)
    up = read_sortie(cued_package, s["index"])
    want = planned_cues(up.mission)
    assert len(want) >= 3
    sitl = start_sitl(tmp_path / "sitl", package_home(cued_package), "SCR_ENABLE 1\n", (LUA,))
    player = None
    try:
        link = connect(sitl.url, heartbeat_timeout_s=30)
        link.conn.setup_logfile(str(tmp_path / "flight.tlog"), mode="wb")
        player = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "broadcast", "--connect", sitl.url2, "--package", str(cued_package),
             "--sortie", str(s["index"]), "--out", str(tmp_path / "plays"), "--no-sound", "--timeout-min", "10",
             "--ledger", str(tmp_path / "ledger.sqlite")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        upload_sortie(link, up)
        fly_sortie(link, up)
        _out, err = player.communicate(timeout=120)
        assert player.returncode == 0, err
        link.close()
    finally:
        if player is not None and player.poll() is None:
            player.send_signal(signal.SIGINT)
            player.wait(timeout=10)
        sitl.stop()
    reported_all = tlog_plays(tmp_path / "flight.tlog")
    # after each hotspot play the applet resumes the compound's looping prompt
    for k, (a, _t, _) in enumerate(reported_all):
        if a == "play" and k + 1 < len(reported_all) and reported_all[k + 1][0] != "stop":
            assert reported_all[k + 1][0] == "resume"
    assert any(a == "resume" for a, _, _ in reported_all)
    reported = [r for r in reported_all if r[0] != "resume"]
    assert [(a, t) for a, t, _ in reported] == [(a, t) for a, t, _ in want]
    for (a, t, got), (_, _, where) in zip(reported, want, strict=True):
        assert _metres(got, where) <= 15.0, f"{a} #{t} reported {_metres(got, where):.1f} m from its planned place"
    logs = list((tmp_path / "plays").glob("*.jsonl"))
    assert len(logs) == 1
    plays = [p for line in logs[0].read_text().splitlines() if (p := json.loads(line))["action"] != "resume"]
    assert [(p["action"], p["track"]) for p in plays] == [(a, t) for a, t, _ in want]
    for p, (_, _, where) in zip(plays, want, strict=True):
        assert _metres((p["lat"], p["lon"]), where) <= 15.0
        if p["action"] != "stop":
            assert p["prompt_id"] and p["output"].endswith(".wav")
    assert ledger_plays(tmp_path / "ledger.sqlite") == len(logs[0].read_text().splitlines())


def test_audit_of_the_flown_cued_sortie_agrees_between_tlog_and_dataflash(tmp_path, cued_package):
    """The cued sortie flown again; `patrol audit` on its .tlog and on its .bin finds its compounds heard."""
    man = json.loads((cued_package / "manifest.json").read_text())
    s = _shortest_whole_sortie(man)
    fly_with_applet(tmp_path, cued_package, s["index"])
    bins = sorted((tmp_path / "sitl" / "logs").glob("*.BIN"))
    assert bins, "SITL wrote no DataFlash log"
    shares = {}
    ledger = tmp_path / "ledger.sqlite"
    for name, log in (("tlog", tmp_path / "flight.tlog"), ("bin", bins[-1])):
        res = subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "audit", str(log), "--package", str(cued_package),
             "-o", str(tmp_path / name), "--compounds", ",".join(s["compounds"]), "--ledger", str(ledger)],
            capture_output=True, text=True,
        )  # fmt: skip
        # 3: a compound under 90 % heard whole; with the buildings' shadows that can be honest (checked below)
        assert res.returncode in (0, 3), res.stdout + res.stderr
        doc = json.loads((tmp_path / name / "report.json").read_text())
        shares[name] = {c["id"]: c for c in doc["compounds"]}
        short = [c["id"] for c in doc["compounds"] if not c["passes"]]
        assert (res.returncode == 3) == bool(short), res.stdout + res.stderr
    for cid in s["compounds"]:
        t, b = shares["tlog"][cid], shares["bin"][cid]
        predicted = next(c for c in man["compounds"] if c["id"] == cid)["predicted_heard_whole_share"]
        assert t["in_range_share"] >= 0.99 and t["heard_whole_share"] >= predicted - 0.05, t
        ground_m2 = next(c for c in man["compounds"] if c["id"] == cid)["open_ground_m2"]
        assert t["heard_whole_share"] + t["shadowed_m2"] / ground_m2 >= 0.95, t  # what is not heard is shadowed
        assert abs(t["heard_whole_share"] - b["heard_whole_share"]) <= 0.02
        assert abs(t["time_over_s"] - b["time_over_s"]) <= 0.05 * t["time_over_s"] + 5
        assert {p["prompt_id"] for p in t["prompts_played"]} == {p["prompt_id"] for p in b["prompts_played"]}
    # both logs are in the ledger; the flown compounds heard the warning (with its prompts), the others are due.
    # SITL's GPS clock runs at its speed-up, so the hearings lie minutes ahead: ask as of the end of tomorrow
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    res = subprocess.run([sys.executable, str(ROOT / "cli.py"), "status", "--json", "--date", tomorrow, "--every", "3d",
                          "--ledger", str(ledger)], capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = {c["id"]: c for c in json.loads(res.stdout)["compounds"]}
    for cid in s["compounds"]:
        if shares["tlog"][cid]["passes"] or shares["bin"][cid]["passes"]:
            assert not rows[cid]["due"] and rows[cid]["last_heard_utc"] and rows[cid]["prompts"], rows[cid]
        else:  # under the threshold (the buildings' shadows, reported above): still due, and said so
            assert rows[cid]["due"], rows[cid]
    assert all(r["due"] for cid, r in rows.items() if cid not in s["compounds"])


def ledger_plays(path) -> int:
    """How many speaker events the ledger at ``path`` holds."""
    from sqlalchemy import func, select

    from patrol.ledger import schema
    from patrol.ledger.config import target_from
    from patrol.ledger.store import open_ledger

    led = open_ledger(target_from(str(path), "test"), create=False)
    with led.read() as conn:
        return conn.execute(select(func.count()).select_from(schema.plays)).scalar_one()
