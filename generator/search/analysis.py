"""Text analysis shared by every backend: exact substring search for Chinese without a dictionary.

Chinese has no spaces, and a word segmenter guesses (jieba splits 不同意 into 不 + 同意 and
misses names such as 尹红梅). Indexing overlapping character bigrams instead makes a query term
of any length an exact phrase: 不同意 is found as 不同 followed at the next position by 同意,
which is exactly the records that contain 不同意. One-character terms use a second stream of
single units.

Text is cut into *units*: one per Chinese (or other CJK) character, one per run of Latin
letters and digits, where ``-_/.`` between letters or digits stay inside the run, so a record
number, an order number or a date is one unit and matches whole. Anything else (spaces,
punctuation) separates *segments*; bigrams never span a separator. Backends receive the
tokens as space-separated text, so both index exactly what this module says and no backend
analyser (nor a pickled custom one) is involved.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

# CJK ideographs (URO, extension A, compatibility), kana and hangul count as one unit a character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_UNIT = re.compile(rf"[{_CJK}]|[a-z0-9]+(?:[-_/.][a-z0-9]+)*")
_SEGMENT = re.compile(rf"(?:[{_CJK}]|[a-z0-9]+(?:[-_/.][a-z0-9]+)*)+")


def normalize(text: str) -> str:
    """NFKC (full-width Ａ１ become A1) and lower case, so case and width never decide a match."""
    return unicodedata.normalize("NFKC", text).lower()


def segments(text: str) -> list[list[str]]:
    """The units of ``text``, grouped by the separators between them."""
    return [_UNIT.findall(m.group()) for m in _SEGMENT.finditer(normalize(text))]


def bigrams(units: list[str]) -> list[str]:
    return [a + b for a, b in itertools.pairwise(units)]


GAP = "|"  # never a unit: it only holds a position between segments


def grams_stream(text: str) -> str:
    """The bigram tokens of ``text`` in order, space-separated (a backend's phrase field).

    A gap token stands between segments. Without it, 同梅 ending one segment and 梅意 starting
    the next would sit at adjacent positions and the phrase 同梅意 would match 同梅。梅意.
    """
    return f" {GAP} ".join(" ".join(grams) for seg in segments(text) if (grams := bigrams(seg)))


def units_stream(text: str) -> str:
    """The single units of ``text``, space-separated (for one-unit query terms)."""
    return " ".join(u for seg in segments(text) for u in seg)


def term_parts(term: str) -> list[tuple[str, list[str]]]:
    """How a query term is looked up: a list of ("unit", [u]) or ("phrase", [bigrams]) parts,
    all of which must match. Punctuation inside a term separates parts, as it does in text."""
    parts: list[tuple[str, list[str]]] = []
    for seg in segments(term):
        if len(seg) == 1:
            parts.append(("unit", seg))
        else:
            parts.append(("phrase", bigrams(seg)))
    return parts


def identifier(value: str) -> str:
    """The exact-field form of an identifier (record, order, tracking number): trimmed, NFKC,
    upper case, so SF123 and ｓｆ123 are one number."""
    return unicodedata.normalize("NFKC", value).strip().upper()
