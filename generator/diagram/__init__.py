"""Swimlane charts: a pure layout from a flow to geometry, and writers for SVG, PNG and PDF.

    chart = layout(flow)            # geometry: pages of lanes, shapes, edges, labels
    report = measure(chart, flow)   # quality metrics computed from the geometry
    render_svg(chart, page=1) / render_png(chart, page=1) / render_pdf(chart)
"""

from __future__ import annotations

from typing import Any

from .geometry import Chart, Edge, Label, LaneBox, Page, Rect, Shape, TextBlock
from .layout import A4, DEFAULT_STYLE, LayoutError, Style, back_edges, layout, rank
from .quality import Report, measure

# The writers are imported when first used: they bring Pillow and reportlab, which a process
# that only lays charts out (or, in a build, only checks the flows while its workers draw)
# does not need.
_WRITERS = {"draw_page": "pdf", "render_pdf": "pdf", "DPI": "png", "render_png": "png",
            "render_svg": "svg"}


def __getattr__(name: str) -> Any:
    if name in _WRITERS:
        from importlib import import_module

        return getattr(import_module(f".{_WRITERS[name]}", __name__), name)
    raise AttributeError(name)


FORMATS = ("svg", "png", "pdf")

__all__ = [
    "A4",
    "DEFAULT_STYLE",
    "DPI",
    "FORMATS",
    "Chart",
    "Edge",
    "Label",
    "LaneBox",
    "LayoutError",
    "Page",
    "Rect",
    "Report",
    "Shape",
    "Style",
    "TextBlock",
    "back_edges",
    "draw_page",
    "layout",
    "measure",
    "outputs",
    "rank",
    "render_pdf",
    "render_png",
    "render_svg",
]


def outputs(chart: Chart, fmt: str, stem: str) -> list[tuple[str, bytes]]:
    """The files of one chart in one format: ``(name, bytes)``.

    A PDF holds every page; SVG and PNG are one file a page, ``stem.svg`` for a one-page chart
    and ``stem-1.svg``, ``stem-2.svg`` … for a chart split across pages.
    """
    from .pdf import render_pdf
    from .png import render_png
    from .svg import render_svg

    if fmt == "pdf":
        return [(f"{stem}.pdf", render_pdf(chart))]
    render = {"svg": lambda n: render_svg(chart, n).encode("utf-8"),
              "png": lambda n: render_png(chart, n)}[fmt]
    if len(chart.pages) == 1:
        return [(f"{stem}.{fmt}", render(1))]
    return [(f"{stem}-{n}.{fmt}", render(n)) for n in range(1, len(chart.pages) + 1)]
