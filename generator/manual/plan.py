"""What the manual contains, decided once for both writers (DOCX and PDF).

The plan resolves everything a writer would otherwise have to decide: the status each flow
may print (受控 only with a sign-off bound to its content), the watermark of every page, the
text of the templates, the revision history and each chart's geometry. Writers only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from ..diagram import DEFAULT_STYLE, Chart, LayoutError, layout
from ..errors import FlowdocError
from ..model import Flow, Library, Manual, Org
from .history import Revision


@dataclass(frozen=True)
class Copy:
    """A numbered controlled copy (``number`` and ``holder``), or an uncontrolled print."""

    number: int | None = None
    holder: str | None = None

    @property
    def controlled(self) -> bool:
        return self.number is not None


CAPTION_ABOVE = 20.0  # 管理行为 above a chart: 4 pt, its line, 2 pt
# A section that fits its page by less than this goes on two pages in both writers, so that a
# reader who sets the DOCX a little taller than the PDF never paginates a page apart. Measured
# on the bundled manual, LibreOffice sets every flow section of the DOCX 4-10 pt shorter than
# the PDF with the bundled font and 9-23 pt shorter with a machine's own (its table rows have
# no cell padding): 3.5 pt is kept for a reader who does otherwise (it was 24, which pushed
# 相关说明 and the sign-off of sections that fitted onto a page of their own, then 8, which
# sent EC-HR-008's chart, 4 pt too tall for it, on to a second page).
FIT_MARGIN = 3.5
TEMPLATES = ("preface.j2", "control.j2")  # the manual's 前言 and its 文件控制页
CAPTION = 20.0  # 管理行为（续） above a continued chart
CELL_LEADING = 14.0  # the tables' line height, as both writers set it
CELL_PADDING = 6.0  # above and below a cell's text
# between the chart and 相关说明; the sign-off block follows 相关说明 with no gap, one block
# whose label column lines up with the header table's (it was 8 + 6 pt)
TAIL_SPACE = 6.0


@dataclass(frozen=True)
class Section:
    flow: Flow
    status: str  # what this copy prints: the effective status
    watermark: str
    charts: Chart

    @property
    def one_page(self) -> bool:
        """Whether 相关说明 and the sign-off block fit on the chart's (last) page.

        Every section keeps one order: header table, chart, 相关说明, sign-off. When the last
        two do not fit under the chart they take the next page (both writers break there
        explicitly, so Word, LibreOffice and the PDF agree).
        """
        pages = self.charts.pages
        above = section_head(self.flow, self.charts.frame[0]) if len(pages) == 1 else CAPTION
        return (above + pages[-1].height + tail_height(self.flow, self.charts.frame[0])
                + FIT_MARGIN <= self.charts.frame[1])

    @property
    def effective(self) -> str:
        """生效日期: the day the flow's approval was signed (blank while it is not approved)."""
        approved = self.flow.signoff.approved
        return approved.on.isoformat() if approved is not None and self.status == "受控" else ""


HEADER_COLUMNS = (0.82, 2.41, 0.6, 0.85, 0.6, 0.72)  # sixths of the width


def flow_header_rows(flow: Flow, status: str, effective: str, width: float) -> list[list[str]]:
    """The flow's header table, as both writers print it (``width`` the table's)."""
    lanes_width = width / 6 * sum(HEADER_COLUMNS[1:4]) - 10  # the merged cell, less padding
    return [["流程名称", flow.name, "流程编码", flow.code, "受控状态", status],
            ["执行核心部门", flow.owner_department, "控制部门", flow.control_department, "版本",
             flow.revision],
            ["行为实施环节", lanes_text([lane.name for lane in flow.lanes], lanes_width), "", "",
             "生效日期", effective]]


# the header table's merged cells, ``(row, first, last)``: the lanes
HEADER_MERGES = ((2, 1, 3),)


def notes_rows(flow: Flow) -> list[list[str]]:
    """相关说明 and 保存期限 below the chart, as both writers print them (each text in one
    cell merged across the five columns after its label)."""
    return [["相关说明", flow.notes or "无", "", "", "", ""],
            ["保存期限", flow.retention_text, "", "", "", ""]]


NOTES_MERGES = ((0, 1, 5), (1, 1, 5))


