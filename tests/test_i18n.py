"""The interface in Chinese: complete catalogues for the covered strings (every help text of the command line
among them), the sample district planned, checked and mapped with LANG=zh_CN.UTF-8 speaking Chinese (and English
with --ui-lang en), and a small campaign audited, its status, week report and replay page in Chinese."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import BUILDINGS, ROOT, SAMPLE
from tests.ledger_fixtures import LAT, LON, district_file
from tests.ledger_logs import write_flight

LOCALE = ROOT / "patrol" / "locale"
# The files whose strings go through the catalogues so far (the Makefile's I18N_SOURCES).
SOURCES = re.search(r"I18N_SOURCES := (.*?)\n\n", (ROOT / "Makefile").read_text(), re.S).group(1)
SOURCES = SOURCES.replace("\\\n", " ").split()
PLACEHOLDER = re.compile(r"\{(\w*)[^}]*\}")


def _catalogues() -> list[Path]:
    return sorted(LOCALE.glob("*/LC_MESSAGES/patrol.po"))


def test_every_covered_message_is_translated_and_none_is_fuzzy(tmp_path):
    assert [p.parts[-3] for p in _catalogues()] == ["zh_CN"]
    pot = tmp_path / "patrol.pot"
    cmd = [str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-F", "babel.cfg", "-o", str(pot)]
    cmd += SOURCES
    subprocess.run(cmd, cwd=ROOT, check=True)
    with open(pot, "rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    assert len(wanted) > 400  # the help of every command and option among them (cli.py, babel.cfg)
    for po in _catalogues():
        with open(po, "rb") as fh:
            cat = read_po(fh)
        have = {m.id: m for m in cat if m.id}
        problems = [f"untranslated: {i!r}" for i in sorted(wanted - set(have))]
        problems += [f"not translated: {m.id!r}" for m in have.values() if not m.string]
        problems += [f"fuzzy: {m.id!r}" for m in have.values() if m.fuzzy]
        problems += [f"{m.id!r}: {e}" for m, errors in cat.check() for e in errors]  # as pybabel compile does
        problems += [
            f"placeholders differ: {m.id!r} -> {m.string!r}"
            for m in have.values()
            if m.string and sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))
        ]
        assert not problems, f"{po.relative_to(ROOT)}: " + "; ".join(problems) + " (make messages, then translate)"


def test_the_catalogue_check_sees_a_fuzzy_and_an_empty_message(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n\n#, fuzzy\nmsgid "home"\nmsgstr "家"\n\nmsgid "ok"\nmsgstr ""\n', "utf-8")
    with open(po, "rb") as fh:
        cat = read_po(fh)
    assert [m.id for m in cat if m.id and m.fuzzy] == ["home"]
    assert [m.id for m in cat if m.id and not m.string] == ["ok"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "PATROL_UI_LANG")}
    return {**env, **extra}


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, capture_output=True, text=True,
                         env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="module")
def sample_zh(tmp_path_factory) -> tuple[Path, str]:
    """The sample district planned with LANG=zh_CN.UTF-8 (no cues: the summary does not depend on them)."""
    out = tmp_path_factory.mktemp("zh") / "sample"
    plan = ["plan", str(SAMPLE), "--buildings", str(BUILDINGS), "--speaker", "none", "-o", str(out), "--ledger", "off"]
    return out, _cli(*plan, env=_env(LANG="zh_CN.UTF-8")).stdout


def test_plan_summary_in_chinese(sample_zh):
    _out, text = sample_zh
    lines = text.splitlines()
    assert lines[0].startswith("可听半径 ") and "（面积效率最优）" in lines[0]
    head = lines[2].split()
    assert head[:6] == ["#", "编号", "名称", "类型", "优先", "面积_平方米"] and "完整听到%" in head
    rows = [line for line in lines if line.strip().startswith(("1 ", "15 "))]
    assert any("有门卫小区" in r or "封闭小区" in r for r in rows)
    assert "架次  航点数  长度_米" in text
    assert "architecture" not in text and "audible radius" not in text


def test_check_in_chinese_and_english(sample_zh):
    out, _ = sample_zh
    n_sorties = len(list(out.glob("sortie-*.plan")))
    zh = _cli("check", str(out), env=_env(LANG="zh_CN.UTF-8")).stdout.splitlines()
    assert zh[0].split()[:3] == ["架次", "最高_米", "最小净空_米"]
    assert sum(line.rstrip().endswith("通过") for line in zh) == n_sorties
    assert any(re.match(r"架次 \d+（注意）：航线包围了 1 个禁飞区", line) for line in zh)
    en = _cli("--ui-lang", "en", "check", str(out), env=_env(LANG="zh_CN.UTF-8")).stdout.splitlines()
    assert en[0].split()[:3] == ["sortie", "max_alt_m", "min_clearance_m"]
    assert sum(line.rstrip().endswith("ok") for line in en) == n_sorties


def test_map_legend_and_popups_in_chinese(sample_zh, tmp_path):
    out, _ = sample_zh
    page = tmp_path / "zh.html"
    _cli("map", str(out), "-o", str(page), "--tiles", "none", env=_env(LANG="zh_CN.UTF-8"))
    html = page.read_text(encoding="utf-8")
    assert "巡逻计划：sample" in html
    n_sorties = len(list(out.glob("sortie-*.plan")))
    labels = ("禁飞区", "集结点", "起飞点", "可听覆盖带", f"个小区 · {n_sorties} 个架次 · 航线 ", " 公里")
    for label in (*labels, "预计完整听到", "预计：处于楼房遮挡中", "预计：空地完整听到"):
        assert label in html, label
    assert "Patrol plan:" not in html and "rally point" not in html


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def _legend_shot(page: Path, title: str, folder: Path, name: str) -> bytes:
    """A headless Chromium screenshot of the page's legend alone (map hidden), its title replaced by ``title``."""
    html = page.read_text(encoding="utf-8").replace("巡逻计划：sample", title)
    only_legend = "<style>.folium-map{visibility:hidden}</style>"
    f = folder / f"{name}.html"
    f.write_text(html.replace("</head>", only_legend + "</head>", 1), encoding="utf-8")
    png = folder / f"{name}.png"
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=900,700"]
    cmd += ["--virtual-time-budget=3000", f"--screenshot={png}", f.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0 and png.is_file(), run.stderr[-2000:]
    return png.read_bytes()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_chinese_legend_renders_glyphs_not_tofu(sample_zh, tmp_path):
    """Without a CJK font every Chinese character is the same empty box, so two legends whose titles differ in
    their characters only (same count) give the same screenshot; with glyphs they differ. A third shot of the
    first title shows the comparison is stable (the same page gives the same pixels)."""
    out, _ = sample_zh
    page = tmp_path / "zh.html"
    _cli("map", str(out), "-o", str(page), "--tiles", "none", env=_env(LANG="zh_CN.UTF-8"))
    a = _legend_shot(page, "巡逻计划：样本", tmp_path, "a")
    again = _legend_shot(page, "巡逻计划：样本", tmp_path, "again")
    b = _legend_shot(page, "禁飞集结：区域", tmp_path, "b")
    assert a == again, "the same page rendered twice differs: the comparison below would mean nothing"
    assert a != b, "Chinese text renders as identical boxes (tofu): install a CJK font (apt-get install fonts-noto-cjk)"


HAN = re.compile(r"[\u4e00-\u9fff]")


def test_help_in_chinese_and_english():
    zh = _cli("--help", env=_env(LANG="zh_CN.UTF-8")).stdout
    assert "规划、执行并核查无人机喊话巡逻" in zh and "命令" in zh and "显示本帮助并退出。" in zh
    assert "Plan, fly and audit" not in zh and "Show this message" not in zh
    status = _cli("status", "--help", env=_env(LANG="zh_CN.UTF-8")).stdout
    assert "逐个小区显示" in status and "选项" in status and "…" not in status  # folded, not cut off
    flag = _cli("--ui-lang", "zh_CN", "audit", "--help", env=_env()).stdout
    assert "根据实际飞行日志逐个小区统计覆盖" in flag and "用于" not in flag[:0]
    en = _cli("--ui-lang", "en", "status", "--help", env=_env(LANG="zh_CN.UTF-8")).stdout
    assert "Per compound: last heard whole" in en and "Options" in en and not HAN.search(en)


def test_every_help_text_has_a_chinese_translation():
    """The help shown is the catalogue's: each command's and option's help, translated in the built tree."""
    import typer.main

    from cli import app
    from patrol import i18n
    from patrol.commands.helptext import help_texts, translate_tree

    tree = typer.main.get_command(app)
    english = help_texts(tree)
    try:
        i18n.set_language("zh_CN")
        translate_tree(tree)
        chinese = help_texts(tree)
    finally:
        i18n.set_language("en")
        translate_tree(tree)
    assert len(english) == len(chinese) > 100
    untranslated = [e for e, z in zip(english, chinese, strict=True) if e == z or not HAN.search(z)]
    assert not untranslated, untranslated[:5]
    assert help_texts(tree) == english  # back to English, from the texts each node keeps


@pytest.fixture(scope="module")
def campaign_zh(tmp_path_factory) -> dict:
    """A small district planned into a ledger, one flight over two of its compounds audited, with LANG=zh_CN."""
    folder = tmp_path_factory.mktemp("campaign-zh")
    env = _env(LANG="zh_CN.UTF-8", TZ="Asia/Shanghai", PATROL_OPERATOR="王丽")
    led, pkg = str(folder / "ledger.sqlite"), folder / "pkg"
    plan = ["plan", str(district_file(folder)), "-o", str(pkg), "--home", f"{LAT - 0.001},{LON}", "--speaker", "none"]
    planned = _cli(*plan, "--ledger", led, env=env)
    log = write_flight(folder / "f1.tlog", pkg, ["S1", "G1"], 1764633600.0)  # 2025-12-02 08:00 in Shanghai
    audit = [sys.executable, str(ROOT / "cli.py"), "audit", str(log), "-p", str(pkg), "-o", str(folder / "audit")]
    audited = subprocess.run([*audit, "--assume-playing", "--ledger", led], cwd=ROOT, capture_output=True, text=True,
                             env=env)  # fmt: skip
    assert audited.returncode == 3, audited.stderr  # four compounds were not flown
    return {"folder": folder, "env": env, "ledger": led, "pkg": pkg, "log": log, "plan": planned, "audit": audited}


def test_audit_and_ledger_lines_in_chinese(campaign_zh):
    assert (
        "台账：已在 " in campaign_zh["plan"].stderr
        and "记录任务包 #1（6 个小区，2 个架次）" in campaign_zh["plan"].stderr
    )
    out, err = campaign_zh["audit"].stdout.splitlines(), campaign_zh["audit"].stderr
    assert out[0].split() == ["编号", "完整听到", "在范围内", "上空时间_秒", "警示"]
    rows = {line.split()[0]: line.split() for line in out[1:7]}
    assert set(rows) == {"S1", "S2", "G1", "G2", "C1", "N1"} and rows["G2"][-2:] == ["<", "90%"]
    assert "已写出 " in out[-1] and "核查 #1（2/6 个小区完整听到" in err
    assert "patrol：错误：4 个小区完整听到的比例低于 90%：" in err


def test_audit_report_files_in_chinese(campaign_zh):
    folder = campaign_zh["folder"]
    raw = (folder / "audit" / "report.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark: spreadsheets read the Chinese heads as UTF-8
    head = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert (
        head[:6] == ["编号", "名称", "类型", "面积_平方米", "在范围内比例", "完整听到比例"] and head[-1] == "是否达标"
    )
    page = (folder / "audit" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "<h1>覆盖核查</h1>" in page
    for words in ("达标线：每个小区 90% 的面积完整听到警示", "<th>完整听到</th>", "<th>越界次数</th>", "S2 未完整听到"):
        assert words in page, words
    assert "Coverage audit" not in page and "heard whole" not in page


def test_status_in_chinese_with_local_dates(campaign_zh):
    c = campaign_zh
    lines = _cli("status", "--ledger", c["ledger"], "--date", "2025-12-02", env=c["env"]).stdout.splitlines()
    assert lines[0].split() == ["编号", "类型", "上次听到", "距今", "今天", "本周", "上次核查", "警示", "是否到期"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert "12月2日 08:" in rows["S1"] and "到期，已超 " in rows["S1"]  # scattered: due 12 h after
    assert "后到期" in rows["G1"] and "散居" in rows["S1"] and "有门卫小区" in rows["G1"]
    assert "从未" in rows["N1"] and "到期（从未听到；每 1天00时 一次）" in rows["N1"]
    assert lines[-1] == "截至 2025年12月2日 23:59 CST，6 个小区中有 5 个到期"
    from patrol.i18n import width

    starts = {width(re.match(r"\S+\s+", line).group()) for line in lines[:-1]}
    assert starts == {6}  # the second column starts where 编号 (two terminal columns a character) ends, plus two


def test_week_report_in_chinese(campaign_zh):
    c = campaign_zh
    out = c["folder"] / "week"
    res = _cli("report", "--week", "2025-12-02", "--ledger", c["ledger"], "-o", str(out), env=c["env"])
    assert res.stdout.startswith("2025-W49 周：6 个小区，1 次飞行；每天听到的比例 ")
    page = (out / "report.html").read_text(encoding="utf-8")
    for words in (
        "<h1>2025-W49 周（2025-12-01 至 2025-12-07）</h1>",
        "周二 12月2日",
        "各小区情况",
        "飞行记录",
        "操作员",
    ):
        assert words in page, words
    assert "Per compound" not in page and "heard at least once" not in page
    flights = (out / "flights.csv").read_text(encoding="utf-8-sig").splitlines()
    assert flights[0].split(",")[:4] == ["开始时间_UTC", "结束时间_UTC", "飞机", "操作员"]


def test_replay_page_in_chinese(campaign_zh):
    c = campaign_zh
    page = c["folder"] / "replay.html"
    res = _cli("replay", str(c["log"]), "-p", str(c["pkg"]), "-o", str(page), "--tiles", "none", env=c["env"])
    assert res.stdout.startswith("已写出 ") and "1 个日志，飞行 " in res.stdout and "底图 none" in res.stdout
    html = page.read_text(encoding="utf-8")
    for words in (
        "飞行回放：f1.tlog",
        "实飞航迹（浅色：整次飞行",
        "提示播放：循环",
        "越出围栏",
        "计划中的小区",
        "高度剖面",
    ):
        assert words in html or json.dumps(words)[1:-1] in html, words  # layer names are in the script, escaped
    words = json.loads(re.search(r"var words = (\{.*?\});", html).group(1))  # the slider's readout
    assert words["battery"] == "电量" and words["alt"] == "高度" and "播放 / 暂停" in html
    assert "Flight replay" not in html and "flown track" not in html


def _page_shot(html: str, folder: Path, name: str) -> bytes:
    """A headless Chromium screenshot of ``html`` (a self-contained page)."""
    f = folder / f"{name}.html"
    f.write_text(html, encoding="utf-8")
    png = folder / f"{name}.png"
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=900,500"]
    cmd += ["--virtual-time-budget=2000", f"--screenshot={png}", f.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0 and png.is_file(), run.stderr[-2000:]
    return png.read_bytes()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_chinese_audit_page_renders_glyphs_not_tofu(campaign_zh, tmp_path):
    """The audit report's heading in Chinese, then other Chinese characters of the same count: with a CJK font the
    two screenshots differ (with none, both are rows of identical boxes); the same page twice gives the same."""
    page = (campaign_zh["folder"] / "audit" / "report.html").read_text(encoding="utf-8")
    assert "<h1>覆盖核查</h1>" in page
    a = _page_shot(page, tmp_path, "a")
    again = _page_shot(page, tmp_path, "again")
    b = _page_shot(page.replace("<h1>覆盖核查</h1>", "<h1>禁飞集结</h1>"), tmp_path, "b")
    assert a == again, "the same page rendered twice differs: the comparison below would mean nothing"
    assert a != b, "Chinese text renders as identical boxes (tofu): install a CJK font (apt-get install fonts-noto-cjk)"


def _fails(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, capture_output=True, text=True,
                         env=env)  # fmt: skip
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    return res


@pytest.mark.parametrize(
    ("option", "english", "chinese"),
    [
        (["--alt-m", "300"], "--alt-m 300 is outside 0..120 m (--max-alt-m); lower it",
         "--alt-m 300 超出 0..120 米（--max-alt-m）；请调低"),
        (["--speaker-db", "60"],
         "at 40 m the warning is not heard on the ground: a 60 dB speaker over 55 dB ambient (+10 dB margin) carries "
         "0 m; fly below 0 m or use a speaker of --speaker-db 100 or more (heard 30 m around)",
         "在 40 米高度，地面听不到警示：60 分贝的喇叭在 55 分贝环境噪声下（余量 +10 分贝）只能传 0 米；"
         "请在 0 米以下飞行，或使用 --speaker-db 100 及以上的喇叭（可覆盖周围 30 米）"),
        (["--spacing-m", "500"],
         "--spacing-m 500 leaves strips out of range (audible radius 38.6 m); the widest spacing that keeps every "
         "point in range is 76.3 m",
         "--spacing-m 500 会留下听不到的条带（可听半径 38.6 米）；能让每一点都在范围内的最大航线间距是 76.3 米"),
    ],
    ids=["altitude", "speaker", "spacing"],
)  # fmt: skip
def test_a_planner_error_in_chinese_and_as_it_was_in_english(option, english, chinese, tmp_path):
    """The planner's one-line refusals (patrol/plan) in the locale's language; English byte for byte as before."""
    plan = ["plan", str(SAMPLE), *option, "--speaker", "none", "--ledger", "off", "-o", str(tmp_path / "out")]
    zh = _fails(*plan, env=_env(LANG="zh_CN.UTF-8")).stderr.strip().splitlines()[-1]
    assert zh == "patrol：错误：" + chinese
    en = _fails(*plan, env=_env(LANG="C.UTF-8")).stderr.strip().splitlines()[-1]
    assert en == "patrol: error: " + english
    assert not (tmp_path / "out").exists()


def test_a_read_back_difference_is_one_sentence_in_the_language_in_use():
    """``mission item 3: command 16 != 22``: each difference a translated phrase, no English pieces in Chinese."""
    from dataclasses import replace

    from patrol import i18n
    from patrol.package.reader import MISSION, RALLY
    from patrol.types import MissionItem
    from patrol.vehicle.readback import compare_items

    sent = [MissionItem(16, 3, 0.0, 0.0, 0.0, 0.0, 38.4 + k / 1000, 112.7, 40.0) for k in range(5)]
    got = list(sent)
    got[3] = replace(sent[3], command=22, alt_m=45.0)
    assert compare_items(sent, got, MISSION) == ["mission item 3: command 16 != 22, alt_m 40.0 != 45.0"]
    assert compare_items(sent, got[:4], RALLY) == ["rally: sent 5 items, vehicle holds 4"]
    try:
        i18n.set_language("zh_CN")
        zh = compare_items(sent, got, MISSION)
        short = compare_items(sent, got[:4], RALLY)
    finally:
        i18n.set_language("en")
    assert zh == ["航线任务第 3 项：命令（发送 16，回读 22），高度_米（发送 40.0，回读 45.0）"]
    assert short == ["集结点：发送了 5 项，飞机上有 4 项"]


def test_clicks_own_words_in_chinese_and_as_they_were_in_english():
    """A missing option: click's usage line, its error and typer's hint in Chinese; English as typer words it."""
    zh = _fails("plan", env=_env(LANG="zh_CN.UTF-8", COLUMNS="80")).stderr
    lines = zh.splitlines()
    assert lines[0] == "用法：cli.py plan [OPTIONS] [compounds]..."  # the program's name as run (patrol: patrol)
    assert lines[1] == "运行 'cli.py plan --help' 查看帮助。" and "错误" in lines[2]
    assert "缺少选项 '--output' / '-o'。" in zh
    assert not re.search(r"Usage|Missing|Try |Error", zh), zh
    unknown = _fails("plan", "--bogus", env=_env(LANG="zh_CN.UTF-8")).stderr
    assert "没有这个选项：--bogus" in unknown
    en = _fails("plan", env=_env(LANG="C.UTF-8", COLUMNS="80")).stderr.splitlines()
    assert en[:2] == ["Usage: cli.py plan [OPTIONS] [compounds]...", "Try 'cli.py plan --help' for help."]
    assert "Error" in en[2] and "│ Missing option '--output' / '-o'." in en[3] and not HAN.search("\n".join(en))
