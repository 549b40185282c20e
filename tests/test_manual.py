"""The published manual: PDF and DOCX from one plan, read back by real clients.

pypdf and poppler read the PDF; LibreOffice opens the DOCX and converts it; both must carry
every flow, the header, footer and watermark of every page, and come out byte-identical from
the same input.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import FLOWS, ROOT, cli
from lxml import etree
from pypdf import PdfReader

from generator.diagram import A4
from generator.manual.plan import MARGIN_X

A4_WIDTH = A4[0]

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def flowdoc(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return cli(args, cwd)


def pages_of(pdf: Path) -> list[str]:
    """Each page's text in content order with all white space removed: the rotated watermark
    comes out a character a line, and Chinese has no spaces to lose."""
    out = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return [re.sub(r"\s+", "", page) for page in out.split("\f")[:-1]]


@pytest.fixture(scope="module")
def pdf_text(built) -> list[str]:
    return pages_of(built / "manual.pdf")


def test_pdf_has_a_bookmark_per_flow_metadata_and_a4_pages(built, library):
    reader = PdfReader(built / "manual.pdf")
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    for flow in library.flows:
        assert sum(1 for t in titles if t.startswith(flow.code + "　")) == 1, flow.code
    meta = reader.metadata
    assert meta.title.startswith("电子商务部内部流程管理化") and "YYK-EC-QM-001" in meta.title
    assert meta.author and meta.subject and meta["/Keywords"]
    for page in reader.pages:
        size = sorted((round(float(page.mediabox.width)), round(float(page.mediabox.height))))
        assert size == [595, 842]


def test_every_pdf_font_is_embedded(built):
    out = subprocess.run(["pdffonts", str(built / "manual.pdf")], capture_output=True, text=True,
                         check=True).stdout.splitlines()[2:]
    assert out
    for line in out:
        assert line.split()[-5] == "yes", line  # the emb column


def test_every_page_has_header_footer_and_watermark(pdf_text):
    # the cover has neither running header nor number, and is not counted
    assert "文件编号：" not in pdf_text[0] and "页共" not in pdf_text[0]
    assert "受控文件第3号" in pdf_text[0]  # its watermark
    total = len(pdf_text) - 1
    for number, text in enumerate(pdf_text[1:], start=1):
        assert "文件编号：YYK-EC-QM-001" in text and "版本：A/0" in text
        assert f"第{number}页共{total}页" in text
        # the status twice: in the running header and as the watermark, the same words
        assert any(text.count(mark) >= 2
                   for mark in ("受控文件第3号", "草稿", "非受控文件仅供参考", "作废")), number


def test_each_flow_section_names_its_code_and_prints_its_status(pdf_text, library):
    for flow in library.flows:
        pages = [t for t in pdf_text if f"流程编码：{flow.code}" in t]
        assert pages, flow.code
        first = pages[0]
        assert flow.name in first
        mark = "受控文件第3号" if flow.effective_status == "受控" else "草稿"
        assert all(mark in t for t in pages), flow.code


def test_each_flow_prints_its_retention_period_after_its_notes(pdf_text, library):
    for flow in library.flows:
        last = [t for t in pdf_text if f"流程编码：{flow.code}" in t][-1]
        text = re.sub(r"\s", "", last)
        assert text.index("相关说明") < text.index("保存期限") < text.index("编制人员"), flow.code
        assert flow.retention[:6] in text, flow.code
    leave = next(t for t in pdf_text if "流程编码：EC-HR-015" in t)
    assert "请假事由" in re.sub(r"\s", "", leave.split("保存期限")[-1])  # its personal fields


def test_cover_and_front_matter(pdf_text, built, library):
    cover = pdf_text[0]
    for text in ("友益康健康科技有限公司", "电子商务部内部流程管理化", "YYK-EC-QM-001", "2026-12-01",
                 "第3号", "仓储物流中心", "受控状态受控"):
        assert text in cover, text
    front = "".join(pdf_text[1:6])
    for text in ("文件控制页", "修订记录", "目录", "序章", "初版发布", "电子商务平台"):
        assert text in front, text
    number = next(i for i, t in enumerate(pdf_text, start=1) if t.startswith("目录"))
    contents = subprocess.run(["pdftotext", "-layout", "-f", str(number), "-l", str(number),
                               str(built / "manual.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
    for flow in library.flows:  # every flow, with the page its section starts on
        start = next(i for i, t in enumerate(pdf_text) if f"流程编码：{flow.code}" in t)
        entry = re.escape(flow.code) + r"\s+" + re.escape(flow.name) + r"\s*(?:\.\s*)+" + str(start) + "$"
        assert re.search(entry, contents, re.M), flow.code


def test_docx_names_the_east_asian_font_everywhere(built):
    with zipfile.ZipFile(built / "manual.docx") as z:
        document = etree.fromstring(z.read("word/document.xml"))
        styles = etree.fromstring(z.read("word/styles.xml"))
        names = z.namelist()
    assert "docProps/thumbnail.jpeg" not in names
    runs = [r for r in document.iter(f"{W}r") if r.find(f"{W}t") is not None]
    assert len(runs) > 200
    # the bundled font, which the DOCX carries (the PDF's, so both set the same glyphs)
    family = "Flowdoc Sans SC"
    for run in runs:
        fonts = run.find(f"{W}rPr/{W}rFonts")
        assert fonts is not None and fonts.get(f"{W}eastAsia") == family
        assert fonts.get(f"{W}ascii") == fonts.get(f"{W}hAnsi") == family
    for fonts in styles.iter(f"{W}rFonts"):
        assert fonts.get(f"{W}eastAsiaTheme") is None
    default = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}rFonts")
    assert default.get(f"{W}eastAsia") == family


def test_docx_watermark_follows_each_section_status(built, library):
    with zipfile.ZipFile(built / "manual.docx") as z:
        headers = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("word/header")}
    marks = [re.search(r'string="([^"]+)"', xml).group(1) for xml in headers.values()]
    # the cover, the front matter, then one per flow section
    assert len(marks) == 2 + len(library.flows)
    drafts = sum(1 for f in library.flows if f.effective_status == "草稿")
    assert marks.count("草稿") == drafts and marks.count("受控文件 第3号") == 2 + 24 - drafts
    for xml in headers.values():
        mark = re.search(r'string="([^"]+)"', xml).group(1)
        # in front of the charts (a picture would hide it), light enough to read through
        assert int(re.search(r"z-index:(-?\d+)", xml).group(1)) > 0
        assert float(re.search(r'opacity="([.\d]+)"', xml).group(1)) <= 0.2
        running = "".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", xml))
        assert running == "" or running.endswith(mark)  # the cover's header is empty
    with zipfile.ZipFile(built / "manual.docx") as z:
        settings = z.read("word/settings.xml").decode("utf-8")
    assert "updateFields" not in settings  # Word would ask about fields on every opening


def test_docx_charts_are_vectors_with_a_png_fallback(built, library):
    with zipfile.ZipFile(built / "manual.docx") as z:
        document = z.read("word/document.xml").decode("utf-8")
        rels = z.read("word/_rels/document.xml.rels").decode("utf-8")
        types = z.read("[Content_Types].xml").decode("utf-8")
        svgs = [n for n in z.namelist() if n.endswith(".svg")]
        first = z.read(svgs[0]).decode("utf-8")
    blips = re.findall(r'<a:blip r:embed="(rId\d+)">.*?svgBlip[^>]*r:embed="(rId\d+)"', document)
    assert len(blips) == len(svgs) >= len(library.flows)
    for png, svg in blips:
        assert re.search(rf'Id="{png}"[^>]*Target="media/[^"]+\.png"', rels) or \
            re.search(rf'Target="media/[^"]+\.png"[^>]*Id="{png}"', rels)
        assert re.search(rf'Id="{svg}"[^>]*Target="media/[^"]+\.svg"', rels) or \
            re.search(rf'Target="media/[^"]+\.svg"[^>]*Id="{svg}"', rels)
    assert 'Extension="svg" ContentType="image/svg+xml"' in types or "image/svg+xml" in types
    assert first.startswith("<?xml") and "<svg" in first and "<text" in first


def test_docx_charts_come_in_at_true_size(built, library):
    import docx

    document = docx.Document(str(built / "manual.docx"))
    from generator.diagram import layout

    sizes = sorted((s.width.pt, s.height.pt) for s in document.inline_shapes)
    from generator.diagram.legend import legend_page
    from generator.manual.plan import under_header

    legend = legend_page(A4_WIDTH - 2 * MARGIN_X)
    charts = sorted([(legend.width, legend.height)] + [
        (p.width, p.height) for f in library.flows for p in under_header(f, layout(f)).pages])
    assert len(sizes) == len(charts)
    for (w1, h1), (w2, h2) in zip(sizes, charts, strict=True):
        assert abs(w1 - w2) < 0.6 and abs(h1 - h2) < 0.6


def test_each_flow_section_keeps_its_order_and_wastes_no_page(pdf_text, library):
    """Header table, chart, 相关说明, sign-off, in this order; no page holds only a header table
    or a caption; a continued chart says so; the sign-off block is never split."""
    sections: dict[str, list[str]] = {}
    for page in pdf_text:
        found = re.search(r"流程编码：(EC-[A-Z]+-[0-9-]+)", page)
        if found:
            sections.setdefault(found.group(1), []).append(page)
    assert sorted(sections) == sorted(f.code for f in library.flows)
    for flow in library.flows:
        pages = sections[flow.code]
        assert len(pages) <= 2, flow.code
        first, last = pages[0], pages[-1]
        # the header table shares its page with the chart (its lanes' names follow 管理行为)
        assert first.index("流程名称") < first.index("管理行为") < first.rindex(flow.lanes[-1].name)
        for page in pages[1:]:
            assert "相关说明" in page or "管理行为（续）" in page, flow.code
            if "管理行为（续）" in page:
                assert any(lane.name in page.split("管理行为（续）")[1] for lane in flow.lanes)
        for page in pages[:-1]:
            assert "相关说明" not in page and "编制日期" not in page, flow.code
        assert last.index("相关说明") < last.index("编制人员") < last.index("批准日期"), flow.code
        assert "管理行为（共" not in "".join(pages)


def test_the_manual_is_compact(pdf_text):
    # 54 pages before charts shared rows and sections their pages, 39 before labels and
    # diamonds were set tighter and the header table measured (32 then); the process review
    # (issue 16) then added the 授权审批权限表, fields, steps and 编者注 notes: 40. Boxes the
    # width of a second side track, lower boxes and diamonds, a header table whose name cell
    # takes the width its labels do not need, 序章 under the contents and the legend beside
    # the authority table: 36, the review's target. The rest of the process review (保存期限
    # and personal fields under every 相关说明, document steps, a start step in 08/16/18)
    # brought it to 38. Tighter gaps in the charts (9 pt between two boxes), the lanes of the
    # header table on one line, 相关说明 and the sign-off one block lined up with the header
    # table: 36 (EC-WH-006-1 and EC-CS-021 on one page each)
    assert len(pdf_text) <= 36


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is installed by .ci/run")
def test_libreoffice_opens_the_docx_and_paginates_it_as_the_pdf(docx_without_cjk_fonts, built,
                                                               library):
    # drawn with the font the DOCX carries (the machine has no CJK font of its own): the
    # bundled one, so the render must paginate as the PDF set in that font does
    docx_pages = pages_of(docx_without_cjk_fonts)
    for flow in library.flows:
        assert any(flow.code in p and flow.name in p for p in docx_pages), flow.code
    assert all("文件编号：YYK-EC-QM-001" in p for p in docx_pages[1:])
    assert "文件编号：" not in docx_pages[0] and "页共" not in docx_pages[0]  # the cover
    # the same footers page by page: 第 X 页 共 Y 页, the cover not counted
    footer = re.compile(r"第\d+页共\d+页")
    assert [footer.findall(p) for p in docx_pages] == \
        [footer.findall(p) for p in pages_of(built / "manual.pdf")]

    def starts(pages: list[str]) -> list[int]:
        return [i for i, p in enumerate(pages, start=1) if "流程名称" in p and "流程编码：" in p]

    # the DOCX's contents carry the PDF's page numbers: they are right only if both paginate alike
    assert starts(docx_pages) == starts(pages_of(built / "manual.pdf"))
    assert len(docx_pages) == len(pages_of(built / "manual.pdf"))


def test_same_input_same_bytes_and_a_rebuild_writes_nothing(built, tmp_path):
    proc = flowdoc(["build", "--out", str(tmp_path), "--copy", "3", "--holder", "仓储物流中心"])
    assert proc.returncode == 0, proc.stderr
    for name in ("manual.pdf", "manual.docx", "manifest.json", "diagrams/EC-HR-015.pdf",
                 "diagrams/EC-HR-015.png", "diagrams/EC-HR-015.svg"):
        assert (tmp_path / name).read_bytes() == (built / name).read_bytes(), name
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    proc = flowdoc(["build", "--out", str(tmp_path), "--copy", "3", "--holder", "仓储物流中心"])
    assert proc.returncode == 0 and "up to date" in proc.stdout
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.fixture(scope="module")
def rebuilt(built, library, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The publication rebuilt without a copy number after a flow was changed, one removed
    and one's approval forged: the build folder, and what the build said."""
    tmp_path = tmp_path_factory.mktemp("rebuilt")
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    out = tmp_path / "build"
    shutil.copytree(built, out)  # the last published build, of these flows as they are
    leave = flows / "15-leave.yaml"
    leave.write_text(leave.read_text(encoding="utf-8").replace("text: 填写请假条", "text: 填写请假单"),
                     encoding="utf-8")
    (flows / "09-pay-system.yaml").unlink()
    overtime = flows / "14-overtime.yaml"  # an approval whose signature was tampered with
    sig = library.flow("EC-HR-014").signoff.approved.sig
    overtime.write_text(overtime.read_text(encoding="utf-8").replace(sig, sig[::-1]),
                        encoding="utf-8")
    return out, flowdoc(["build", "--flows", str(flows), "--out", str(out)], tmp_path)


