"""A short passage of a hit around the first query term it contains, terms marked 【…】."""

from __future__ import annotations

import re
import unicodedata

WIDTH = 60


def _pattern(terms: list[str]) -> re.Pattern[str] | None:
    words = sorted({unicodedata.normalize("NFKC", t).strip() for t in terms} - {""}, key=len,
                   reverse=True)
    if not words:
        return None
    return re.compile("|".join(re.escape(w).replace(r"\ ", r"\s*") for w in words), re.IGNORECASE)


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` NFKC-normalised as the index saw it, and for each of its characters the
    position in ``text`` it came from: terms are found in the first, shown in the original."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch) if ord(ch) > 0x7F else ch
        out.append(folded)
        origin.extend([i] * len(folded))
    return "".join(out), origin


def snippet(text: str, terms: list[str], width: int = WIDTH) -> str:
    """About ``width`` characters of ``text`` as it was written (full-width punctuation kept)
    starting shortly before the first term found, every term in it marked. Without a term in
    the text, its beginning."""
    pattern = _pattern(terms)
    marks: list[tuple[int, int]] = []
    if pattern:
        folded, origin = _folded(text)
        marks = [(origin[m.start()], origin[m.end() - 1] + 1)
                 for m in pattern.finditer(folded) if m.end() > m.start()]
    start = 0 if not marks else max(0, marks[0][0] - width // 4)
    end = start + width
    out, at = [], start
    for a, b in marks:
        if a < at or a >= end:
            continue
        out += [text[at:a], "【", text[a:min(b, end)], "】"]
        at = min(b, end)
    out.append(text[at:end])
    return ("…" if start else "") + "".join(out) + ("…" if end < len(text) else "")
