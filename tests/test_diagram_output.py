"""The chart files a user gets: SVG with real text, vector PDF with the font embedded, PNG at
true size; reproducible bytes; and the commands that write them."""

from __future__ import annotations

import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import FLOWS, ROOT, cli
from PIL import Image
from pypdf import PdfReader

from generator.diagram import layout, outputs, render_pdf, render_png, render_svg
from generator.diagram.layout import A4
from generator.model import Flow, Lane, Signoff, Step

SVG = "{http://www.w3.org/2000/svg}"


def texts_of(chart) -> list[str]:
    return ["".join(s.text.lines) for p in chart.pages for s in p.shapes if s.kind != "connector"]


def test_svg_keeps_every_box_text_as_text(library):
    flow = library.flow("EC-HR-004")
    chart = layout(flow)
    root = ET.fromstring(render_svg(chart).encode("utf-8"))
    box = [float(v) for v in root.get("viewBox").split()]
    assert box == pytest.approx([0, 0, chart.pages[0].width, chart.pages[0].height], abs=0.01)
    drawn = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for step in flow.steps:
        for ch in step.text:
            assert ch in drawn
    lanes = [t.text for t in root.iter(f"{SVG}text")]
    for lane in flow.lanes:
        assert lane.name in "".join(x or "" for x in lanes)


def test_pdf_is_vector_a4_with_the_font_embedded_and_text_extractable(tmp_path):
    chart = layout(long_flow(60))  # a chart of several pages: one PDF page each
    reader = PdfReader(io.BytesIO(render_pdf(chart)))
    assert len(reader.pages) == len(chart.pages) >= 2
    size = A4 if chart.orientation == "portrait" else (A4[1], A4[0])
    text = ""
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(size, abs=0.5)
        assert not page.images  # drawn with paths and text, not a picture
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            descriptor = font["/FontDescriptor"]
            assert "/FontFile2" in descriptor  # TrueType program embedded
            assert str(font["/BaseFont"])[7] == "+"  # a subset: ABCDEF+Name
        text += page.extract_text()
    extracted = {line.strip() for line in text.split("\n")}
    for page in chart.pages:
        for shape in page.shapes:
            for line in shape.text.lines:  # every line of every box, as a line of text
                assert line in extracted, line
    assert reader.metadata.title == f"{chart.code} {chart.title}"


def test_png_is_200_dpi_and_inserts_into_docx_at_the_chart_true_size(tmp_path, library):
    docx = pytest.importorskip("docx")
    chart = layout(library.flow("EC-HR-015"))
    data = render_png(chart)
    image = Image.open(io.BytesIO(data))
    dpi = image.info["dpi"]
    assert round(dpi[0]) >= 200
    assert image.size[0] / dpi[0] * 72 == pytest.approx(chart.pages[0].width, abs=0.5)
    path = tmp_path / "chart.png"
    path.write_bytes(data)
    document = docx.Document()
    picture = document.add_picture(str(path))  # no width given: python-docx reads pHYs
    assert picture.width.pt == pytest.approx(chart.pages[0].width, abs=0.5)
    assert picture.height.pt == pytest.approx(chart.pages[0].height, abs=0.5)


def test_same_input_same_bytes(library):
    flow = library.flow("EC-HR-019")
    a, b = layout(flow), layout(flow)
    assert a == b
    assert render_svg(a) == render_svg(b)
    assert render_pdf(a) == render_pdf(b)
    assert render_png(a) == render_png(b)


def long_flow(n: int) -> Flow:
    """A made-up flow of n steps zig-zagging between two lanes: far too tall for one page."""
    steps = [Step(f"s{i}", "a" if i % 3 else "b", "start" if i == 0 else "task",
                  f"第{i}步处理事项", f"s{i + 1}") for i in range(n - 1)]
    steps.append(Step(f"s{n - 1}", "a", "end", "存档"))
    return Flow("EC-HR-099", "测试长流程", "草稿", "A/0", "测试", "测试", "reconstructed",
                (Lane("a", "甲部门", "a"), Lane("b", "乙部门", "b")), (), tuple(steps), None,
                Signoff(), "0" * 64, None)