def test_uncontrolled_print_is_marked_for_reference_only(rebuilt):
    out, proc = rebuilt
    assert proc.returncode == 0, proc.stderr
    pages = pages_of(out / "manual.pdf")
    assert "受控状态非受控" in pages[0] and "副本编号" not in pages[0]
    assert "非受控文件仅供参考" in pages[1]


def test_a_changed_or_forged_flow_is_in_the_history_and_prints_as_draft(rebuilt, library):
    out, proc = rebuilt
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stderr  # the approval no longer matches the content
    pages = pages_of(out / "manual.pdf")
    history = next(p for p in pages if p.startswith("修订记录") or "修订记录版本" in p)
    assert "修改步骤填写请假条→填写请假单" in history
    assert "删除EC-HR-009" in history
    leave = [p for p in pages if "流程编码：EC-HR-015" in p]
    assert leave and all("草稿" in p and "受控文件" not in p for p in leave)
    assert "受控状态草稿" in leave[0]
    overtime = [p for p in pages if "流程编码：EC-HR-014" in p]
    assert overtime and all("草稿" in p and "受控文件" not in p for p in overtime)
    # its sign-off block keeps the two valid signatures and leaves the approval for a wet one
    signoff = library.flow("EC-HR-014").signoff
    block = "".join(overtime)
    assert f"编制人员{signoff.prepared.by}审核人员{signoff.reviewed.by}批准人员" in block
    assert f"批准日期{signoff.approved.on}" not in block


