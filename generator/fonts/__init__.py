"""The one CJK font every renderer uses, and the one place it is registered.

``FlowdocSansSC-Regular.ttf`` (Noto Sans CJK SC, subset and converted to TrueType outlines by
``tools/make_font.py``; SIL OFL 1.1, see ``OFL.txt``) ships inside the package, so charts,
manuals and forms embed the same glyphs whatever the machine has installed. Text is measured
with the same font it is drawn with, so a line that fits on paper fits in the layout.
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent
FONT_PATH = FONT_DIR / "FlowdocSansSC-Regular.ttf"
LICENSE_PATH = FONT_DIR / "OFL.txt"
FONT_NAME = "FlowdocSansSC"
FAMILY = "Flowdoc Sans SC"
# the advance widths read from the font, kept beside it in metrics.py: reading them with
# fontTools costs every process that measures text 0.2 s; the module names the font's sha256
METRICS_PATH = FONT_DIR / "metrics.py"


@cache
def register() -> str:
    """Register the font with reportlab (once) and return its name for ``setFont``."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH)))
    return FONT_NAME


@cache
def _widths() -> tuple[dict[int, int], int]:
    """Advance widths by code point, in units of 1/1000 em: from metrics.py when it was read
    from this very font file, else from the font's hmtx table."""
    from . import metrics

    if hashlib.sha256(FONT_PATH.read_bytes()).hexdigest() == metrics.FONT_SHA256:
        flat = metrics.WIDTHS
        return dict(zip(flat[::2], flat[1::2], strict=True)), metrics.FALLBACK
    return read_widths()


def read_widths() -> tuple[dict[int, int], int]:
    """Advance widths by code point, in units of 1/1000 em, read from the font's hmtx table."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(FONT_PATH), lazy=True)
    scale = 1000 / font["head"].unitsPerEm
    hmtx = font["hmtx"].metrics
    widths = {cp: round(hmtx[name][0] * scale) for cp, name in font.getBestCmap().items()}
    return widths, round(hmtx[".notdef"][0] * scale)


def metrics_module() -> str:
    """The text of metrics.py for the font as it is (write it after the font changes: a
    stale one is never used, only slower to do without)."""
    widths, fallback = read_widths()
    flat = [v for cp in sorted(widths) for v in (cp, widths[cp])]
    lines = [", ".join(str(v) for v in flat[i:i + 16]) + "," for i in range(0, len(flat), 16)]
    return ('"""Advance widths of FlowdocSansSC-Regular.ttf (1/1000 em), written by\n'
            'generator.fonts.metrics_module(): code point, width, code point, width …"""\n\n'
            f'FONT_SHA256 = "{hashlib.sha256(FONT_PATH.read_bytes()).hexdigest()}"\n'
            f"FALLBACK = {fallback}\n"
            "WIDTHS = (\n" + "".join(f"    {line}\n" for line in lines) + ")\n")


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
    return _em(text) * size / 1000


def em_width(text: str) -> int:
    """Width of ``text`` in 1/1000 em: a whole number, the sum of its characters' (so of its
    parts'), which ``text_width`` scales to a size. Line breaking adds these up as a line
    grows (``text_width.em``, see :func:`typography.wrap`)."""
    return _em(text)


text_width.em = em_width  # type: ignore[attr-defined]


@lru_cache(maxsize=1 << 16)
def _em(text: str) -> int:
    # line breaking measures the same strings again and again (every trial width of a
    # balanced wrap, every time reportlab asks a paragraph its height): measured once each
    widths, fallback = _widths()
    return sum(widths.get(ord(c), fallback) for c in text)