def test_a_flow_too_tall_for_a_page_is_split_with_numbered_connectors_not_shrunk():
    from generator.diagram import measure

    flow = long_flow(90)
    chart = layout(flow)
    assert len(chart.pages) >= 3
    report = measure(chart, flow)
    assert report.violations == {}, report.details
    for number, page in enumerate(chart.pages, start=1):
        assert page.number == number
        kinds = {s.step_id[:3] for s in page.shapes if s.kind == "connector"}
        if number > 1:
            assert "~in" in kinds
        if number < len(chart.pages):
            assert "~ou" in kinds
    assert all(s.text.size >= 9 for p in chart.pages for s in p.shapes)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return cli(args, cwd)


def test_diagram_command_writes_each_format(tmp_path):
    for fmt in ("svg", "png", "pdf"):
        out = tmp_path / f"leave.{fmt}"
        proc = run(["diagram", "EC-HR-015", "--format", fmt, "-o", str(out)], ROOT)
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 1000
    # a chart of several pages is one file a page, numbered
    names = [name for name, _ in outputs(layout(long_flow(60)), "svg", "out")]
    assert names[:2] == ["out-1.svg", "out-2.svg"]


def test_unknown_code_is_one_line_and_writes_nothing(tmp_path):
    proc = run(["diagram", "EC-HR-999", "-o", str(tmp_path / "x.svg")], ROOT)
    assert proc.returncode == 1
    assert proc.stderr.startswith("flowdoc: no flow with code 'EC-HR-999'")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_build_writes_every_chart_and_nothing_when_a_flow_is_broken(tmp_path, library,
                                                                   built):
    names = {p.name for p in (built / "diagrams").iterdir()}
    for flow in library.flows:
        assert f"{flow.code}.pdf" in names
        assert f"{flow.code}.svg" in names or f"{flow.code}-1.svg" in names
    broken = tmp_path / "flows"
    shutil.copytree(FLOWS, broken)
    leave = broken / "15-leave.yaml"
    leave.write_text(leave.read_text(encoding="utf-8").replace("lane: gm,", "lane: ceo,")
                     .replace("lane: gm\n", "lane: ceo\n"), encoding="utf-8")
    proc = run(["build", "--flows", str(broken), "--out", str(tmp_path / "out2")], tmp_path)
    assert proc.returncode == 1
    assert "lane 'ceo' is not declared" in proc.stderr
    assert not (tmp_path / "out2").exists()


def test_a_records_path_is_drawn_over_its_chart_and_the_step_it_waits_at_marked(library):
    from generator.diagram import draw

    flow = library.flow("EC-HR-015")
    chart = layout(flow)
    page = chart.pages[0]
    ids = {s.step_id for s in page.shapes}
    first = [s.id for s in flow.steps][:3]
    assert set(first) <= ids
    m = draw.marks(first, current=first[-1])
    marked = list(draw.marked_items(page, m))
    # exactly the lines from one step of the path to the next, and the boxes of its steps
    walked = {(first[0], first[1]), (first[1], first[2])}
    assert {(e.source, e.target) for k, e in marked if k == "edge"} == walked
    assert {s.step_id for k, s in marked if k == "step"} == set(first[:-1])
    assert [s.step_id for k, s in marked if k == "current"] == [first[-1]]

    def colours_in(png: bytes, shape) -> set[tuple[int, int, int]]:
        img = Image.open(io.BytesIO(png)).convert("RGB")
        k = img.width / page.width
        r = shape.rect
        box = img.crop((round((r.x - 2) * k), round((r.y - 2) * k),
                        round((r.right + 2) * k), round((r.bottom + 2) * k)))
        return {c for _, c in box.getcolors(1 << 16)}

    plain, with_path = render_png(chart, 1), render_png(chart, 1, marks=m)
    blue, orange = Image.new("RGB", (1, 1), draw.PATH_LINE).getpixel((0, 0)), \
        Image.new("RGB", (1, 1), draw.CURRENT).getpixel((0, 0))
    shape = {s.step_id: s for s in page.shapes}
    taken, waiting = shape[first[0]], shape[first[-1]]
    untaken = next(s for s in page.shapes if s.step_id not in first and s.kind != "connector")
    assert blue in colours_in(with_path, taken) and blue not in colours_in(plain, taken)
    assert orange in colours_in(with_path, waiting)
    assert not {blue, orange} & colours_in(with_path, untaken)
    assert render_png(chart, 1, marks=m) == with_path  # same path, same bytes
