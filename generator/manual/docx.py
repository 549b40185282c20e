"""The manual as DOCX (python-docx), from the same plan as the PDF.

Word, WPS and LibreOffice fall back to a Latin font for Chinese unless the East Asian font is
named on every style and run (``w:rFonts/@w:eastAsia``) and the theme fonts are removed, so
both are done everywhere. Charts go in as SVG (vectors: Word 2016 and later draw them) with the
200 dpi PNG as the fallback older readers show, at their true size. Page breaks are explicit
where the PDF breaks, so both paginate alike; the contents and the footer's total carry the
PDF's page numbers. The zip is rewritten with fixed entry times and core
properties, so the same input gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from html import escape

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.shared import Pt, RGBColor

from .. import fonts as fonts_module
from ..diagram import A4, render_png, render_svg
from ..diagram.legend import legend_chart
from .draft import TOKEN, Draft, entry, fill_toc
from .plan import (
    HEADER_COLUMNS,
    HEADER_MERGES,
    LEGEND,
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

# Every run names the bundled font, which the DOCX carries embedded (see EMBEDDED_NAMES):
# the PDF is set in it, so Word and LibreOffice set the same glyphs at the same widths on any
# machine, Chinese fonts or none. (宋体/黑体 named instead would be drawn with whatever the
# reader has: a Mac or a Linux desktop has neither, and LibreOffice drew boxes. LibreOffice
# does take an embedded font for a non-ASCII name, but not under a C locale, where the file
# it unpacks the font to cannot be named: an ASCII name works everywhere.)
SONG = HEI = LATIN = fonts_module.FAMILY


def _fonts(rpr_parent, east_asia: str) -> None:
    """Name the fonts on a run or style, East Asian included, and drop theme overrides."""
    rpr = rpr_parent.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), LATIN)
    fonts.set(qn("w:hAnsi"), LATIN)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), LATIN)


def _run(paragraph, text: str, size: float = 10.5, font: str = SONG, color: str | None = None):
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    _fonts(run._r, font)
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    return run


def _para(container, text: str = "", size: float = 10.5, font: str = SONG, align=None,
          indent: bool = False, after: float = 4):
    p = container.add_paragraph()
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.space_after = Pt(after)
    fmt.space_before = Pt(0)
    fmt.line_spacing = Pt(max(size * 1.5, 4))
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    if text:
        _run(p, text, size, font)
    return p


def _field(paragraph, instruction: str, cached: str, size: float = 9) -> None:
    """A complex field (PAGE, NUMPAGES …) with a cached result."""
    def fld(kind: str):
        r = paragraph.add_run()
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        r._r.append(el)
        return r

    fld("begin")
    r = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    r._r.append(instr)
    fld("separate")
    _run(paragraph, cached, size)
    fld("end")


_WATERMARK = (
    '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">'
    '<w:pict><v:shapetype id="_x0000_t136" coordsize="21600,21600" o:spt="136" adj="10800" '
    'path="m@7,l@8,m@5,21600l@6,21600e"><v:path textpathok="t" o:connecttype="custom"/>'
    '<v:textpath on="t" fitshape="t"/><o:lock v:ext="edit" text="t" shapetype="t"/></v:shapetype>'
    '<v:shape id="PowerPlusWaterMarkObject{n}" o:spid="_x0000_s{spid}" type="#_x0000_t136" '
    'style="position:absolute;margin-left:0;margin-top:0;width:{w}pt;height:{h}pt;rotation:315;'
    'z-index:251659264;mso-position-horizontal:center;mso-position-horizontal-relative:margin;'
    'mso-position-vertical:center;mso-position-vertical-relative:margin" o:allowincell="f" '
    'fillcolor="#a0a0a0" stroked="f"><v:fill opacity=".18"/>'
    '<v:textpath style="font-family:&quot;{font}&quot;;font-size:1pt" string="{text}"/>'
    "</v:shape></w:pict></w:r>")


def _header(section, plan: Plan, code: str, watermark: str, n: int) -> None:
    section.header.is_linked_to_previous = False
    header = section.header
    p = header.paragraphs[0]
    p.text = ""
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _run(p, f"{plan.manual.title}　　{running_header(plan, code, watermark)}", 9)
    _bottom_border(p)
    p._p.append(_watermark(watermark, n))


def _watermark(text: str, n: int):
    width = 420 if len(text) > 4 else 320
    return parse_xml(_WATERMARK.format(n=n, spid=2049 + n, w=width, h=width / len(text),
                                       font=SONG, text=escape(text, quote=False)))


def _cover_header(section, watermark: str) -> None:
    """The cover's own first-page header and footer: the watermark only, no running header and
    no page number (the cover is not counted)."""
    section.different_first_page_header_footer = True
    section.first_page_header.paragraphs[0]._p.append(_watermark(watermark, 99))
    section.first_page_footer.paragraphs[0].text = ""


def _footer(section, total: str) -> None:
    """第 X 页 共 Y 页, numbered as the PDF: the cover is page 0 (not printed) and not in the
    total. Y is the PDF's count, written as text: { = { NUMPAGES } - 1 } would do in Word,
    but LibreOffice prints the inner field and the outer's cached result side by side."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(p, "第 ", 9)
    _field(p, "PAGE", "1")
    _run(p, f" 页 共 {total} 页", 9)


