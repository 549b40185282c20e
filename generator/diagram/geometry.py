"""What a laid-out chart is: rectangles, polylines and text lines in points, y pointing down.

Renderers draw these and nothing else; the quality metrics measure these and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: Rect, tolerance: float = 0.01) -> bool:
        """Interiors intersect (touching edges do not count)."""
        return (self.x < other.right - tolerance and other.x < self.right - tolerance
                and self.y < other.bottom - tolerance and other.y < self.bottom - tolerance)

    def contains(self, other: Rect, tolerance: float = 0.01) -> bool:
        return (other.x >= self.x - tolerance and other.right <= self.right + tolerance
                and other.y >= self.y - tolerance and other.bottom <= self.bottom + tolerance)

    def on_border(self, p: Point, tolerance: float = 0.05) -> bool:
        x, y = p
        inside_x = self.x - tolerance <= x <= self.right + tolerance
        inside_y = self.y - tolerance <= y <= self.bottom + tolerance
        return (inside_x and (abs(y - self.y) <= tolerance or abs(y - self.bottom) <= tolerance)) or (
            inside_y and (abs(x - self.x) <= tolerance or abs(x - self.right) <= tolerance))


@dataclass(frozen=True)
class TextBlock:
    """Lines of text set centred in ``area`` at ``size`` points."""

    lines: tuple[str, ...]
    size: float
    area: Rect  # where the lines must fit: a box's inner area, a diamond's inscribed rectangle
    line_height: float


@dataclass(frozen=True)
class LaneBox:
    id: str
    name: str
    column: Rect  # the whole lane, header included
    header: Rect
    text: TextBlock


@dataclass(frozen=True)
class Shape:
    step_id: str
    kind: str  # task | approval | decision | start | end | ref | connector
    lane: str
    rect: Rect
    text: TextBlock
    row: int
    double: bool = False  # 会签: signed by several; drawn with a second border inside


@dataclass(frozen=True)
class Edge:
    source: str  # step ids (or connector ids on split pages)
    target: str
    label: str | None
    points: tuple[Point, ...]
    back: bool  # a loop back to an earlier step, routed in the side corridor


@dataclass(frozen=True)
class Label:
    text: str
    rect: Rect
    edge: int  # index into the page's edges
    size: float


@dataclass(frozen=True)
class Page:
    """One page of a chart: the whole chart, or one part of a chart split across pages."""

    number: int
    width: float
    height: float
    lanes: tuple[LaneBox, ...]
    shapes: tuple[Shape, ...]
    edges: tuple[Edge, ...]
    labels: tuple[Label, ...]


@dataclass(frozen=True)
class Chart:
    code: str
    title: str
    orientation: str  # portrait | landscape: the A4 page the chart is laid out for
    frame: tuple[float, float]  # the width and height the chart must fit in
    pages: tuple[Page, ...]
    font_size: float  # the smallest text size used, in points at scale 1 (charts are never scaled)
