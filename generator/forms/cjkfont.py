"""The CJK font as a PDF Type0 font that a form's fields can type and show Chinese with.

reportlab's form fields know only the standard 14 fonts, so a form's /DA would say Helvetica
and a reader would draw ??? for Chinese. Instead the whole bundled font (GB2312 and every
character of the flows) goes into /AcroForm/DR as a Type0 font with Identity-H encoding and
CID = glyph id, with widths and a ToUnicode map, so readers can both draw typed text and copy
it out, and flowdoc writes appearance streams with it directly.
"""

from __future__ import annotations

import io
import zlib
from functools import cache

from fontTools.ttLib import TTFont
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    EncodedStreamObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from .. import fonts

RESOURCE_NAME = "/FdSC"


@cache
def _font_data() -> tuple[bytes, dict[int, int], dict[int, int], tuple[int, int, int, int], int]:
    """Compressed font program, code point → CID, CID → width (1/1000 em), bbox, length.

    The CID is the glyph id, except that a glyph the font maps from several code points (its
    space from U+0020 and U+00A0, its hyphen from U+002D and U+2011, its dot from · • ‧ ・)
    gets a CID of its own for each after the first, past the last glyph: the ToUnicode map
    holds one code point a CID, and a viewer that draws a field itself (pdf.js, poppler with
    NeedAppearances) finds a typed character's glyph through that map only. _cid_to_gid
    sends those CIDs back to the shared glyph."""
    raw = fonts.FONT_PATH.read_bytes()
    font = TTFont(str(fonts.FONT_PATH), lazy=True)
    cmap = font.getBestCmap()
    glyph_order = font.getGlyphOrder()
    order = {name: gid for gid, name in enumerate(glyph_order)}
    upem = font["head"].unitsPerEm
    hmtx = font["hmtx"].metrics
    widths = {order[name]: round(hmtx[name][0] * 1000 / upem) for name in glyph_order}
    cids: dict[int, int] = {}
    seen: set[int] = set()
    extra = len(glyph_order)
    for cp in sorted(cmap):
        gid = order[cmap[cp]]
        if gid in seen:
            cids[cp] = extra
            widths[extra] = widths[gid]
            _SHARED[extra] = gid
            extra += 1
        else:
            seen.add(gid)
            cids[cp] = gid
    head = font["head"]
    bbox = tuple(round(v * 1000 / upem) for v in (head.xMin, head.yMin, head.xMax, head.yMax))
    return zlib.compress(raw, 6), cids, widths, bbox, len(raw)


_SHARED: dict[int, int] = {}  # an extra CID → the glyph it shows (filled by _font_data)


@cache
def _cid_to_gid_data() -> bytes:
    """The /CIDToGIDMap stream: two bytes a CID, its glyph id."""
    _, _, widths, *_ = _font_data()
    out = bytearray()
    for cid in range(max(widths) + 1):
        out += _SHARED.get(cid, cid).to_bytes(2, "big")
    return zlib.compress(bytes(out))


def prepare() -> None:
    """Read the font and make its PDF objects' data now (a process that forks workers does
    it once for all of them)."""
    _font_data()
    _widths_array()
    _to_unicode_data()
    _cid_to_gid_data()


def glyph_ids(text: str) -> list[int]:
    _, gids, *_ = _font_data()
    return [gids.get(ord(ch), 0) for ch in text]


def encode(text: str) -> bytes:
    """``text`` as the font's Identity-H codes (two bytes a glyph), for a content stream."""
    return b"".join(gid.to_bytes(2, "big") for gid in glyph_ids(text))


def width(text: str, size: float) -> float:
    _, _, widths, *_ = _font_data()
    return sum(widths.get(g, 1000) for g in glyph_ids(text)) * size / 1000