def _bottom_border(paragraph) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "555555")):
        bottom.set(qn(k), v)
    borders.append(bottom)
    ppr.append(borders)


def _page_setup(section, orientation: str) -> None:
    w, h = (A4 if orientation == "portrait" else (A4[1], A4[0]))
    section.orientation = WD_ORIENT.PORTRAIT if orientation == "portrait" else WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Pt(w), Pt(h)
    section.left_margin = section.right_margin = Pt(MARGIN_X)
    section.top_margin, section.bottom_margin = Pt(MARGIN_TOP), Pt(MARGIN_BOTTOM)
    section.header_distance, section.footer_distance = Pt(18), Pt(14)


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TABLE_PR = ('<w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:type="auto" w:w="0"/>'
             '<w:jc w:val="center"/><w:tblLayout w:type="fixed"/><w:tblLook w:firstColumn="1" '
             'w:firstRow="1" w:lastColumn="0" w:lastRow="0" w:noHBand="0" w:noVBand="1" '
             'w:val="04A0"/></w:tblPr>')


def _run_xml(text: str, font: str) -> str:
    fonts = (f'<w:rFonts w:ascii="{LATIN}" w:hAnsi="{LATIN}" w:eastAsia="{font}" '
             f'w:cs="{LATIN}"/>')
    if not text:
        return f'<w:r><w:rPr>{fonts}<w:sz w:val="20"/></w:rPr></w:r>'
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<w:r><w:rPr>{fonts}<w:sz w:val="20"/></w:rPr><w:t{space}>{escape(text, quote=False)}</w:t></w:r>'


def _table(document, rows: list[list[str]], widths: list[float], header_cols=(0,),
           merge: tuple[tuple[int, int, int], ...] = (), center: bool = False,
           keep: bool = False) -> None:
    """A grid table; ``merge`` joins cells ``(row, first, last)``; with ``keep`` no row breaks
    across pages and the table stays with what follows (a sign-off block is never split).

    Written as WordprocessingML in one piece, the very XML python-docx's table API gave (its
    cell by cell calls, each searching the tree, took two thirds of the DOCX's time)."""
    twips = [Pt(w).twips for w in widths]
    spans = {(r, first): last for r, first, last in merge}
    merged_away = {(r, c) for r, first, last in merge for c in range(first + 1, last + 1)}
    out = [f'<w:tbl xmlns:w="{_W}">', _TABLE_PR, "<w:tblGrid>"]
    out += [f'<w:gridCol w:w="{t}"/>' for t in twips]
    out.append("</w:tblGrid>")
    for r, row in enumerate(rows):
        out.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        for c, text in enumerate(row):
            if (r, c) in merged_away:
                continue
            last = spans.get((r, c), c)
            tc_pr = f'<w:tcW w:type="dxa" w:w="{sum(twips[c:last + 1])}"/>'
            if last > c:
                tc_pr += f'<w:gridSpan w:val="{last - c + 1}"/>'
            if c in header_cols:
                tc_pr += '<w:shd w:val="clear" w:fill="EEF1F5"/>'
            p_pr = ("<w:keepNext/>" if keep else "") + \
                '<w:spacing w:after="0" w:line="280" w:lineRule="exact"/>' + \
                ('<w:jc w:val="center"/>' if center or c in header_cols else "")
            font = HEI if c in header_cols else SONG
            paragraphs = "".join(f"<w:p><w:pPr>{p_pr}</w:pPr>{_run_xml(line, font)}</w:p>"
                                 for line in text.split("\n"))
            out.append(f"<w:tc><w:tcPr>{tc_pr}</w:tcPr>{paragraphs}</w:tc>")
        out.append("</w:tr>")
    out.append("</w:tbl>")
    document.element.body._insert_tbl(parse_xml("".join(out)))


