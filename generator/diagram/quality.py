"""Measured quality of a laid-out chart, computed from its geometry alone.

Each metric counts violations of one rule a reader relies on; the tests assert zero for every
bundled flow, and each metric is itself tested on hand-made geometry that breaks its rule (a
metric that never fires proves nothing). Crossings are counted, not forbidden, in general.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations, pairwise

from .. import fonts
from ..model import Flow
from ..typography import breaks_are_legal
from .geometry import Chart, Page, Point, Rect

EPS = 0.05
MIN_FONT_SIZE = 9.0
LABEL_REACH = 24.0  # points from a label to the segment that leaves its decision


@dataclass
class Report:
    """Violations found, by metric; ``details`` says where, for a readable failure."""

    overlapping_shapes: int = 0
    edges_through_shapes: int = 0
    non_orthogonal_segments: int = 0
    text_overflow: int = 0
    illegal_line_breaks: int = 0
    shapes_outside_lane: int = 0
    label_collisions: int = 0
    overlapping_edges: int = 0
    arrows_off_border: int = 0
    missing_steps: int = 0
    duplicate_steps: int = 0
    missing_exits: int = 0
    extra_edges: int = 0
    pages_too_large: int = 0
    font_too_small: int = 0
    lines_outside_pool: int = 0  # an edge running outside the outermost lanes
    labels_on_dividers: int = 0  # a label cut by a lane divider
    labels_far: int = 0  # a label further than LABEL_REACH from the first segment of its edge
    crossings: int = 0  # counted, reported; not a violation in general
    details: list[str] = field(default_factory=list)

    VIOLATIONS = ("overlapping_shapes", "edges_through_shapes", "non_orthogonal_segments",
                  "text_overflow", "illegal_line_breaks", "shapes_outside_lane",
                  "label_collisions", "overlapping_edges", "arrows_off_border", "missing_steps",
                  "duplicate_steps", "missing_exits", "extra_edges", "pages_too_large",
                  "font_too_small")
    # counted and reported by the bench, not violations in general
    MEASURES = ("lines_outside_pool", "labels_on_dividers", "labels_far", "crossings")

    @property
    def violations(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.VIOLATIONS if getattr(self, name)}

    def note(self, metric: str, detail: str) -> None:
        setattr(self, metric, getattr(self, metric) + 1)
        self.details.append(f"{metric}: {detail}")


def measure(chart: Chart, flow: Flow | None = None) -> Report:
    """Every metric over every page of ``chart``; with ``flow``, also completeness."""
    report = Report()
    for page in chart.pages:
        measure_page(page, report, chart.frame)
    if chart.font_size < MIN_FONT_SIZE:
        report.note("font_too_small", f"{chart.font_size} pt")
    if flow is not None:
        _completeness(chart, flow, report)
    return report


def measure_page(page: Page, report: Report, frame: tuple[float, float] | None = None) -> Report:
    shapes = list(page.shapes)
    if frame is not None and (page.width > frame[0] + EPS or page.height > frame[1] + EPS):
        report.note("pages_too_large", f"page {page.number}: {page.width:.0f}×{page.height:.0f} pt")
    for a, b in combinations(shapes, 2):
        if a.rect.overlaps(b.rect):
            report.note("overlapping_shapes", f"{a.step_id} / {b.step_id}")
    lanes = {lane.id: lane for lane in page.lanes}
    for s in shapes:
        lane = lanes.get(s.lane)
        body = Rect(lane.column.x, lane.header.bottom, lane.column.w,
                    lane.column.h - lane.header.h) if lane else None
        if body is None or not body.contains(s.rect):
            report.note("shapes_outside_lane", s.step_id)
        _text_fits(s.text, s.step_id, report)
    for lane in page.lanes:
        _text_fits(lane.text, f"lane {lane.id}", report)
    by_id = {s.step_id: s for s in shapes}
    segments: list[tuple[int, Point, Point]] = []
    for i, edge in enumerate(page.edges):
        for a, b in pairwise(edge.points):
            if abs(a[0] - b[0]) > EPS and abs(a[1] - b[1]) > EPS:
                report.note("non_orthogonal_segments", f"{edge.source}→{edge.target}")
            segments.append((i, a, b))
            for s in shapes:
                if _segment_enters(a, b, s.rect):
                    report.note("edges_through_shapes",
                                f"{edge.source}→{edge.target} through {s.step_id}")
        target = by_id.get(edge.target)
        if target is None or not target.rect.on_border(edge.points[-1]):
            report.note("arrows_off_border", f"{edge.source}→{edge.target}")
        source = by_id.get(edge.source)
        if source is None or not source.rect.on_border(edge.points[0]):
            report.note("arrows_off_border", f"{edge.source}→{edge.target} (start)")
    for (i, a1, b1), (j, a2, b2) in combinations(segments, 2):
        if i == j:
            continue
        same_target = page.edges[i].target == page.edges[j].target
        if _collinear_overlap(a1, b1, a2, b2) and not same_target:
            report.note("overlapping_edges", f"{_name(page, i)} / {_name(page, j)}")
        elif _proper_cross(a1, b1, a2, b2):
            report.crossings += 1
    _pool_measures(page, report)
    for k, label in enumerate(page.labels):
        for s in shapes:
            if _touches(label.rect, s):
                report.note("label_collisions", f"'{label.text}' on {s.step_id}")
        for i, a, b in segments:
            if _segment_enters(a, b, label.rect):
                report.note("label_collisions", f"'{label.text}' on edge {_name(page, i)}")
        for other in page.labels[k + 1:]:
            if label.rect.overlaps(other.rect):
                report.note("label_collisions", f"'{label.text}' on '{other.text}'")
        if max(fonts.text_width(line, label.size) for line in label.text.split("\n")) \
                > label.rect.w + EPS:
            report.note("text_overflow", f"label '{label.text}'")
        if label.size < MIN_FONT_SIZE:
            report.note("font_too_small", f"label '{label.text}' {label.size} pt")
    for s in shapes:
        if s.text.size < MIN_FONT_SIZE:
            report.note("font_too_small", f"{s.step_id} {s.text.size} pt")
    return report


def _pool_measures(page: Page, report: Report) -> None:
    """Lines inside the pool, labels clear of the lane dividers and near their exits."""
    if not page.lanes:
        return
    left = min(lane.column.x for lane in page.lanes)
    right = max(lane.column.right for lane in page.lanes)
    top = min(lane.header.bottom for lane in page.lanes)
    bottom = max(lane.column.bottom for lane in page.lanes)
    for edge in page.edges:
        if any(x < left - EPS or x > right + EPS or y < top - EPS or y > bottom + EPS
               for x, y in edge.points):
            report.note("lines_outside_pool", f"{edge.source}→{edge.target}")
    dividers = sorted({lane.column.x for lane in page.lanes} - {left})
    for label in page.labels:
        if any(label.rect.x + EPS < x < label.rect.right - EPS for x in dividers):
            report.note("labels_on_dividers", f"'{label.text}'")
        if label.edge >= len(page.edges) or len(page.edges[label.edge].points) < 2:
            continue  # no edge to measure from: the completeness check names it
        edge = page.edges[label.edge]
        a, b = edge.points[0], edge.points[1]
        if _distance(label.rect, a, b) > LABEL_REACH:
            report.note("labels_far", f"'{label.text}' of {edge.source}→{edge.target}")


def _touches(rect: Rect, shape) -> bool:
    """Whether a label's rectangle overlaps a shape as drawn: a decision as its diamond (the
    corners of its bounding box beside the tips are free), any other as its rectangle."""
    if not rect.overlaps(shape.rect):
        return False
    if shape.kind != "decision":
        return True
    r = shape.rect
    dx = max(rect.x - r.cx, r.cx - rect.right, 0.0)
    dy = max(rect.y - r.cy, r.cy - rect.bottom, 0.0)
    return dx / (r.w / 2) + dy / (r.h / 2) < 1.0 - EPS / max(r.w, r.h)


def _distance(rect: Rect, a: Point, b: Point) -> float:
    """From a rectangle to an axis-parallel segment (0 where they touch)."""
    lo_x, hi_x = min(a[0], b[0]), max(a[0], b[0])
    lo_y, hi_y = min(a[1], b[1]), max(a[1], b[1])
    dx = max(rect.x - hi_x, lo_x - rect.right, 0.0)
    dy = max(rect.y - hi_y, lo_y - rect.bottom, 0.0)
    return (dx * dx + dy * dy) ** 0.5


def count_crossings(chart: Chart) -> int:
    """Crossings of every page, alone (what the layout compares its options by)."""
    # only a horizontal segment and a vertical one can cross (a point is neither, as in
    # _proper_cross): the layout asks this of every candidate chart, so pairs are not all tried
    total = 0
    for page in chart.pages:
        across: list[tuple[int, float, float, float]] = []  # edge, y, x from, x to
        down: list[tuple[int, float, float, float]] = []  # edge, x, y from, y to
        for i, e in enumerate(page.edges):
            for (x1, y1), (x2, y2) in pairwise(e.points):
                flat, upright = abs(y1 - y2) <= EPS, abs(x1 - x2) <= EPS
                if flat and not upright:
                    across.append((i, y1, min(x1, x2), max(x1, x2)))
                elif upright and not flat:
                    down.append((i, x1, min(y1, y2), max(y1, y2)))
        total += sum(1 for i, y, x_lo, x_hi in across for j, x, y_lo, y_hi in down
                     if i != j and x_lo + EPS < x < x_hi - EPS and y_lo + EPS < y < y_hi - EPS)
    return total


def _text_fits(block, name: str, report: Report) -> None:
    widest = max((fonts.text_width(line, block.size) for line in block.lines), default=0.0)
    height = block.line_height * len(block.lines)
    if widest > block.area.w + EPS or height > block.area.h + EPS:
        report.note("text_overflow", f"{name}: {widest:.1f}×{height:.1f} in "
                                     f"{block.area.w:.1f}×{block.area.h:.1f}")
    if not breaks_are_legal(list(block.lines)):
        report.note("illegal_line_breaks", f"{name}: {'/'.join(block.lines)}")
    missing = fonts.missing_glyphs("".join(block.lines))
    if missing:
        report.note("text_overflow", f"{name}: no glyph for {''.join(sorted(missing))}")


def _completeness(chart: Chart, flow: Flow, report: Report) -> None:
    drawn = Counter(s.step_id for p in chart.pages for s in p.shapes if s.kind != "connector")
    for step in flow.steps:
        if drawn[step.id] == 0:
            report.note("missing_steps", step.id)
        elif drawn[step.id] > 1:
            report.note("duplicate_steps", step.id)
    # an exit is drawn when an edge goes from its step to its target, directly or through a
    # pair of continuation connectors with one number
    wanted = Counter()
    for step in flow.steps:
        labels = {e.to: e.label for e in step.exits}
        for t in step.successors:
            wanted[(step.id, t, labels.get(t) if step.exits else None)] += 1
    drawn_edges: Counter = Counter()
    into_connector: dict[str, list[tuple[str, str | None]]] = {}
    out_of_connector: dict[str, str] = {}
    for page in chart.pages:
        for e in page.edges:
            if e.target.startswith("~out"):
                into_connector.setdefault(e.target[4:], []).append((e.source, e.label))
            elif e.source.startswith("~in"):
                out_of_connector[e.source[3:]] = e.target
            else:
                drawn_edges[(e.source, e.target, e.label)] += 1
    for number, sources in into_connector.items():
        target = out_of_connector.get(number)
        for source, label in sources:
            if target is None:
                report.note("missing_exits", f"connector {number} leads nowhere")
            else:
                drawn_edges[(source, target, label)] += 1
    for key, count in wanted.items():
        if drawn_edges[key] < count:
            report.note("missing_exits", f"{key[0]}→{key[1]} {key[2] or ''}")
    for key, count in drawn_edges.items():
        if count > wanted[key]:
            report.note("extra_edges", f"{key[0]}→{key[1]} {key[2] or ''}")


def _segment_enters(a: Point, b: Point, rect: Rect) -> bool:
    """The segment passes through the interior of ``rect`` (touching its border is fine)."""
    (x1, y1), (x2, y2) = a, b
    if abs(x1 - x2) <= EPS:  # vertical
        if not rect.x + EPS < x1 < rect.right - EPS:
            return False
        lo, hi = sorted((y1, y2))
        return lo < rect.bottom - EPS and hi > rect.y + EPS
    if abs(y1 - y2) <= EPS:  # horizontal
        if not rect.y + EPS < y1 < rect.bottom - EPS:
            return False
        lo, hi = sorted((x1, x2))
        return lo < rect.right - EPS and hi > rect.x + EPS
    # a diagonal (already a violation of its own): test its bounding box
    return Rect(min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1)).overlaps(rect)


def _collinear_overlap(a1: Point, b1: Point, a2: Point, b2: Point) -> bool:
    if abs(a1[0] - b1[0]) <= EPS and abs(a2[0] - b2[0]) <= EPS and abs(a1[0] - a2[0]) <= EPS:
        lo1, hi1 = sorted((a1[1], b1[1]))
        lo2, hi2 = sorted((a2[1], b2[1]))
        return min(hi1, hi2) - max(lo1, lo2) > EPS
    if abs(a1[1] - b1[1]) <= EPS and abs(a2[1] - b2[1]) <= EPS and abs(a1[1] - a2[1]) <= EPS:
        lo1, hi1 = sorted((a1[0], b1[0]))
        lo2, hi2 = sorted((a2[0], b2[0]))
        return min(hi1, hi2) - max(lo1, lo2) > EPS
    return False


def _proper_cross(a1: Point, b1: Point, a2: Point, b2: Point) -> bool:
    """A horizontal and a vertical segment crossing at a point inside both."""
    for (h1, h2), (v1, v2) in (((a1, b1), (a2, b2)), ((a2, b2), (a1, b1))):
        if abs(h1[1] - h2[1]) <= EPS and abs(v1[0] - v2[0]) <= EPS:
            y, x = h1[1], v1[0]
            if (min(h1[0], h2[0]) + EPS < x < max(h1[0], h2[0]) - EPS
                    and min(v1[1], v2[1]) + EPS < y < max(v1[1], v2[1]) - EPS):
                return True
    return False


def _name(page: Page, i: int) -> str:
    e = page.edges[i]
    return f"{e.source}→{e.target}"