def test_missing_template_is_one_line_and_writes_nothing(tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    (tmp_path / "templates").mkdir()
    proc = flowdoc(["build", "--flows", str(flows), "--out", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].endswith("preface.j2: template not found")
    assert not (tmp_path / "out").exists()


def test_copy_needs_a_holder():
    proc = flowdoc(["build", "--copy", "2"])
    assert proc.returncode == 2 and "--holder" in proc.stderr


def test_controlled_document_conventions(pdf_text, library):
    control = next(p for p in pdf_text if p.startswith("文件控制页"))
    # 分发清单 from manual.yaml: every copy, its holder and date
    listed = library.manual.distribution
    assert listed and "分发清单" in control
    for d in listed:
        assert f"第{d.copy}号{d.holder}{d.issued.isoformat()}" in control
    history = next(p for p in pdf_text if "修订记录" in p and "修订内容" in p)
    assert "修订人批准人生效日期" in history
    signoff = library.manual.signoff
    assert f"{signoff.prepared.by}{signoff.approved.by}{library.manual.effective_date}" in history
    # 生效日期 of a controlled flow: the day its approval was signed
    flow = next(f for f in library.flows if f.effective_status == "受控")
    first = next(p for p in pdf_text if f"流程编码：{flow.code}" in p)
    assert f"生效日期{flow.signoff.approved.on.isoformat()}" in first


def test_a_copy_the_distribution_list_does_not_give_that_holder_is_refused(tmp_path):
    proc = flowdoc(["build", "--out", str(tmp_path / "out"), "--copy", "3", "--holder", "财务部"])
    assert proc.returncode == 1 and "distribution list" in proc.stderr
    assert "仓储物流中心" in proc.stderr  # whom copy 3 is issued to
    assert not (tmp_path / "out" / "manual.pdf").exists()


def test_the_front_matter_explains_every_symbol_of_the_charts_once(pdf_text):
    from generator.diagram import draw
    from generator.diagram.legend import ENTRIES, LINES, legend_page

    page = legend_page(500)
    assert {s.kind for s in page.shapes} == set(draw.FILL)  # every shape the charts draw
    assert any(s.double for s in page.shapes)  # and the 会签 box's second border
    assert {e.back for e in page.edges} == {True, False}  # a line and a loop back
    holding = [p for p in pdf_text if "图例" in p and all(
        "".join(meaning.split()) in p for *_, meaning in (*ENTRIES, *LINES))]
    assert len(holding) == 1


def test_the_docx_paginates_as_the_pdf_with_the_machines_own_fonts(docx_with_machine_fonts,
                                                                    built):
    # a reader's LibreOffice or Word sets the text in whatever CJK font it has, a little
    # taller or shorter than the bundled one: the explicit breaks keep every page where the
    # PDF has it all the same (this machine's own fonts, no fontconfig pointing at ours)
    docx_pages = pages_of(docx_with_machine_fonts)
    pdf_pages = pages_of(built / "manual.pdf")
    assert len(docx_pages) == len(pdf_pages)

    def marks(page: str) -> tuple:
        code = re.findall(r"流程编码：(EC-[A-Z]+-[0-9-]+)", page)[:1]
        return code, re.findall(r"第\d+页共\d+页", page), "相关说明" in page, "管理行为" in page

    assert [marks(p) for p in docx_pages] == [marks(p) for p in pdf_pages]


def test_the_authority_matrix_is_printed_as_its_own_table(pdf_text, library):
    """授权审批权限表: every kind of limit of org.yaml, each level with its amount, and the
    flows that apply it, on a page of its own before the first flow."""
    org = library.org
    pages = [i for i, p in enumerate(pdf_text) if p.startswith("授权审批权限表") or
             "授权审批权限表类别单位" in p]
    assert len(pages) == 1
    page = pdf_text[pages[0]]
    first_flow = next(i for i, p in enumerate(pdf_text) if "流程编码：" in p)
    assert pages[0] < first_flow
    for kind in org.authority:
        assert kind.name in page, kind.name
        for role, amount in kind.limits:
            assert f"{org.role(role).name}≤{amount:,}" in page, (kind.id, role)
    assert "EC-CS-021、EC-CS-023" in page  # both refund flows read the one 退款 row


NO_CJK_FONTCONF = """<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>
<dir>{fonts}</dir><cachedir>{cache}</cachedir></fontconfig>"""


def test_the_docx_carries_the_bundled_font_obfuscated_as_ecma_376_says(built):
    from generator import fonts
    from generator.manual.docx import FONT_PART, font_key, obfuscate

    with zipfile.ZipFile(built / "manual.docx") as z:
        table = etree.fromstring(z.read("word/fontTable.xml"))
        rels = etree.fromstring(z.read("word/_rels/fontTable.xml.rels"))
        settings = z.read("word/settings.xml")
        types = z.read("[Content_Types].xml")
        part = z.read(FONT_PART)
    assert b"<w:embedTrueTypeFonts/>" in settings and b'Extension="odttf"' in types
    embedded = {f.get(f"{W}name"): f.find(f"{W}embedRegular") for f in table}
    targets = {r.get("Id"): r.get("Target") for r in rels}
    for name in (fonts.FAMILY,):  # the name the document's runs use
        entry = embedded[name]
        assert entry.get(f"{W}fontKey") == font_key()
        rid = entry.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
        assert targets[rid] == "fonts/font1.odttf"
    # obfuscated (the first 32 bytes differ), and the key undoes it to the very font
    original = fonts.FONT_PATH.read_bytes()
    assert part[:32] != original[:32] and obfuscate(part, font_key()) == original


def converted(docx: Path, folder: Path, **env: str) -> Path:
    """``docx`` converted to PDF by LibreOffice into ``folder``, with no LANG (LibreOffice then
    names files in ASCII only: an embedded font under a Chinese name was not taken so) and
    ``env`` added (a conversion takes 5-9 s)."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is installed by ./tools/test")
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(folder),
                    str(docx)], capture_output=True, timeout=300, check=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(folder), **env})
    return folder / docx.with_suffix(".pdf").name


def machine_has_cjk_font() -> bool:
    """Whether fontconfig knows a Chinese font of this machine's own (a desktop's, say); if
    it cannot tell, yes."""
    if shutil.which("fc-list") is None:
        return True
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin"})  # as LibreOffice is run below
    return found.returncode != 0 or bool(found.stdout.strip())


@pytest.fixture(scope="module")
def docx_with_machine_fonts(built, tmp_path_factory) -> Path:
    """The manual's DOCX converted by LibreOffice under this machine's own fonts."""
    return converted(built / "manual.docx", tmp_path_factory.mktemp("own-fonts"))


@pytest.fixture(scope="module")
def docx_without_cjk_fonts(built, tmp_path_factory, request) -> Path:
    """The manual's DOCX converted by LibreOffice with no CJK font at all, as on a bare server
    or desktop: on a machine that has none, under its own fonts (the conversion above);
    elsewhere under a fontconfig that knows DejaVu only."""
    if not machine_has_cjk_font():
        return request.getfixturevalue("docx_with_machine_fonts")
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not dejavu.is_dir():
        pytest.skip("DejaVu is where LibreOffice's Debian package puts it")
    folder = tmp_path_factory.mktemp("no-cjk")
    conf = folder / "fonts.conf"
    conf.write_text(NO_CJK_FONTCONF.format(fonts=dejavu, cache=folder / "fc"), encoding="utf-8")
    return converted(built / "manual.docx", folder, FONTCONFIG_FILE=str(conf))


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is installed by .ci/run")
def test_libreoffice_draws_the_docx_chinese_with_the_embedded_font_where_none_is_installed(
        docx_without_cjk_fonts, library):
    pdf = docx_without_cjk_fonts
    listed = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                            check=True).stdout
    assert "FlowdocSansSC-Regular" in listed  # the embedded font drew the text
    text = "".join(pages_of(pdf))
    for flow in library.flows:
        assert flow.name in text, flow.code
    assert "文件控制页" in text and "管理行为" in text
