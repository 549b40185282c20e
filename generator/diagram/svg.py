"""SVG writer: text stays text (searchable, selectable), in the chart's own coordinates."""

from __future__ import annotations

from html import escape

from .. import fonts
from . import draw
from .geometry import Chart, Page

FONT_FAMILY = f"'{fonts.FAMILY}', 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif"


def _f(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _pts(points) -> str:
    return " ".join(f"{_f(x)},{_f(y)}" for x, y in points)


def render_page(chart: Chart, page: Page) -> str:
    w, h = page.width, page.height
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(w)}pt" height="{_f(h)}pt" '
        f'viewBox="0 0 {_f(w)} {_f(h)}" font-family="{escape(FONT_FAMILY, quote=False)}">',
        f"<title>{escape(chart.code, quote=False)} {escape(chart.title, quote=False)}"
        + (f"（{page.number}/{len(chart.pages)}）" if len(chart.pages) > 1 else "") + "</title>",
        f'<rect x="0" y="0" width="{_f(w)}" height="{_f(h)}" fill="#ffffff"/>',
    ]
    for kind, item in draw.page_items(page):
        if kind == "lane":
            c, hd = item.column, item.header
            out.append(f'<rect x="{_f(c.x)}" y="{_f(c.y)}" width="{_f(c.w)}" height="{_f(c.h)}" '
                       f'fill="none" stroke="{draw.LANE_LINE}" stroke-width="{draw.LANE_STROKE}"/>')
            out.append(f'<rect x="{_f(hd.x)}" y="{_f(hd.y)}" width="{_f(hd.w)}" height="{_f(hd.h)}" '
                       f'fill="{draw.HEADER_FILL}" stroke="{draw.LANE_LINE}" '
                       f'stroke-width="{draw.LANE_STROKE}"/>')
            out += _text(item.text)
        elif kind == "edge":
            color = draw.BACK_LINE if item.back else draw.LINE
            out.append(f'<polyline points="{_pts(draw.shaft(item))}" fill="none" stroke="{color}" '
                       f'stroke-width="{draw.STROKE}" stroke-linejoin="miter"/>')
            out.append(f'<polygon points="{_pts(draw.arrowhead(item))}" fill="{color}"/>')
        elif kind == "shape":
            out.append(_outline(item))
            inner = draw.inner_outline(item)
            if inner:
                out.append(f'<polygon points="{_pts(inner)}" fill="none" stroke="{draw.INK}" '
                           f'stroke-width="{draw.STROKE}"/>')
            out += _text(item.text)
        else:
            out += [f'<text x="{_f(x)}" y="{_f(y)}" font-size="{_f(item.size)}" '
                    f'text-anchor="middle" fill="{draw.INK}">{escape(line, quote=False)}</text>'
                    for line, x, y in draw.label_lines(item)]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _outline(shape) -> str:
    o = draw.outline(shape)
    style = f'fill="{draw.FILL[shape.kind]}" stroke="{draw.INK}" stroke-width="{draw.STROKE}"'
    if o.kind == "polygon":
        return f'<polygon points="{_pts(o.points)}" {style}/>'
    r = o.rect
    if o.kind == "circle":
        return f'<circle cx="{_f(r.cx)}" cy="{_f(r.cy)}" r="{_f(o.radius)}" {style}/>'
    return (f'<rect x="{_f(r.x)}" y="{_f(r.y)}" width="{_f(r.w)}" height="{_f(r.h)}" '
            f'rx="{_f(o.radius)}" {style}/>')


def _text(block) -> list[str]:
    return [f'<text x="{_f(x)}" y="{_f(y)}" font-size="{_f(block.size)}" text-anchor="middle" '
            f'fill="{draw.INK}">{escape(line, quote=False)}</text>' for line, x, y in draw.text_lines(block)]


def render_svg(chart: Chart, page: int = 1) -> str:
    """One page of ``chart`` as an SVG document."""
    return render_page(chart, chart.pages[page - 1])
