"""Fillable forms: generated per flow, typed in Chinese, read back from any filler."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import pikepdf
import pytest
from conftest import FLOWS, ROOT, bundled_library, cli
from formfill import fill_with_pikepdf
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from generator.checks import check_paths
from generator.forms import make_form
from generator.forms.filled import FormError, fill_form, read_form
from generator.forms.layout import signed_steps
from generator.records import check_record

LIBRARY = bundled_library()  # collected once per flow: the session's checked library
FLOWS_BY_CODE = {f.code: f for f in LIBRARY.flows}
TEMPLATES = ROOT / "templates"
LEAVE = LIBRARY.flow("EC-HR-015")
VALUES = {"fields.leave_type": "病假", "fields.start": "2026-11-02", "fields.end": "2026-11-11",
          "fields.reason": "感冒发烧，医生建议休息（附医院证明）：请批准；谢谢！",
          "fields.handover": "孙磊"}


@pytest.fixture(scope="module")
def leave_form() -> bytes:
    return make_form(LEAVE, TEMPLATES)


def expected_names(flow) -> set[str]:
    names = {"form.flow", "form.revision", "form.hash", "form.number"}
    for f in flow.fields:
        if f.type == "table":
            names |= {f"fields.{f.id}.{r}.{c.id}" for r in range(1, f.rows + 1) for c in f.columns}
        else:
            names.add(f"fields.{f.id}")
    for step in signed_steps(flow):
        names |= {f"steps.{step.id}.{k}" for k in ("signer", "date", "comment")}
        if step.kind != "start":
            names.add(f"steps.{step.id}.decision")
    return names


@pytest.mark.parametrize("flow", LIBRARY.flows, ids=lambda f: f.code)
def test_every_flow_has_a_form_with_stable_names_and_its_identity(flow, tmp_path):
    data = make_form(flow, TEMPLATES)
    reader = PdfReader(io.BytesIO(data))
    fields = reader.get_fields()
    leaves = {k for k, v in fields.items() if "/FT" in v}
    assert leaves == expected_names(flow)
    assert fields["form.flow"]["/V"] == flow.code
    assert fields["form.revision"]["/V"] == flow.revision
    assert fields["form.hash"]["/V"] == flow.content_hash
    assert reader.metadata["/FlowdocHash"] == flow.content_hash
    for page in reader.pages:
        assert [round(float(v)) for v in page.mediabox[2:]] == [595, 842]


def test_every_text_and_choice_field_uses_the_embedded_cjk_font(leave_form):
    reader = PdfReader(io.BytesIO(leave_form))
    form = reader.trailer["/Root"]["/AcroForm"]
    font = form["/DR"]["/Font"]["/FdSC"].get_object()
    assert font["/Subtype"] == "/Type0" and font["/Encoding"] == "/Identity-H"
    descendant = font["/DescendantFonts"][0].get_object()
    assert "/FontFile2" in descendant["/FontDescriptor"]
    assert form["/NeedAppearances"].value is False  # our appearances, not the reader's redraw
    for page in reader.pages:
        for annot in page.get("/Annots") or []:  # a page of printed text only has none
            annot = annot.get_object()
            if annot.get("/FT") in ("/Tx", "/Ch"):
                assert str(annot["/DA"]).startswith("/FdSC "), annot.get("/T")


def test_chinese_filled_in_draws_with_its_punctuation(leave_form, tmp_path):
    path = tmp_path / "filled.pdf"
    path.write_bytes(fill_form(leave_form, VALUES))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "感冒发烧，医生建议休息（附医院证明）：请批准；谢谢！" in text.replace("\n", "")
    assert "病假" in text and "孙磊" in text


def check(data: bytes):
    record = read_form(data, "filled.pdf", FLOWS_BY_CODE)
    return check_record(FLOWS_BY_CODE[record.flow], LIBRARY.org, record)


def test_filled_by_flowdoc_reads_back_typed(leave_form):
    result = check(fill_form(leave_form, VALUES))
    assert result.ok, result.problems
    assert result.values["days"] == 10 and str(result.values["start"]) == "2026-11-02"
    assert result.values["reason"] == VALUES["fields.reason"]


def test_filled_by_pypdf_reads_back(leave_form):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(leave_form)))
    writer.update_page_form_field_values(writer.pages[0], VALUES, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    result = check(out.getvalue())
    assert result.ok, result.problems
    assert result.values["days"] == 10


def test_filled_by_pikepdf_and_by_a_reader_that_rewrote_appearances(leave_form):
    for drop in (False, True):
        result = check(fill_with_pikepdf(leave_form, VALUES, drop))
        assert result.ok, result.problems
        assert result.values["reason"] == VALUES["fields.reason"]


def test_table_and_decisions_read_back():
    flow = FLOWS_BY_CODE["EC-WH-006-2"]
    data = fill_form(make_form(flow, TEMPLATES), {
        "fields.receipt_no": "RK-2026-0101", "fields.receipt_date": "2026-11-03",
        "fields.source_type": "生产入库", "fields.items.1.product": "维生素C片",
        "fields.items.1.qty": "120", "fields.items.1.passed": "118",
        "fields.items.2.product": "钙片", "fields.items.2.qty": "60", "fields.items.2.passed": "60",
        "fields.inspection": "不合格", "fields.handover": "韩雪",
        "steps.inspect.decision": "不合格"})
    result = check(data)
    assert result.ok, result.problems
    assert result.values["total_qty"] == 180 and result.values["passed_qty"] == 178
    assert "defective" in result.route.steps


def test_a_form_of_another_revision_names_both(leave_form, tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    path = flows / "15-leave.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("revision: A/0", "revision: A/1"),
                    encoding="utf-8")
    newer = {f.code: f for f in check_paths([flows], base=tmp_path).library.flows}
    with pytest.raises(FormError, match="made from revision A/0 of EC-HR-015; the controlled flow "
                                        "is now revision A/1"):
        read_form(fill_form(leave_form, VALUES), "old.pdf", newer)


def with_writer(data: bytes, change) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_javascript(writer):
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"),
        NameObject("/JS"): TextStringObject("app.alert('hi');")})


def encrypt(writer):
    writer.encrypt("secret")


def drop_field(writer):
    annots = writer.pages[0]["/Annots"]
    for ref in list(annots):
        if ref.get_object().get("/T") == "reason":
            annots.remove(ref)
            parent = ref.get_object()["/Parent"].get_object()
            parent["/Kids"].remove(ref)


def rename_field(writer):
    for ref in writer.pages[0]["/Annots"]:
        if ref.get_object().get("/T") == "contact":
            ref.get_object()[NameObject("/T")] = TextStringObject("salary")


@pytest.mark.parametrize(("change", "message"), [
    (add_javascript, "contains /JavaScript: scripts and actions are refused"),
    (encrypt, "the PDF is encrypted"),
    (drop_field, "field fields.reason of the form of EC-HR-015 is missing"),
    (rename_field, "field fields.salary is not on the form of EC-HR-015"),
])
def test_dangerous_or_altered_forms_are_refused(leave_form, change, message):
    with pytest.raises(FormError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_form(with_writer(fill_form(leave_form, VALUES), change), "x.pdf", FLOWS_BY_CODE)


def test_not_a_form_and_broken_pdfs_are_refused(leave_form):
    with pytest.raises(FormError, match="not a flowdoc form"):
        plain = io.BytesIO()
        writer = PdfWriter()
        writer.add_blank_page(595, 842)
        writer.write(plain)
        read_form(plain.getvalue(), "plain.pdf", FLOWS_BY_CODE)
    for cut in (100, len(leave_form) // 2):
        with pytest.raises(FormError):
            read_form(leave_form[:cut], "cut.pdf", FLOWS_BY_CODE)
    with pytest.raises(FormError, match=r"not a readable PDF|not a flowdoc form"):
        read_form(b"%PDF-1.7\n" + os.urandom(2000), "noise.pdf", FLOWS_BY_CODE)


def run(args, cwd=ROOT):
    return cli(args, cwd)


def test_commands_form_and_record_check_of_a_pdf(tmp_path):
    form = tmp_path / "leave.pdf"
    assert run(["form", "EC-HR-015", "-o", str(form)]).returncode == 0
    good = tmp_path / "good.pdf"
    good.write_bytes(fill_form(form.read_bytes(), VALUES))
    proc = run(["record", "check", str(good), "--as", "赵敏"])
    assert proc.returncode == 0, proc.stderr
    assert "请假天数: 10天" in proc.stdout
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(fill_with_pikepdf(form.read_bytes(), {
        **VALUES, "fields.leave_type": "探亲假", "fields.end": "2026-10-30"}))
    proc = run(["record", "check", str(bad)])
    assert proc.returncode == 1
    assert "请假类别（leave_type）: '探亲假' is not one of" in proc.stderr
    assert "请假天数（days）: -2天 is below the minimum 1天" in proc.stderr


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as out:
        out.truncate(200 << 20)  # 200 MiB, sparse
    proc = run(["record", "check", str(huge)])
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"flowdoc: {huge}: 200 MiB; a filled form is at most 20 MiB"


def test_same_flow_same_form_bytes():
    assert make_form(LEAVE, TEMPLATES) == make_form(LEAVE, TEMPLATES)


def _zeros_deflated(mib: int) -> bytes:
    """A zlib stream of ``mib`` MiB of zero bytes, as compressing them all would give, made
    without compressing more than 2 MiB: after a full flush the compressor starts afresh
    (no back-reference crosses it), so each further MiB is the same bytes; the trailer is
    the Adler-32 of ``mib`` MiB of zeros (its sum of bytes stays 1, its sum of sums is the
    length). Checked below on a small count by inflating it."""
    import zlib

    z = zlib.compressobj(9)
    first = z.compress(bytes(1 << 20)) + z.flush(zlib.Z_FULL_FLUSH)
    again = z.compress(bytes(1 << 20)) + z.flush(zlib.Z_FULL_FLUSH)
    end = z.flush()[:-4]  # the final empty block, without the checksum of 2 MiB
    adler = ((mib << 20) % 65521) << 16 | 1
    return first + again * (mib - 1) + end + adler.to_bytes(4, "big")


def test_a_decompression_bomb_is_not_inflated(leave_form, tmp_path):
    import resource
    import zlib

    for mib in (1, 3):  # the bomb's construction, on a size small enough to inflate
        assert zlib.decompress(_zeros_deflated(mib)) == bytes(mib << 20)

    from pypdf.generic import StreamObject

    packed = _zeros_deflated(400)  # 400 MiB

    def plant(writer):
        bomb = StreamObject()
        bomb._data = packed
        bomb[NameObject("/Filter")] = NameObject("/FlateDecode")
        bomb[NameObject("/Type")] = NameObject("/XObject")
        bomb[NameObject("/Subtype")] = NameObject("/Form")
        resources = writer.pages[0]["/Resources"]
        resources[NameObject("/XObject")] = DictionaryObject({NameObject("/Bomb"):
                                                              writer._add_object(bomb)})

    path = tmp_path / "bomb.pdf"
    path.write_bytes(with_writer(fill_form(leave_form, VALUES), plant))
    assert path.stat().st_size < 2 << 20

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (768 << 20, 768 << 20))

    proc = subprocess.run([sys.executable, "-m", "generator", "record", "check", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, preexec_fn=limit,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    assert proc.returncode == 0, proc.stderr  # the values are read; the bomb is never opened


def test_a_check_box_is_ticked_and_read_back():
    flow = FLOWS_BY_CODE["EC-HR-003"]
    required = {f"fields.{f.id}": "2026-11-02" if f.type == "date" else "测试值"
                for f in flow.fields if f.required and f.type in ("text", "date")}
    for ticked in (True, False):
        data = fill_form(make_form(flow, TEMPLATES), {**required, "fields.logistics_done": ticked})
        reader = PdfReader(io.BytesIO(data))
        box = reader.get_fields()["fields.logistics_done"]
        assert box["/V"] == ("/Yes" if ticked else "/Off")
        result = check(data)
        assert result.values["logistics_done"] is ticked, result.problems


# -- forms on paper ----------------------------------------------------------------------------

def _printed_text(data: bytes, tmp_path) -> str:
    """The text of the form as it prints: every field's appearance flattened into the page."""
    pdf = pikepdf.open(io.BytesIO(data))
    pdf.flatten_annotations("print")
    path = tmp_path / "printed.pdf"
    pdf.save(path)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_a_printed_leave_form_shows_every_choice_and_the_route(tmp_path):
    text = _printed_text(make_form(LEAVE, TEMPLATES, LIBRARY.manual.company), tmp_path)
    flat = "".join(text.split())
    leave_type = next(f for f in LEAVE.fields if f.id == "leave_type")
    for option in leave_type.options:
        assert f"□{option}" in flat, option
    assert "□同意□不同意" in flat  # each approval's decision, to tick
    # the route in words, from the flow's exits and conditions
    assert "部门负责人审批：不同意→未准假；5天内（请假天数≤5）→人力资源部审批；超过5天→分管总监审批" in flat
    assert "分管总监审批：" in flat and "1个月内（请假天数≤30）→人力资源部审批" in flat
    # and condensed, in one sentence by the ranges of the number the exits compare
    assert "请假天数≤5：部门负责人→人力资源部；6–30：+分管总监；>30：+总经理" in flat
    # company and form number in the header
    assert LIBRARY.manual.company in flat and "表单编号：EC-HR-015-F-A0" in flat


