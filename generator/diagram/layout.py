"""Swimlane layout: a pure function from a flow to the geometry of its chart.

Lanes are columns in the flow's order; steps are placed in rows (a layered, Sugiyama-style
layout with the lane as a fixed constraint, as yFiles' swimlane layout and ELK's partitions
do). Loops back are found by depth-first search and routed in a corridor to the right of the
lanes; every other edge runs downwards, bending in the gaps between rows on its own track
(:mod:`generator.diagram.route`). Text is measured with the font that draws it and broken with
禁则 (:mod:`generator.typography`). A chart is laid out for an A4 page, portrait or landscape,
whichever needs fewer pages; text is never scaled, and a chart too tall for one page is split
between rows, edges that cross the cut ending and starting at numbered connectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache, partial
from itertools import pairwise, permutations

from .. import fonts
from ..model import Flow, Step
from . import route as routing
from .geometry import Chart, Edge, Label, LaneBox, Page, Point, Rect, Shape, TextBlock
from .wording import phrase_wrap, words_broken

A4 = (595.28, 841.89)


@dataclass(frozen=True)
class Style:
    """Every size of the chart, in points. Text is never scaled below these sizes."""

    text_size: float = 10.0
    label_size: float = 9.0
    header_size: float = 10.5
    # the spacing below is as tight as reads well: a chart as compact as this fits one A4
    # page with every bundled flow, most with the flow's header table and sign-off beside it
    line_height: float = 1.25  # × size
    margin: float = 34.0  # page margin of the standalone chart
    title_band: float = 26.0  # above the chart: flow name and code
    header_pad: float = 7.0  # a lane header's lines and 3.5 pt above and below them
    pad_x: float = 5.0
    pad_y: float = 3.0
    side_margin: float = 3.0  # lane border to its outermost side track
    # one track each side: a second took 10 pt of every box's width (a line less in a third
    # of the boxes, fewer breaks inside words) and no bundled chart routes a line along it
    # that another track could not take without a crossing more
    side_tracks: int = 1
    side_spacing: float = 5.0
    gap_tracks: int = 3  # horizontal tracks available in each gap (unused ones take no space)
    gap_spacing: float = 6.0
    # room at the top of each gap for exit labels: a label finding no place by its exit gets
    # a line more there (see _page_geometry), so the zone itself need not hold one
    label_zone: float = 4.0
    # the same below a row that sends no label: with the row's padding, 9 pt between two
    # boxes, an arrowhead (6 pt) and a little of its line
    plain_zone: float = 7.0
    gap_pad: float = 5.0  # last track to the shapes below
    row_pad: float = 1.0  # with gap_pad, 6 pt from a gap track to a box: an arrowhead's length
    corridor_spacing: float = 6.0
    min_box_width: float = 52.0
    min_box_height: float = 22.0  # a line of 10 pt text and 4.75 pt above and below
    connector: float = 20.0  # diameter of a continuation connector

    def frame(self, orientation: str) -> tuple[float, float]:
        w, h = A4 if orientation == "portrait" else (A4[1], A4[0])
        return w - 2 * self.margin, h - 2 * self.margin - self.title_band


DEFAULT_STYLE = Style()


class LayoutError(Exception):
    """The flow cannot be laid out (a bug or a flow far outside what a chart can show)."""


# -- ranking ---------------------------------------------------------------------------------


def back_edges(flow: Flow) -> set[tuple[str, str]]:
    """Edges to a step still open in a depth-first walk from the start: the loops back."""
    steps = {s.id: s for s in flow.steps}
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 open, 2 done
    stack: list[tuple[str, int]] = [(flow.start.id, 0)]
    state[flow.start.id] = 1
    while stack:
        node, i = stack.pop()
        succ = steps[node].successors
        if i < len(succ):
            stack.append((node, i + 1))
            target = succ[i]
            if state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                state[target] = 1
                stack.append((target, 0))
        else:
            state[node] = 2
    return back


def rank(flow: Flow, ends_first: bool = False, compact: str | None = "all",
         label_fits: Callable[[str, str, str], bool] | None = None) -> dict[str, int]:
    """Row of each step: below every forward predecessor, one step per lane and row.

    Where two ready steps want the same lane and row, the one written first takes it; with
    ``ends_first``, a step that ends the flow takes it, so that the flow's other branches
    pass below it instead of around it.

    With ``compact`` (as yFiles' and Visio's swimlane output do), a step whose latest
    predecessor stands in another lane shares that predecessor's row when the row is free from
    the one to the other: the edge then runs straight across, and a hand-over between lanes
    costs no row. Each side of a shape sends at most one such edge, and the cells the edge
    runs through are kept free, so nothing is placed on its way later. A step with three exits
    is never entered from the side (its sides are its exits'); ``compact="plain"`` shares rows
    over unlabelled edges only (a label may not fit between two boxes), None never;
    ``compact="fitting"`` over unlabelled edges and those whose label ``label_fits(source,
    target, label)`` says fits beside the edge between the two boxes.
    """
    back = back_edges(flow)
    position = {s.id: i for i, s in enumerate(flow.steps)}
    ends = {s.id for s in flow.steps if s.is_end}
    order = {k: (0 if ends_first and k in ends else 1, v) for k, v in position.items()}
    preds: dict[str, list[str]] = {s.id: [] for s in flow.steps}
    for s in flow.steps:
        for t in s.successors:
            if (s.id, t) not in back:
                preds[t].append(s.id)
    indegree = {k: len(v) for k, v in preds.items()}
    ready = sorted((k for k, v in indegree.items() if v == 0), key=order.get)
    rows: dict[str, int] = {}
    taken: set[tuple[str, int]] = set()
    lane = {s.id: s.lane for s in flow.steps}
    column = {ln.id: i for i, ln in enumerate(flow.lanes)}
    steps = {s.id: s for s in flow.steps}
    sideways: set[tuple[str, int]] = set()  # (step, direction) of every row-sharing edge sent
    while ready:
        node = ready.pop(0)
        row = max((rows[p] + 1 for p in preds[node]), default=0)
        beside = None
        if compact and len(steps[node].successors) < 3:
            beside = _beside(node, row, preds[node], rows, lane, column, taken, sideways)
        label = _label(steps[beside[0]], node) if beside is not None else None
        if label and (compact == "plain" or (compact == "fitting" and (
                label_fits is None or not label_fits(beside[0], node, label)))):
            beside = None
        if beside is not None:
            source, cells = beside
            row -= 1
            sideways.add((source, 1 if column[lane[node]] > column[lane[source]] else -1))
            taken.update(cells)
        while (lane[node], row) in taken:
            row += 1
        rows[node] = row
        taken.add((lane[node], row))
        for t in steps[node].successors:
            if (node, t) in back:
                continue
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
                ready.sort(key=order.get)
    return rows


def _label(step: Step, target: str) -> str | None:
    return next((e.label for e in step.exits if e.to == target), None)


def _beside(node: str, row: int, preds: list[str], rows: dict[str, int], lane: dict[str, str],
            column: dict[str, int], taken: set, sideways: set) -> tuple[str, list] | None:
    """The predecessor whose row ``node`` may share (see :func:`rank`), and the cells between
    them that the edge runs through; None if it may not."""
    latest = [p for p in preds if rows[p] == row - 1]
    if row == 0 or len(latest) != 1:
        return None  # two predecessors on the row above: one of them would come in sideways
    source = latest[0]
    a, b = column[lane[source]], column[lane[node]]
    if a == b:
        return None
    direction = 1 if b > a else -1
    if (source, direction) in sideways:
        return None
    by_column = {i: name for name, i in column.items()}
    cells = [(by_column[c], row - 1) for c in range(a + direction, b, direction)]
    if any(cell in taken for cell in [*cells, (lane[node], row - 1)]):
        return None
    return source, cells


# -- text and shapes -------------------------------------------------------------------------


def _block(text: str, width: float, size: float, style: Style) -> tuple[str, ...]:
    return _wrapped(text, width, size)


@lru_cache(maxsize=4096)
def _wrapped(text: str, width: float, size: float) -> tuple[str, ...]:
    # every page the search for the cuts tries sets the same texts at the same widths again,
    # and balancing a text wraps it a dozen times: a pure function of its arguments, so cached
    return phrase_wrap(text, width, size, fonts.text_width)


def _shape_size(step: Step, box_w: float, style: Style) -> tuple[float, float, tuple[str, ...]]:
    """Width, height and text lines of a step's shape."""
    lh = style.text_size * style.line_height
    if step.kind == "decision":
        # a diamond's tips may reach past a box's sides, to DIAMOND_REACH short of the side
        # track: wider, it sets its text on fewer lines, and lower (确认支/付到账 no longer)
        return _diamond(step.box_text, box_w + DIAMOND_REACH, style)
    inset = {"start": 10.0, "end": 10.0, "ref": style.pad_x}.get(step.kind, style.pad_x)
    lines = _block(step.box_text, box_w - 2 * inset, style.text_size, style)
    h = len(lines) * lh + 2 * style.pad_y + (7.0 if step.kind == "ref" else 0.0)
    return box_w, max(h, style.min_box_height), lines


DIAMOND_REACH = 6.0  # points a diamond may be wider than a box (4 pt clear of the side track)
DIAMOND_PAD = (2.0, 0.5)  # text to the inscribed rectangle's sides, across and down
DIAMOND_MIN = (56.0, 36.0)  # the least width and height of a decision's diamond
WORD_BREAK_HEIGHT = 12.0  # points of a diamond's height a break inside a word counts as


@lru_cache(maxsize=1024)
def _diamond(text: str, box_w: float, style: Style) -> tuple[float, float, tuple[str, ...]]:
    """Width, height and lines of a decision: the lowest diamond its text fits in.

    The text sits in a rectangle inscribed in the diamond, a × b with a/w + b/h = 1 (w, h the
    diamond's). Set in half the width (a = w/2), a text of seven characters takes three lines
    in a narrow lane and the diamond twice their height; wrapped wider, two lines need a
    diamond a third lower. Each way of breaking the text is tried (as wide as the box allows)
    and the lowest diamond kept, then made as narrow as that height allows.
    """
    lh = style.text_size * style.line_height
    pad_x, pad_y = DIAMOND_PAD
    best: tuple[float, int, tuple[str, ...], float, float] | None = None
    count = len(text)
    for chars in range(count, 0, -1):  # wrap widths of a whole line down to one character
        width = chars * style.text_size + 0.5
        if width + 2 * pad_x >= 0.85 * box_w:
            continue
        lines = _block(text, width, style.text_size, style)
        a = max(fonts.text_width(line, style.text_size) for line in lines) + 2 * pad_x
        if a >= 0.85 * box_w:
            continue
        b = len(lines) * lh + 2 * pad_y
        h = max(DIAMOND_MIN[1], b / (1 - a / box_w))
        # a break inside a word (确认支/付到账) is worth a few points of height to avoid
        rank_h = h + WORD_BREAK_HEIGHT * words_broken(lines)
        if best is None or (round(rank_h, 2), len(lines)) < (round(best[4], 2), len(best[2])):
            best = (h, len(lines), lines, a, rank_h)
        if len(lines) > 4:
            break
    if best is None:  # one character at a time is still too wide: the box is the limit
        lines = _block(text, box_w / 2 - 2, style.text_size, style)
        a = box_w / 2
        b = len(lines) * lh + 2 * pad_y
        best = (max(DIAMOND_MIN[1], 2 * b), len(lines), lines, a, 0.0)
    h, _, lines, a, _ = best
    b = len(lines) * lh + 2 * pad_y
    # as narrow as the height allows: a/w + b/h = 1
    w = min(box_w, max(DIAMOND_MIN[0], a / (1 - b / h) if b < h else box_w))
    return w, h, lines


def diamond_text_area(rect: Rect, lines: tuple[str, ...], size: float) -> Rect:
    """The rectangle inscribed in a decision's diamond that its ``lines`` are set in."""
    a = max((fonts.text_width(line, size) for line in lines), default=0.0) + 2 * DIAMOND_PAD[0]
    a = min(a, rect.w / 2) if a >= rect.w else a
    b = rect.h * (1 - a / rect.w)
    return Rect(rect.cx - a / 2, rect.cy - b / 2, a, b)


def _text_area(kind: str, rect: Rect, style: Style, lines: tuple[str, ...] = ()) -> Rect:
    if kind == "decision":
        return diamond_text_area(rect, lines, style.text_size)
    if kind in ("start", "end"):
        return Rect(rect.x + 8, rect.y + 2, rect.w - 16, rect.h - 4)
    if kind == "ref":  # an off-page connector: a pentagon pointing down
        return Rect(rect.x + 3, rect.y + 2, rect.w - 6, rect.h - 9)
    if kind == "connector":
        return Rect(rect.x + 2, rect.y + 2, rect.w - 4, rect.h - 4)
    return Rect(rect.x + 2, rect.y + 2, rect.w - 4, rect.h - 4)


# -- the whole chart -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    id: str
    kind: str
    lane: str
    text: str
    row: int


def layout(flow: Flow, style: Style = DEFAULT_STYLE, orientation: str | None = None,
           first: float | None = None) -> Chart:
    """Lay out ``flow`` for an A4 page; ``orientation`` None picks the one needing fewer pages.

    ``first`` is the height left for the chart on its first page, where the manual prints the
    flow's header table above it: a chart taller than that is split there."""
    if orientation is not None:
        return _layout(flow, style, orientation, first)
    candidates = []
    for option in ("portrait", "landscape"):
        try:
            candidates.append(_layout(flow, style, option, first))
        except LayoutError:
            continue
        if len(candidates[-1].pages) == 1:
            break  # portrait on one page: landscape cannot do better
        # landscape is 2/3 as tall: it cannot need fewer pages unless its wider lanes make the
        # boxes much shorter, so do not lay it out when even 80 % of the height needs as many
        portrait = candidates[-1]
        height = sum(p.height for p in portrait.pages)
        if math.ceil(0.8 * height / style.frame("landscape")[1]) >= len(portrait.pages):
            break
    if not candidates:
        raise LayoutError(f"{flow.code}: the chart fits no A4 page")
    return min(candidates, key=lambda c: (len(c.pages), c.orientation != "portrait"))


def _layout(flow: Flow, style: Style, orientation: str, first: float | None = None) -> Chart:
    frame_w, frame_h = style.frame(orientation)
    return _best_of_rankings(flow, style, orientation, frame_w, frame_h, first)


def _best_of_rankings(flow: Flow, style: Style, orientation: str, frame_w: float,
                      frame_h: float, first: float | None = None) -> Chart:
    """The flow laid out from its most compact ranking that can be drawn, then from less
    compact ones while they may do better: fewer pages first, then fewer crossings, then less
    height. A flow of up to a dozen steps also tries its ends first (see :func:`rank`); a
    larger one only the first (time)."""
    from .quality import count_crossings

    small = len(flow.steps) <= SMALL_FLOW
    options = (False, True) if small else (False,)
    label_fits = _label_fits(flow, style, *_lane_and_box(flow, style, frame_w))
    best: tuple[tuple, Chart] | None = None
    tried: list[dict[str, int]] = []
    failure: LayoutError | None = None
    # a large flow does not try 'all', which shares rows over hand-overs whose label has no
    # room beside the edge: on the bundled flows it either found no place for such a label
    # (after a whole routing: half the layout time went there) or crossed more than
    # 'fitting' does; a small flow may find a place above the row, and costs little
    for compact in COMPACTNESS if small else COMPACTNESS[1:]:
        for ends_first in options:
            rows = rank(flow, ends_first, compact, label_fits)
            if rows in tried:
                continue
            tried.append(rows)
            try:
                chart, finish = _layout_ranked(flow, style, orientation, frame_w, frame_h, rows,
                                               first)
            except LayoutError as exc:  # a row shared over an edge that cannot be drawn so
                failure = failure or exc
                continue
            score = (len(chart.pages), count_crossings(chart),
                     round(sum(p.height for p in chart.pages)))
            if best is None or score < best[0]:
                best = (score, chart, finish)
            if score[:2] == (1, 0):
                return finish()
        if best is not None and best[0][0] == 1:
            break  # one page: a less compact ranking is taller, and rarely crosses less
    if best is None:
        raise failure or LayoutError(f"{flow.code}: no ranking could be laid out")
    return best[2]()


# how compact a ranking is tried first, then the next (see rank)
COMPACTNESS = ("all", "fitting", "plain", None)


def _label_fits(flow: Flow, style: Style, lane_w: float, box_w: float
                ) -> Callable[[str, str, str], bool]:
    """Whether an exit label fits beside a row-sharing edge from ``source`` to ``target``
    without touching a box or crossing a lane divider: in the source's lane beside its shape,
    in a whole lane the edge runs across, or in the target's lane before its shape."""
    steps = {s.id: s for s in flow.steps}
    column = {lane.id: i for i, lane in enumerate(flow.lanes)}

    def fits(source: str, target: str, label: str) -> bool:
        need = fonts.text_width(label, style.label_size) + 2 + 2 * 3.0  # and 3 pt each side
        a, b = column[steps[source].lane], column[steps[target].lane]
        room = [(lane_w - _shape_size(steps[s], box_w, style)[0]) / 2 - 1.0
                for s in (source, target)]
        if abs(a - b) > 1:
            room.append(lane_w - 2.0)
        return need <= max(room)

    return fits


def _lane_and_box(flow: Flow, style: Style, frame_w: float) -> tuple[float, float]:
    """The width of a lane and of a box in it: the frame less the corridor for loops back."""
    back = back_edges(flow)
    corridor_w = (8.0 + style.corridor_spacing * len(back)) if back else 0.0
    lane_w = (frame_w - corridor_w) / len(flow.lanes)
    side = style.side_margin + style.side_tracks * style.side_spacing
    return lane_w, lane_w - 2 * side - 4


def _layout_ranked(flow: Flow, style: Style, orientation: str, frame_w: float, frame_h: float,
                   rows: dict[str, int], first_room: float | None = None
                   ) -> tuple[Chart, Callable[[], Chart]]:
    """The chart from one ranking, and a function giving the same chart with its labels
    placed with care (by their exits, clear of the dividers: a search round each exit, so
    only the ranking kept is given it)."""
    back = back_edges(flow)
    lanes = flow.lanes
    lane_w, box_w = _lane_and_box(flow, style, frame_w)
    if box_w < style.min_box_width:
        raise LayoutError(f"{flow.code}: lanes too narrow on a {orientation} page")
    # lane headers
    header_lines = [_block(lane.name, lane_w - 8, style.header_size, style) for lane in lanes]
    header_h = (max(len(h) for h in header_lines) * style.header_size * style.line_height
                + style.header_pad)
    n_rows = max(rows.values()) + 1
    small = len(flow.steps) <= SMALL_FLOW
    # The search for the cuts meets the same page (the same steps and connectors) again and
    # again: each is planned, routed and drawn once.
    plans: dict[tuple, _PagePlan] = {}
    routed: dict[tuple, _Routed] = {}
    drawn: dict[tuple, Page] = {}
    # the trials of one cut route pages alike at the top: each starts from the one before
    latest: list[_Routed] = []

    def room_of(number: int) -> float:
        return first_room if number == 1 and first_room is not None else frame_h

    def key_of(part: tuple) -> tuple:
        return tuple(part[0]), tuple(sorted(part[1].items()))

    def plan(part: tuple) -> _PagePlan:
        key = key_of(part)
        if key not in plans:
            plans[key] = _plan_page(flow, part[0], part[1], rows, back, style, lane_w, box_w)
        return plans[key]

    def build(number: int, part: tuple) -> Page:
        key = key_of(part)
        if (number, key) not in drawn:
            if key not in routed:
                routed[key] = _route_page(flow, plan(part), style)
            assert routed[key].complete, "a page found too tall is never drawn"
            drawn[number, key] = _page_geometry(flow, number, plan(part), routed[key].paths,
                                                style, lane_w, header_h, header_lines)
        return drawn[number, key]

    def fits(number: int, part: tuple) -> bool:
        # a page whose shapes alone are too tall is refused before its edges are routed, one
        # whose gap tracks make it too tall as soon as they do
        least = _least_height(plan(part), style, header_h)
        if least > room_of(number) + 0.01:
            return False
        key = key_of(part)
        if key not in routed:
            # a point to spare: the floor is summed in another order than the page's height
            routed[key] = _route_page(flow, plan(part), style, room_of(number) + 1.0 - least,
                                      latest[-1] if latest else None)
            latest[:] = [routed[key]]
        if not routed[key].complete:
            return False
        try:
            drawn_page = build(number, part)
        except LayoutError:  # a label with no place on this cut: another cut may do
            unplaced.append(number)
            return False
        # corridor tracks taken by forward edges too can make a page too wide: it does not fit
        return drawn_page.height <= room_of(number) + 0.01 and drawn_page.width <= frame_w + 0.01

    def untangled(number: int, part: tuple) -> Page:
        plain = build(number, part)
        # the page is final: its plain routing is not asked for again, so it is untangled in
        # place (the plain page is drawn already, should the untangled one stand too tall)
        grid, paths = routed[key_of(part)].grid, routed[key_of(part)].paths
        better = dict(paths)
        page_plan = plan(part)
        _untangle(grid, better, page_plan.requests, page_plan.order, page_plan.edges, small)
        chosen, page = paths, plain
        if better != paths:
            untangled_page = _page_geometry(flow, number, page_plan, better, style, lane_w,
                                            header_h, header_lines)
            if fits_frame(number, untangled_page):
                chosen, page = better, untangled_page
        finals.append((number, page_plan, chosen, page))
        return page

    finals: list[tuple[int, _PagePlan, dict, Page]] = []

    def finish() -> Chart:
        pages = []
        for number, page_plan, chosen, page in finals:
            careful = _page_geometry(flow, number, page_plan, chosen, style, lane_w, header_h,
                                     header_lines, careful_labels=True)
            pages.append(careful if fits_frame(number, careful) else page)
        return replace(chart, pages=tuple(pages))

    def fits_frame(number: int, page: Page) -> bool:
        return page.height <= room_of(number) + 0.01 and page.width <= frame_w + 0.01

    # Pages are filled from the top: each takes as many rows as fit, the rest go on. A page's
    # shapes alone give a floor for its height, so only the last few cuts that floor allows are
    # routed and drawn to see which fits.
    cuts: list[int] = []  # the first row of every page after the first
    unplaced: list[int] = []  # pages refused because a label found no place
    while True:
        parts = _split(flow, rows, cuts)
        page = len(cuts)  # index of the last page, which holds every row from the last cut
        if fits(page + 1, parts[page]):
            break
        if not cuts and unplaced and first_room is None:
            # the whole chart fits but a label does not: cutting it into pages would not
            # place the label either, and a less compact ranking is tried instead (time)
            raise LayoutError(f"{flow.code}: cannot place every exit label")
        first = cuts[-1] if cuts else 0

        def cut_at(cut: int, cuts: list[int] = cuts, page: int = page) -> tuple:
            return _split(flow, rows, [*cuts, cut])[page]

        # the floor grows with the rows a page takes: the last cut it allows, by bisection
        low, high = first + 1, n_rows - 1
        while low < high:
            mid = (low + high + 1) // 2
            if _least_height(plan(cut_at(mid)), style, header_h) <= room_of(page + 1) + 0.01:
                low = mid
            else:
                high = mid - 1
        cut = next((c for c in range(low, first, -1) if fits(page + 1, cut_at(c))), None)
        if cut is None:
            raise LayoutError(f"{flow.code}: cannot split the chart into A4 pages")
        cuts.append(cut)
    # the cuts are found; now spend time on fewer crossings, page by page
    final = tuple(untangled(number, part) for number, part in enumerate(parts, start=1))
    chart = Chart(flow.code, flow.name, orientation, (frame_w, frame_h), final,
                  min(style.text_size, style.label_size, style.header_size))
    return chart, finish


def _split(flow: Flow, rows: dict[str, int], cuts: list[int]) -> list[tuple[list[str], dict]]:
    """Steps of each page, and the continuation connectors of the edges that cross a cut."""

    def page(r: int) -> int:
        return sum(1 for c in cuts if r >= c)

    parts: list[tuple[list[str], dict]] = [([], {}) for _ in range(len(cuts) + 1)]
    for s in flow.steps:
        parts[page(rows[s.id])][0].append(s.id)
    numbers: dict[str, int] = {}
    for s in flow.steps:
        for t in s.successors:
            a, b = page(rows[s.id]), page(rows[t])
            if a != b:
                # one number per target: every edge into it from another page meets there
                num = numbers.setdefault(t, len(numbers) + 1)
                parts[a][1][(s.id, t)] = ("out", num)
                parts[b][1][(s.id, t)] = ("in", num)
    return parts


@dataclass
class _PagePlan:
    """One page before its edges are routed: shapes, edges, and the grid of tracks."""

    nodes: list[_Node]
    sizes: dict[str, tuple[float, float, tuple[str, ...]]]
    edges: list[tuple[str, str, str | None, bool]]  # source, target, label, back
    n_rows: int
    xs: list[float]
    ys: list[float]
    gap_lines: dict[int, list[int]]
    row_line: dict[int, int]
    center_x: dict[int, int]
    left_corridor: list[int]
    right_corridor: list[int]
    lane_index: dict[str, int]
    row_of: dict[str, int]
    requests: dict[int, routing.Request]
    order: list[int]  # the order edges are first routed in
    row_h: dict[int, float]
    zones: dict[int, float]  # room for exit labels at the top of each gap
    shape_nodes: frozenset[tuple[int, int]]
    out_degree: dict[tuple[int, int], int]

    @cached_property
    def line_marks(self) -> list[tuple[float, tuple[tuple[int, int], ...]]]:
        """Per y line, what a search reads of it before any edge is routed: its coordinate, and
        the x line and number of exits of every shape on it."""
        on_line: list[list[tuple[int, int]]] = [[] for _ in self.ys]
        for x, y in sorted(self.shape_nodes):
            on_line[y].append((x, self.out_degree.get((x, y), 0)))
        return [(v, tuple(shapes)) for v, shapes in zip(self.ys, on_line, strict=True)]

    def grid(self) -> routing.Grid:
        corridor = frozenset(self.left_corridor + self.right_corridor)
        return routing.Grid(self.xs, self.ys, corridor, self.shape_nodes, self.out_degree)


def _plan_page(flow: Flow, step_ids: list[str], connectors: dict, rows: dict[str, int],
               back: set, style: Style, lane_w: float, box_w: float) -> _PagePlan:
    steps = {s.id: s for s in flow.steps}
    lane_index = {lane.id: i for i, lane in enumerate(flow.lanes)}
    present = set(step_ids)
    base = min(rows[s] for s in step_ids)
    incoming: dict[str, list[int]] = {}  # lane → connector numbers entering this page there
    outgoing: dict[str, list[int]] = {}
    for (_src, dst), (direction, num) in sorted(connectors.items(), key=lambda kv: kv[1][1]):
        lane = steps[dst].lane  # a connector stands in the lane of the step it continues to
        bucket = incoming if direction == "in" else outgoing
        if num not in bucket.setdefault(lane, []):
            bucket[lane].append(num)
    offset = max((len(v) for v in incoming.values()), default=0)
    nodes: list[_Node] = [
        _Node(sid, steps[sid].kind, steps[sid].lane, steps[sid].text, rows[sid] - base + offset)
        for sid in step_ids]
    last_row = max(n.row for n in nodes)
    for lane, nums in incoming.items():
        nodes += [_Node(f"~in{n}", "connector", lane, _circled(n), j) for j, n in enumerate(nums)]
    for lane, nums in outgoing.items():
        nodes += [_Node(f"~out{n}", "connector", lane, _circled(n), last_row + 1 + j)
                  for j, n in enumerate(nums)]
    edges: list[tuple[str, str, str | None, bool]] = []  # source, target, label, back
    seen_in: set[int] = set()
    for s in flow.steps:
        labels = {e.to: e.label for e in s.exits}
        for t in s.successors:
            label = labels.get(t) if s.exits else None
            if s.id in present and t in present:
                edges.append((s.id, t, label, (s.id, t) in back))
            elif (s.id, t) in connectors:
                direction, num = connectors[(s.id, t)]
                if direction == "out":
                    edges.append((s.id, f"~out{num}", label, False))
                elif num not in seen_in:
                    seen_in.add(num)
                    edges.append((f"~in{num}", t, None, False))
    n_rows = max(n.row for n in nodes) + 1
    # sizes
    sizes: dict[str, tuple[float, float, tuple[str, ...]]] = {}
    for n in nodes:
        if n.kind == "connector":
            sizes[n.id] = (style.connector, style.connector, (n.text,))
        else:
            sizes[n.id] = _shape_size(steps[n.id], box_w, style)
    # the grid: x lines
    n_lanes = len(flow.lanes)
    n_back = sum(1 for e in edges if e[3])
    xs: list[float] = []
    center_x: dict[int, int] = {}
    left_corridor = []  # loops back may run left of the lanes or right of them
    for k in reversed(range(n_back)):
        left_corridor.append(len(xs))
        xs.append(-6 - k * style.corridor_spacing)
    for i in range(n_lanes):
        x0 = i * lane_w
        for k in range(style.side_tracks):
            xs.append(x0 + style.side_margin + k * style.side_spacing)
        center_x[i] = len(xs)
        xs.append(x0 + lane_w / 2)
        for k in reversed(range(style.side_tracks)):
            xs.append(x0 + lane_w - style.side_margin - k * style.side_spacing)
    right_corridor = []
    for k in range(n_back):
        right_corridor.append(len(xs))
        xs.append(n_lanes * lane_w + 6 + k * style.corridor_spacing)
    # y lines: gap tracks above each row (and below the last), then the row's centre line
    ys: list[float] = []
    gap_lines: dict[int, list[int]] = {}
    row_line: dict[int, int] = {}
    for r in range(n_rows + 1):
        gap_lines[r] = []
        for t in range(style.gap_tracks):
            gap_lines[r].append(len(ys))
            ys.append(r * 70.0 + 14 + t * style.gap_spacing)
        if r < n_rows:
            row_line[r] = len(ys)
            ys.append(r * 70.0 + 55)
    node_at = {n.id: (center_x[lane_index[n.lane]], row_line[n.row]) for n in nodes}
    if len(set(node_at.values())) != len(node_at):
        raise LayoutError(f"{flow.code}: two shapes share a cell")
    out_degree: dict[tuple[int, int], int] = {}
    for src, *_ in edges:
        out_degree[node_at[src]] = out_degree.get(node_at[src], 0) + 1
    row_of = {n.id: n.row for n in nodes}
    lane_of = {n.id: lane_index[n.lane] for n in nodes}
    requests = {i: routing.Request(i, node_at[e[0]], node_at[e[1]], e[1], e[3])
                for i, e in enumerate(edges)}

    # forward edges top-down, short before long, loops back last
    def natural(i: int) -> tuple:
        src, dst, _, is_back = edges[i]
        return (is_back, row_of[src], row_of[dst] - row_of[src], abs(lane_of[dst] - lane_of[src]), i)

    row_h = {r: 0.0 for r in range(n_rows)}
    for n in nodes:
        row_h[n.row] = max(row_h[n.row], sizes[n.id][1])
    # room for labels only in gaps below a row that sends a labelled edge
    labelled_rows = {row_of[src] for src, _, label, _ in edges if label}
    zones = {r: style.label_zone if r - 1 in labelled_rows else style.plain_zone
             for r in gap_lines}
    return _PagePlan(nodes, sizes, edges, n_rows, xs, ys, gap_lines, row_line, center_x,
                     left_corridor, right_corridor, lane_index, row_of, requests,
                     sorted(range(len(edges)), key=natural), row_h, zones,
                     frozenset(node_at.values()), out_degree)


@dataclass
class _Routed:
    """A page's edges routed in their order; or, on a page found too tall, the first of them."""

    plan: _PagePlan
    grid: routing.Grid
    paths: dict[int, list[tuple[int, int]]]
    # per edge in that order: its request's ends and key, its path, the y lines its search read
    searched: list[tuple[tuple, list[tuple[int, int]], int]]
    complete: bool


def _route_page(flow: Flow, plan: _PagePlan, style: Style, room: float = math.inf,
                earlier: _Routed | None = None) -> _Routed:
    """Route every edge of the page in its order; stop, incomplete, as soon as the gap tracks
    taken need more than ``room`` (tracks are only ever added, so the page is known too tall).

    Trial pages of one cut differ at the bottom only: an edge that the ``earlier`` routing
    searched in the same order, after the same edges, within lines both grids have alike, takes
    the path that search found (it would find it again)."""
    grid = plan.grid()
    paths: dict[int, list[tuple[int, int]]] = {}
    searched: list[tuple[tuple, list[tuple[int, int]], int]] = []
    alike = _lines_alike(earlier.plan, plan) if earlier is not None else 0
    gap_of = {line: r for r, lines in plan.gap_lines.items() for line in lines}
    used: dict[int, set[int]] = {}
    taken = 0.0
    for k, i in enumerate(plan.order):
        request = plan.requests[i]
        asked = (request.source, request.target, request.target_key, request.back)
        if alike and k < len(earlier.searched) and earlier.searched[k][0] == asked \
                and earlier.searched[k][2] <= alike:
            path, seen = list(earlier.searched[k][1]), earlier.searched[k][2]
            grid.route_fixed(path, request)
        else:
            alike = 0  # the grids now differ where the earlier searches may have read
            try:
                path, seen = grid.route_seen(request)
            except routing.RoutingError:
                src, dst = plan.edges[i][:2]
                raise LayoutError(f"{flow.code}: cannot route {src} → {dst}") from None
        paths[i] = path
        searched.append((asked, path, seen))
        if room == math.inf:
            continue
        for (_, y1), (_, y2) in pairwise(path):
            if y1 == y2 and y1 in gap_of:
                tracks = used.setdefault(gap_of[y1], set())
                if y1 not in tracks:
                    # the first track of a gap costs its padding, each further one its spacing
                    taken += style.gap_spacing if tracks else style.gap_pad
                    tracks.add(y1)
        if taken > room:
            return _Routed(plan, grid, paths, searched, False)
    return _Routed(plan, grid, paths, searched, True)


def _lines_alike(a: _PagePlan, b: _PagePlan) -> int:
    """How many y lines from the top two pages' grids have alike for a search (the same x lines
    and corridors, and line by line the same coordinate and shapes with the same exits); the
    last line of a grid is its border, alike only in a grid as tall."""
    if a.xs != b.xs or a.left_corridor != b.left_corridor or a.right_corridor != b.right_corridor:
        return 0
    marks_a, marks_b = a.line_marks, b.line_marks
    same = 0
    for mark_a, mark_b in zip(marks_a, marks_b, strict=False):
        if mark_a != mark_b:
            return same
        same += 1
    return same if len(marks_a) == len(marks_b) else same - 1


def _least_height(plan: _PagePlan, style: Style, header_h: float) -> float:
    """The page's height were no gap track used: what it needs at least, known before routing."""
    used: dict[int, list[int]] = {r: [] for r in plan.gap_lines}
    return _assign_y(style, header_h, plan.gap_lines, used, plan.row_line, plan.row_h,
                     plan.zones, plan.n_rows)[1]


def _page_geometry(flow: Flow, number: int, plan: _PagePlan, paths: dict, style: Style,
                   lane_w: float, header_h: float, header_lines: list,
                   careful_labels: bool = False) -> Page:
    # real y coordinates: only used gap tracks take space
    used: dict[int, list[int]] = {r: [] for r in plan.gap_lines}
    gap_of = {line: r for r, lines in plan.gap_lines.items() for line in lines}
    for path in paths.values():
        for (_, y1), (_, y2) in pairwise(path):
            # a track takes space only where an edge runs along it; crossing it costs nothing
            if y1 == y2 and y1 in gap_of and y1 not in used[gap_of[y1]]:
                used[gap_of[y1]].append(y1)
    xs, left_w, width = _compact_corridors(plan.xs, paths, plan.left_corridor,
                                           plan.right_corridor, style, len(flow.lanes) * lane_w)
    room = _stub_room(flow, plan, paths, xs, style, lane_w, width)
    if room != (0.0, 0.0):
        xs, left_w, width = _compact_corridors(plan.xs, paths, plan.left_corridor,
                                               plan.right_corridor, style,
                                               len(flow.lanes) * lane_w, room)
    zones = dict(plan.zones)
    bends = {i: routing.corners(path) for i, path in paths.items()}  # the same every attempt
    # Each label wants a place by the segment that leaves its decision, clear of the lane
    # dividers (on the final page: careful_labels); where it finds none there, a few places
    # along its edge, across a divider rather than none (the quality report counts those);
    # and where it finds none at all, its gap grows by a line and all are placed again.
    # On the final page, first a place by its exit and clear of the dividers for every
    # label, making room below a decision (a line at a time, twice at most) where one finds
    # none; only if that fails too, the places along the edge, in the page as planned.
    if careful_labels:
        trial = dict(zones)
        for _attempt in range(3):
            y_of, height = _assign_y(style, header_h, plan.gap_lines, used, plan.row_line,
                                     plan.row_h, trial, plan.n_rows)
            page, missing = _assemble(flow, number, plan.nodes, plan.sizes, plan.edges, bends,
                                      xs, y_of, lane_w, left_w, width, header_h, header_lines,
                                      height, style, plan.lane_index, plan.center_x,
                                      plan.row_line, True, clean=True)
            if page is not None:
                return page
            for source in set(missing):
                trial[plan.row_of[source] + 1] += style.label_size * style.line_height
    for _attempt in range(6):
        y_of, height = _assign_y(style, header_h, plan.gap_lines, used, plan.row_line,
                                 plan.row_h, zones, plan.n_rows)
        page, missing = _assemble(flow, number, plan.nodes, plan.sizes, plan.edges, bends, xs,
                                  y_of, lane_w, left_w, width, header_h, header_lines, height,
                                  style, plan.lane_index, plan.center_x, plan.row_line,
                                  careful_labels)
        if page is not None:
            return page
        for source in missing:  # make room where the label wanted to go, then place again
            zones[plan.row_of[source] + 1] += style.label_size * style.line_height
    raise LayoutError(f"{flow.code}: cannot place every exit label")


# Edge reroutes per page. Flows of up to a dozen steps get the search they need to reach no
# crossing at all; larger ones, where some crossings are unavoidable, a share that bounds
# their layout time. On the bundled flows 3 to 12 give the very same charts (the reroutes
# past the third on a page all fail) and 2 leaves EC-OP-005 and EC-OP-010 with more
# crossings; 16 takes one more off EC-OP-005, for twice the search on EC-CS-023. 4 halves
# the wasted search of 8 and keeps one to spare.
UNTANGLE_BUDGET = {"small": 80, "large": 4}
SMALL_FLOW = 12  # steps


def _reroute(grid: routing.Grid, paths: dict, requests: dict, group: tuple[int, ...],
             known: dict | None = None) -> bool:
    """Route ``group`` again in its order; keep the result if the chart crosses less.

    ``known`` keeps the paths found for orders of the same group tried before on the same
    grid: orders that start alike route their first edges the same way."""
    before = grid.total_crossings
    old = {i: paths[i] for i in group}
    for i in group:
        grid.unroute(paths[i], requests[i])
    new: dict[int, list] = {}
    try:
        for k, i in enumerate(group):
            found = known.get(group[:k + 1]) if known is not None else None
            if found is None:
                new[i] = grid.route(requests[i])
                if known is not None:
                    known[group[:k + 1]] = new[i]
            else:
                grid.route_fixed(found, requests[i])
                new[i] = found
    except routing.RoutingError:
        pass
    else:
        paths.update(new)
        if grid.total_crossings < before:
            return True
        paths.update(old)
    for i, path in new.items():
        grid.unroute(path, requests[i])
    for i in group:
        grid.route_fixed(old[i], requests[i])
    return False


def _untangle(grid: routing.Grid, paths: dict, requests: dict, order: list[int],
              edges: list, small: bool) -> None:
    """Rip up and reroute until nothing improves.

    An edge routed early did not know the edges after it. Routed again among all the others
    it can often go round instead of across; the exits of one step are tried in every order,
    because which exit takes which side of a diamond decides whether they cross; and a pair
    of crossing edges is routed again in both orders.
    """
    by_source: dict[str, list[int]] = {}
    for i in order:
        by_source.setdefault(edges[i][0], []).append(i)
    budget = UNTANGLE_BUDGET["small" if small else "large"]
    # When each edge's path was found, and when a path last left the grid. An edge routed
    # after every edge it crosses, with none taken away since, already has a cheapest path
    # among all the others (edges only ever add costs): routed alone again it comes back as
    # dear (the same path, or at best a tie that crosses where others already do), so it is
    # not searched.
    born = {i: k for k, i in enumerate(order)}
    clock = {"now": len(order), "removed": -1}
    # A failed attempt leaves the grid as it was, and an attempt that just succeeded would
    # route its edges the same way again: on the same grid, neither is searched again.
    settled: set[tuple[int, ...]] = set()

    def reroute(group: tuple[int, ...], known: dict | None = None) -> bool:
        if group in settled:
            return False
        if not _reroute(grid, paths, requests, group, known):
            settled.add(group)
            return False
        settled.clear()
        settled.add(group)
        clock["removed"] = clock["now"]
        for i in group:
            born[i] = clock["now"] = clock["now"] + 1
        return True

    def alone() -> bool | None:
        nonlocal budget
        improved = False
        crossed = _crossing_partners(paths)
        for i in order:
            if budget > 0 and grid.crossings(paths[i], requests[i]):
                budget -= 1  # spent all the same: what else is tried stays as it was
                if (born[i] < clock["removed"] or any(born[j] > born[i] for j in crossed[i])) \
                        and reroute((i,)):
                    improved = True
                    crossed = _crossing_partners(paths)
        return improved

    def exits_reordered() -> bool | None:
        nonlocal budget
        improved = False
        for group in by_source.values():
            if len(group) < 2 or not any(grid.crossings(paths[i], requests[i]) for i in group):
                continue
            known: dict[tuple[int, ...], list] = {}  # good while every order fails
            for perm in permutations(group):
                if budget <= 0:
                    return None
                budget -= len(perm)
                if perm != tuple(group) and reroute(perm, known):
                    improved = True
                    break
        return improved

    def pairs() -> bool | None:
        nonlocal budget
        improved = False
        for a, b in _crossing_pairs(paths):
            for pair in ((b, a), (a, b)):
                if budget <= 0:
                    return None
                budget -= 2
                if reroute(pair):
                    improved = True
                    break
        return improved

    # A small flow, which must end with no crossing, first tries its steps' exits in other
    # orders: where a diamond's exits cross, the cheaper cure (on the bundled flows it reaches
    # no crossing with a third fewer searches). A large one, whose budget runs out, gives each
    # crossing edge its chance first, then pairs, then exits.
    moves = (exits_reordered, alone, pairs) if small else (alone, pairs, exits_reordered)
    for _ in range(3):
        if grid.total_crossings == 0:
            return
        improved = False
        for move in moves:
            outcome = move()
            if outcome is None:
                return  # the budget is spent
            improved |= outcome
        if not improved:
            return


def _crossing_partners(paths: dict) -> dict[int, set[int]]:
    """The edges each edge crosses."""
    partners: dict[int, set[int]] = {i: set() for i in paths}
    for a, b in _crossing_pairs(paths):
        partners[a].add(b)
        partners[b].add(a)
    return partners


def _crossing_pairs(paths: dict) -> list[tuple[int, int]]:
    """Pairs of edges that cross somewhere (one straight across the other's straight run)."""
    passes: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for i, path in paths.items():
        for node, how in routing.passes(path):
            passes.setdefault(node, []).append((i, how))
    pairs = set()
    for users in passes.values():
        for i, how in users:
            for j, other in users:
                if i < j and {how, other} == {"h", "v"}:
                    pairs.add((i, j))
    return sorted(pairs)


def _stub_room(flow: Flow, plan: _PagePlan, paths: dict, xs: list[float], style: Style,
               lane_w: float, width: float) -> tuple[float, float]:
    """Room to add between the lanes and the corridor left of them, and right of them, so
    that a labelled loop back leaving an outer lane's shape sideways into the corridor runs
    long enough for its label to stand by it (EC-MK-022's 不合格: 16 pt from 素材合规审核 to
    the corridor held no label, which went 40 pt away) - as much as the page's width allows."""
    need = [0.0, 0.0]
    corridors = set(plan.left_corridor) | set(plan.right_corridor)
    for i, path in paths.items():
        label = plan.edges[i][2]
        if not label or len(path) < 2 or path[0][1] != path[1][1]:
            continue
        end = next((p for p in path[1:] if p[1] == path[0][1] and p[0] in corridors), None)
        if end is None or any(q[1] != path[0][1] for q in path[:path.index(end)]):
            continue  # the first segment does not run into a corridor
        side = 0 if end[0] in plan.left_corridor else 1
        box_w = plan.sizes[plan.edges[i][0]][0]
        stub = abs(xs[path[0][0]] - xs[end[0]]) - box_w / 2
        # a label of four characters or more may stand on two lines
        lines = _two_lines(label, style.label_size) or [label]
        label_w = max(fonts.text_width(line, style.label_size) for line in lines) + 2
        need[side] = max(need[side], label_w + 6.0 - stub)
    if need == [0.0, 0.0]:
        return 0.0, 0.0
    back = back_edges(flow)
    frame_w = len(flow.lanes) * lane_w + (8.0 + style.corridor_spacing * len(back) if back else 0.0)
    spare = frame_w - width
    left = min(need[0], spare)
    return max(0.0, left), max(0.0, min(need[1], spare - max(0.0, left)))


def _compact_corridors(xs: list[float], paths: dict, left: list[int], right: list[int],
                       style: Style, lanes_width: float,
                       room: tuple[float, float] = (0.0, 0.0)) -> tuple[list[float], float, float]:
    """Real x of every vertical line, the corridor left of the lanes, and the page width:
    corridor tracks that no edge runs along take no room; ``room`` more between the lanes
    and each corridor (see :func:`_stub_room`)."""
    runs = {x1 for path in paths.values() for (x1, y1), (x2, y2) in pairwise(path)
            if x1 == x2 and y1 != y2}
    out = list(xs)
    used_left = [i for i in reversed(left) if i in runs]  # innermost first
    left_w = (len(used_left) * style.corridor_spacing + 4 + room[0]) if used_left else 0.0
    x = left_w - (room[0] if used_left else 0.0)
    for i in reversed(left):
        if i in runs:
            x -= style.corridor_spacing
        out[i] = x
    first_lane = (left[-1] + 1) if left else 0
    last_lane = right[0] if right else len(xs)
    for i in range(first_lane, last_lane):
        out[i] = xs[i] + left_w
    used_right = any(i in runs for i in right)
    x = left_w + lanes_width - 1 + (room[1] if used_right else 0.0)
    for i in right:
        if i in runs:
            x += style.corridor_spacing
        out[i] = x
    width = x + 4 if any(i in runs for i in right) else left_w + lanes_width
    return out, left_w, width


def _assign_y(style: Style, header_h: float, gap_lines: dict, used: dict, row_line: dict,
              row_h: dict, zones: dict, n_rows: int) -> tuple[dict[int, float], float]:
    y_of: dict[int, float] = {}
    y = header_h
    for r in range(n_rows + 1):
        tracks = sorted(used[r])
        y += zones[r]
        for k, line in enumerate(tracks):
            y_of[line] = y + k * style.gap_spacing
        y += max(0, len(tracks) - 1) * style.gap_spacing + (style.gap_pad if tracks else 0.0)
        if r < n_rows:
            h = row_h[r] + 2 * style.row_pad
            y_of[row_line[r]] = y + h / 2
            y += h
    return y_of, y + 4


def _assemble(flow, number, nodes, sizes, edges, bends, xs, y_of, lane_w, left_w, width,
              header_h, header_lines, height, style, lane_index, center_x,
              row_line, strict: bool = True, clean: bool = False
              ) -> tuple[Page | None, list[str]]:
    """The page; or None, and the source of each edge whose label found no place. The page's
    objects are only made once every label has its place: an attempt that fails is cheap."""
    boxes: dict[str, Rect] = {}
    for n in nodes:
        w, h, _lines = sizes[n.id]
        cx = xs[center_x[lane_index[n.lane]]]
        cy = y_of[row_line[n.row]]
        boxes[n.id] = Rect(cx - w / 2, cy - h / 2, w, h)
    out_edges: list[Edge] = []
    for i, (src, dst, label, is_back) in enumerate(edges):
        pts = [(xs[xi], y_of[yi]) for xi, yi in bends[i]]
        pts[0] = _port(boxes[src], pts[0], pts[1])
        pts[-1] = _port(boxes[dst], pts[-1], pts[-2])
        out_edges.append(Edge(src, dst, label, tuple(pts), is_back))
    dividers = [left_w + i * lane_w for i in range(1, len(flow.lanes))]
    kinds = {n.id: n.kind for n in nodes}
    labels = _place_labels(out_edges, [r for k, r in boxes.items() if kinds[k] != "decision"],
                           style, width, height, header_h, dividers, strict,
                           [r for k, r in boxes.items() if kinds[k] == "decision"], clean)
    placed = {lab.edge for lab in labels}
    missing = [e.source for i, e in enumerate(out_edges) if e.label and i not in placed]
    if missing:
        return None, missing
    lh = style.text_size * style.line_height
    lane_boxes = []
    last = len(flow.lanes) - 1
    for i, lane in enumerate(flow.lanes):
        # the outermost lanes take in the loop-back tracks beside them: every line of the chart
        # runs inside the pool, as yFiles and Visio draw loops back
        x0 = 0.0 if i == 0 else left_w + i * lane_w
        x1 = width if i == last else left_w + (i + 1) * lane_w
        column = Rect(x0, 0, x1 - x0, height)
        header = Rect(x0, 0, x1 - x0, header_h)
        lines = header_lines[i]
        area = Rect(header.x + 4, header.y + 2, header.w - 8, header.h - 4)
        lane_boxes.append(LaneBox(lane.id, lane.name, column, header,
                                  TextBlock(lines, style.header_size, area,
                                            style.header_size * style.line_height)))
    shapes = []
    for n in nodes:
        rect, lines = boxes[n.id], sizes[n.id][2]
        size = style.text_size if n.kind != "connector" else style.label_size
        shapes.append(Shape(n.id, n.kind, n.lane, rect,
                            TextBlock(lines, size, _text_area(n.kind, rect, style, lines),
                                      lh if n.kind != "connector" else size * style.line_height),
                            n.row, n.kind == "approval" and flow.step(n.id).quorum != 1))
    return Page(number, width, height, tuple(lane_boxes), tuple(shapes), tuple(out_edges),
                tuple(labels)), []


def _port(rect: Rect, center: Point, toward: Point) -> Point:
    """Where a segment from the shape's centre toward ``toward`` meets its border."""
    (cx, cy), (tx, ty) = center, toward
    if abs(tx - cx) < 1e-6:
        return (cx, rect.bottom if ty > cy else rect.y)
    return (rect.right if tx > cx else rect.x, cy)


def _place_labels(edges: list[Edge], boxes: list[Rect], style: Style, width: float,
                  height: float, header_h: float, dividers: list[float] = (),
                  strict: bool = False, diamonds: list[Rect] = (),
                  clean: bool = False) -> list[Label]:
    """Put each exit label beside its edge, near the source, touching nothing else: no shape,
    no line, no other label and no lane divider (a label cut by a divider reads as two).
    A decision is an obstacle as the diamond it is drawn as, not as its bounding box: the
    corners beside its tips are where a label of a side exit belongs.

    ``strict`` (the final page): first every place within LABEL_REACH of the segment that
    leaves the decision; then, for a label that finds none, a few places along its edge.
    ``clean`` (with ``strict``): only places by that segment, clear of the dividers; a label
    that finds none is left out, for the caller to make room and try again.
    """
    size = style.label_size
    lh = size * style.line_height
    # what a label may not touch, as (left, top, right, bottom, tolerance): boxes as plain
    # tuples, because every candidate of every label is tested against every one of them
    blocked: list[tuple[float, float, float, float, float]] = []
    for box in boxes:
        r = Rect(box.x - 1, box.y - 1, box.w + 2, box.h + 2)
        blocked.append((r.x, r.y, r.right, r.bottom, 0.01))
    for e in edges:
        for (x1, y1), (x2, y2) in pairwise(e.points):
            left, top = min(x1, x2) - 1.0, min(y1, y2) - 1.0  # a point's clearance round it
            blocked.append((left, top, left + (abs(x2 - x1) + 2.0), top + (abs(y2 - y1) + 2.0),
                            0.01))
    walls = [(x - 1.0, header_h, x + 1.0, height, 0.01) for x in dividers]
    # a diamond as its centre and half diagonals, a point wider for clearance
    rhombs = [(d.cx, d.cy, d.w / 2 + 1.0, d.h / 2 + 1.0) for d in diamonds]
    bounds = Rect(0, header_h, width, height - header_h)
    # Rect.contains with its tolerance, the bounds' sides worked out as it does
    min_x, max_x = bounds.x - 0.01, bounds.right + 0.01
    min_y, max_y = bounds.y - 0.01, bounds.bottom + 0.01
    base = len(blocked)
    found: dict[tuple[int, int], list[Point]] = {}  # the places of each label's tries

    def place(order: list[int]) -> tuple[list[Label], list[int]]:
        """The labels placed in ``order``, and the edges whose label found no place by its
        exit (left out, or, unless ``clean``, put along its edge)."""
        del blocked[base:]  # what an earlier order placed
        placed: list[Label] = []
        astray: list[int] = []
        for i in order:
            near = _place_one(i, edges[i], placed)
            if not near:
                astray.append(i)
        return placed, astray

    def _place_one(i: int, edge: Edge, placed: list[Label]) -> bool:
        w = fonts.text_width(edge.label, size) + 2
        corners = _once(partial(_label_candidates, edge.points, w, lh))
        # every candidate lies within the edge's box widened by the label's size (and a
        # little, and the reach round the exit): only what reaches into that is tested
        xs, ys = [x for x, _ in edge.points], [y for _, y in edge.points]
        reach = w + lh + 8 + LABEL_REACH
        near_left, near_right = min(xs) - reach, max(xs) + reach
        near_top, near_bottom = min(ys) - reach, max(ys) + reach
        near = [b for b in blocked if b[0] < near_right and near_left < b[2]
                and b[1] < near_bottom and near_top < b[3]]
        near_walls = [b for b in walls if near_left < b[2] and b[0] < near_right]
        near_rhombs = [d for d in rhombs if near_left < d[0] + d[2] and d[0] - d[2] < near_right
                       and near_top < d[1] + d[3] and d[1] - d[3] < near_bottom]
        # with care: by its exit, clear of the dividers; else a few places along the edge,
        # clear of the dividers if it can be, across one rather than no label (the quality
        # report counts those)
        # the few places first; all along the edge only when none of those is free
        # the places of each try are worked out only when the tries before it failed
        tries = [(edge.label, w, lh, corners, near + near_walls),
                 (edge.label, w, lh, corners, near),
                 (edge.label, w, lh, partial(_along, edge.points, w, lh), near)]
        if strict:
            first = edge.points[0], edge.points[1]
            tries.insert(0, (edge.label, w, lh, partial(_near_first_segment, *first, w, lh),
                             near + near_walls))
            # a long label that finds no room on one line by its exit may in two
            lines = _two_lines(edge.label, size)
            if lines:
                w2 = max(fonts.text_width(line, size) for line in lines) + 2
                tries.insert(1, ("\n".join(lines), w2, 2 * lh,
                                 partial(_near_first_segment, *first, w2, 2 * lh),
                                 near + near_walls))
            if clean:
                tries = tries[:2 if lines else 1]
        near = (2 if lines else 1) if strict else len(tries)
        for k, (text, tw, th, spots, obstacles) in enumerate(tries):
            if (i, k) not in found:  # the places of a try, the same in either order
                found[i, k] = spots()
            rect = _first_free(found[i, k], tw, th, obstacles, (min_x, max_x, min_y, max_y),
                               near_rhombs)
            if rect is not None:
                placed.append(Label(text, rect, i, size))
                # a later label keeps a point clear of this one
                blocked.append((rect.x, rect.y, rect.right, rect.bottom, -1.0))
                return k < near
        return False

    order = [i for i, edge in enumerate(edges) if edge.label]
    placed, astray = place(order)
    if strict and astray:
        # a label placed earlier may have taken the only place by another's exit (已付款
        # below a box, where 单据不符退回 of its loop back fits too): those that found none
        # go first, and the placing that leaves fewer astray is kept
        again, astray_again = place(astray + [i for i in order if i not in astray])
        if len(astray_again) < len(astray):
            return sorted(again, key=lambda label: label.edge)
        placed, _ = place(order)
    return placed


def _once(make: Callable[[], list]) -> Callable[[], list]:
    """``make``, called the first time only."""
    kept: list[list] = []

    def get() -> list:
        if not kept:
            kept.append(make())
        return kept[0]

    return get


def _two_lines(text: str, size: float) -> list[str] | None:
    """A label of four characters or more as two even lines, broken with 禁则; else None."""
    if len(text) < 4:
        return None
    # 超过3000元 keeps 3000元 whole: at 0.6 of the width it is three lines, wider it is two;
    # broken between words where it can be (部门级/管理人员, not 部门级管/理人员)
    found = []
    for share in (0.6, 0.7, 0.8):
        lines = phrase_wrap(text, fonts.text_width(text, size) * share, size,
                            fonts.text_width)
        if len(lines) == 2:
            found.append((words_broken(lines), share, list(lines)))
    return min(found)[2] if found else None


def _reach(corner: Point, w: float, h: float, a: Point, b: Point) -> float:
    """From a label's rectangle to an axis-parallel segment (as the quality report measures)."""
    dx = max(corner[0] - max(a[0], b[0]), min(a[0], b[0]) - (corner[0] + w), 0.0)
    dy = max(corner[1] - max(a[1], b[1]), min(a[1], b[1]) - (corner[1] + h), 0.0)
    return math.hypot(dx, dy)


LABEL_REACH = 23.0  # points; the report allows 24: a point to spare for rounding


@lru_cache(maxsize=4096)
def _near_first_segment(a: Point, b: Point, w: float, h: float) -> tuple[Point, ...]:
    """Top left corners of the places tried for a label by the segment that leaves its
    decision: beside it and round its ends (above a box's corner, short of a lane divider),
    within LABEL_REACH of it, the nearest to the exit first. (The same segment and label
    come back with every trial page: a quarter of the calls.)"""
    (x1, y1), (x2, y2) = a, b
    reach = LABEL_REACH * LABEL_REACH
    out = []
    if abs(y1 - y2) < 1e-6:  # horizontal: slide along x, at a few distances above and below
        lo, hi = min(x1, x2), max(x1, x2)
        hi = min(hi, lo + NEAR_LENGTH) if x2 > x1 else hi
        lo = max(lo, hi - NEAR_LENGTH) if x2 < x1 else lo
        # how far from the segment along it, and from the exit, for each place along it
        along = [(x, max(lo - (x + w), x - hi, 0.0), abs(x + w / 2 - x1))
                 for x in _steps(lo - w - LABEL_REACH, hi + LABEL_REACH)]
        for side in (-1, 1):  # above, then below
            for d in NEAR_GAPS:
                y = y1 - h - d if side < 0 else y1 + d
                out += [(off + d, exit_off, x, y) for x, off, exit_off in along
                        if off * off + d * d <= reach]
    else:  # vertical: slide along y, at a few distances left and right
        lo, hi = min(y1, y2), max(y1, y2)
        hi = min(hi, lo + NEAR_LENGTH) if y2 > y1 else hi
        lo = max(lo, hi - NEAR_LENGTH) if y2 < y1 else lo
        along = [(y, max(lo - (y + h), y - hi, 0.0), abs(y + h / 2 - y1))
                 for y in _steps(lo - h - LABEL_REACH, hi + LABEL_REACH)]
        for d in NEAR_GAPS:
            for y, off, exit_off in along:
                if off * off + d * d <= reach:
                    out.append((off + d, exit_off, x1 + d, y))
                    out.append((off + d, exit_off, x1 - d - w, y))
    out.sort()
    return tuple((t[2], t[3]) for t in out)


NEAR_GAPS = (2.0, 7.0, 13.0, 19.0)  # points between a label and its segment, tried in turn
NEAR_LENGTH = 90.0  # how far along the first segment a label is looked for


def _steps(start: float, stop: float, step: float = 4.0) -> list[float]:
    return [start + k * step for k in range(int((stop - start) // step) + 1)]


def _first_free(corners: list[Point], w: float, h: float, obstacles: list,
                bounds: tuple[float, float, float, float], rhombs: list = ()) -> Rect | None:
    min_x, max_x, min_y, max_y = bounds
    for x0, y0 in corners:
        # candidates are corners: most are refused, and a Rect is made for the one kept
        x1, y1 = x0 + w, y0 + h
        if not (x0 >= min_x and x1 <= max_x and y0 >= min_y and y1 <= max_y):
            continue
        for left, top, right, bottom, tol in obstacles:
            if x0 < right - tol and left < x1 - tol and y0 < bottom - tol and top < y1 - tol:
                break
        else:
            if not any(_in_rhomb(x0, y0, x1, y1, rhomb) for rhomb in rhombs):
                return Rect(x0, y0, w, h)
    return None


def _in_rhomb(x0: float, y0: float, x1: float, y1: float,
              rhomb: tuple[float, float, float, float]) -> bool:
    """Whether the rectangle reaches into the diamond (centre, half diagonals): its point
    nearest the centre, axis by axis, lies inside."""
    cx, cy, hw, hh = rhomb
    dx = max(x0 - cx, cx - x1, 0.0)
    dy = max(y0 - cy, cy - y1, 0.0)
    return dx / hw + dy / hh < 1.0 - 1e-6


def _label_candidates(pts: tuple[Point, ...], w: float, h: float) -> list[Point]:
    """Top left corners of the places tried for a label ``w`` × ``h``, in order: a few along
    each segment of the edge from its source (the search every trial page makes; the final
    page searches round the exit, see _near_first_segment)."""
    out: list[Point] = []
    for (x1, y1), (x2, y2) in pairwise(pts):
        if abs(x1 - x2) < 1e-6:  # vertical: beside it, from the start down
            lo, hi = min(y1, y2), max(y1, y2)
            for y in (lo + 2, (lo + hi) / 2 - h / 2, hi - h - 2):
                if y >= lo and y + h <= hi:
                    out.append((x1 + 3, y))
                    out.append((x1 - 3 - w, y))
        else:  # horizontal: above it, from the start
            lo, hi = min(x1, x2), max(x1, x2)
            starts = (x1 + 3, x1 - 3 - w) if x2 > x1 else (x1 - 3 - w, x1 + 3)
            for x in (*starts, (lo + hi) / 2 - w / 2):
                if x >= lo and x + w <= hi:
                    out.append((x, y1 - h - 2))
                    out.append((x, y1 + 2))
    return out


LABEL_STEP = 6.0  # points between the places tried along a segment


def _along(pts: tuple[Point, ...], w: float, h: float) -> list[Point]:
    """Top left corners of places every LABEL_STEP along each segment of the edge, beside it,
    from its source on."""
    out: list[Point] = []
    for (x1, y1), (x2, y2) in pairwise(pts):
        if abs(x1 - x2) < 1e-6:
            lo, hi = min(y1, y2), max(y1, y2)
            n = int((hi - lo - h - 4) // LABEL_STEP) + 1
            ys = [y1 + 2 + k * LABEL_STEP for k in range(n)] if y2 > y1 else \
                [y1 - 2 - h - k * LABEL_STEP for k in range(n)]
            for y in ys:
                out += [(x1 + 3, y), (x1 - 3 - w, y)]
        else:
            lo, hi = min(x1, x2), max(x1, x2)
            n = int((hi - lo - w - 6) // LABEL_STEP) + 1
            xs = [x1 + 3 + k * LABEL_STEP for k in range(n)] if x2 > x1 else \
                [x1 - 3 - w - k * LABEL_STEP for k in range(n)]
            for x in xs:
                out += [(x, y1 - h - 2), (x, y1 + 2)]
    return out


def _circled(n: int) -> str:
    return chr(0x2460 + n - 1) if 1 <= n <= 20 else str(n)
