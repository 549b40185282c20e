"""Vector PDF writer (reportlab): the chart as paths and text, the CJK font embedded as a subset.

:func:`draw_page` draws one page of a chart onto any reportlab canvas at a given place, so the
manual writer puts the very same vector chart into its own pages; :func:`render_pdf` makes the
standalone A4 file.
"""

from __future__ import annotations

import io

from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas

from .. import fonts
from . import draw
from .geometry import Chart, Page
from .layout import A4, DEFAULT_STYLE, Style


def draw_page(canvas: Canvas, page: Page, left: float, top: float) -> None:
    """Draw ``page`` with its top-left corner at (``left``, ``top``) in PDF coordinates."""
    font = fonts.register()

    def X(x: float) -> float:
        return left + x

    def Y(y: float) -> float:
        return top - y

    def polygon(points, fill: str | None, stroke: str, width: float) -> None:
        path = canvas.beginPath()
        (x0, y0), *rest = points
        path.moveTo(X(x0), Y(y0))
        for x, y in rest:
            path.lineTo(X(x), Y(y))
        path.close()
        canvas.setLineWidth(width)
        canvas.setStrokeColor(HexColor(stroke))
        if fill:
            canvas.setFillColor(HexColor(fill))
        canvas.drawPath(path, stroke=1, fill=1 if fill else 0)

    def text(block) -> None:
        canvas.setFillColor(HexColor(draw.INK))
        canvas.setFont(font, block.size)
        for line, x, y in draw.text_lines(block):
            canvas.drawCentredString(X(x), Y(y), line)

    canvas.saveState()
    canvas.setLineJoin(0)
    for kind, item in draw.page_items(page):
        if kind == "lane":
            c, hd = item.column, item.header
            polygon([(c.x, c.y), (c.right, c.y), (c.right, c.bottom), (c.x, c.bottom)], None,
                    draw.LANE_LINE, draw.LANE_STROKE)
            polygon([(hd.x, hd.y), (hd.right, hd.y), (hd.right, hd.bottom), (hd.x, hd.bottom)],
                    draw.HEADER_FILL, draw.LANE_LINE, draw.LANE_STROKE)
            text(item.text)
        elif kind == "edge":
            color = draw.BACK_LINE if item.back else draw.LINE
            path = canvas.beginPath()
            (x0, y0), *rest = draw.shaft(item)
            path.moveTo(X(x0), Y(y0))
            for x, y in rest:
                path.lineTo(X(x), Y(y))
            canvas.setLineWidth(draw.STROKE)
            canvas.setStrokeColor(HexColor(color))
            canvas.drawPath(path, stroke=1, fill=0)
            polygon(draw.arrowhead(item), color, color, 0.1)
        elif kind == "shape":
            o = draw.outline(item)
            fill = draw.FILL[item.kind]
            canvas.setLineWidth(draw.STROKE)
            canvas.setStrokeColor(HexColor(draw.INK))
            canvas.setFillColor(HexColor(fill))
            if o.kind == "polygon":
                polygon(o.points, fill, draw.INK, draw.STROKE)
            elif o.kind == "circle":
                canvas.circle(X(o.rect.cx), Y(o.rect.cy), o.radius, stroke=1, fill=1)
            else:
                r = o.rect
                canvas.roundRect(X(r.x), Y(r.bottom), r.w, r.h, o.radius, stroke=1, fill=1)
            inner = draw.inner_outline(item)
            if inner:
                path = canvas.beginPath()
                path.moveTo(X(inner[0][0]), Y(inner[0][1]))
                for x, y in inner[1:]:
                    path.lineTo(X(x), Y(y))
                path.close()
                canvas.setStrokeColor(HexColor(draw.INK))
                canvas.drawPath(path, stroke=1, fill=0)
            text(item.text)
        else:
            canvas.setFillColor(HexColor(draw.INK))
            canvas.setFont(font, item.size)
            for line, x, y in draw.label_lines(item):
                canvas.drawCentredString(X(x), Y(y), line)
    canvas.restoreState()


def render_pdf(chart: Chart, style: Style = DEFAULT_STYLE) -> bytes:
    """The chart as an A4 PDF, one page per chart page, the title above the chart."""
    font = fonts.register()
    size = A4 if chart.orientation == "portrait" else (A4[1], A4[0])
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=size, invariant=1, initialFontName=font, pageCompression=1)
    canvas.setTitle(f"{chart.code} {chart.title}")
    canvas.setSubject("泳道流程图")
    canvas.setAuthor("flowdoc")
    canvas.setCreator("flowdoc")
    canvas.setKeywords([chart.code, "流程图", "泳道图"])
    total = len(chart.pages)
    for page in chart.pages:
        top = size[1] - style.margin
        canvas.setFont(font, 12)
        canvas.setFillColor(HexColor(draw.INK))
        title = f"{chart.title}（{chart.code}）"
        if total > 1:
            title += f"　第 {page.number} 页 共 {total} 页"
        canvas.drawString(style.margin, top - 14, title)
        draw_page(canvas, page, style.margin, top - style.title_band)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