def test_the_route_sentence_is_made_from_the_flows_conditions():
    from generator.forms.layout import route_sentence

    def flow(code):
        return next(f for f in LIBRARY.flows if f.code == code)

    assert route_sentence(LEAVE) == "请假天数 ≤ 5：部门负责人 → 人力资源部；6–30：+分管总监；> 30：+总经理"
    # bounds read from the 授权审批权限表 (limit(…)) are not numbers the form can know without
    # the org in force: given its matrix, the sentence says them
    limits = LIBRARY.org.limits
    assert route_sentence(flow("EC-OP-005")) is None
    assert route_sentence(flow("EC-OP-005"), limits) == \
        f"订单金额 ≤ {limits['order']['ec_staff']}：无需审批；> {limits['order']['ec_staff']}：电商运营总监"
    # an approval whose step names a role is said by the role (审核账户及权限（会计）: 会计)
    assert route_sentence(flow("EC-FN-011"), limits) == \
        "单笔支付限额 ≤ 50000：部门负责人 → 会计；> 50000：+财务负责人+总经理"
    # two bounds in one condition (预算合计 > 0 且 ≤ 经理权限), and a decision on more than the
    # number (广告审查文号) whose every way on passes the same approvals
    mk = route_sentence(flow("EC-MK-022"), limits)
    assert mk is not None and mk.startswith("预算合计 ≤ 0：电子商务部经理 → 分管总监 → 执行副总")
    assert "> 50000 且 ≤ 200000：+分管总监；> 200000：+执行副总" in mk
    # a condition on more than one field (退款/赔付 and the amount): no sentence
    assert route_sentence(flow("EC-CS-021"), limits) is None
    # the lines per step say a bound of the matrix as its number too
    from generator.forms.layout import _clause_wrap, route_lines

    lines = route_lines(flow("EC-MK-022"), limits)
    assert not any("limit(" in line for line in lines)
    assert any("经理权限内（预算合计 > 0 且 预算合计 ≤ 50000）" in line for line in lines)
    # printed, a line breaks after a clause, never inside a range
    assert _clause_wrap(mk, 527, 9)[1].startswith("> 50000 且 ≤ 200000：")
    # no number compared, or a condition on more than the number: no sentence
    assert route_sentence(flow("EC-HR-001")) is None
    assert route_sentence(flow("EC-OP-010")) is None


