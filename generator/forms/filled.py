"""Filling a form (for tests, scripts and the archive) and reading a filled one back.

Reading accepts what any common filler produces — this generator, pypdf, pikepdf, a reader
that rewrote the appearances — because only the fields' values (/V) are read, by their stable
names. It refuses, with one line naming the problem, anything that is not a form of ours or is
dangerous to keep: encrypted files, JavaScript, launch or submit actions, fields added or
removed, oversized or broken files.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError, PyPdfError
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)

from ..errors import FlowdocError
from ..model import Flow
from ..records.rules import RecordInput
from . import cjkfont
from .layout import FieldSpec, form_layout
from .pdf import appearance_content

MAX_FORM_BYTES = 20 << 20  # a form is ~1.5 MB; a scanned attachment does not belong in it
DANGEROUS = ("/JS", "/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/URI")


class FormError(FlowdocError):
    """The PDF is not an acceptable filled form; the message says why in one line."""

    code = "invalid"


def _full_name(annot) -> str:
    parts = []
    node = annot
    while node is not None:
        if "/T" in node:
            parts.append(str(node["/T"]))
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
    return ".".join(reversed(parts))


def _appearance(spec: FieldSpec, value: str, font_ref) -> DecodedStreamObject:
    """The normal appearance of a text or choice field showing ``value``, as a pypdf stream
    for the form being filled in (the content is the one the form was made with)."""
    stream = DecodedStreamObject()
    stream.set_data(appearance_content(spec, value))
    stream.update({
        NameObject("/Type"): NameObject("/XObject"),
        NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(spec.w),
                                          FloatObject(spec.h)]),
        NameObject("/Resources"): DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject(cjkfont.RESOURCE_NAME): font_ref})}),
    })
    return stream


def fill_form(pdf: bytes, values: dict[str, Any]) -> bytes:
    """``pdf`` with ``values`` (by field name) set and drawn with the embedded CJK font."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    font_ref = writer._root_object["/AcroForm"]["/DR"]["/Font"][cjkfont.RESOURCE_NAME]
    left = dict(values)
    for page in writer.pages:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            name = _full_name(annot)
            if name not in left:
                continue
            value = left.pop(name)
            if annot.get("/FT") == "/Btn":
                state = NameObject("/Yes" if value in (True, "/Yes", "Yes", "是") else "/Off")
                annot[NameObject("/V")] = state
                annot[NameObject("/AS")] = state
                continue
            text = str(value)
            if annot.get("/FT") == "/Ch" and text not in [str(o) for o in annot["/Opt"]]:
                raise FormError(f"{name}: '{text}' is not one of its options")
            annot[NameObject("/V")] = TextStringObject(text)
            r = [float(v) for v in annot["/Rect"]]
            kind = "multiline" if int(annot.get("/Ff", 0)) & (1 << 12) else "text"
            spec = FieldSpec(name, kind, r[0], r[1], r[2] - r[0], r[3] - r[1], "")
            annot[NameObject("/AP")][NameObject("/N")] = writer._add_object(
                _appearance(spec, text, font_ref))
    if left:
        raise FormError(f"no field named {sorted(left)[0]} on this form")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _scan_for_actions(reader: PdfReader) -> str | None:
    """The first dangerous action or script anywhere in the document, or None."""
    seen: set[int] = set()
    stack = [reader.trailer["/Root"]]
    count = 0
    while stack:
        obj = stack.pop()
        count += 1
        if count > 200_000:
            return "too many objects"
        ref = getattr(obj, "idnum", None)
        if ref is not None:
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key in DANGEROUS or (key == "/S" and str(value) in DANGEROUS):
                    return key if key in DANGEROUS else str(value)
                if key in ("/Parent", "/P"):
                    continue
                stack.append(value)
        elif isinstance(obj, list):
            stack.extend(obj)
    return None


def read_form(data: bytes, name: str, flows: dict[str, Flow]) -> RecordInput:
    """The record a filled form holds, or :class:`FormError` naming what is wrong."""
    if len(data) > MAX_FORM_BYTES:
        raise FormError(f"{name}: {len(data) / 2**20:.0f} MiB; a filled form is at most "
                        f"{MAX_FORM_BYTES >> 20} MiB")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise FormError(f"{name}: the PDF is encrypted; save it without a password")
        action = _scan_for_actions(reader)
        if action:
            raise FormError(f"{name}: the PDF contains {action}: scripts and actions are refused")
        fields = reader.get_fields() or {}
    except FormError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError,
            RecursionError, MemoryError, OSError) as exc:
        raise FormError(f"{name}: not a readable PDF ({type(exc).__name__})") from None
    values = {key: _value(f) for key, f in fields.items()}
    code = values.get("form.flow")
    if not code:
        raise FormError(f"{name}: not a flowdoc form (it has no form.flow field)")
    flow = flows.get(str(code))
    if flow is None:
        raise FormError(f"{name}: made for flow {code}, which is not in this manual")
    expected = {spec.name for page in form_layout(flow, [], "").pages for spec in page.fields}
    have = {k for k in values if k.count(".") >= 1 and k.split(".")[0] in ("fields", "steps",
                                                                          "form")}
    have = {k for k in have if k in expected or not any(e.startswith(k + ".") for e in expected)}
    added, removed = sorted(have - expected), sorted(expected - have)
    revision = str(values.get("form.revision") or "")
    if revision and revision != flow.revision:
        raise FormError(f"{name}: the form was made from revision {revision} of {flow.code}; "
                        f"the controlled flow is now revision {flow.revision}")
    if added:
        raise FormError(f"{name}: field {added[0]} is not on the form of {flow.code}")
    if removed:
        raise FormError(f"{name}: field {removed[0]} of the form of {flow.code} is missing")
    record_fields: dict[str, Any] = {}
    tables: dict[str, dict[int, dict[str, Any]]] = {}
    decisions: dict[str, list[str]] = {}
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] == "fields" and len(parts) == 2:
            record_fields[parts[1]] = value
        elif parts[0] == "fields" and len(parts) == 4:
            tables.setdefault(parts[1], {}).setdefault(int(parts[2]), {})[parts[3]] = value
        elif parts[0] == "steps" and len(parts) == 3 and parts[2] == "decision" and value:
            decisions[parts[1]] = [str(value)]
    for table, rows in tables.items():
        record_fields[table] = [rows[i] for i in sorted(rows)]
    for f in flow.fields:  # a derived field is shown on the form, not typed: compare if filled
        if f.derive is not None and record_fields.get(f.id) in ("", None):
            record_fields.pop(f.id, None)
    return RecordInput(flow.code, record_fields, name, revision or None,
                       str(values.get("form.hash") or "") or None, None, decisions)


def _value(field: dict) -> Any:
    value = field.get("/V")
    if field.get("/FT") == "/Btn":
        return str(value) == "/Yes"
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def read_filled_record(path: Path, flows: dict) -> RecordInput:
    """A record from a filled form file: refused unread past ``MAX_FORM_BYTES``, one line
    naming the file for anything else wrong."""
    from ..records import RecordInputError

    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RecordInputError(f"{name}: cannot read: {exc.strerror}") from None
    if size > MAX_FORM_BYTES:  # refused before a byte of it is read
        raise RecordInputError(f"{name}: {size / 2**20:.0f} MiB; a filled form is at most "
                               f"{MAX_FORM_BYTES >> 20} MiB")
    try:
        return read_form(path.read_bytes(), name, flows)
    except FormError as exc:
        raise RecordInputError(str(exc)) from None