def _styles(document) -> None:
    styles = document.styles
    for name, font, size in (("Normal", SONG, 10.5), ("Heading 1", HEI, 16), ("Title", HEI, 26),
                             ("Table Grid", SONG, 10)):
        style = styles[name]
        _fonts(style.element, font)
        if size:
            style.font.size = Pt(size)
        if name != "Table Grid":
            style.font.color.rgb = RGBColor(0x1A, 0x1A, 0x1A)
    # every other style too: the template's headings, captions … name theme fonts otherwise
    for fonts in document.styles.element.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(attr), None)
        fonts.set(qn("w:eastAsia"), fonts.get(qn("w:eastAsia")) or SONG)
        fonts.set(qn("w:ascii"), fonts.get(qn("w:ascii")) or LATIN)
        fonts.set(qn("w:hAnsi"), fonts.get(qn("w:hAnsi")) or LATIN)
    heading = styles["Heading 1"]
    heading.font.bold = False
    heading.paragraph_format.space_before = Pt(0)
    heading.paragraph_format.space_after = Pt(10)
    # the document default too: anything not styled still names the East Asian font
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if rpr is not None:
            fonts = rpr.find(qn("w:rFonts"))
            if fonts is None:
                fonts = OxmlElement("w:rFonts")
                rpr.insert(0, fonts)
            for attr in list(fonts.attrib):
                fonts.attrib.pop(attr)
            for k, v in (("w:ascii", LATIN), ("w:hAnsi", LATIN), ("w:eastAsia", SONG),
                         ("w:cs", LATIN)):
                fonts.set(qn(k), v)


def _heading(document, text: str, size: float = 16):
    p = _heading_paragraph(document)
    _run(p, text, size, HEI)
    return p


def _heading_paragraph(document):
    """A paragraph in Heading 1 (for the navigation pane and Word's own contents). The style
    id is looked up once a document: python-docx's ``add_paragraph(style=...)`` looks up the
    default style among all of them on every call (a tenth of the DOCX's time)."""
    if not hasattr(document, "heading_style"):
        document.heading_style = document.styles["Heading 1"].style_id
    p = document.add_paragraph()
    p._p.get_or_add_pPr().style = document.heading_style
    return p


def _picture(document, run, png: bytes, width: float) -> None:
    """``run.add_picture``, numbering the document's pictures here: python-docx finds a free
    shape id by reading every id in the document, once a picture. Numbered in order from 1,
    the ids are those it would give."""
    rid, image = document.part.get_or_add_image(io.BytesIO(png))
    cx, cy = image.scaled_dimensions(Pt(width), None)
    document.pictures = getattr(document, "pictures", 0) + 1
    run._r.add_drawing(CT_Inline.new_pic_inline(document.pictures, rid, image.filename, cx, cy))


def _page_break(document) -> None:
    p = document.add_paragraph()
    p.add_run().add_break(WD_BREAK.PAGE)


def render_manual_docx(plan: Plan, toc_pages: dict[str, int],
                       pictures: dict[str, list[tuple[bytes, bytes]]] | None = None) -> bytes:
    """The manual as DOCX bytes; ``toc_pages`` gives each contents entry's page (from the
    PDF: the DOCX paginates alike) and the total, under ``TOTAL``."""
    return fill_toc(draft_manual_docx(plan, pictures), toc_pages)


