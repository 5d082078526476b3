"""Mandarin notices written with digits are spoken the way a person reads them."""

from __future__ import annotations

import pytest

from patrol.speech.catalogue import read_catalogue
from patrol.speech.textnorm import spoken_zh


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("2020年2月3日起，请减少外出。", "二零二零年二月三日起，请减少外出。"),
        ("请于2020/2/3前登记，每户限2人。", "请于二零二零年二月三日前登记，每户限两人。"),
        ("疫苗接种率已达90%。", "疫苗接种率已达百分之九十。"),
        ("体温超过37.3℃请报告。", "体温超过三十七点三摄氏度请报告。"),
        ("每天8:30至17:00在小区门口登记。", "每天八点三十分至十七点在小区门口登记。"),
        ("请保持1米以上距离。", "请保持一米以上距离。"),
        ("核酸检测点在3号门，步行5km以内。", "核酸检测点在三号门，步行五公里以内。"),
        ("外地返回人员请拨打13912345678报告。", "外地返回人员请拨打幺三九幺二三四五六七八报告。"),
        ("咨询电话：12345，或拨打0351-1234567。", "咨询电话：幺二三四五，或拨打零三五幺，幺二三四五六七。"),
        ("今天气温-5度，请注意保暖。", "今天气温负五度，请注意保暖。"),
    ],
)
def test_numbers_dates_times_units_and_phone_numbers_are_written_out(written, spoken):
    assert spoken_zh(written) == spoken


def test_shipped_prompts_are_spoken_as_written():
    for p in read_catalogue().prompts:
        assert spoken_zh(p.texts["zh"]) == p.texts["zh"]


def test_chinese_punctuation_is_kept_for_the_voices_pauses():
    out = spoken_zh("第3栋，2单元：请下楼测温！")
    assert out == "第三栋，两单元：请下楼测温！"
