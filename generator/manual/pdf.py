"""The manual as PDF (reportlab platypus): no LibreOffice at run time, every font embedded.

Text is set by :class:`Lines`, which breaks with flowdoc's own 禁则 (the same code as the
charts), and charts are drawn as vectors by the chart writer itself, at their true size on a
page of the orientation they were laid out for. Every page gets the header (document number,
revision, the flow code of its section), the footer 第 X 页 共 Y 页 and the watermark of its
status; the outline has one entry per flow.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

from reportlab.lib.colors import Color, HexColor
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .. import fonts
from ..diagram import A4, draw_page
from ..diagram.geometry import Page
from ..diagram.legend import legend_page
from ..typography import balanced_wrap, wrap
from .plan import (
    HEADER_COLUMNS,
    HEADER_MERGES,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    NOTES_MERGES,
    TOC_LEADING,
    TOTAL,
    Plan,
    Section,
    authority_rows,
    authority_widths,
    distribution_rows,
    header_rows,
    history_rows,
    history_widths,
    notes_rows,
    notes_widths,
    running_header,
    signoff_rows,
    signoff_widths,
)

INK = HexColor("#1a1a1a")
RULE = HexColor("#555555")
RED = HexColor("#c0272d")


@dataclass(frozen=True)
class TextStyle:
    size: float = 10.5
    leading: float = 17.0
    align: str = "left"  # left | center
    color: Color = INK
    space_after: float = 0.0
    balanced: bool = False  # lines as even as the same count allows: no lone last character


BODY = TextStyle(space_after=6)
CELL = TextStyle(size=10, leading=14, balanced=True)
CELL_C = TextStyle(size=10, leading=14, align="center", balanced=True)
H1 = TextStyle(size=16, leading=24, space_after=10)
TITLE = TextStyle(size=26, leading=36, align="center")
SUB = TextStyle(size=14, leading=22, align="center")


@lru_cache(maxsize=4096)
def _set(text: str, width: float, size: float, balanced: bool) -> list[str]:
    # reportlab asks a paragraph its height again and again (a table measures each cell, and
    # KeepTogether measures its content twice): broken once per width
    breaker = balanced_wrap if balanced else wrap
    return breaker(text, width, size, fonts.text_width)


class Lines(Flowable):
    """A paragraph of Chinese text broken with 禁则 at whatever width it is given."""

    def __init__(self, text: str, style: TextStyle = BODY, indent_first: bool = False) -> None:
        super().__init__()
        self.text = text
        self.style = style
        self.indent = 2 * style.size if indent_first else 0.0
        self.lines: list[str] = []

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        # the first-line indent (two characters, as Chinese prose is set) is a prefix to wrap
        pad = "\u3000\u3000" if self.indent else ""
        self.lines = _set(pad + self.text, avail_width, self.style.size, self.style.balanced)
        self.height = len(self.lines) * self.style.leading + self.style.space_after
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.setFont(fonts.register(), self.style.size)
        c.setFillColor(self.style.color)
        y = self.height - self.style.space_after
        for line in self.lines:
            y -= self.style.leading
            baseline = y + (self.style.leading - self.style.size) / 2 + self.style.size * 0.12
            if self.style.align == "center":
                c.drawCentredString(self.width / 2, baseline, line)
            else:
                c.drawString(0, baseline, line)


class ChartPage(Flowable):
    """One page of a swimlane chart, drawn as vectors at its true size."""

    def __init__(self, page: Page) -> None:
        super().__init__()
        self.page = page

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.page.width, self.page.height

    def draw(self) -> None:
        draw_page(self.canv, self.page, 0, self.page.height)


class Contents(Flowable):
    """目录: one line per entry (title, dot leaders, page number) in a height known before any
    page is: the titles are drawn where the contents fall, the numbers once the canvas is
    saved (:class:`NumberedCanvas`), when every entry's page is known. One pass of the story
    makes the manual; reportlab's TableOfContents needs two (a third of the PDF's time)."""

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self.entries = entries  # (key, title)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.height = len(self.entries) * TOC_LEADING
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        fit = int(avail_height // TOC_LEADING)
        if fit < 1 or fit >= len(self.entries):
            return []
        return [Contents(self.entries[:fit]), Contents(self.entries[fit:])]

    def drawOn(self, canvas, x: float, y: float, _sW: float = 0) -> None:
        # absolute position on the page: the numbers are drawn after the story has been laid
        # out, outside any flowable's translated coordinates
        canvas.contents.append((canvas.getPageNumber(), x, y, self,
                                canvas._doctemplate.entry_pages))
        super().drawOn(canvas, x, y, _sW)

    def draw(self) -> None:
        c = self.canv
        c.setFont(fonts.register(), TOC_SIZE)
        c.setFillColor(INK)
        for i, (_key, title) in enumerate(self.entries):
            c.drawString(0, self.height - (i + 1) * TOC_LEADING + TOC_BASELINE, title)

    def draw_numbers(self, canvas: Canvas, x: float, y: float, pages: dict[str, int]) -> None:
        """Leaders and page numbers, at the absolute ``x``, ``y`` the flowable was drawn at."""
        canvas.saveState()
        canvas.setFont(fonts.register(), TOC_SIZE)
        canvas.setFillColor(INK)
        dot = fonts.text_width(".", TOC_SIZE)
        for i, (key, title) in enumerate(self.entries):
            baseline = y + self.height - (i + 1) * TOC_LEADING + TOC_BASELINE
            number = str(pages[key])
            canvas.drawRightString(x + self.width, baseline, number)
            start = x + fonts.text_width(title, TOC_SIZE) + TOC_SIZE / 2
            end = x + self.width - fonts.text_width(number, TOC_SIZE) - TOC_SIZE / 2
            # on one grid for every line, so the leaders stand in columns
            first = -(-(start - x) // TOC_DOT_PITCH) * TOC_DOT_PITCH + x
            count = int((end - dot - first) // TOC_DOT_PITCH) + 1
            if count > 0:
                text = canvas.beginText(first, baseline)
                text.setFont(fonts.register(), TOC_SIZE)
                text.setCharSpace(TOC_DOT_PITCH - dot)
                text.textOut("." * count)
                text.setCharSpace(0)  # the spacing is the leaders' alone
                canvas.drawText(text)
        canvas.restoreState()


class Marker(Flowable):
    """Zero-size: starts a section (its header code and watermark), a bookmark and a TOC entry."""

    def __init__(self, code: str, watermark: str, title: str | None = None, key: str | None = None,
                 level: int = 0) -> None:
        super().__init__()
        self.code, self.watermark, self.title, self.key, self.level = code, watermark, title, key, level
        self.width = self.height = 0

    def wrap(self, *_: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        doc = self.canv._doctemplate
        doc.section_code, doc.section_watermark = self.code, self.watermark
        if self.key:
            self.canv.bookmarkPage(self.key)
            self.canv.addOutlineEntry(self.title, self.key, level=self.level, closed=True)


class ManualDoc(BaseDocTemplate):
    def __init__(self, out, plan: Plan) -> None:
        font = fonts.register()
        super().__init__(
            out, pagesize=A4, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM, title=f"{plan.manual.title}（{plan.manual.document_number}）",
            author=f"{plan.manual.company} {plan.manual.department}",
            subject=f"受控文件 {plan.manual.document_number} 版本 {plan.manual.revision}",
            keywords=[plan.manual.document_number, "流程管理", "受控文件",
                      *(s.flow.code for s in plan.sections)],
            creator="flowdoc", producer="flowdoc", invariant=1, initialFontName=font,
            pageCompression=1, displayDocTitle=1, lang="zh-CN")
        self.plan = plan
        self.pages = 0
        self.entry_pages: dict[str, int] = {}
        self.section_code = ""
        self.section_watermark = plan.watermark
        portrait = Frame(MARGIN_X, MARGIN_BOTTOM, A4[0] - 2 * MARGIN_X,
                         A4[1] - MARGIN_TOP - MARGIN_BOTTOM, 0, 0, 0, 0, id="p")
        landscape = Frame(MARGIN_X, MARGIN_BOTTOM, A4[1] - 2 * MARGIN_X,
                          A4[0] - MARGIN_TOP - MARGIN_BOTTOM, 0, 0, 0, 0, id="l")
        self.addPageTemplates([
            PageTemplate("portrait", [portrait], onPageEnd=self.decorate, pagesize=A4),
            PageTemplate("landscape", [landscape], onPageEnd=self.decorate,
                         pagesize=(A4[1], A4[0])),
        ])

    def afterFlowable(self, flowable: Flowable) -> None:
        # numbered as the footers are: the cover is not counted
        if isinstance(flowable, Marker) and flowable.key not in (None, "cover") \
                and flowable.level == 0:
            self.entry_pages[flowable.key] = self.page - 1

    def decorate(self, canvas, doc) -> None:
        """Header, footer and watermark, drawn after the page's content."""
        w, h = canvas._pagesize
        font = fonts.register()
        m = self.plan.manual
        canvas.saveState()
        if doc.page > 1:  # the cover has no running header
            canvas.setFont(font, 9)
            canvas.setFillColor(INK)
            canvas.drawString(MARGIN_X, h - 30, m.title)
            canvas.drawRightString(w - MARGIN_X, h - 30,
                                   running_header(self.plan, self.section_code,
                                                  self.section_watermark))
            canvas.setStrokeColor(RULE)
            canvas.setLineWidth(0.6)
            canvas.line(MARGIN_X, h - 36, w - MARGIN_X, h - 36)
        # the footer (第 X 页 共 Y 页) is drawn by NumberedCanvas once the total is known
        canvas.setFillColor(Color(0.55, 0.55, 0.55, alpha=0.16))
        canvas.translate(w / 2, h / 2)
        canvas.rotate(35)
        size = 64 if len(self.section_watermark) <= 4 else 48
        canvas.setFont(font, size)
        canvas.drawCentredString(0, -size / 3, self.section_watermark)
        canvas.restoreState()
        self.pages = doc.page