def draft_manual_docx(plan: Plan,
                      pictures: dict[str, list[tuple[bytes, bytes]]] | None = None) -> Draft:
    """The manual as a :class:`Draft`, whose page numbers :func:`fill_toc` puts in; each
    chart's (PNG, SVG) pages, and the legend's under ``LEGEND``, from ``pictures`` where
    given, else drawn here."""
    m = plan.manual
    document = Document()
    _styles(document)
    core = document.core_properties
    stamp = dt.datetime.combine(m.issue_date, dt.time(0, 0))
    core.title = f"{m.title}（{m.document_number}）"
    core.author = core.last_modified_by = f"{m.company} {m.department}"
    core.subject = f"受控文件 {m.document_number} 版本 {m.revision}"
    core.keywords = f"{m.document_number} 流程管理 受控文件 {m.department}"
    core.created = core.modified = stamp
    core.revision = 1
    core.comments = "flowdoc"
    section = document.sections[0]
    _page_setup(section, "portrait")
    _header(section, plan, "", plan.watermark, 0)
    _footer(section, f"{TOKEN}{TOTAL}{TOKEN}")
    _cover_header(section, plan.watermark)
    number_from_zero = OxmlElement("w:pgNumType")
    number_from_zero.set(qn("w:start"), "0")
    section._sectPr.append(number_from_zero)
    width = A4[0] - 2 * MARGIN_X

    # cover
    for _ in range(3):
        _para(document)
    _para(document, m.company, 14, HEI, WD_ALIGN_PARAGRAPH.CENTER)
    _para(document, m.department, 14, HEI, WD_ALIGN_PARAGRAPH.CENTER, after=60)
    _para(document, m.title, 26, HEI, WD_ALIGN_PARAGRAPH.CENTER, after=12)
    if m.confidentiality:
        _para(document, f"（{m.confidentiality}）", 14, SONG, WD_ALIGN_PARAGRAPH.CENTER, after=60)
    rows = [["文件编号", m.document_number], ["版　　本", m.revision],
            ["发布日期", m.issue_date.isoformat()], ["生效日期", m.effective_date.isoformat()],
            ["受控状态", plan.stamp]]
    if plan.copy.controlled:
        rows += [["副本编号", f"第 {plan.copy.number} 号"], ["持有部门", plan.copy.holder or ""]]
    _table(document, rows, [90, 220], center=True)
    stamp_p = _para(document, "", 22, HEI, WD_ALIGN_PARAGRAPH.CENTER)
    stamp_p.paragraph_format.space_before = Pt(40)
    _run(stamp_p, f"【{plan.stamp}】", 22, HEI, "C0272D")
    _page_break(document)

    # document control, history, contents, preface
    _heading(document, "文件控制页")
    for text in plan.control:
        _para(document, text, indent=True)
    _para(document, "本手册审批记录", 10)
    _table(document, signoff_rows(m.signoff, None), [width / 6] * 6, header_cols=(0, 2, 4))
    if m.distribution:
        _para(document, "", 4, after=6)
        _para(document, "分发清单", 10)
        _table(document, distribution_rows(plan), [width / 6] * 6, header_cols=(), center=True)
    _para(document, "", 4, after=12)  # as the PDF: 修订记录 on the same page
    _heading(document, "修订记录")
    _table(document, history_rows(plan), history_widths(width), header_cols=(), center=False)
    _page_break(document)
    _heading(document, "目　录")
    _toc(document, plan)
    _para(document, "", 4, after=12)  # as the PDF: 序章 under the contents
    _heading(document, "序　章")
    for text in plan.preface:
        _para(document, text, indent=True)
    _page_break(document)  # the legend and the authority table share a page
    _heading(document, "图　例")
    legend = legend_chart(width)
    given = (pictures or {}).get(LEGEND)
    png, svg = given[0] if given else (render_png(legend, 1),
                                       render_svg(legend, 1).encode("utf-8"))
    p = document.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    _picture(document, run, png, legend.frame[0])
    _attach_svg(document, run, svg, "legend")
    if plan.org.authority:  # as the PDF: 授权审批权限表 under the legend
        _para(document, "", 4, after=12)
        _heading(document, "授权审批权限表").paragraph_format.keep_with_next = True
        _table(document, authority_rows(plan), authority_widths(width), header_cols=(),
               keep=True)

    for n, sec in enumerate(plan.sections, start=1):
        _flow_section(document, plan, sec, n, (pictures or {}).get(sec.flow.code))
    # no w:updateFields: Word would ask about updating fields on every opening; the contents
    # carry the PDF's page numbers, which the DOCX paginates alike (explicit page breaks)
    return _draft(document)


def _toc(document, plan: Plan) -> None:
    entries = [("文件控制页", "control"), ("修订记录", "history"),
               ("目录", "toc"), ("序章", "preface")]
    entries += [(f"{s.flow.code}　{s.flow.name}", s.flow.code) for s in plan.sections]
    first = True
    for title, key in entries:
        p = document.add_paragraph()
        p.paragraph_format.space_after = Pt(2)
        p.paragraph_format.line_spacing = Pt(TOC_LEADING - 2)  # as the PDF's contents
        tabs = p.paragraph_format.tab_stops
        tabs.add_tab_stop(Pt(A4[0] - 2 * MARGIN_X), alignment=2, leader=1)  # right, dots
        if first:  # the field starts before the first entry and ends after the last
            _field_begin(p, 'TOC \\o "1-1" \\h \\z')
            first = False
        _run(p, f"{title}\t{TOKEN}{key}{TOKEN}", 10.5)
    end = document.paragraphs[-1]
    r = end.add_run()
    el = OxmlElement("w:fldChar")
    el.set(qn("w:fldCharType"), "end")
    r._r.append(el)