def add_type0_font(writer) -> object:
    """Add the font to ``writer`` once and return its indirect reference."""
    compressed, _, _, bbox, length = _font_data()
    program = StreamObject()
    program._data = compressed
    program[NameObject("/Filter")] = NameObject("/FlateDecode")
    program[NameObject("/Length1")] = NumberObject(length)
    program_ref = writer._add_object(program)
    descriptor = DictionaryObject({
        NameObject("/Type"): NameObject("/FontDescriptor"),
        NameObject("/FontName"): NameObject("/FlowdocSansSC-Regular"),
        NameObject("/Flags"): NumberObject(4),
        NameObject("/FontBBox"): ArrayObject([NumberObject(v) for v in bbox]),
        NameObject("/ItalicAngle"): NumberObject(0),
        NameObject("/Ascent"): NumberObject(880),
        NameObject("/Descent"): NumberObject(-120),
        NameObject("/CapHeight"): NumberObject(733),
        NameObject("/StemV"): NumberObject(80),
        NameObject("/FontFile2"): program_ref,
    })
    cid_font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/CIDFontType2"),
        NameObject("/BaseFont"): NameObject("/FlowdocSansSC-Regular"),
        NameObject("/CIDSystemInfo"): DictionaryObject({
            NameObject("/Registry"): TextStringObject("Adobe"),
            NameObject("/Ordering"): TextStringObject("Identity"),
            NameObject("/Supplement"): NumberObject(0)}),
        NameObject("/FontDescriptor"): writer._add_object(descriptor),
        NameObject("/DW"): NumberObject(1000),
        NameObject("/W"): _widths_array(),
        NameObject("/CIDToGIDMap"): writer._add_object(_cid_to_gid_stream()),
    })
    type0 = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type0"),
        NameObject("/BaseFont"): NameObject("/FlowdocSansSC-Regular"),
        NameObject("/Encoding"): NameObject("/Identity-H"),
        NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
        NameObject("/ToUnicode"): writer._add_object(_to_unicode_stream()),
    })
    return writer._add_object(type0)


class _SerializedArray(ArrayObject):
    """A direct array written from bytes serialized once. Every form carries the same widths
    array of thousands of numbers, and pypdf writing it number by number was a fifth of the
    time of a form; it holds no references, so its bytes never depend on the document."""

    def __init__(self, items: list) -> None:
        super().__init__(items)
        out = io.BytesIO()
        super().write_to_stream(out)
        self._bytes = out.getvalue()

    def write_to_stream(self, stream, encryption_key=None) -> None:
        stream.write(self._bytes)


@cache
def _widths_array() -> ArrayObject:
    _, _, widths, *_ = _font_data()
    w = []
    for gid in sorted(widths):
        if widths[gid] != 1000:
            w += [NumberObject(gid), ArrayObject([NumberObject(widths[gid])])]
    return _SerializedArray(w)


@cache
def _to_unicode_data() -> bytes:
    _, gids, *_ = _font_data()
    return zlib.compress(_to_unicode(gids))  # as pypdf's flate_encode compresses it


def _cid_to_gid_stream() -> StreamObject:
    stream = EncodedStreamObject()
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream._data = _cid_to_gid_data()
    return stream


def _to_unicode_stream() -> StreamObject:
    """The ToUnicode CMap, compressed once per process rather than once per form."""
    stream = EncodedStreamObject()
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream._data = _to_unicode_data()
    return stream


def _to_unicode(gids: dict[int, int]) -> bytes:
    pairs = sorted({cid: cp for cp, cid in gids.items()}.items())  # one code point a CID
    lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
             "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    for i in range(0, len(pairs), 100):
        chunk = pairs[i:i + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += [f"<{gid:04X}> <{cp:04X}>" if cp <= 0xFFFF else
                  f"<{gid:04X}> <{(0xD800 + ((cp - 0x10000) >> 10)):04X}"
                  f"{(0xDC00 + ((cp - 0x10000) & 0x3FF)):04X}>" for gid, cp in chunk]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")

