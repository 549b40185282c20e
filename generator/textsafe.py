"""Text from records, shown on a terminal without letting it drive the terminal (pure).

A value in a record — a reason, a comment, a name, a file name — is typed by someone else,
and a terminal obeys what it prints: ESC starts a control sequence (colours, cursor moves,
clearing the screen, window titles), CR returns to the start of the line so the rest
overwrites it, a newline starts what looks like another line of flowdoc's output, and the
Unicode bidi controls reorder what is displayed (an RLO makes ``fdp.exe`` look like
``exe.pdf``). Every human-readable line that holds such text goes through :func:`visible`;
JSON output needs nothing, json.dumps escapes control characters itself, and it is data for
a program, not text for a person.
"""

from __future__ import annotations

import re

# C0 controls (tab and newline included: a shown value is one line), DEL, C1 controls, and
# the invisible characters that reorder or break lines: LRM/RLM, ALM, the embeddings and
# overrides U+202A–U+202E, the isolates U+2066–U+2069, LINE and PARAGRAPH SEPARATOR.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control and bidi character written as its escape (``\\x1b``,
    ``\\n``, ``\\r``, ``\\u202e``), so that what is printed is what the text holds and
    it stays on its line. Everything else, Chinese included, is left as it is."""
    return _UNSAFE.sub(_escape, text)
