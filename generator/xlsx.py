"""A one-sheet XLSX workbook from rows of text: what an auditor opens in Excel or WPS (pure).

Written by hand (five small XML parts in a zip, ECMA-376's minimum), not with a spreadsheet
library, because the table is plain text: every cell an inline string, a bold header row that
stays in view, columns as wide as their longest text. Same rows, same bytes: the zip entries
carry a fixed time and a fixed order.

A value typed into a record may hold characters XML 1.0 cannot carry (C0 controls other than
tab and newline); they are shown as ``\\x1b`` and so on, as the command line shows them,
rather than making a file Excel refuses to open.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_WIDTH = 60  # characters: a long 摘要 wraps in Excel rather than running off the screen

_SHEET_ML = "application/vnd.openxmlformats-officedocument.spreadsheetml."
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_PKG = "http://schemas.openxmlformats.org/package/2006/"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = (
    f'{_HEAD}<Types xmlns="{_PKG}content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_ML}sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SHEET_ML}worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_SHEET_ML}styles+xml"/>'
    "</Types>")
_ROOT_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PKG}relationships">'
    f'<Relationship Id="rId1" Type="{_REL}officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>")
_WORKBOOK_RELS = (
    f'{_HEAD}<Relationships xmlns="{_PKG}relationships">'
    f'<Relationship Id="rId1" Type="{_REL}worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}styles" Target="styles.xml"/>'
    "</Relationships>")
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="等线"/></font>'
    '<font><b/><sz val="11"/><name val="等线"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf/></cellStyleXfs>'
    '<cellXfs count="2"><xf fontId="0"/><xf fontId="1" applyFont="1"/></cellXfs>'
    "</styleSheet>")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value))


def _column(n: int) -> str:
    name = ""
    while True:
        n, r = divmod(n, 26)
        name = chr(65 + r) + name
        if n == 0:
            return name
        n -= 1


def _width(value: str) -> int:
    """Display width in Excel's character units: a CJK character is two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)


def workbook(header: Sequence[str], rows: Iterable[Sequence[str]], sheet: str = "Sheet1") -> bytes:
    """The XLSX bytes of a sheet named ``sheet``: ``header`` in bold and frozen, then ``rows``."""
    table = [list(header), *([str(v) for v in row] for row in rows)]
    widths = [min(MAX_WIDTH, max(8, *(_width(r[i]) + 2 for r in table if i < len(r))))
              for i in range(len(header))]
    cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
                   for i, w in enumerate(widths))
    body = []
    for y, row in enumerate(table, start=1):
        style = ' s="1"' if y == 1 else ""
        cells = "".join(f'<c r="{_column(x)}{y}" t="inlineStr"{style}><is><t xml:space="preserve">'
                        f"{_text(v)}</t></is></c>" for x, v in enumerate(row))
        body.append(f'<row r="{y}">{cells}</row>')
    worksheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        f"<cols>{cols}</cols><sheetData>{''.join(body)}</sheetData></worksheet>")
    book = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{_text(sheet[:31])}" sheetId="1" r:id="rId1"/></sheets></workbook>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("xl/workbook.xml", book), ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                           ("xl/styles.xml", _STYLES), ("xl/worksheets/sheet1.xml", worksheet)):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    return out.getvalue()
