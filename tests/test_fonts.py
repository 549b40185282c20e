"""The bundled CJK font: TrueType outlines, redistributable, covering every character used."""

from __future__ import annotations

import contextlib

from conftest import FLOWS
from fontTools.ttLib import TTFont

from generator import fonts


def test_every_character_of_the_bundled_flows_and_org_has_a_glyph():
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(FLOWS.glob("*.yaml")))
    assert fonts.missing_glyphs(text.replace("\n", "")) == set()


def test_the_font_covers_gb2312_and_chart_symbols():
    have = fonts.charset()
    gb2312 = set()
    for lead in range(0xB0, 0xF8):  # the 6,763 hanzi of GB2312
        for cell in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                gb2312.add(bytes((lead, cell)).decode("gb2312"))
    assert len(gb2312) == 6763
    assert gb2312 <= have
    assert set("①②③④⑤⑥⑦⑧⑨⑩，。、；：？！（）《》「」【】—…") <= have


def test_truetype_outlines_and_licence_beside_it():
    font = TTFont(str(fonts.FONT_PATH), lazy=True)
    assert "glyf" in font and "CFF " not in font  # reportlab cannot embed CFF outlines
    assert font["name"].getDebugName(1) == fonts.FAMILY
    licence = fonts.LICENSE_PATH.read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Modified Version" in licence


def test_width_measurement_agrees_with_reportlab():
    from reportlab.pdfbase import pdfmetrics

    name = fonts.register()
    for text in ("审批", "转入EMS/德邦物流", "（合格）", "1个月内"):
        assert abs(pdfmetrics.stringWidth(text, name, 10) - fonts.text_width(text, 10)) < 0.01


def test_the_kept_widths_are_the_fonts_own():
    # metrics.py saves every process reading the font with fontTools; it must say what the
    # font says, and name the font it was read from (a stale one would be ignored)
    import hashlib

    from generator import fonts
    from generator.fonts import metrics

    assert hashlib.sha256(fonts.FONT_PATH.read_bytes()).hexdigest() == metrics.FONT_SHA256
    assert fonts._widths() == fonts.read_widths()
    assert fonts.METRICS_PATH.read_text(encoding="utf-8") == fonts.metrics_module()
