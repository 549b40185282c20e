"""PNG writer (Pillow): 200 dpi by default, with the physical size in the pHYs chunk, so a
word processor inserts the picture at the chart's true size."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageColor, ImageDraw, ImageFont

from .. import fonts
from . import draw
from .geometry import Chart, Page

DPI = 200


@cache
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts.FONT_PATH), px)


@cache
def _glyph(char: str, px: int) -> tuple[Image.Image | None, int, int, float]:
    """One character at ``px`` pixels: its anti-aliased mask (None for a blank), the mask's
    offset from the pen on the baseline, and the advance. A chart's text is a few hundred
    distinct characters set thousands of times; set from these, each is rasterised once a
    size (rasterising every line afresh was a third of a PNG's time)."""
    font = _font(px)
    x0, y0, x1, y1 = font.getbbox(char, anchor="ls")
    advance = font.getlength(char)
    if x1 <= x0 or y1 <= y0:
        return None, 0, 0, advance
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(mask).text((-x0, -y0), char, font=font, fill=255, anchor="ls")
    return mask, x0, y0, advance


def _centred_line(d: ImageDraw.ImageDraw, line: str, x: float, y: float, px: int) -> None:
    """``line`` centred on ``x`` with its baseline at ``y`` (pixels), in the ink colour."""
    glyphs = [_glyph(char, px) for char in line]
    pen = x - sum(g[3] for g in glyphs) / 2
    top = round(y)
    for mask, dx, dy, advance in glyphs:
        if mask is not None:
            d.bitmap((round(pen) + dx, top + dy), mask, fill=draw.INK)
        pen += advance


def render_page_png(page: Page, dpi: int = DPI, marks: draw.Marks | None = None) -> bytes:
    """One page as PNG; with ``marks``, a record's path drawn over it (:func:`draw.marks`)."""
    k = dpi / 72
    img = Image.new("RGB", (round(page.width * k), round(page.height * k)), "#ffffff")
    d = ImageDraw.Draw(img)

    def pt(p):
        return (p[0] * k, p[1] * k)

    def line_width(w: float) -> int:
        return max(1, round(w * k))

    def text(block) -> None:
        px = round(block.size * k)
        for line, x, y in draw.text_lines(block):
            _centred_line(d, line, x * k, y * k, px)

    for kind, item in draw.page_items(page):
        if kind == "lane":
            c, hd = item.column, item.header
            d.rectangle([pt((c.x, c.y)), pt((c.right, c.bottom))], outline=draw.LANE_LINE,
                        width=line_width(draw.LANE_STROKE))
            d.rectangle([pt((hd.x, hd.y)), pt((hd.right, hd.bottom))], fill=draw.HEADER_FILL,
                        outline=draw.LANE_LINE, width=line_width(draw.LANE_STROKE))
            text(item.text)
        elif kind == "edge":
            color = draw.BACK_LINE if item.back else draw.LINE
            d.line([pt(p) for p in draw.shaft(item)], fill=color, width=line_width(draw.STROKE),
                   joint="curve")
            d.polygon([pt(p) for p in draw.arrowhead(item)], fill=color)
        elif kind == "shape":
            o = draw.outline(item)
            fill = draw.FILL[item.kind]
            width = line_width(draw.STROKE)
            if o.kind == "polygon":
                d.polygon([pt(p) for p in o.points], fill=fill, outline=draw.INK, width=width)
            elif o.kind == "circle":
                r = o.rect
                d.ellipse([pt((r.x, r.y)), pt((r.right, r.bottom))], fill=fill, outline=draw.INK,
                          width=width)
            else:
                r = o.rect
                d.rounded_rectangle([pt((r.x, r.y)), pt((r.right, r.bottom))], radius=o.radius * k,
                                    fill=fill, outline=draw.INK, width=width)
            inner = draw.inner_outline(item)
            if inner:
                d.polygon([pt(p) for p in inner], outline=draw.INK, width=width)
            text(item.text)
        else:
            px = round(item.size * k)
            for line, x, y in draw.label_lines(item):
                _centred_line(d, line, x * k, y * k, px)
    for kind, item in draw.marked_items(page, marks) if marks else ():
        if kind == "edge":
            d.line([pt(p) for p in draw.shaft(item)], fill=draw.PATH_LINE,
                   width=line_width(draw.STROKE * 2.5), joint="curve")
            d.polygon([pt(p) for p in draw.arrowhead(item)], fill=draw.PATH_LINE)
        else:
            o = draw.outline(item)
            colour = draw.CURRENT if kind == "current" else draw.PATH_LINE
            width = line_width(draw.STROKE * (4 if kind == "current" else 2.5))
            if o.kind == "polygon":
                d.polygon([pt(p) for p in o.points], outline=colour, width=width)
            elif o.kind == "circle":
                r = o.rect
                d.ellipse([pt((r.x, r.y)), pt((r.right, r.bottom))], outline=colour, width=width)
            else:
                r = o.rect
                d.rounded_rectangle([pt((r.x, r.y)), pt((r.right, r.bottom))],
                                    radius=o.radius * k, outline=colour, width=width)
    # A chart has a dozen colours and their anti-aliased blends with the line colours: a fixed
    # palette of those keeps the file a third the size and encodes four times faster than RGB.
    img = img.quantize(palette=_palette(), dither=Image.Dither.NONE)
    out = io.BytesIO()
    img.save(out, format="PNG", dpi=(dpi, dpi), optimize=False, compress_level=3)
    return out.getvalue()


@cache
def _palette() -> Image.Image:
    backgrounds = ["#ffffff", draw.HEADER_FILL, *draw.FILL.values()]
    inks = [draw.INK, draw.LINE, draw.LANE_LINE, draw.BACK_LINE, draw.PATH_LINE, draw.CURRENT]
    colours: list[tuple[int, ...]] = []
    for back in backgrounds:
        b = ImageColor.getrgb(back)
        for ink in inks:
            i = ImageColor.getrgb(ink)
            for k in range(8):
                t = k / 7
                colours.append(tuple(round(b[j] * (1 - t) + i[j] * t) for j in range(3)))
    colours = list(dict.fromkeys(colours))[:256]
    palette = Image.new("P", (1, 1))
    flat = [v for colour in colours for v in colour]
    palette.putpalette(flat + [0] * (768 - len(flat)))
    return palette


def render_png(chart: Chart, page: int = 1, dpi: int = DPI,
               marks: draw.Marks | None = None) -> bytes:
    return render_page_png(chart.pages[page - 1], dpi, marks)