def test_a_chosen_value_replaces_the_printed_options(tmp_path):
    text = "".join(_printed_text(fill_form(make_form(LEAVE, TEMPLATES), VALUES), tmp_path).split())
    assert "病假" in text and "□病假" not in text


@pytest.mark.parametrize("flow", LIBRARY.flows, ids=lambda f: f.code)
def test_labels_fit_their_rows_and_rows_take_handwriting(flow):
    from generator import fonts
    from generator.forms.layout import form_layout

    layout = form_layout(flow, [], flow.effective_status)
    for page in layout.pages:
        for spec in page.fields:
            if spec.kind not in ("hidden", "check"):
                assert spec.h >= 18, spec.name  # a 22 pt row at least, less the frame
        label_boxes = [b for b in page.boxes if b.fill and b.w < 200]
        for text in page.texts:
            if fonts.text_width(text.text, text.size) > 515 + 0.5:
                pytest.fail(f"{text.text} runs past the margin")
            for box in label_boxes:
                if not box.x <= text.x <= box.x + box.w:
                    continue
                # no line of a label runs across its cell's lower or upper edge (glyphs reach
                # from 2 pt below the baseline to 8 pt above it), nor out of its right side
                for edge in (box.y, box.y + box.h):
                    assert not text.y - 2 < edge < text.y + 8, (flow.code, text.text)
                if box.y < text.y < box.y + box.h:
                    assert text.x + fonts.text_width(text.text, text.size) <= box.x + box.w + 0.5


