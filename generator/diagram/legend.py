"""The legend of the charts (图例): every shape, the connector and both kinds of line, drawn by
the same writers as the charts, so the legend cannot show a shape the charts draw otherwise.

    page = legend_page(width)   # geometry, as a chart page; printed once in the front matter
"""

from __future__ import annotations

from dataclasses import replace

from .. import fonts
from .geometry import Chart, Edge, Label, Page, Rect, Shape, TextBlock
from .layout import DEFAULT_STYLE, Style

ENTRIES = (  # (kind, text in the shape, what it means)
    ("start", "开始", "开始（绿色圆角框）"),
    ("end", "结束", "结束（灰色圆角框）"),
    ("task", "办理", "办理事项（方框）"),
    ("approval", "审批", "审批、审核：须签字（蓝底方框）"),
    ("countersign", "会审", "会签：多人签字（双线框）"),
    ("decision", "判断", "判断：各出口标明条件"),
    ("ref", "其他流程", "转入另一流程（五边形）"),
    ("connector", "①", "续页连接符：同号两处相接"),
)
LINES = (  # (loop back?, what it means)
    (False, "流向：箭头指向下一步"),
    (True, "回退：返回前面的步骤（紫色）"),
)
ROW = 40.0
SHAPE_W, SHAPE_H = 64.0, 28.0


def legend_chart(width: float) -> Chart:
    """The legend as a one-page chart (for the writers that draw a chart, page by page)."""
    page = legend_page(width)
    return Chart("legend", "图例", "portrait", (page.width, page.height),
                 (replace(page, number=1),), 9.0)


def legend_page(width: float, style: Style = DEFAULT_STYLE) -> Page:
    """The legend as a page of geometry ``width`` points wide: two columns of entries."""
    column = width / 2
    size = style.label_size
    lh = size * style.line_height
    shapes, labels, edges = [], [], []

    def explain(text: str, x: float, cy: float) -> None:
        w = fonts.text_width(text, size) + 2
        labels.append(Label(text, Rect(x, cy - lh / 2, w, lh), -1, size))

    for i, (kind, text, meaning) in enumerate(ENTRIES):
        x0, cy = (i % 2) * column, (i // 2) * ROW + ROW / 2
        w, h = (style.connector, style.connector) if kind == "connector" else (SHAPE_W, SHAPE_H)
        rect = Rect(x0 + 8 + (SHAPE_W - w) / 2, cy - h / 2, w, h)
        area = Rect(rect.x + 2, rect.y + 2, rect.w - 4, rect.h - 4)
        text_size = size if kind == "connector" else style.text_size
        double = kind == "countersign"  # an approval signed by several
        shapes.append(Shape(f"~legend{i}", "approval" if double else kind, "", rect,
                            TextBlock((text,), text_size, area, text_size * style.line_height), 0,
                            double))
        explain(meaning, x0 + SHAPE_W + 16, cy)
    top = (len(ENTRIES) + 1) // 2 * ROW
    for i, (back, meaning) in enumerate(LINES):
        x0, cy = i * column, top + ROW / 2
        edges.append(Edge("", "", None, ((x0 + 8, cy), (x0 + 8 + SHAPE_W, cy)), back))
        explain(meaning, x0 + SHAPE_W + 16, cy)
    return Page(0, width, top + ROW, (), tuple(shapes), tuple(edges), tuple(labels))
