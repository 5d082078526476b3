"""The interface in Chinese: complete catalogues for the covered strings, and the sample district planned,
checked and mapped with LANG=zh_CN.UTF-8 speaking Chinese (and English with --ui-lang en)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import BUILDINGS, ROOT, SAMPLE

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
    cmd = [str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-o", str(pot), *SOURCES]
    subprocess.run(cmd, cwd=ROOT, check=True)
    with open(pot, "rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    assert len(wanted) > 60
    for po in _catalogues():
        with open(po, "rb") as fh:
            cat = read_po(fh)
        have = {m.id: m for m in cat if m.id}
        problems = [f"untranslated: {i!r}" for i in sorted(wanted - set(have))]
        problems += [f"not translated: {m.id!r}" for m in have.values() if not m.string]
        problems += [f"fuzzy: {m.id!r}" for m in have.values() if m.fuzzy]
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
    zh = _cli("check", str(out), env=_env(LANG="zh_CN.UTF-8")).stdout.splitlines()
    assert zh[0].split()[:3] == ["架次", "最高_米", "最小净空_米"]
    assert sum(line.rstrip().endswith("通过") for line in zh) == 13
    assert any(line.startswith("架次 10（注意）：航线包围了 1 个禁飞区") for line in zh)
    en = _cli("--ui-lang", "en", "check", str(out), env=_env(LANG="zh_CN.UTF-8")).stdout.splitlines()
    assert en[0].split()[:3] == ["sortie", "max_alt_m", "min_clearance_m"]
    assert sum(line.rstrip().endswith("ok") for line in en) == 13


def test_map_legend_and_popups_in_chinese(sample_zh, tmp_path):
    out, _ = sample_zh
    page = tmp_path / "zh.html"
    _cli("map", str(out), "-o", str(page), "--tiles", "none", env=_env(LANG="zh_CN.UTF-8"))
    html = page.read_text(encoding="utf-8")
    assert "巡逻计划：sample" in html
    for label in ("禁飞区", "集结点", "起飞点", "可听覆盖带", "个小区 · 13 个架次 · 航线 ", " 公里", "预计完整听到"):
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
