"""The one CJK font every renderer uses, and the one place it is registered.

``FlowdocSansSC-Regular.ttf`` (Noto Sans CJK SC, subset and converted to TrueType outlines by
``tools/make_font.py``; SIL OFL 1.1, see ``OFL.txt``) ships inside the package, so charts,
manuals and forms embed the same glyphs whatever the machine has installed. Text is measured
with the same font it is drawn with, so a line that fits on paper fits in the layout.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent
FONT_PATH = FONT_DIR / "FlowdocSansSC-Regular.ttf"
LICENSE_PATH = FONT_DIR / "OFL.txt"
FONT_NAME = "FlowdocSansSC"
FAMILY = "Flowdoc Sans SC"


@cache
def register() -> str:
    """Register the font with reportlab (once) and return its name for ``setFont``."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH)))
    return FONT_NAME


@cache
def _widths() -> tuple[dict[int, int], int]:
    """Advance widths by code point, in units of 1/1000 em (the hmtx table, read once)."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(FONT_PATH), lazy=True)
    scale = 1000 / font["head"].unitsPerEm
    hmtx = font["hmtx"].metrics
    widths = {cp: round(hmtx[name][0] * scale) for cp, name in font.getBestCmap().items()}
    return widths, round(hmtx[".notdef"][0] * scale)


@cache
def charset() -> frozenset[str]:
    """Every character the font has a glyph for."""
    return frozenset(chr(cp) for cp in _widths()[0])


def missing_glyphs(text: str) -> set[str]:
    """The characters of ``text`` the font cannot draw (control characters aside)."""
    have = charset()
    return {c for c in text if c not in have and c >= " "}


def text_width(text: str, size: float) -> float:
    """Width of ``text`` set in the font at ``size`` points (no kerning: reportlab applies none)."""
    widths, fallback = _widths()
    return sum(widths.get(ord(c), fallback) for c in text) * size / 1000