def _table(rows, widths, spans=(), header_cols=(0,), align_center=False) -> Table:
    style = [
        ("FONT", (0, 0), (-1, -1), fonts.register(), 10),  # else the table names Helvetica
        ("GRID", (0, 0), (-1, -1), 0.6, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for col in header_cols:
        style.append(("BACKGROUND", (col, 0), (col, -1), HexColor("#eef1f5")))
    style += [("SPAN", a, b) for a, b in spans]
    cells = [[_cell(c, CELL_C if align_center else CELL) for c in row] for row in rows]
    return Table(cells, colWidths=widths, style=TableStyle(style))


def _cell(content, style: TextStyle):
    """A table cell: text (a line break in it kept, as the DOCX keeps it), or a flowable."""
    if not isinstance(content, str):
        return content
    parts = content.split("\n")
    return Lines(content, style) if len(parts) == 1 else [Lines(p, style) for p in parts]


def _cover(plan: Plan) -> list[Flowable]:
    m = plan.manual
    story: list[Flowable] = [Marker("", plan.watermark, "封面", "cover", 0), Spacer(1, 60),
                             Lines(f"{m.company}", SUB), Lines(m.department, SUB), Spacer(1, 70),
                             Lines(m.title, TITLE), Spacer(1, 16)]
    if m.confidentiality:
        story.append(Lines(f"（{m.confidentiality}）", SUB))
    story.append(Spacer(1, 70))
    rows = [["文件编号", m.document_number], ["版　　本", m.revision],
            ["发布日期", m.issue_date.isoformat()], ["生效日期", m.effective_date.isoformat()],
            ["受控状态", "受控" if plan.copy.controlled else "非受控"]]
    if plan.copy.controlled:
        rows += [["副本编号", f"第 {plan.copy.number} 号"], ["持有部门", plan.copy.holder or ""]]
    story.append(_table(rows, [90, 220], align_center=True))
    story += [Spacer(1, 40), Stamp(plan.stamp), PageBreak()]
    return story


class Stamp(Flowable):
    """The 受控/非受控 stamp of the cover: red text in a red frame."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.avail = avail_width
        return avail_width, 50

    def draw(self) -> None:
        c = self.canv
        w = fonts.text_width(self.text, 22) + 30
        x = (self.avail - w) / 2
        c.setStrokeColor(RED)
        c.setLineWidth(2)
        c.rect(x, 4, w, 40)
        c.setFillColor(RED)
        c.setFont(fonts.register(), 22)
        c.drawCentredString(self.avail / 2, 16, self.text)


def _front(plan: Plan, width: float) -> list[Flowable]:
    m = plan.manual
    story: list[Flowable] = [Marker("", plan.watermark, "文件控制页", "control", 0),
                             Lines("文件控制页", H1)]
    story += [Lines(p, BODY, indent_first=True) for p in plan.control]
    story += [Spacer(1, 10), Lines("本手册审批记录", CELL)]
    cols = [width / 6] * 6
    story.append(_table(signoff_rows(m.signoff, None), cols, header_cols=(0, 2, 4)))
    story += distribution(plan, width)
    # 修订记录 follows on the same page: a page of its own would hold one line for years
    story += [Spacer(1, 16), Marker("", plan.watermark, "修订记录", "history", 0),
              Lines("修订记录", H1)]
    story.append(_history_table(history_rows(plan), width))
    # 序章 follows the contents on their page, the legend and 授权审批权限表 share the next:
    # a page of its own each left two pages of the front matter half empty
    story += [PageBreak(), Marker("", plan.watermark, "目录", "toc", 0), Lines("目　录", H1), Contents([]),
              Spacer(1, 16), Marker("", plan.watermark, "序章", "preface", 0),
              Lines("序　章", H1)]
    story += [Lines(p, BODY, indent_first=True) for p in plan.preface]
    # the legend, once for every chart, on a page with the authority table
    story += [PageBreak(), Lines("图　例", H1), ChartPage(legend_page(width))]
    story += authority(plan, width)
    return story


TOC_SIZE = 10.5
TOC_BASELINE = 3.5  # above the bottom of its line
TOC_DOT_PITCH = 5.25


def authority(plan: Plan, width: float) -> list[Flowable]:
    if not plan.org.authority:
        return []
    return [Spacer(1, 16), KeepTogether([
        Lines("授权审批权限表", H1),
        _table(authority_rows(plan), authority_widths(width), header_cols=())])]


def distribution(plan: Plan, width: float) -> list[Flowable]:
    if not plan.manual.distribution:
        return []
    return [Spacer(1, 10), Lines("分发清单", CELL),
            _table(distribution_rows(plan), [width / 6] * 6, header_cols=(), align_center=True)]


def _history_table(rows, width: float) -> Table:
    cells = []
    for i, row in enumerate(rows):
        style = CELL_C if i == 0 else CELL
        line = []
        for c, text in enumerate(row):
            if c == 2 and i:
                line.append([Lines(part, style) for part in text.split("\n")])
            else:
                line.append(Lines(text, CELL_C))
        cells.append(line)
    table = Table(cells, colWidths=history_widths(width), repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), fonts.register(), 10),
                               ("GRID", (0, 0), (-1, -1), 0.6, RULE),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("BACKGROUND", (0, 0), (-1, 0), HexColor("#eef1f5"))]))
    return table


def _section(section: Section, width: float) -> list[Flowable]:
    """Header table, 管理行为 and the chart, 相关说明, sign-off: always in this order, on one
    page where they fit together, else the last two on the next page, never split."""
    f = section.flow
    story: list[Flowable] = [Marker(f.code, section.watermark, f"{f.code}　{f.name}", f.code, 0)]
    col = width / 6
    story.append(_table(header_rows(section, width), [col * k for k in HEADER_COLUMNS],
                        spans=[((first, r), (last, r)) for r, first, last in HEADER_MERGES],
                        header_cols=(0,)))
    for number, page in enumerate(section.charts.pages):
        if number:
            story.append(PageBreak())
        # the caption and its chart page are one block: a caption never ends a page
        story.append(KeepTogether([Spacer(1, 4), Lines("管理行为" + ("（续）" if number else ""),
                                                       CELL), Spacer(1, 2), ChartPage(page)]))
    tail: list[Flowable] = [
        Spacer(1, 6),
        _table(notes_rows(f), notes_widths(width),
               spans=[((first, r), (last, r)) for r, first, last in NOTES_MERGES]),
        _table(signoff_rows(f.signoff, f.content_hash), signoff_widths(width),
               header_cols=(0, 2, 4))]
    if not section.one_page:
        story.append(PageBreak())
    return [*story, KeepTogether(tail)]


def _story(plan: Plan) -> list[Flowable]:
    width = A4[0] - 2 * MARGIN_X
    story = _cover(plan) + _front(plan, width)
    current = "portrait"
    for section in plan.sections:
        orientation = section.charts.orientation
        if orientation != current:
            story.append(NextPageTemplate(orientation))
            current = orientation
        story.append(PageBreak())
        w = width if orientation == "portrait" else A4[1] - 2 * MARGIN_X
        story += _section(section, w)
    # the contents list every part the story starts (its markers), known before any page is
    entries = [(m.key, m.title) for m in story
               if isinstance(m, Marker) and m.key not in (None, "cover") and m.level == 0]
    for flowable in story:
        if isinstance(flowable, Contents):
            flowable.entries = entries
    return story


class NumberedCanvas(Canvas):
    """Holds every page back until the end, so each footer can say how many pages there are
    and the contents which page each entry is on."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []
        # page, x, y, flowable, and the entries' pages (complete when the canvas is saved)
        self.contents: list[tuple[int, float, float, Contents, dict[str, int]]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        # the cover is not counted: the manual's page 1 is the document-control page
        total = len(self._pages) - 1
        for number, state in enumerate(self._pages):
            self.__dict__.update(state)
            for page, x, y, contents, pages in self.contents:
                if page == number + 1:
                    contents.draw_numbers(self, x, y, pages)
            if number:
                w = self._pagesize[0]
                self.setFont(fonts.register(), 9)
                self.setFillColor(INK)
                self.drawCentredString(w / 2, 22, f"第 {number} 页 共 {total} 页")
            super().showPage()
        super().save()


def render_manual_pdf(plan: Plan) -> tuple[bytes, dict[str, int]]:
    """The manual as PDF bytes, and the page of every contents entry (for the DOCX)."""
    out = io.BytesIO()
    doc = ManualDoc(out, plan)
    doc.build(_story(plan), canvasmaker=NumberedCanvas)
    return out.getvalue(), {**doc.entry_pages, TOTAL: doc.pages - 1}