def _field_begin(paragraph, instruction: str) -> None:
    r = paragraph.add_run()
    el = OxmlElement("w:fldChar")
    el.set(qn("w:fldCharType"), "begin")
    r._r.append(el)
    r = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    r._r.append(instr)
    r = paragraph.add_run()
    el = OxmlElement("w:fldChar")
    el.set(qn("w:fldCharType"), "separate")
    r._r.append(el)


def _flow_section(document, plan: Plan, sec: Section, n: int,
                  pictures: list[tuple[bytes, bytes]] | None) -> None:
    f = sec.flow
    orientation = sec.charts.orientation
    section = document.add_section(WD_SECTION.NEW_PAGE)
    # add_section copies the cover's settings: its first page alone has a header of its own
    section.different_first_page_header_footer = False
    for restart in section._sectPr.findall(qn("w:pgNumType")):  # numbering runs on
        section._sectPr.remove(restart)
    _page_setup(section, orientation)
    _header(section, plan, f.code, sec.watermark, n)
    width = (A4[0] if orientation == "portrait" else A4[1]) - 2 * MARGIN_X
    col = width / 6
    heading = _heading(document, f"{f.code}　{f.name}", 11)
    heading.paragraph_format.space_after = Pt(2)
    _table(document, header_rows(sec, width), [col * k for k in HEADER_COLUMNS], header_cols=(0,),
           merge=HEADER_MERGES)
    images = pictures or [(render_png(sec.charts, i), render_svg(sec.charts, i).encode("utf-8"))
                          for i in range(1, len(sec.charts.pages) + 1)]
    for i, (png, svg) in enumerate(images):
        caption = _para(document, "管理行为" + ("（续）" if i else ""), 10, HEI, after=2)
        caption.paragraph_format.keep_with_next = True
        if i:
            caption.paragraph_format.page_break_before = True
        p = document.add_paragraph()
        p.paragraph_format.space_after = Pt(0)
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run()
        _picture(document, run, png, sec.charts.pages[i].width)
        _attach_svg(document, run, svg, f"{f.code}-{i + 1}")
    # as the PDF: 相关说明 and the sign-off follow the chart, on its page if they fit
    spacer = _para(document, "", 4, after=4)
    if not sec.one_page:
        spacer.paragraph_format.page_break_before = True
    _table(document, notes_rows(f), notes_widths(width), merge=NOTES_MERGES, keep=True)
    _table(document, signoff_rows(f.signoff, f.content_hash), signoff_widths(width),
           header_cols=(0, 2, 4), keep=True)


SVG_EXT = "{96DAC541-7B7A-43D3-8B79-37D633B846F1}"  # Office 2016's SVG picture extension


