"""Text in chart boxes breaks where a reader would: at punctuation, before 并/及/与/或, between
words; never starting a line with ，。、；：）》; in no more lines than the width needs."""

from __future__ import annotations

import pytest
from conftest import bundled_library

from generator import fonts
from generator.diagram import layout
from generator.diagram.wording import phrase_wrap, words_broken
from generator.typography import NO_LINE_START, balanced_wrap, breaks_are_legal, wrap

SIZE = 10.0
LIBRARY = bundled_library()


def chars(n: float) -> float:
    return n * SIZE + 0.5  # the width of n full-width characters


@pytest.mark.parametrize(("text", "width", "want"), [
    ("下载平台结算对账单", 6, ("下载平台", "结算对账单")),
    ("核对结算单与发货记录", 6, ("核对结算单", "与发货记录")),
    ("协调补货或调整订单", 6, ("协调补货", "或调整订单")),
    ("退换货管理流程", 5, ("退换货", "管理流程")),
    ("超时未付款，订单关闭", 6, ("超时未付款，", "订单关闭")),
    ("提出任命名单（部门负责人以下职位）", 7, ("提出任命名单", "（部门负责人", "以下职位）")),
])
def test_boxes_break_at_phrases_and_between_words(text, width, want):
    assert phrase_wrap(text, chars(width), SIZE, fonts.text_width) == want
    # in as many lines as the even split the charts used before
    even = balanced_wrap(text, chars(width), SIZE, fonts.text_width)
    assert words_broken(want) == 0 and len(even) == len(want)


def test_a_line_more_only_to_spare_a_word():
    # in two lines at seven characters 培训 breaks (培/训); three lines break between words
    assert phrase_wrap("制定整体电商培训计划内容大纲", chars(7), SIZE, fonts.text_width) == (
        "制定整体电商", "培训计划", "内容大纲")
    # where no line more helps, the fewest lines stay
    assert len(phrase_wrap("审批审核审议", chars(1.5), SIZE, fonts.text_width)) == 6


def test_never_more_lines_than_the_width_needs_and_never_a_closing_mark_first():
    texts = {s.text for f in LIBRARY.flows for s in f.steps}
    for text in texts:
        for width in (3, 4, 5, 6, 8):
            lines = phrase_wrap(text, chars(width), SIZE, fonts.text_width)
            fewest = len(wrap(text, chars(width), SIZE, fonts.text_width))
            # a line more only where it spares a word the fewest lines would break
            assert len(lines) == fewest or (len(lines) == fewest + 1
                                            and not words_broken(lines)), text
            assert "".join(lines) == text.replace(" ", "") or " " in text
            assert breaks_are_legal(list(lines)), lines
            assert not any(line[:1] in NO_LINE_START for line in lines[1:]), lines
            if len(wrap(text, chars(width), SIZE, fonts.text_width)) == 1:
                assert lines == (text,)


def test_the_bundled_charts_rarely_break_inside_a_word():
    # a box's width decides its lines; only where no break between words fits does one fall
    # inside a word (49 boxes and labels of the bundled charts did, set evenly; 7 after the
    # phrase breaking; 11 once the process review put step roles in the boxes, 电子商务部经理 …;
    # 1 once boxes took the width of a second side track, diamonds reached past the boxes and
    # a break inside a word counted as 12 pt of a diamond's height; 0 once a box takes a line
    # more where that spares a word: 制定整体/电商培训计划/内容大纲, not 制定整体电商培/训计划内容大纲)
    broken = []
    for flow in LIBRARY.flows:
        for page in layout(flow).pages:
            broken += ["/".join(s.text.lines) for s in page.shapes
                       if s.kind != "connector" and words_broken(s.text.lines)]
            broken += [label.text for label in page.labels
                       if words_broken(label.text.split("\n"))]
    assert not broken, broken
