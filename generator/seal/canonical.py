"""Canonical JSON in the manner of RFC 8785 (JCS): the bytes a hash or a signature covers.

Object members sorted by the UTF-16 code units of their names, no insignificant white space,
strings as UTF-8 with only the escapes JSON requires, integers only (a record's amounts and
counts are integers or decimal strings; floats have no single text form worth signing).
The same value always gives the same bytes, so a signature over them can be checked by anyone
who has the value.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1  # I-JSON: larger integers do not survive a round trip everywhere


class CanonicalError(ValueError):
    """The value has no canonical form (a float, a non-string key, a huge integer …)."""


# the C encoder, set as canonical JSON needs it (what it cannot get right is checked first)
_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          allow_nan=False).encode


def canonical(value: Any) -> bytes:
    if _plain(value):
        # The C encoder gives the same bytes when every key is in the Basic Multilingual
        # Plane (code point order is then UTF-16 order) and there are no floats: 10x faster.
        return _dumps(value).encode("utf-8")
    return _encode(value).encode("utf-8")


_BMP_END = "\U00010000"


def _plain(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)  # the exact types first: an entry is mostly text, dicts and lists
        if t is str or v is None or t is bool:
            continue
        if t is dict:
            for k, x in v.items():
                if type(k) is not str or (not k.isascii() and max(k) >= _BMP_END):
                    return False
                if type(x) is not str:
                    stack.append(x)
            continue
        if isinstance(v, str):
            continue
        if isinstance(v, int):
            if abs(v) > MAX_SAFE_INTEGER:
                return False
        elif isinstance(v, list | tuple):
            stack.extend(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str) or (not k.isascii() and max(k) >= _BMP_END):
                    return False
                stack.append(x)
        else:
            return False  # floats and the rest: the careful encoder says why
    return True


def digest(value: Any) -> str:
    """sha256 of the canonical form, as hex."""
    return hashlib.sha256(canonical(value)).hexdigest()


def _encode(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer {value} is outside ±2^53")
        return str(value)
    if isinstance(value, float):
        raise CanonicalError(f"float {value!r} has no canonical form here; use an integer or text")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalError(f"object key {key!r} is not text")
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _encode(value[k])
                              for k in keys) + "}"
    raise CanonicalError(f"{type(value).__name__} has no canonical JSON form")


def is_canonical(data: bytes) -> bool:
    """Whether ``data`` is exactly the canonical encoding of the JSON it holds."""
    return loads_canonical(data) is not NOT_CANONICAL


NOT_CANONICAL: Any = object()


def _refuse(text: str) -> Any:
    raise CanonicalError(f"{text} has no canonical form here")


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise CanonicalError(f"integer {text} is outside ±2^53")
    return value


# floats, NaN and ±Infinity are refused while parsing: the fast comparison below would take
# Python's text of them for canonical
_decoder = json.JSONDecoder(parse_float=_refuse, parse_int=_safe_int, parse_constant=_refuse)


def loads_canonical(data: bytes) -> Any:
    """The value ``data`` holds if ``data`` is its canonical encoding, else ``NOT_CANONICAL``.

    One parse and one C-encoded comparison (verify does this for every entry of the log):
    with floats and unsafe integers refused by the parser, the C encoder's sorted output is
    the canonical form unless a key holds a character beyond the Basic Multilingual Plane,
    whose UTF-16 order differs from code point order — a line with any 4-byte UTF-8 sequence
    is compared with the careful encoder instead."""
    try:
        value = _decoder.decode(data.decode("utf-8"))
        if _astral(data):
            return value if canonical(value) == data else NOT_CANONICAL
        return value if _dumps(value).encode("utf-8") == data else NOT_CANONICAL
    except (UnicodeDecodeError, ValueError, CanonicalError, RecursionError):
        return NOT_CANONICAL


def _astral(data: bytes) -> bool:
    """Whether valid UTF-8 ``data`` holds a character beyond the BMP: only those start with
    the bytes F0-F4 (five memchr scans are faster than one regular expression)."""
    return any(lead in data for lead in _LEADS)


_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")
