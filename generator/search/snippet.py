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


def snippet(text: str, terms: list[str], width: int = WIDTH) -> str:
    """About ``width`` characters of ``text`` starting shortly before the first term found, every
    term in it marked. Without a term in the text, its beginning."""
    text = unicodedata.normalize("NFKC", text)
    pattern = _pattern(terms)
    first = pattern.search(text) if pattern else None
    start = 0 if first is None else max(0, first.start() - width // 4)
    piece = text[start:start + width]
    if pattern:
        piece = pattern.sub(lambda m: f"【{m.group()}】", piece)
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")