def notes_widths(width: float) -> list[float]:
    """The columns of 相关说明: the label as wide as the header table's first column, the
    text the rest (a line less for a long note than in a sixth of the width)."""
    label = _label_width(width)
    return [label] + [(width - label) / 5] * 5


def signoff_widths(width: float) -> list[float]:
    """The sign-off block's columns: each label as wide as the header table's first column,
    lined up with it and with 相关说明 above, the names and dates (wet signatures) the rest."""
    label = _label_width(width)
    return [label, width / 3 - label] * 3


def _label_width(width: float) -> float:
    """The header table's first column, which the labels of the blocks below line up with."""
    return width / 6 * HEADER_COLUMNS[0]


def lanes_text(names: list[str], width: float, size: float = 10.0) -> str:
    """The lanes joined by arrows, broken between lanes only (a lane's name is a word: 总经理
    办公会议 never ends one line and starts the next); both writers keep the breaks. The arrow
    has a space each side, not an ideographic one: five lanes then take one line, not two."""
    from .. import fonts

    lines: list[str] = []
    for name in names:
        candidate = f"{lines[-1]} → {name}" if lines else name
        if lines and fonts.text_width(candidate, size) <= width:
            lines[-1] = candidate
        elif lines:
            lines[-1] += " →"
            lines.append(name)
        else:
            lines.append(name)
    return "\n".join(lines)


def section_head(flow: Flow, width: float) -> float:
    """The height above a flow's chart on its first page: the header table, row by row as the
    PDF sets it (each cell's lines, balanced, in its column less the padding), and 管理行为.
    Measured, not a fixed allowance: a flow whose table is three lines high leaves its chart
    the room the allowance for a taller one would waste."""
    from .. import fonts
    from ..typography import balanced_wrap

    columns = [width / 6 * k for k in HEADER_COLUMNS]
    height = 0.0
    # the status and the date are the widest values those cells take (受控, 2026-10-28)
    for r, row in enumerate(flow_header_rows(flow, "受控", "2026-01-01", width)):
        lines = 1
        spans = {(m[0], m[1]): m[2] for m in HEADER_MERGES}
        for c, text in enumerate(row):
            if any(r == m[0] and m[1] < c <= m[2] for m in HEADER_MERGES):
                continue  # merged into the cell before
            cell = sum(columns[c:spans.get((r, c), c) + 1])
            count = sum(len(balanced_wrap(part, cell - 8, 10, fonts.text_width))
                        for part in text.split("\n"))
            lines = max(lines, count)
        height += lines * CELL_LEADING + CELL_PADDING
    return height + CAPTION_ABOVE


def tail_height(flow: Flow, width: float) -> float:
    """The height of 相关说明 and the sign-off block below a chart ``width`` wide."""
    from .. import fonts
    from ..typography import wrap

    text = width - notes_widths(width)[0] - 8
    lines = sum(len(wrap(row[1], text, 10, fonts.text_width)) for row in notes_rows(flow))
    return (TAIL_SPACE + lines * CELL_LEADING + 2 * CELL_PADDING
            + 2 * (CELL_LEADING + CELL_PADDING))


@dataclass(frozen=True)
class Plan:
    manual: Manual
    org: Org
    copy: Copy
    watermark: str  # of the front matter
    control: tuple[str, ...]  # paragraphs of the document-control page
    preface: tuple[str, ...]  # paragraphs of 序章
    history: tuple[Revision, ...]
    sections: tuple[Section, ...]

    @property
    def stamp(self) -> str:
        return "受控" if self.copy.controlled else "非受控"


def signoff_rows(signoff, content_hash: str | None) -> list[list[str]]:
    """The 编制/审核/批准 block as the source prints it: names, then dates. A signature given
    to other content than ``content_hash``, or not verified against the signer's key, is left
    blank, for a wet signature."""
    names, dates = [], []
    for _, _, entry in signoff.entries():
        valid = entry is not None and (content_hash is None
                                       or (entry.hash == content_hash and entry.valid))
        names.append(entry.by if valid else "")
        dates.append(entry.on.isoformat() if valid else "")
    return [["编制人员", names[0], "审核人员", names[1], "批准人员", names[2]],
            ["编制日期", dates[0], "审核日期", dates[1], "批准日期", dates[2]]]


