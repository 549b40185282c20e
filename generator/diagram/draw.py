"""What every renderer draws, computed once: outlines, arrowheads, text positions, colours.

SVG, PDF and PNG writers only translate these primitives into their own calls, so the three
outputs cannot disagree about where anything is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from .geometry import Edge, Label, Page, Point, Rect, Shape, TextBlock

ARROW_LENGTH = 6.0
ARROW_HALF_WIDTH = 2.8
STROKE = 0.8
LANE_STROKE = 0.6

FILL = {
    "task": "#ffffff",
    "approval": "#e6eefb",
    "decision": "#fff4d6",
    "start": "#e3f2e1",
    "end": "#eeeeee",
    "ref": "#f4e8f7",
    "connector": "#ffffff",
}
HEADER_FILL = "#dde4ee"
INK = "#1a1a1a"
LINE = "#333333"
LANE_LINE = "#8a94a6"
BACK_LINE = "#6b4fa0"  # loops back are drawn in another colour as well as in the corridor
PATH_LINE = "#1f6fd1"  # a record's way through the chart, drawn over it
CURRENT = "#e07b00"  # the step the record waits at


@dataclass(frozen=True)
class Outline:
    """A closed shape: a polygon, a rounded rectangle or a circle."""

    kind: str  # polygon | round | circle
    points: tuple[Point, ...] = ()
    rect: Rect | None = None
    radius: float = 0.0


def outline(shape: Shape) -> Outline:
    r = shape.rect
    if shape.kind == "decision":
        return Outline("polygon", ((r.cx, r.y), (r.right, r.cy), (r.cx, r.bottom), (r.x, r.cy)))
    if shape.kind == "ref":
        notch = 7.0
        return Outline("polygon", ((r.x, r.y), (r.right, r.y), (r.right, r.bottom - notch),
                                   (r.cx, r.bottom), (r.x, r.bottom - notch)))
    if shape.kind in ("start", "end"):
        return Outline("round", rect=r, radius=min(r.h / 2, 11.0))
    if shape.kind == "connector":
        return Outline("circle", rect=r, radius=r.w / 2)
    return Outline("polygon", ((r.x, r.y), (r.right, r.y), (r.right, r.bottom), (r.x, r.bottom)))


INNER = 2.5  # points between a 会签 box's two borders


def inner_outline(shape: Shape) -> tuple[Point, ...] | None:
    """The second border of a 会签 step (signed by several): a rectangle inside the first, as
    BPMN marks a multi-instance task; None for every other shape."""
    if not shape.double:
        return None
    r = shape.rect
    return ((r.x + INNER, r.y + INNER), (r.right - INNER, r.y + INNER),
            (r.right - INNER, r.bottom - INNER), (r.x + INNER, r.bottom - INNER))


def round_rect_polygon(rect: Rect, radius: float, steps: int = 8) -> list[Point]:
    """A rounded rectangle as a polygon (for renderers without arcs)."""
    radius = min(radius, rect.w / 2, rect.h / 2)
    pts: list[Point] = []
    corners = ((rect.right - radius, rect.y + radius, -90), (rect.right - radius, rect.bottom - radius, 0),
               (rect.x + radius, rect.bottom - radius, 90), (rect.x + radius, rect.y + radius, 180))
    for cx, cy, start in corners:
        for i in range(steps + 1):
            a = math.radians(start + 90 * i / steps)
            pts.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return pts


def arrowhead(edge: Edge) -> tuple[Point, Point, Point]:
    (x1, y1), (x2, y2) = edge.points[-2], edge.points[-1]
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    bx, by = x2 - ux * ARROW_LENGTH, y2 - uy * ARROW_LENGTH
    return ((x2, y2), (bx - uy * ARROW_HALF_WIDTH, by + ux * ARROW_HALF_WIDTH),
            (bx + uy * ARROW_HALF_WIDTH, by - ux * ARROW_HALF_WIDTH))


def shaft(edge: Edge) -> tuple[Point, ...]:
    """The edge's line, stopped where the arrowhead begins so the tip stays sharp."""
    pts = list(edge.points)
    (x1, y1), (x2, y2) = pts[-2], pts[-1]
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    cut = min(ARROW_LENGTH * 0.8, length)
    pts[-1] = (x2 - (x2 - x1) / length * cut, y2 - (y2 - y1) / length * cut)
    return tuple(pts)


def text_lines(block: TextBlock) -> Iterator[tuple[str, float, float]]:
    """Each line with its centre x and its baseline y, the block centred in its area."""
    total = block.line_height * len(block.lines)
    top = block.area.cy - total / 2
    # the baseline sits at 0.8 of the line box for a CJK face (ascent 0.88 em, descent 0.12 em)
    for i, line in enumerate(block.lines):
        baseline = top + i * block.line_height + (block.line_height + block.size * 0.76) / 2
        yield line, block.area.cx, baseline


def label_lines(label: Label) -> Iterator[tuple[str, float, float]]:
    """Each line of an exit label (one, or two for a long label set in two) with its centre x
    and baseline y."""
    lines = label.text.split("\n")
    step = label.rect.h / len(lines)
    for i, line in enumerate(lines):
        yield line, label.rect.cx, label.rect.y + i * step + step * 0.78


def page_items(page: Page) -> Iterator[tuple[str, object]]:
    """Everything on a page in drawing order (lanes, edges, shapes, labels)."""
    for lane in page.lanes:
        yield "lane", lane
    for edge in page.edges:
        yield "edge", edge
    for shape in page.shapes:
        yield "shape", shape
    for label in page.labels:
        yield "label", label


@dataclass(frozen=True)
class Marks:
    """A record's way through a chart, to draw over it: the steps it took, the lines it went
    along (one for each step to the next, loops included) and the step it waits at."""

    steps: frozenset[str]
    edges: frozenset[tuple[str, str]]
    current: str | None = None


def marks(path: tuple[str, ...] | list[str], current: str | None = None) -> Marks:
    """The marks of a record that walked ``path`` (step ids in order) and waits at ``current``."""
    return Marks(frozenset(path), frozenset(pairwise(path)), current)


def marked_items(page: Page, m: Marks) -> Iterator[tuple[str, object]]:
    """What a writer draws again over a page, in the path's colours: the lines walked, then
    the boxes of the steps taken ("step") and of the step waited at ("current"). A line to or
    from a page connector is not marked: its far end is on another page."""
    for edge in page.edges:
        if (edge.source, edge.target) in m.edges:
            yield "edge", edge
    for shape in page.shapes:
        if shape.step_id == m.current:
            yield "current", shape
        elif shape.step_id in m.steps:
            yield "step", shape
