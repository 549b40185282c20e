"""The fillable form of a flow: printed text and AcroForm fields in one reportlab document.

Fields are built here as PDF objects, not with reportlab's acroform (it knows only the
standard 14 fonts, so its /DA would name Helvetica and Chinese would show as ???). Every text
and choice field's /DA names the embedded CJK font in /AcroForm/DR, and flowdoc writes each
field's appearance stream itself (NeedAppearances stays off: poppler's own redraw drops
full-width punctuation). Filling a form in is pypdf's work (:mod:`.filled`).
"""

from __future__ import annotations

import io

from reportlab.lib.colors import HexColor
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDate,
    PDFDictionary,
    PDFInfo,
    PDFName,
    PDFObject,
    PDFObjectReference,
    PDFString,
)
from reportlab.pdfgen.canvas import Canvas

from .. import fonts
from ..typography import wrap
from . import cjkfont
from .layout import PAGE_H, PAGE_W, FieldSpec, FormLayout

FONT_SIZE = 10.0
FLAGS = {"readonly": 1, "required": 2, "multiline": 1 << 12, "combo": 1 << 17}


def appearance_content(spec: FieldSpec, value: str) -> bytes:
    """The content stream of a text or choice field's normal appearance showing ``value``
    (an empty choice shows its options to tick)."""
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
    return b"\n".join(ops)


def _check_content(spec: FieldSpec) -> tuple[bytes, bytes]:
    """A check box's two appearances: a tick, and nothing."""
    s = min(spec.w, spec.h)
    on = (f"q 0 g 1.2 w {s * .2:.2f} {s * .5:.2f} m {s * .42:.2f} {s * .22:.2f} l "
          f"{s * .82:.2f} {s * .8:.2f} l S Q").encode()
    return on, b""


