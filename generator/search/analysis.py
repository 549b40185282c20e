"""Text analysis shared by every backend: exact substring search for Chinese without a dictionary.

Chinese has no spaces, and a word segmenter guesses (jieba splits 不同意 into 不 + 同意 and
misses names such as 尹红梅). Indexing overlapping character n-grams instead makes a query term
of any length an exact lookup: one unit, one bigram or one trigram is a single term, and a
longer term is a phrase of its trigrams (质量问题 is 质量问 followed at the next position by
量问题), which matches exactly the records that contain it. Trigrams rather than bigrams carry
the positions because a phrase of two common bigrams (不同 + 同意) is checked document by
document, while 不同意 as one trigram is a single posting list.

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


_ALL_CJK = re.compile(rf"[{_CJK}]+")


def segments(text: str) -> list[list[str]]:
    """The units of ``text``, grouped by the separators between them."""
    out = []
    for m in _SEGMENT.finditer(normalize(text)):
        seg = m.group()
        # most segments are Chinese only: every character a unit, no regex needed
        out.append(list(seg) if _ALL_CJK.fullmatch(seg) else _UNIT.findall(seg))
    return out


def bigrams(units: list[str]) -> list[str]:
    return [a + b for a, b in itertools.pairwise(units)]


GAP = "|"  # never a unit: it only holds a position between segments


def ngrams(units: list[str], n: int) -> list[str]:
    return ["".join(units[i:i + n]) for i in range(len(units) - n + 1)]


def streams(text: str) -> dict[str, str]:
    """All three token streams of ``text``, space-separated, by index field name: single
    units (one-unit terms), bigrams (two-unit terms; no positions needed) and trigrams in
    order (a phrase field, for three units and more), segmented once.

    A gap token stands between the trigrams of two segments. Without it, 红同梅 ending one
    segment and 梅意红 starting the next would sit at adjacent positions, and the phrase
    红同梅意红 would match 红同梅。梅意红.
    """
    units: list[str] = []
    grams: list[str] = []
    tris: list[str] = []
    for m in _SEGMENT.finditer(normalize(text)):
        seg = m.group()
        if _ALL_CJK.fullmatch(seg):  # the common case, by slicing
            n = len(seg)
            units.extend(seg)
            grams.extend([seg[i:i + 2] for i in range(n - 1)])
            trigrams = [seg[i:i + 3] for i in range(n - 2)]
        else:
            us = _UNIT.findall(seg)
            units.extend(us)
            grams.extend(bigrams(us))
            trigrams = ngrams(us, 3)
        if trigrams:
            if tris:
                tris.append(GAP)
            tris.extend(trigrams)
    return {"units": " ".join(units), "grams": " ".join(grams), "tris": " ".join(tris)}


def term_parts(term: str) -> list[tuple[str, list[str]]]:
    """How a query term is looked up: a list of (field, [tokens]) parts, all of which must match.
    One token is a term query on that field; several are a phrase. Punctuation inside a term
    separates parts, as it does in text."""
    parts: list[tuple[str, list[str]]] = []
    for seg in segments(term):
        if len(seg) == 1:
            parts.append(("units", seg))
        elif len(seg) == 2:
            parts.append(("grams", bigrams(seg)))
        else:
            parts.append(("tris", ngrams(seg, 3)))
    return parts


def identifier(value: str) -> str:
    """The exact-field form of an identifier (record, order, tracking number): trimmed, NFKC,
    upper case, so SF123 and ｓｆ123 are one number."""
    return unicodedata.normalize("NFKC", value).strip().upper()
