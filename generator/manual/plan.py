"""What the manual contains, decided once for both writers (DOCX and PDF).

The plan resolves everything a writer would otherwise have to decide: the status each flow
may print (受控 only with a sign-off bound to its content), the watermark of every page, the
text of the templates, the revision history and each chart's geometry. Writers only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from ..diagram import Chart, layout
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


SECTION_HEAD = 110.0  # the title, header table and 管理行为 line above a chart, in points
# Word and LibreOffice set the tables a few points taller than the PDF writer does: a section
# that fits its page by less than this goes on two pages in both, so the two never paginate a
# page apart (a chart 8 pt shorter once did exactly that)
FIT_MARGIN = 24.0
CAPTION = 24.0  # 管理行为（续） above a continued chart
CELL_LEADING = 14.0  # the tables' line height, as both writers set it
CELL_PADDING = 6.0  # above and below a cell's text
TAIL_SPACE = 14.0  # between the chart, 相关说明 and the sign-off block


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
        above = SECTION_HEAD if len(pages) == 1 else CAPTION
        return (above + pages[-1].height + tail_height(self.flow, self.charts.frame[0])
                + FIT_MARGIN <= self.charts.frame[1])

    @property
    def effective(self) -> str:
        """生效日期: the day the flow's approval was signed (blank while it is not approved)."""
        approved = self.flow.signoff.approved
        return approved.on.isoformat() if approved is not None and self.status == "受控" else ""


def tail_height(flow: Flow, width: float) -> float:
    """The height of 相关说明 and the sign-off block below a chart ``width`` wide."""
    from .. import fonts
    from ..typography import wrap

    notes = wrap(flow.notes or "无", width * 5 / 6 - 8, 10, fonts.text_width)
    return (TAIL_SPACE + len(notes) * CELL_LEADING + CELL_PADDING
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
    """The chart as the manual prints it, below the flow's header table: the chart itself if
    its first page fits there, else laid out again to continue on a second page."""
    room = chart.frame[1] - SECTION_HEAD - FIT_MARGIN
    if chart.pages[0].height <= room:
        return chart
    return layout(flow, orientation=chart.orientation, first=room)


def split_reasons(plan: Plan) -> list[str]:
    """One line per chart the manual prints on more than one page, saying why."""
    return [f"{s.flow.code}: the chart does not fit under the header table "
            f"({s.charts.frame[1] - SECTION_HEAD - FIT_MARGIN:.0f} pt left there): "
            f"continued on {len(s.charts.pages) - 1} more page(s)"
            for s in plan.sections if len(s.charts.pages) > 1]


def make_plan(library: Library, templates: Path, copy: Copy, history: list[Revision],
              charts: dict[str, Chart] | None = None) -> Plan:
    if library.manual is None or library.org is None:
        raise FlowdocError("flows/manual.yaml and flows/org.yaml are needed to build the manual")
    listed = {d.copy: d.holder for d in library.manual.distribution}
    if copy.controlled and listed and listed.get(copy.number) != copy.holder:
        # a numbered copy that the 分发清单 does not list, or lists for another holder, would
        # be a second copy of one number in circulation
        raise FlowdocError(f"copy {copy.number} for {copy.holder} is not in the distribution "
                           f"list of flows/manual.yaml"
                           + (f" (it lists copy {copy.number} for {listed[copy.number]})"
                              if copy.number in listed else ""))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                             undefined=jinja2.StrictUndefined, autoescape=False,
                             keep_trailing_newline=True)
    flows = library.flows
    context = {"manual": library.manual, "flows": flows, "copy": copy.number,
               "holder": copy.holder,
               "controlled": sum(1 for f in flows if f.effective_status == "受控")}
    try:
        preface = env.get_template("preface.j2").render(context)
        control = env.get_template("control.j2").render(context)
    except jinja2.TemplateNotFound as exc:
        raise FlowdocError(f"{templates}/{exc.name}: template not found") from None
    except jinja2.TemplateError as exc:
        raise FlowdocError(f"{templates}: {exc}") from None
    charts = charts or {}
    sections = tuple(
        Section(f, f.effective_status, watermark(f.effective_status, copy),
                under_header(f, charts.get(f.code) or layout(f)))
        for f in flows)
    front = watermark("受控", copy)
    return Plan(library.manual, library.org, copy, front, paragraphs(control), paragraphs(preface),
                tuple(history), sections)