class _Raw(PDFObject):
    """A PDF value written as the bytes given: the fonts' widths array, serialised once a
    process (thousands of numbers every form carries), and the boolean reportlab lacks."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document) -> bytes:
        return self.data


class _Info(PDFInfo):
    """The document information reportlab writes, with flowdoc as its producer and the flow
    the form was made from (its code, revision and content hash) for a reader to check."""

    def __init__(self, extra: dict[str, str]) -> None:
        super().__init__()
        self.extra = extra

    def format(self, document) -> bytes:
        date = PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter)
        entries = {"Title": PDFString(self.title), "Author": PDFString(self.author),
                   "CreationDate": date, "ModDate": date, "Producer": PDFString("flowdoc"),
                   "Creator": PDFString(self.creator), "Subject": PDFString(self.subject),
                   "Trapped": PDFName(self.trapped)}
        entries.update({key: PDFString(value) for key, value in self.extra.items()})
        return PDFDictionary(entries).format(document)


class _Fast(PDFObject):
    """A dictionary, or with ``content`` a stream, written straight to bytes: reportlab's
    generic formatting of a form's hundreds of widgets and appearance streams was two fifths
    of the time a form took. Values are bytes as written (names, numbers, arrays of numbers),
    lists, dicts, or reportlab objects (strings, references), which format themselves."""

    def __init__(self, entries: dict, content: bytes | None = None) -> None:
        self.entries = entries
        self.content = content

    def format(self, document) -> bytes:
        if self.content is None:
            return _formatted(self.entries, document)
        head = _formatted({**self.entries, "Length": str(len(self.content)).encode()}, document)
        return head + b"\nstream\n" + self.content + b"\nendstream\n"


class _Once(PDFObject):
    """A reportlab value every widget repeats (the resources, the default appearance),
    formatted once a document."""

    def __init__(self, value: PDFObject) -> None:
        self.value = value
        self.data: bytes | None = None

    def format(self, document) -> bytes:
        if self.data is None:
            self.data = self.value.format(document)
        return self.data


def _formatted(value, document) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict):
        return b"<<" + b"".join(b"/" + key.encode() + b" " + _formatted(item, document)
                                for key, item in value.items()) + b">>"
    if isinstance(value, list):
        return b"[" + b" ".join(_formatted(item, document) for item in value) + b"]"
    return value.format(document)


def _type0_font(doc) -> PDFObjectReference:
    """The CJK font as a Type0 font with Identity-H encoding (see :mod:`.cjkfont`)."""
    compressed, bbox, length = cjkfont.font_program()
    # the font program and its maps are compressed once a process: written as they are
    deflated = {"Filter": b"/FlateDecode"}
    program = doc.Reference(_Fast({**deflated, "Length1": str(length).encode()}, compressed))
    descriptor = doc.Reference(PDFDictionary({
        "Type": PDFName("FontDescriptor"), "FontName": PDFName(cjkfont.FONT_NAME),
        "Flags": 4, "FontBBox": PDFArray(list(bbox)), "ItalicAngle": 0, "Ascent": 880,
        "Descent": -120, "CapHeight": 733, "StemV": 80, "FontFile2": program}))
    cid_font = doc.Reference(PDFDictionary({
        "Type": PDFName("Font"), "Subtype": PDFName("CIDFontType2"),
        "BaseFont": PDFName(cjkfont.FONT_NAME),
        "CIDSystemInfo": PDFDictionary({"Registry": PDFString("Adobe"),
                                        "Ordering": PDFString("Identity"), "Supplement": 0}),
        "FontDescriptor": descriptor, "DW": 1000, "W": _Raw(cjkfont.widths_array()),
        "CIDToGIDMap": doc.Reference(_Fast(deflated, cjkfont.cid_to_gid_map()))}))
    return doc.Reference(PDFDictionary({
        "Type": PDFName("Font"), "Subtype": PDFName("Type0"),
        "BaseFont": PDFName(cjkfont.FONT_NAME), "Encoding": PDFName("Identity-H"),
        "DescendantFonts": PDFArray([cid_font]),
        "ToUnicode": doc.Reference(_Fast(deflated, cjkfont.to_unicode_map()))}))


def render_form(layout: FormLayout) -> bytes:
    """The A4 AcroForm PDF of ``layout``: printed text plus fields that type Chinese.

    One reportlab document holds both, the fields as PDF objects of their own: the printed
    page made by reportlab, read back and written again by pypdf with the fields added, took
    1.2-1.6 times as long."""
    out = io.BytesIO()
    font = fonts.register()
    canvas = Canvas(out, pagesize=(PAGE_W, PAGE_H), invariant=1, initialFontName=font)
    flow = layout.flow
    doc = canvas._doc
    doc.info = _Info({"FlowdocFlow": flow.code, "FlowdocRevision": flow.revision,
                      "FlowdocHash": flow.content_hash})
    canvas.setTitle(f"{flow.code} {flow.name}记录表")
    canvas.setAuthor("flowdoc")
    canvas.setSubject(f"表单 {flow.code} 版本 {flow.revision}")
    canvas.setCreator("flowdoc")
    font_ref = _type0_font(doc)
    resources = _Once(PDFDictionary({"Font": PDFDictionary({cjkfont.RESOURCE_NAME[1:]: font_ref})}))
    da = _Once(PDFString(f"{cjkfont.RESOURCE_NAME} 0 Tf 0 g"))  # auto size, the CJK font
    fields = PDFArray([])
    parents: dict[tuple[str, ...], tuple[PDFObjectReference, PDFArray]] = {}

    def parent(path: tuple[str, ...]) -> tuple[PDFObjectReference, PDFArray]:
        """The non-terminal field for ``path`` (``fields``, ``fields.items.3`` …)."""
        if path not in parents:
            kids = PDFArray([])
            node = {"T": PDFString(path[-1]), "Kids": kids}
            if len(path) > 1:
                node["Parent"] = parent(path[:-1])[0]
            ref = doc.Reference(PDFDictionary(node))
            (fields if len(path) == 1 else parent(path[:-1])[1]).sequence.append(ref)
            parents[path] = ref, kids
        return parents[path]

    number_of_pages = len(layout.pages)
    for number, page in enumerate(layout.pages, start=1):
        _draw_page(canvas, font, page, flow, number, number_of_pages)
        for spec in page.fields:
            *path, leaf = spec.name.split(".")
            parent_ref, kids = parent(tuple(path))
            x0, y0, x1, y1 = spec.x, spec.y, spec.x + spec.w, spec.y + spec.h
            widget: dict = {
                "Type": b"/Annot", "Subtype": b"/Widget",
                "T": PDFString(leaf), "TU": PDFString(spec.tooltip),
                "Rect": f"[{fp_str(x0, y0, x1, y1)}]".encode(),
                "F": b"2" if spec.kind == "hidden" else b"4",
                "P": doc.thisPageRef(), "Parent": parent_ref,
            }
            flags = FLAGS["readonly"] if spec.readonly else 0
            box = f"[{fp_str(0, 0, spec.w, spec.h)}]".encode()
            if spec.kind == "check":
                on, off = _check_content(spec)
                widget.update({
                    "FT": b"/Btn", "V": b"/Off", "AS": b"/Off",
                    "AP": {"N": {name: doc.Reference(_Fast({
                        "Type": b"/XObject", "Subtype": b"/Form", "BBox": box}, content))
                        for name, content in (("Yes", on), ("Off", off))}},
                    "MK": {"BC": b"[0.4 0.4 0.4]"}})
            else:
                if spec.kind == "combo":
                    widget["FT"] = b"/Ch"
                    flags |= FLAGS["combo"]
                    widget["Opt"] = [PDFString(o) for o in spec.options]
                else:
                    widget["FT"] = b"/Tx"
                    if spec.kind == "multiline":
                        flags |= FLAGS["multiline"]
                    if spec.max_length:
                        widget["MaxLen"] = str(spec.max_length).encode()
                widget["DA"] = da
                widget["V"] = PDFString(spec.value)
                widget["AP"] = {"N": doc.Reference(_Fast(
                    {"Type": b"/XObject", "Subtype": b"/Form", "BBox": box,
                     "Resources": resources}, appearance_content(spec, spec.value)))}
            widget["Ff"] = str(flags).encode()
            annotation = _Fast(widget)
            canvas._addAnnotation(annotation, spec.name)
            kids.sequence.append(doc.refAnnotation(spec.name))
        canvas.showPage()
    doc._catalog.AcroForm = PDFDictionary({
        "Fields": fields, "DR": resources, "DA": da, "NeedAppearances": _Raw(b"false")})
    canvas.save()
    return out.getvalue()


def _draw_page(canvas: Canvas, font: str, page, flow, number: int, pages: int) -> None:
    """The printed page: boxes, texts, a light frame where each field is (so a printout
    shows it) and the footer."""
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
    for spec in page.fields:
        if spec.kind != "hidden":
            canvas.setStrokeColor(HexColor("#9aa4b2"))
            canvas.setLineWidth(0.4)
            canvas.rect(spec.x, spec.y, spec.w, spec.h, stroke=1, fill=0)
    canvas.setFont(font, 8)
    canvas.drawCentredString(PAGE_W / 2, 20, f"{flow.code} {flow.name}记录表　第 {number} 页 "
                                             f"共 {pages} 页")