def test_labels_break_before_a_bracketed_phrase_not_inside_it():
    from generator.forms.layout import LABEL_W, label_lines

    assert label_lines("权重合计（%）（自动计算）", LABEL_W - 8, 9.5) == ["权重合计（%）",
                                                                    "（自动计算）"]
    for flow in LIBRARY.flows:
        for f in flow.fields:
            label = f.label + (f"（{f.unit}）" if f.unit else "") + ("（自动计算）" if f.derive else "")
            lines = label_lines(label, LABEL_W - 8, 9.5)
            assert "".join(lines) == label
            for line in lines[:-1]:  # no line ends inside a bracket that fits on one line
                assert line.count("（") == line.count("）"), (flow.code, lines)


def test_item_table_columns_are_sized_to_their_content():
    from generator.forms.layout import column_widths

    flow = next(f for f in LIBRARY.flows if any(x.type == "table" for x in f.fields))
    table = next(x for x in flow.fields if x.type == "table")
    widths = column_widths(table.columns, 491)
    assert abs(sum(widths) - 491) < 0.01
    by_type = {c.type: w for c, w in zip(table.columns, widths, strict=True)}
    if "text" in by_type and "number" in by_type:
        assert by_type["text"] > by_type["number"]  # free text gets the room, numbers less


# every character a filler may type: ASCII, full-width forms, common CJK punctuation
TYPED = ("".join(chr(c) for c in range(0x20, 0x7F)) + "".join(chr(c) for c in range(0xFF01, 0xFF5F))
         + "　、。〈〉《》「」『』【】〔〕〖〗·•—…‘’“”±×÷≤≥")