def _attach_svg(document, run, svg: bytes, name: str) -> None:
    """Give a picture its vector original: Word 2016 and later draw the SVG, older readers
    the PNG fallback the picture already has (as Word itself embeds an SVG)."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    part = Part(PackURI(f"/word/media/{name}.svg"), "image/svg+xml", svg, document.part.package)
    rid = document.part.relate_to(part, RT.IMAGE)
    blip = run._r.find(".//" + qn("a:blip"))
    blip.append(parse_xml(
        '<a:extLst xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        f'<a:ext uri="{SVG_EXT}"><asvg:svgBlip '
        'xmlns:asvg="http://schemas.microsoft.com/office/drawing/2016/SVG/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        f'r:embed="{rid}"/></a:ext></a:extLst>'))


def _draft(document) -> Draft:
    """The package written as a zip with fixed entry times, so the same input gives the same
    bytes. Written here, not by ``Document.save``, whose zip deflates the charts' PNGs (and
    SVGs) that are then read back to fix the times: the pictures are stored as they are."""
    package = document.part.package
    # the template's thumbnail is a picture of some other document
    parts = sorted((part for part in package.iter_parts()
                    if part.partname != "/docProps/thumbnail.jpeg"), key=lambda part: part.partname)
    defaults = {"png": "image/png", "svg": "image/svg+xml", "odttf": FONT_TYPE,
                "rels": "application/vnd.openxmlformats-package.relationships+xml",
                "xml": "application/xml"}
    types = "".join(f'<Default Extension="{ext}" ContentType="{kind}"/>'
                    for ext, kind in defaults.items())
    types += "".join(f'<Override PartName="{part.partname}" ContentType="{part.content_type}"/>'
                     for part in parts if defaults.get(part.partname.ext) != part.content_type)
    types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns='
             f'"http://schemas.openxmlformats.org/package/2006/content-types">{types}</Types>')
    pending: list[tuple[str, str]] = []
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        dst.writestr(entry("[Content_Types].xml"), types.encode("utf-8"))
        dst.writestr(entry("_rels/.rels"), _drop_thumbnail_rel(package.rels.xml))
        for part in parts:
            name = part.partname.membername
            if name == "word/document.xml" or name.startswith("word/footer"):
                pending.append((name, part.blob.decode("utf-8")))
            else:
                dst.writestr(entry(name), _embedding_font(name, part.blob))
            if part.rels:
                dst.writestr(entry(part.partname.rels_uri.membername), part.rels.xml)
        _write_font_parts(dst)
    return Draft(out.getvalue(), tuple(pending))


def _write_font_parts(dst: zipfile.ZipFile) -> None:
    for name, data in _font_parts():
        # the font's 2 MB at zlib's fastest level: 80 KB more (3 % of the DOCX) in two
        # thirds of the default level's time, in the build's last task
        dst.writestr(entry(name), data, compresslevel=1)


# The bundled font, embedded (ECMA-376 Part 1, §17.8.3) under the one name every run uses,
# whole, so an edit can type any character the PDF could show; 宋体 is its alternative name
# for a reader that does not take embedded fonts.
EMBEDDED_NAMES = (fonts_module.FAMILY,)
FONT_PART = "word/fonts/font1.odttf"
FONT_TYPE = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
FONT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/font"


def font_key() -> str:
    """The GUID the embedded font is obfuscated with, from the font's own bytes: the same
    font gives the same DOCX."""
    import hashlib
    import uuid

    from .. import fonts

    digest = hashlib.sha256(fonts.FONT_PATH.read_bytes()).digest()
    return "{" + str(uuid.UUID(bytes=digest[:16])).upper() + "}"


def obfuscate(font: bytes, key: str) -> bytes:
    """§17.8.1: the first 32 bytes XOR the key's 16 bytes, taken from the GUID's last byte
    to its first (the same operation undoes it)."""
    import uuid

    order = uuid.UUID(key.strip("{}")).bytes[::-1]
    return bytes(b ^ order[i % 16] for i, b in enumerate(font[:32])) + font[32:]


def _font_parts() -> list[tuple[str, bytes]]:
    from .. import fonts

    rels = "".join(f'<Relationship Id="rIdFlowdocFont{i}" Type="{FONT_REL}" '
                   f'Target="fonts/font1.odttf"/>' for i in range(len(EMBEDDED_NAMES)))
    return [("word/_rels/fontTable.xml.rels",
             ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
              'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              f"{rels}</Relationships>").encode()),
            (FONT_PART, obfuscate(fonts.FONT_PATH.read_bytes(), font_key()))]


def _embedding_font(name: str, data: bytes) -> bytes:
    """The parts that name the embedded font: its content type, the font table's entries
    pointing at it, and the setting that says the document carries TrueType fonts."""
    if name == "word/fontTable.xml":
        entries = "".join(
            f'<w:font w:name="{font}"><w:altName w:val="宋体"/><w:charset w:val="86"/>'
            '<w:family w:val="auto"/>'
            f'<w:pitch w:val="variable"/><w:embedRegular r:id="rIdFlowdocFont{i}" '
            f'w:fontKey="{font_key()}"/></w:font>' for i, font in enumerate(EMBEDDED_NAMES))
        return data.replace(b"</w:fonts>", entries.encode("utf-8") + b"</w:fonts>", 1)
    if name == "word/settings.xml":
        # in the schema's order: after w:zoom (and what comes before it), before the rest
        marker = b"<w:zoom "
        at = data.find(marker)
        end = data.find(b"/>", at) + 2 if at >= 0 else -1
        if end > 1:
            return data[:end] + b"<w:embedTrueTypeFonts/>" + data[end:]
    return data


def _drop_thumbnail_rel(data: bytes) -> bytes:
    from lxml import etree

    root = etree.fromstring(data)
    for rel in list(root):
        if rel.get("Target", "").endswith("thumbnail.jpeg"):
            root.remove(rel)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