def watermark(status: str, copy: Copy) -> str:
    """The diagonal text of a page, by what it prints."""
    if status == "草稿":
        return "草稿"
    if status == "作废":
        return "作废"
    if status == "受控" and copy.controlled:
        return f"受控文件 第{copy.number}号"
    if status == "受控":
        # a controlled flow in an uncontrolled print: its header table says 受控 (the flow is),
        # the page says this print is not a controlled copy; the control page explains both
        return "非受控副本 仅供参考"
    return "非受控文件 仅供参考"


def paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p.strip().replace("\n", "") for p in text.split("\n\n") if p.strip())


def under_header(flow: Flow, chart: Chart) -> Chart:
    """The chart as the manual prints it, below the flow's header table.

    The chart itself where it fits there with 相关说明 and the sign-off under it (one page).
    A chart that fits there alone would leave 相关说明 and the sign-off alone on the next
    page, a page a controller sends back as wasted: it is laid out again to continue on the
    second page instead, cut so that the rows it carries over make that page at least a
    quarter full. A chart too tall for the room under the header table continues there too.
    """
    width, frame_h = chart.frame
    room = frame_h - section_head(flow, width) - FIT_MARGIN
    tail = tail_height(flow, width)
    if len(chart.pages) == 1 and chart.pages[0].height + tail <= room:
        return chart
    if len(chart.pages) > 1 or chart.pages[0].height > room:
        # a cut the router cannot connect is tried a little higher; failing that, the chart
        # as laid out on its own pages is printed (it always routes)
        for carried in (0.0, 60.0, 120.0):
            try:
                return layout(flow, orientation=chart.orientation, first=room - carried)
            except LayoutError:
                continue
        return chart
    split = chart
    for carried in (0.0, 60.0, 120.0, 180.0):
        try:
            found = layout(flow, orientation=chart.orientation, first=room - tail - carried)
        except LayoutError:
            continue
        split = found
        if len(split.pages) == 2 and CAPTION + split.pages[-1].height + tail >= frame_h / 4:
            break
    return split


def split_reasons(plan: Plan) -> list[str]:
    """One line per chart the manual prints on more than one page, saying why."""
    out = []
    for s in plan.sections:
        if len(s.charts.pages) > 1:
            room = s.charts.frame[1] - section_head(s.flow, s.charts.frame[0]) - FIT_MARGIN
            out.append(f"{s.flow.code}: the chart, 相关说明 and the sign-off need more than "
                       f"the {room:.0f} pt under the header table: the chart continues on "
                       f"{len(s.charts.pages) - 1} more page(s)")
    return out


def check_copy(library: Library, copy: Copy) -> None:
    """Refuse a manual that cannot be made: no manual.yaml or org.yaml, or a numbered copy
    that the 分发清单 does not list, or lists for another holder (a second copy of one number
    in circulation). A build asks before it draws anything."""
    if library.manual is None or library.org is None:
        raise FlowdocError("flows/manual.yaml and flows/org.yaml are needed to build the manual")
    listed = {d.copy: d.holder for d in library.manual.distribution}
    if copy.controlled and listed and listed.get(copy.number) != copy.holder:
        raise FlowdocError(f"copy {copy.number} for {copy.holder} is not in the distribution "
                           f"list of flows/manual.yaml"
                           + (f" (it lists copy {copy.number} for {listed[copy.number]})"
                              if copy.number in listed else ""))


def make_plan(library: Library, templates: Path, copy: Copy, history: list[Revision],
              charts: dict[str, Chart] | None = None) -> Plan:
    """What the manual prints; ``charts`` gives flows' charts as the manual prints them (from
    :func:`under_header`: the build lays them out in its workers), others are laid out here."""
    check_copy(library, copy)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                             undefined=jinja2.StrictUndefined, autoescape=False,
                             keep_trailing_newline=True)
    flows = library.flows
    context = {"manual": library.manual, "flows": flows, "copy": copy.number,
               "holder": copy.holder,
               "controlled": sum(1 for f in flows if f.effective_status == "受控")}
    try:
        preface = env.get_template(TEMPLATES[0]).render(context)
        control = env.get_template(TEMPLATES[1]).render(context)
    except jinja2.TemplateNotFound as exc:
        raise FlowdocError(f"{templates}/{exc.name}: template not found") from None
    except jinja2.TemplateError as exc:
        raise FlowdocError(f"{templates}: {exc}") from None
    charts = charts or {}
    sections = tuple(
        Section(f, f.effective_status, watermark(f.effective_status, copy),
                charts.get(f.code) or under_header(f, layout(f)))
        for f in flows)
    front = watermark("受控", copy)
    return Plan(library.manual, library.org, copy, front, paragraphs(control), paragraphs(preface),
                tuple(history), sections)


