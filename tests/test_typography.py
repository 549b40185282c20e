"""禁则 line breaking and balanced wrapping, measured with the font that draws the text."""

from __future__ import annotations

import pytest

from generator.fonts import text_width
from generator.typography import (
    NO_LINE_END,
    NO_LINE_START,
    balanced_wrap,
    breaks_are_legal,
    wrap,
)

SIZE = 10.0


def chars(n: float) -> float:
    return n * SIZE + 0.01  # room for n CJK characters of 1 em


@pytest.mark.parametrize(("text", "width", "expected"), [
    ("审核人员签字确认，完成", chars(8), ["审核人员签字确", "认，完成"]),  # ， may not start a line
    ("与第三方合作商（圆通物流交接）", chars(7), ["与第三方合作商", "（圆通物流交", "接）"]),
    ("制定考核（含原则）", chars(5), ["制定考核", "（含原则）"]),  # （ may not end a line
    ("核对。确认、存档", chars(2), ["核", "对。", "确", "认、", "存档"]),
    ("转入EMS/德邦物流", chars(4), ["转入", "EMS/德", "邦物流"]),  # a Latin word stays whole
])
def test_greedy_wrap_obeys_kinsoku(text, width, expected):
    lines = wrap(text, width, SIZE, text_width)
    assert lines == expected
    assert breaks_are_legal(lines)


@pytest.mark.parametrize("text", [
    "制定具体的人员编制，并编制岗位职务说明书", "提供产品新品明细表产品推进时间进程表",
    "呈报奖励名单和事由，提出奖励方案", "任命公司经理、主管、助理", "电商（央视商城）下达配货单",
    "根据通知精神，填写考核表，进行部门内考核", "标注详细收货地点信息",
])
@pytest.mark.parametrize("n", [4, 5, 6, 7, 9])
def test_balanced_wrap_is_legal_even_and_never_longer(text, n):
    width = chars(n)
    greedy = wrap(text, width, SIZE, text_width)
    lines = balanced_wrap(text, width, SIZE, text_width)
    assert "".join(lines) == text
    assert len(lines) == len(greedy)
    assert all(text_width(line, SIZE) <= width for line in lines)
    assert breaks_are_legal(lines)
    for i, line in enumerate(lines):
        assert i == 0 or line[0] not in NO_LINE_START
        assert i == len(lines) - 1 or line[-1] not in NO_LINE_END
    if len(lines) > 1:
        assert len(lines[-1]) >= 2, lines  # no orphan character on the last line
        assert max(map(len, lines)) - min(map(len, lines)) <= 2, lines


def test_an_overlong_word_is_broken_rather_than_overflowing():
    lines = wrap("ABCDEFGHIJKLMNOP", chars(3), SIZE, text_width)
    assert "".join(lines) == "ABCDEFGHIJKLMNOP"
    assert all(text_width(line, SIZE) <= chars(3) for line in lines)


def test_breaks_are_legal_detects_each_violation():
    assert not breaks_are_legal(["审核", "，完成"])
    assert not breaks_are_legal(["审核（", "完成）"])
    assert breaks_are_legal(["（审核", "完成）"])


def test_a_header_table_breaks_the_lanes_between_names_only():
    from generator.manual.plan import lanes_text

    names = ["各用人部门", "电子商务部", "总经理办公会议", "总经理"]
    text = lanes_text(names, 190)
    lines = text.split("\n")
    assert len(lines) == 2 and lines[0].endswith("→")
    for line in lines:  # every piece between arrows is a whole lane name
        assert all(part.strip() in names for part in line.split("→") if part.strip())
    assert lanes_text(names, 1000) == " → ".join(names)
