"""A DOCX made before the PDF has told it its page numbers, and how they are put in.

Apart from python-docx (the writer, :mod:`.docx`), so the build's own process, which only
fills the numbers in, never imports it: the DOCX is written in a worker while another writes
the PDF.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
TOKEN = "\u2063"  # invisible separator: marks a contents page number still to be filled in


@dataclass(frozen=True)
class Draft:
    """A DOCX still without the contents' page numbers (they come from the PDF, made at the
    same time): a complete zip of every part that does not carry them (the font's included),
    and the parts that do (the document and its footers), to be added last."""

    head: bytes
    pending: tuple[tuple[str, str], ...]  # (part name, XML with TOKEN-marked keys)


def fill_toc(draft: Draft, pages: dict[str, int]) -> bytes:
    """The DOCX of ``draft`` with every contents entry's page (and the total) put in: only
    the pending parts are compressed here, the rest of the zip is taken as it is."""
    out = io.BytesIO(draft.head)
    with zipfile.ZipFile(out, "a") as dst:
        for name, text in draft.pending:
            for key, page in pages.items():
                text = text.replace(f"{TOKEN}{key}{TOKEN}", str(page))
            dst.writestr(entry(name), text.encode("utf-8"))
    return out.getvalue()


def entry(name: str) -> zipfile.ZipInfo:
    """A zip entry of the DOCX: fixed time, so the same input gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    # the charts are PNGs, compressed already: deflating them again costs time, saves nothing
    info.compress_type = (zipfile.ZIP_STORED if name.startswith("word/media/")
                          else zipfile.ZIP_DEFLATED)
    info.external_attr = 0o644 << 16
    return info
