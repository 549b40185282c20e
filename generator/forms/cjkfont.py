"""The CJK font as a PDF Type0 font that a form's fields can type and show Chinese with.

reportlab's form fields know only the standard 14 fonts, so a form's /DA would say Helvetica
and a reader would draw ??? for Chinese. Instead the whole bundled font (GB2312 and every
character of the flows) goes into /AcroForm/DR as a Type0 font with Identity-H encoding and
CID = glyph id, with widths and a ToUnicode map, so readers can both draw typed text and copy
it out, and flowdoc writes appearance streams with it directly.
"""

from __future__ import annotations

import zlib
from functools import cache

from .. import fonts

RESOURCE_NAME = "/FdSC"
FONT_NAME = "FlowdocSansSC-Regular"  # its /BaseFont


FontTables = tuple[bytes, dict[int, int], dict[int, int], tuple[int, int, int, int], int,
                   dict[int, int]]
_tables: FontTables | None = None


def tables() -> FontTables:
    """What a form takes from the font, read once a process: the compressed font program,
    code point → CID, CID → width (1/1000 em), bbox, the program's length, and extra CID →
    the glyph it shares.

    The CID is the glyph id, except that a glyph the font maps from several code points (its
    space from U+0020 and U+00A0, its hyphen from U+002D and U+2011, its dot from · • ‧ ・)
    gets a CID of its own for each after the first, past the last glyph: the ToUnicode map
    holds one code point a CID, and a viewer that draws a field itself (pdf.js, poppler with
    NeedAppearances) finds a typed character's glyph through that map only. The CIDToGIDMap
    sends those CIDs back to the shared glyph.

    They pickle: a build has a worker read them (0.2 s: fontTools, the cmap, deflating 2 MB)
    while its own process checks the flows, and hands them over with :func:`adopt`."""
    global _tables
    if _tables is None:
        _tables = _read()
    return _tables


def adopt(made: FontTables) -> None:
    """Use ``made`` (:func:`tables` of another process, the same font) instead of reading."""
    global _tables
    _tables = made


def _read() -> FontTables:
    from fontTools.ttLib import TTFont

    raw = fonts.FONT_PATH.read_bytes()
    font = TTFont(str(fonts.FONT_PATH), lazy=True)
    cmap = font.getBestCmap()
    glyph_order = font.getGlyphOrder()
    order = {name: gid for gid, name in enumerate(glyph_order)}
    upem = font["head"].unitsPerEm
    hmtx = font["hmtx"].metrics
    widths = {order[name]: round(hmtx[name][0] * 1000 / upem) for name in glyph_order}
    cids: dict[int, int] = {}
    shared: dict[int, int] = {}
    seen: set[int] = set()
    extra = len(glyph_order)
    for cp in sorted(cmap):
        gid = order[cmap[cp]]
        if gid in seen:
            cids[cp] = extra
            widths[extra] = widths[gid]
            shared[extra] = gid
            extra += 1
        else:
            seen.add(gid)
            cids[cp] = gid
    head = font["head"]
    bbox = tuple(round(v * 1000 / upem) for v in (head.xMin, head.yMin, head.xMax, head.yMax))
    return zlib.compress(raw, 6), cids, widths, bbox, len(raw), shared


@cache
def cid_to_gid_map() -> bytes:
    """The /CIDToGIDMap stream's data, compressed (FlateDecode): two bytes a CID, its glyph
    id."""
    _, _, widths, _, _, shared = tables()
    out = bytearray()
    for cid in range(max(widths) + 1):
        out += shared.get(cid, cid).to_bytes(2, "big")
    return zlib.compress(bytes(out))


def glyph_ids(text: str) -> list[int]:
    _, gids, *_ = tables()
    return [gids.get(ord(ch), 0) for ch in text]


def encode(text: str) -> bytes:
    """``text`` as the font's Identity-H codes (two bytes a glyph), for a content stream."""
    return b"".join(gid.to_bytes(2, "big") for gid in glyph_ids(text))


def width(text: str, size: float) -> float:
    _, _, widths, *_ = tables()
    return sum(widths.get(g, 1000) for g in glyph_ids(text)) * size / 1000


def font_program() -> tuple[bytes, tuple[int, int, int, int], int]:
    """The font program compressed (for /FontFile2), its bounding box and its length."""
    compressed, _, _, bbox, length, _ = tables()
    return compressed, bbox, length


@cache
def widths_array() -> bytes:
    """The /W array, serialised once a process: every glyph not 1000 units wide (/DW)."""
    _, _, widths, *_ = tables()
    return b"[" + b" ".join(f"{gid} [{w}]".encode() for gid, w in sorted(widths.items())
                            if w != 1000) + b"]"


@cache
def to_unicode_map() -> bytes:
    """The ToUnicode CMap, compressed (FlateDecode) once a process rather than once a form."""
    _, gids, *_ = tables()
    return zlib.compress(_to_unicode(gids))


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

