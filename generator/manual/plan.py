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
# Word and LibreOffice set the header table a few points taller than the PDF writer does: a
# chart that fits under it by less than this goes to pages of its own in both, so the two
# never paginate a page apart (a chart 8 pt shorter once did exactly that)
FIT_MARGIN = 24.0


@dataclass(frozen=True)
class Section:
    flow: Flow
    status: str  # what this copy prints: the effective status
    watermark: str
    charts: Chart

    @property
    def chart_below_header(self) -> bool:
        """Whether the first chart page fits under the header table on the section's first page.

        When it does not, the first page takes the header table, 相关说明 and the sign-off
        block, and the chart follows on pages of its own, rather than leaving a page blank.
        """
        return self.charts.pages[0].height + SECTION_HEAD + FIT_MARGIN <= self.charts.frame[1]


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
    return "非受控文件 仅供参考"


def paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p.strip().replace("\n", "") for p in text.split("\n\n") if p.strip())


def make_plan(library: Library, templates: Path, copy: Copy, history: list[Revision],
              charts: dict[str, Chart] | None = None) -> Plan:
    if library.manual is None or library.org is None:
        raise FlowdocError("flows/manual.yaml and flows/org.yaml are needed to build the manual")
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
                charts.get(f.code) or layout(f))
        for f in flows)
    front = watermark("受控", copy)
    return Plan(library.manual, library.org, copy, front, paragraphs(control), paragraphs(preface),
                tuple(history), sections)
