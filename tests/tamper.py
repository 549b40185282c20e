"""Byte changes to an archive's log and checkpoint, chosen by what each byte is.

``verify`` must notice any change to either file. Trying every byte takes minutes (the
exhaustive tests in test_archive.py, marked ``exhaustive``); these changes are chosen so that
the short tests still touch every file, every entry and every member of every entry (its name
and its value), every kind of byte a value is made of (hex digits, signature hex, digits of a
number, ASCII text, the lead and continuation bytes of UTF-8 Chinese), and every kind of JSON
syntax byte (braces, brackets, colon, comma, quote, the newline that ends an entry) of every
entry, each both bit-flipped and turned into a space.

The files are canonical JSON (archive/canonical.py) one entry a line: compact, so every byte
of them belongs to exactly one of the spans ``spans`` returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

HEX = frozenset(b"0123456789abcdef")
SYNTAX = b'{}[]:,"\n'


@dataclass(frozen=True)
class Span:
    kind: str  # "key" (a member's name, quotes included), "string", "number", "literal", "syntax"
    start: int
    end: int
    path: str  # the member it belongs to, e.g. "sig.value" or "fields.reason"


def spans(line: bytes, offset: int = 0) -> list[Span]:
    """Every byte of one canonical JSON value (and its trailing newline), as spans."""
    out: list[Span] = []
    pos = 0

    def syntax(path: str) -> None:
        nonlocal pos
        assert line[pos:pos + 1] in (b"{", b"}", b"[", b"]", b":", b","), (pos, line[pos:pos + 1])
        out.append(Span("syntax", offset + pos, offset + pos + 1, path))
        pos += 1

    def string_end(at: int) -> int:
        assert line[at:at + 1] == b'"'
        i = at + 1
        while line[i:i + 1] != b'"':
            i += 2 if line[i:i + 1] == b"\\" else 1
        return i + 1

    def value(path: str) -> None:
        nonlocal pos
        first = line[pos:pos + 1]
        if first == b"{":
            syntax(path)
            if line[pos:pos + 1] == b"}":
                syntax(path)
                return
            while True:
                end = string_end(pos)
                name = json.loads(line[pos:end])
                member = f"{path}.{name}" if path else name
                out.append(Span("key", offset + pos, offset + end, member))
                pos = end
                syntax(member)  # :
                value(member)
                syntax(path)  # , or }
                if line[pos - 1:pos] == b"}":
                    return
        elif first == b"[":
            syntax(path)
            if line[pos:pos + 1] == b"]":
                syntax(path)
                return
            index = 0
            while True:
                value(f"{path}[{index}]")
                index += 1
                syntax(path)  # , or ]
                if line[pos - 1:pos] == b"]":
                    return
        elif first == b'"':
            end = string_end(pos)
            out.append(Span("string", offset + pos, offset + end, path))
            pos = end
        else:
            end = pos
            while end < len(line) and line[end:end + 1] not in b",}]\n":
                end += 1
            kind = "literal" if line[pos:end] in (b"true", b"false", b"null") else "number"
            out.append(Span(kind, offset + pos, offset + end, path))
            pos = end

    value("")
    if line[pos:pos + 1] == b"\n":
        out.append(Span("syntax", offset + pos, offset + pos + 1, ""))
        pos += 1
    assert pos == len(line), f"{len(line) - pos} bytes after the value"
    return out


def entries(data: bytes) -> list[list[Span]]:
    """The spans of each line of a file of canonical JSON lines."""
    result, at = [], 0
    for line in data.splitlines(keepends=True):
        result.append(spans(line, at))
        at += len(line)
    return result


@dataclass(frozen=True)
class Change:
    at: int
    value: int
    what: tuple  # (entry, kind of byte, member path)


def _other(byte: int) -> int:
    return 0x20 if byte != 0x20 else 0x21


def changes(data: bytes) -> list[Change]:
    """The chosen single-byte changes of one file (see the module's docstring)."""
    chosen: list[Change] = []
    names_seen: set[str] = set()

    def add(at: int, what: tuple, space: bool = False) -> None:
        chosen.append(Change(at, data[at] ^ 0x01, what))
        if space:
            chosen.append(Change(at, _other(data[at]), (*what, "space")))

    for n, line in enumerate(entries(data)):
        # which byte of a span, and which of several alike, moves with the entry: different
        # entries have different bytes of the same member changed
        keys = [s for s in line if s.kind == "key"]
        syntax: dict[int, list[int]] = {}
        for s in line:
            if s.kind == "syntax":
                syntax.setdefault(data[s.start], []).append(s.start)
            elif s.kind in ("key", "string"):
                syntax.setdefault(ord('"'), []).extend((s.start, s.end - 1))
        for i, s in enumerate(keys):  # every name once in the file, and one name an entry
            if s.path not in names_seen or i == n % len(keys):
                names_seen.add(s.path)
                add(s.start + 1 + n % (s.end - s.start - 2), (n, "key", s.path))
        utf8_spaced = False
        for s in line:
            if s.kind in ("key", "syntax"):
                continue
            inner = (s.start + 1, s.end - 1) if s.kind == "string" else (s.start, s.end)
            body = data[inner[0]:inner[1]]
            if not body:  # "" : its closing quote is the value's only byte
                add(s.end - 1, (n, "empty string", s.path), space=True)
                continue
            add(inner[0] + n % len(body), (n, s.kind, s.path))
            if s.kind != "string":
                continue
            if set(body) <= HEX and len(body) >= 32:
                # a hex digit that stays a hex digit: the value is well formed and wrong
                at = inner[0] + (7 * n + 3) % len(body)
                other = b"0123456789abcdef"[(b"0123456789abcdef".index(data[at]) + 5) % 16]
                kind = "signature hex" if s.path.endswith(("sig.value", "signature", "vouch")) \
                    else "hex"
                chosen.append(Change(at, other, (n, kind, s.path)))
            if not body.isascii():
                lead = next(i for i, b in enumerate(body) if b >= 0xC0)
                add(inner[0] + lead, (n, "utf-8 lead", s.path), space=not utf8_spaced)
                add(inner[0] + lead + 1, (n, "utf-8 continuation", s.path), space=not utf8_spaced)
                utf8_spaced = True
        for byte, places in sorted(syntax.items()):  # every kind of syntax byte of the entry
            add(places[n % len(places)], (n, "syntax", chr(byte)), space=True)
    return chosen


def cuts(data: bytes) -> list[int]:
    """Lengths to cut a file of canonical JSON lines to: nothing left; at each entry's start
    (whole entries gone), one byte into it, inside one member's name and one member's value
    (which one moves with the entry), and just before its newline; and inside every member's
    name and value of the last entry, where a torn write would leave its tail."""
    points = {0}
    lines = entries(data)
    for n, line in enumerate(lines):
        names = [s for s in line if s.kind == "key"]
        values = [s for s in line if s.kind not in ("key", "syntax")]
        points.update({line[0].start, line[0].start + 1, line[-1].end - 1})
        for s in (names[n % len(names)], values[n % len(values)]) if n < len(lines) - 1 \
                else names + values:
            points.add((s.start + s.end) // 2)
    return sorted(p for p in points if p < len(data))