# -- what both writers print alike: page geometry, the rows of the tables, the running header

MARGIN_X = DEFAULT_STYLE.margin  # the charts are laid out for exactly this frame
MARGIN_TOP = 50.0
MARGIN_BOTTOM = DEFAULT_STYLE.margin + DEFAULT_STYLE.title_band - (MARGIN_TOP - DEFAULT_STYLE.margin)
TOC_LEADING = 15.0  # a contents line
TOTAL = "~total"  # the key of the page count (the cover not counted) among the entries' pages
LEGEND = "~legend"  # the key of the legend's (PNG, SVG) among the charts' pictures


def running_header(plan: Plan, code: str, mark: str) -> str:
    """The right part of the running header: document number, revision, the section's flow
    code and the page's status, the same words as its watermark (a numbered copy's number
    included), so the two never disagree and the status shows where a picture hides the
    watermark."""
    m = plan.manual
    text = f"文件编号：{m.document_number}　版本：{m.revision}"
    if code:
        text += f"　流程编码：{code}"
    return f"{text}　{mark}"


HISTORY_WIDTHS = (40, 66, None, 48, 48, 66)  # None: the rest of the width


def history_rows(plan: Plan) -> list[list[str]]:
    """修订记录, as both writers print it: what changed, who revised, who approved, from when."""
    rows = [["版本", "日期", "修订内容", "修订人", "批准人", "生效日期"]]
    for rev in plan.history:
        rows.append([rev.revision, rev.date, "\n".join(rev.changes), rev.author, rev.approver,
                     rev.effective])
    return rows


def history_widths(width: float) -> list[float]:
    rest = width - sum(w for w in HISTORY_WIDTHS if w)
    return [w or rest for w in HISTORY_WIDTHS]


def distribution_rows(plan: Plan) -> list[list[str]]:
    """分发清单: every numbered copy, its holder and issue date, and room to sign its return."""
    rows = [["副本编号", "持有部门", "发放日期", "签收", "回收日期", "回收人"]]
    for d in plan.manual.distribution:
        rows.append([f"第 {d.copy} 号", d.holder, d.issued.isoformat(), "", "", ""])
    return rows


AUTHORITY_WIDTHS = (60, 30, None, 110)  # None: the rest of the width


def authority_rows(plan: Plan) -> list[list[str]]:
    """授权审批权限表 (org.yaml's ``authority``), as both writers print it: each kind of limit,
    up to which amount each role approves it, and the flows whose conditions apply it."""
    rows = [["类别", "单位", "审批权限（每级审批的最高金额，超过即上报下一级）", "适用流程"]]
    for kind in plan.org.authority:
        levels = "；".join(f"{plan.org.role(r).name if plan.org.role(r) else r} ≤ {n:,}"
                          for r, n in kind.limits)
        users = [s.flow.code for s in plan.sections
                 if any(kind.id == k for e in _conditions(s.flow) for k, _ in e.limits)]
        rows.append([kind.name, kind.unit, levels + (f"\n{kind.note}" if kind.note else ""),
                     "、".join(users) or "—"])
    return rows


def _conditions(flow: Flow) -> list:
    return [e.when for s in flow.steps for e in s.exits if e.when] + \
        [f.derive for f in flow.fields if f.derive]


def authority_widths(width: float) -> list[float]:
    rest = width - sum(w for w in AUTHORITY_WIDTHS if w)
    return [w or rest for w in AUTHORITY_WIDTHS]


def header_rows(section: Section, width: float) -> list[list[str]]:
    """The flow's header table, as both writers print it (``width`` the table's)."""
    return flow_header_rows(section.flow, section.status, section.effective, width)
