"""The fillable form of a flow: printed text by reportlab, AcroForm fields by pypdf.

Fields are built here, not with reportlab's acroform (it knows only the standard 14 fonts,
so its /DA would name Helvetica and Chinese would show as ???). Every text and choice field's
/DA names the embedded CJK font in /AcroForm/DR, and flowdoc writes each field's appearance
stream itself (NeedAppearances stays off: poppler's own redraw drops full-width punctuation).
"""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from reportlab.lib.colors import HexColor
from reportlab.pdfgen.canvas import Canvas

from .. import fonts
from ..typography import wrap
from . import cjkfont
from .layout import PAGE_H, PAGE_W, FieldSpec, FormLayout

FONT_SIZE = 10.0
FLAGS = {"readonly": 1, "required": 2, "multiline": 1 << 12, "combo": 1 << 17}


def _printed(layout: FormLayout) -> bytes:
    out = io.BytesIO()
    font = fonts.register()
    canvas = Canvas(out, pagesize=(PAGE_W, PAGE_H), invariant=1, initialFontName=font)
    flow = layout.flow
    canvas.setTitle(f"{flow.code} {flow.name}记录表")
    canvas.setAuthor("flowdoc")
    canvas.setSubject(f"表单 {flow.code} 版本 {flow.revision}")
    canvas.setCreator("flowdoc")
    for number, page in enumerate(layout.pages, start=1):
        for box in page.boxes:
            canvas.setLineWidth(0.6)
            canvas.setStrokeColor(HexColor("#555555"))
            if box.fill:
                canvas.setFillColor(HexColor(box.fill))
            canvas.rect(box.x, box.y, box.w, box.h, stroke=1, fill=1 if box.fill else 0)
        canvas.setFillColor(HexColor("#1a1a1a"))
        for text in page.texts:
            canvas.setFont(font, text.size)
            draw = {"left": canvas.drawString, "center": canvas.drawCentredString,
                    "right": canvas.drawRightString}[text.align]
            draw(text.x, text.y, text.text)
        for spec in page.fields:  # a light frame where a field is, so a printout shows it
            if spec.kind != "hidden":
                canvas.setStrokeColor(HexColor("#9aa4b2"))
                canvas.setLineWidth(0.4)
                canvas.rect(spec.x, spec.y, spec.w, spec.h, stroke=1, fill=0)
        canvas.setFont(font, 8)
        canvas.drawCentredString(PAGE_W / 2, 20, f"{flow.code} {flow.name}记录表　第 {number} 页 "
                                                 f"共 {len(layout.pages)} 页")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def appearance(spec: FieldSpec, value: str, font_ref) -> DecodedStreamObject:
    """The normal appearance of a text or choice field showing ``value``."""
    w, h = spec.w, spec.h
    size = FONT_SIZE if spec.kind == "multiline" or h >= 14 else max(h - 4, 7)
    ops = [b"/Tx BMC", b"q", f"1 1 {w - 2:.2f} {h - 2:.2f} re W n".encode(), b"BT",
           f"{cjkfont.RESOURCE_NAME} {size:g} Tf 0 g".encode()]
    if not value and spec.kind == "combo" and any(spec.options):
        # an empty choice shows its options to tick (□事假 □病假 …): a printed form must say
        # what may be chosen; a viewer still offers the drop-down, and draws the value chosen
        boxes = [f"□{o}" for o in spec.options if o]
        lines = ["　".join(boxes)]
        size = min(9.0, (w - 6) * 9.0 / max(cjkfont.width(lines[0], 9.0), 1))
        if size < 7.5 and len(boxes) > 1 and h >= 18:  # two lines read better than tiny type
            half = (len(boxes) + 1) // 2
            lines = ["　".join(boxes[:half]), "　".join(boxes[half:])]
            size = min(8.0, (h - 3) / 2.3,
                       (w - 6) * 9.0 / max(cjkfont.width(max(lines, key=len), 9.0), 1))
        leading = size * 1.15
        y = (h + (len(lines) - 1) * leading - size) / 2 + size * 0.15
        ops[-1] = f"{cjkfont.RESOURCE_NAME} {size:.2f} Tf 0 g".encode()
        ops.append(f"3 {y:.2f} Td {leading:.2f} TL".encode())
        for i, line in enumerate(lines):
            if i:
                ops.append(b"T*")
            ops.append(b"<" + cjkfont.encode(line).hex().encode() + b"> Tj")
    elif value:
        if spec.kind == "multiline":
            lines = wrap(value, w - 4, size, lambda t, s: cjkfont.width(t, s))
            leading = size * 1.25
            y = h - 2 - size
            ops.append(f"2 {y:.2f} Td {leading:.2f} TL".encode())
            for i, line in enumerate(lines):
                if i:
                    ops.append(b"T*")
                ops.append(b"<" + cjkfont.encode(line).hex().encode() + b"> Tj")
        else:
            y = (h - size) / 2 + size * 0.15
            ops.append(f"2 {y:.2f} Td".encode())
            ops.append(b"<" + cjkfont.encode(value).hex().encode() + b"> Tj")
    ops += [b"ET", b"Q", b"EMC"]
    stream = DecodedStreamObject()
    stream.set_data(b"\n".join(ops))
    stream.update({
        NameObject("/Type"): NameObject("/XObject"),
        NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(w),
                                          FloatObject(h)]),
        NameObject("/Resources"): DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject(cjkfont.RESOURCE_NAME): font_ref})}),
    })
    return stream


