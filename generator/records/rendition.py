"""The archived rendition of a record: a flat PDF that shows everything and does nothing.

No form fields, no actions, every font embedded; the header as on the form, every value
(tables as tables), the path taken, and for each signed step the signature manifestation that
21 CFR 11.50 asks for: printed name, role, meaning, date and time, and the fingerprint of the
signature. Long text wraps with 禁则. Same record, same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas

from .. import fonts
from ..model import Flow
from ..typography import wrap
from .values import number_text

PAGE_W, PAGE_H = 595.28, 841.89
MARGIN = 40.0
LABEL_W = 120.0
INK = HexColor("#1a1a1a")
RULE = HexColor("#555555")
SHADE = HexColor("#eef1f5")


@dataclass(frozen=True)
class SignatureLine:
    """One signature as it is shown: who, in which role, meaning what, when, and its print."""

    step: str  # step text
    name: str
    role: str  # the lane signed for
    meaning: str  # 编制 / 审核 / 审批 / 复核 …
    decision: str | None
    time: dt.datetime
    fingerprint: str  # e.g. the first 16 hex digits of sha256 over the signature
    comment: str = ""
    superseded: bool = False  # given before a correction changed the values it saw


@dataclass(frozen=True)
class CorrectionLine:
    """One corrected value: who changed it, when, from what to what, and why."""

    name: str
    time: dt.datetime
    label: str
    old: str
    new: str
    reason: str


def _fmt(value: Any, unit: str | None) -> str:
    if value is None or value == "" or value == [] or value == ():
        return ""
    if isinstance(value, tuple):
        return "、".join(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float | Decimal):
        value = number_text(value)  # 1234567.89, never 1.23457e+06 or 1E-7
    return f"{value}{unit or ''}"


class _Page:
    def __init__(self, canvas: Canvas, title: str) -> None:
        self.c = canvas
        self.title = title
        self.font = fonts.register()
        self.number = 0
        self.new()

    def new(self) -> None:
        if self.number:
            self.c.showPage()
        self.number += 1
        self.y = PAGE_H - MARGIN
        self.c.setFont(self.font, 8)
        self.c.setFillColor(INK)
        self.c.drawString(MARGIN, 22, self.title)
        self.c.drawRightString(PAGE_W - MARGIN, 22, f"第 {self.number} 页")

    def need(self, h: float) -> None:
        if self.y - h < MARGIN + 10:
            self.new()

    def text(self, x: float, y: float, s: str, size: float = 10, align: str = "left") -> None:
        self.c.setFont(self.font, size)
        self.c.setFillColor(INK)
        {"left": self.c.drawString, "center": self.c.drawCentredString,
         "right": self.c.drawRightString}[align](x, y, s)

    def row(self, label: str, value: str, width: float) -> None:
        lines = wrap(value, width - LABEL_W - 10, 10, fonts.text_width) if value else [""]
        label_lines = wrap(label, LABEL_W - 8, 9.5, fonts.text_width)
        h = max(len(lines) * 14, len(label_lines) * 13) + 8
        self.need(h)
        c = self.c
        c.setLineWidth(0.6)
        c.setStrokeColor(RULE)
        c.setFillColor(SHADE)
        c.rect(MARGIN, self.y - h, LABEL_W, h, stroke=1, fill=1)
        c.rect(MARGIN + LABEL_W, self.y - h, width - LABEL_W, h, stroke=1, fill=0)
        for i, line in enumerate(label_lines):
            self.text(MARGIN + 4, self.y - 14 - i * 13, line, 9.5)
        for i, line in enumerate(lines):
            self.text(MARGIN + LABEL_W + 5, self.y - 14 - i * 14, line, 10)
        self.y -= h


def render_record(flow: Flow, number: str, values: dict[str, Any], path: Sequence[str],
                  signatures: Sequence[SignatureLine], status: str = "已完成",
                  created: dt.datetime | None = None,
                  corrections: Sequence[CorrectionLine] = (), keywords: str = "") -> bytes:
    """The flat PDF of one record (``values`` typed, ``path`` the step ids taken)."""
    out = io.BytesIO()
    font = fonts.register()
    c = Canvas(out, pagesize=(PAGE_W, PAGE_H), invariant=1, initialFontName=font,
               pageCompression=1)
    c.setTitle(f"{number} {flow.name}")
    c.setAuthor("flowdoc")
    c.setSubject(f"记录 {number}（{flow.code} 版本 {flow.revision}）")
    c.setCreator("flowdoc")
    if keywords:  # what the archive finds again without rendering (generator.archive.events)
        c.setKeywords(keywords)
    page = _Page(c, f"{number}　{flow.code} {flow.name}　归档件")
    width = PAGE_W - 2 * MARGIN
    page.text(PAGE_W / 2, page.y - 18, f"{flow.name}记录", 16, "center")
    page.y -= 32
    page.text(MARGIN, page.y - 12, f"记录编号：{number}　流程编码：{flow.code}　表单版本："
                                   f"{flow.revision}　状态：{status}", 9)
    if created is not None:
        page.text(PAGE_W - MARGIN, page.y - 12, f"创建：{created:%Y-%m-%d %H:%M}", 9, "right")
    page.y -= 24
    for f in flow.fields:
        value = values.get(f.id)
        if f.type == "table":
            rows = value or []
            text = "；".join("，".join(f"{col.label}{_fmt(r.get(col.id), col.unit)}"
                                      for col in f.columns if r.get(col.id) not in (None, ""))
                            for r in rows)
            page.row(f.label, text or "（无）", width)
        else:
            page.row(f.label + (f"（{f.unit}）" if f.unit else ""), _fmt(value, None), width)
    page.y -= 10
    page.need(40)
    page.text(MARGIN, page.y - 14, "流转路径", 11)
    page.y -= 20
    page.row("经过环节", " → ".join(flow.step(s).text for s in path), width)
    page.y -= 10
    page.need(40)
    page.text(MARGIN, page.y - 14, "电子签名", 11)
    page.y -= 20
    if not signatures:
        page.row("签名", "（尚无签名）", width)
    for sig in signatures:
        text = (f"{sig.name}（{sig.role}）{sig.meaning}"
                + (f"：{sig.decision}" if sig.decision else "")
                + f"　{sig.time:%Y-%m-%d %H:%M:%S}　签名指纹 {sig.fingerprint}"
                + (f"　说明：{sig.comment}" if sig.comment else "")
                + ("　（更正后失效，须重新签署）" if sig.superseded else ""))
        page.row(sig.step, text, width)
    if corrections:
        page.y -= 10
        page.need(40)
        page.text(MARGIN, page.y - 14, "更正记录", 11)
        page.y -= 20
        for fix in corrections:
            page.row(fix.label, f"原值：{fix.old}　更正为：{fix.new}　{fix.name} "
                                f"{fix.time:%Y-%m-%d %H:%M:%S}　理由：{fix.reason}", width)
    c.showPage()
    c.save()
    return out.getvalue()
