"""The archived rendition: flat (no fields, no actions), fonts embedded, signatures shown."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

from pypdf import PdfReader

from generator.records import RecordInput, SignatureLine, check_record, render_record

REASON = "手术后需要休养，医生建议卧床休息四周（附诊断证明）；期间工作由孙磊代理，紧急事项可电话联系。" * 3
SIGS = [SignatureLine("填写请假条", "赵敏", "请假人员", "编制", None, dt.datetime(2026, 11, 1, 9, 30),
                      "3f9a1c2b7d4e5f60"),
        SignatureLine("审批", "李强", "部门负责人", "审批", "同意", dt.datetime(2026, 11, 1, 10, 2, 5),
                      "a1b2c3d4e5f60718", "情况属实，同意")]


def rendition(tmp_path, library):
    flow = library.flow("EC-HR-015")
    result = check_record(flow, library.org, RecordInput("EC-HR-015", {
        "leave_type": "病假", "start": "2026-11-02", "end": "2026-12-11", "reason": REASON},
        applicant="赵敏"))
    data = render_record(flow, "EC-HR-015-2026-0001", result.values, result.route.steps, SIGS)
    path = tmp_path / "record.pdf"
    path.write_bytes(data)
    return data, path


def test_rendition_is_flat_and_embeds_its_fonts(tmp_path, library):
    data, path = rendition(tmp_path, library)
    reader = PdfReader(io.BytesIO(data))
    assert "/AcroForm" not in reader.trailer["/Root"]
    assert "/OpenAction" not in reader.trailer["/Root"] and "/Names" not in reader.trailer["/Root"]
    for page in reader.pages:
        assert "/Annots" not in page
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)


def test_rendition_shows_values_path_and_signature_manifestation(tmp_path, library):
    _, path = rendition(tmp_path, library)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = text.replace("\n", "")
    assert "EC-HR-015-2026-0001" in text and "病假" in text and "40" in text
    assert REASON in flat  # wrapped over lines, every character kept in order
    for sig in SIGS:
        assert f"{sig.name}（{sig.role}）{sig.meaning}" in flat
        assert sig.time.strftime("%Y-%m-%d %H:%M:%S") in flat and sig.fingerprint in flat
    assert "填写请假条 → 审批 → 审批 → 审批 → 审批 → 考勤管理流程" in flat
    for line in text.splitlines():  # 禁则: no wrapped line starts with closing punctuation
        assert not line.startswith(("，", "。", "；", "：", "）"))


def test_same_record_same_bytes(tmp_path, library):
    assert rendition(tmp_path, library)[0] == rendition(tmp_path, library)[0]