def _check_appearances(spec: FieldSpec) -> DictionaryObject:
    on = DecodedStreamObject()
    s = min(spec.w, spec.h)
    on.set_data(f"q 0 g 1.2 w {s * .2:.2f} {s * .5:.2f} m {s * .42:.2f} {s * .22:.2f} l "
                f"{s * .82:.2f} {s * .8:.2f} l S Q".encode())
    off = DecodedStreamObject()
    off.set_data(b"")
    for stream in (on, off):
        stream.update({NameObject("/Type"): NameObject("/XObject"),
                       NameObject("/Subtype"): NameObject("/Form"),
                       NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0),
                                                         FloatObject(spec.w), FloatObject(spec.h)])})
    return DictionaryObject({NameObject("/Yes"): on, NameObject("/Off"): off})


def render_form(layout: FormLayout) -> bytes:
    """The A4 AcroForm PDF of ``layout``: printed text plus fields that type Chinese."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_printed(layout))))
    font_ref = cjkfont.add_type0_font(writer)
    fields = ArrayObject()
    parents: dict[str, object] = {}
    da = TextStringObject(f"{cjkfont.RESOURCE_NAME} 0 Tf 0 g")
    for page_number, page in enumerate(layout.pages):
        pdf_page = writer.pages[page_number]
        annots = pdf_page.get("/Annots") or ArrayObject()
        for spec in page.fields:
            *path, leaf = spec.name.split(".")
            parent_ref = _parent(writer, parents, fields, path)
            widget = DictionaryObject({
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Widget"),
                NameObject("/T"): TextStringObject(leaf),
                NameObject("/TU"): TextStringObject(spec.tooltip),
                NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (
                    spec.x, spec.y, spec.x + spec.w, spec.y + spec.h)]),
                NameObject("/F"): NumberObject(2 if spec.kind == "hidden" else 4),
                NameObject("/P"): pdf_page.indirect_reference,
                NameObject("/Parent"): parent_ref,
            })
            flags = FLAGS["readonly"] if spec.readonly else 0
            if spec.kind == "check":
                widget[NameObject("/FT")] = NameObject("/Btn")
                widget[NameObject("/V")] = NameObject("/Off")
                widget[NameObject("/AS")] = NameObject("/Off")
                widget[NameObject("/AP")] = DictionaryObject(
                    {NameObject("/N"): _check_appearances(spec)})
                widget[NameObject("/MK")] = DictionaryObject(
                    {NameObject("/BC"): ArrayObject([FloatObject(0.4)] * 3)})
            else:
                if spec.kind == "combo":
                    widget[NameObject("/FT")] = NameObject("/Ch")
                    flags |= FLAGS["combo"]
                    widget[NameObject("/Opt")] = ArrayObject(
                        [TextStringObject(o) for o in spec.options])
                else:
                    widget[NameObject("/FT")] = NameObject("/Tx")
                    if spec.kind == "multiline":
                        flags |= FLAGS["multiline"]
                    if spec.max_length:
                        widget[NameObject("/MaxLen")] = NumberObject(spec.max_length)
                widget[NameObject("/DA")] = da  # auto size, the CJK font
                widget[NameObject("/V")] = TextStringObject(spec.value)
                widget[NameObject("/AP")] = DictionaryObject(
                    {NameObject("/N"): writer._add_object(appearance(spec, spec.value, font_ref))})
            widget[NameObject("/Ff")] = NumberObject(flags)
            ref = writer._add_object(widget)
            annots.append(ref)
            parent = parent_ref.get_object()
            parent[NameObject("/Kids")].append(ref)
        pdf_page[NameObject("/Annots")] = annots
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): fields,
        NameObject("/DR"): DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject(cjkfont.RESOURCE_NAME): font_ref})}),
        NameObject("/DA"): da,
        NameObject("/NeedAppearances"): BooleanObject(False),
    })
    flow = layout.flow
    writer.add_metadata({"/Title": f"{flow.code} {flow.name}记录表", "/Author": "flowdoc",
                         "/Subject": f"表单 {flow.code} 版本 {flow.revision}",
                         "/Creator": "flowdoc", "/Producer": "flowdoc",
                         "/FlowdocFlow": flow.code, "/FlowdocRevision": flow.revision,
                         "/FlowdocHash": flow.content_hash})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _parent(writer, parents: dict, fields: ArrayObject, path: list[str]):
    """The non-terminal field for ``path`` (``fields``, ``fields.items``, ``fields.items.3`` …)."""
    key = ".".join(path)
    if key in parents:
        return parents[key]
    node = DictionaryObject({NameObject("/T"): TextStringObject(path[-1]),
                             NameObject("/Kids"): ArrayObject()})
    ref = writer._add_object(node)
    if len(path) == 1:
        fields.append(ref)
    else:
        up = _parent(writer, parents, fields, path[:-1])
        node[NameObject("/Parent")] = up
        up.get_object()[NameObject("/Kids")].append(ref)
    parents[key] = ref
    return ref
