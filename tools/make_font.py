"""Make the CJK font flowdoc embeds: Noto Sans CJK SC, subset and converted to TrueType outlines.

Why: reportlab embeds only TrueType (glyf) outlines, while Noto CJK ships CFF outlines; and a
full CJK font is 16 MB. So we take the SC face of Debian's ``fonts-noto-cjk`` collection, keep
GB2312 plus every character the bundled flows use plus common punctuation and symbols, convert
the cubic CFF outlines to quadratic TrueType (cu2qu, max error 1 unit of 1000), and rename the
family, as the SIL OFL 1.1 asks of a modified version. The result is committed under
``generator/fonts/`` with the licence beside it, so ``pip install`` alone brings it.

    apt-get install fonts-noto-cjk && python tools/make_font.py

Run it again when a flow uses a character outside the subset (a test says which).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_INDEX = 2  # JP, KR, SC, TC, HK …
OUT = ROOT / "generator/fonts/FlowdocSansSC-Regular.ttf"
FAMILY = "Flowdoc Sans SC"


def charset() -> set[int]:
    chars: set[int] = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    for lead in range(0xA1, 0xF8):  # GB2312: rows 0xA1–0xF7, cells 0xA1–0xFE
        for cell in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(ord(bytes((lead, cell)).decode("gb2312")))
    chars |= set(range(0x2000, 0x2070))  # general punctuation: — ‘ ’ “ ” …
    chars |= set(range(0x2190, 0x2200))  # arrows
    chars |= set(range(0x2460, 0x2500))  # ① … ⑳ for continuation connectors
    chars |= set(range(0x25A0, 0x2600))  # geometric shapes
    chars |= set(range(0x3000, 0x3040))  # CJK symbols and punctuation
    chars |= set(range(0xFF01, 0xFF5F))  # full-width forms
    for path in sorted((ROOT / "flows").glob("*.yaml")) + sorted((ROOT / "templates").glob("**/*")):
        if path.is_file():
            chars |= {ord(c) for c in path.read_text(encoding="utf-8")}
    return {c for c in chars if c >= 0x20}


def to_truetype(font: TTFont) -> None:
    glyph_set = font.getGlyphSet()
    order = font.getGlyphOrder()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    for table in ("VORG",):
        if table in font:
            del font[table]
    glyf.compile(font)
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                 "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                 "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    maxp.maxComponentDepth = 0
    post = font["post"]
    post.formatType = 3.0  # no glyph names: CID fonts have none worth keeping
    font.sfntVersion = "\x00\x01\x00\x00"
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0


def rename(font: TTFont) -> None:
    names = font["name"]
    keep = {0, 7, 8, 9, 11, 12, 13, 14}
    for record in list(names.names):
        if record.nameID not in keep:
            names.names.remove(record)
    full = f"{FAMILY} Regular"
    for name_id, value in ((1, FAMILY), (2, "Regular"), (3, f"flowdoc:{full}"), (4, full),
                           (5, "Version 1.0; derived from Noto Sans CJK SC 2.004"),
                           (6, "FlowdocSansSC-Regular")):
        names.setName(value, name_id, 3, 1, 0x409)
        names.setName(value, name_id, 1, 0, 0)


def main() -> None:
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing: apt-get install fonts-noto-cjk")
    font = TTCollection(str(SOURCE)).fonts[SC_INDEX]
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "VORG", "DSIG"]
    options.hinting = False
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=charset())
    subsetter.subset(font)
    to_truetype(font)
    rename(font)
    font["head"].created = font["head"].modified = 3786825600  # 2024-01-01: reproducible bytes
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(OUT))
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size / 2**20:.2f} MiB, "
          f"{len(font.getBestCmap())} characters")


if __name__ == "__main__":
    main()