def test_the_forms_font_maps_every_typed_character_to_a_glyph_of_its_own():
    import re
    import zlib

    from generator.forms import cjkfont

    cmap = zlib.decompress(cjkfont.to_unicode_map()).decode("ascii")
    mapped = {int(u, 16) for u in re.findall(r"<[0-9A-F]{4}> <([0-9A-F]{4})>", cmap)}
    missing = [f"U+{ord(ch):04X}" for ch in TYPED if ord(ch) not in mapped]
    assert missing == []


def test_values_drawn_by_another_program_show_every_character(tmp_path):
    # pikepdf sets a value and asks the viewer to draw it (NeedAppearances), as a filler that
    # does not write appearances does; poppler then draws with the form's own font
    value = "2026-12-01 138 0000 0000 A-Z_a~z!@#$%&*()·•，。：；（）“”《》"
    pdf = pikepdf.open(io.BytesIO(make_form(LEAVE, TEMPLATES)))
    for field in pdf.Root.AcroForm.Fields:
        if str(field.get("/T")) == "fields":
            for kid in field.Kids:
                if str(kid.get("/T")) == "reason":
                    kid.V = pikepdf.String(value)
                    del kid["/AP"]
    pdf.Root.AcroForm.NeedAppearances = True
    path = tmp_path / "filled.pdf"
    pdf.save(path)
    render = subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / "p")],
                            capture_output=True, text=True, check=True)
    assert "couldn't find a font" not in render.stderr, render.stderr
