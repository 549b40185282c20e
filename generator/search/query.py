"""The auditors' query language, parsed once into a tree every backend translates.

    请假 病假                 both terms (AND is implied)
    退货 OR 换货              either
    -作废  NOT 作废            without
    "不同意 调整"              one term with its space: both words, in that order of parts
    (病假 OR 事假) 张伟        grouping
    flow:EC-HR-015  signer:张伟  status:complete  dept:客服部  lane:部门负责人
    meaning:批准  decision:不同意  id:EC-HR-015-2026-0001  id:EC-HR-015*  (prefix)
    created:2026-11-01..2026-11-30   signed:2026-11..     (date ranges, either end open)

Parsing is total: every input either gives a tree or a :class:`QueryError` whose one-line
message says what is wrong and where, so the command never shows a traceback.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

from ..errors import FlowdocError

MAX_LENGTH = 1000
# Brackets and NOTs nest the tree, and the parser and every backend walk it recursively:
# 300 brackets hit Python's recursion limit. No real query needs more than a few levels.
MAX_DEPTH = 32

KEYWORD_FIELDS = {"flow": "flow", "signer": "signer", "status": "status", "dept": "department",
                  "department": "department", "lane": "lane", "meaning": "meaning",
                  "decision": "decision", "id": "ids", "number": "ids"}
DATE_FIELDS = {"created": "created", "signed": "signed"}
STATUSES = {"in_progress": "in_progress", "in progress": "in_progress", "进行中": "in_progress",
            "审批中": "in_progress", "办理中": "in_progress", "open": "in_progress",
            "complete": "complete", "completed": "complete", "完成": "complete",
            "已完成": "complete", "rejected": "rejected", "驳回": "rejected",
            "已驳回": "rejected", "未通过": "rejected", "void": "void", "作废": "void",
            "已作废": "void", "returned": "returned", "退回": "returned", "已退回": "returned",
            "withdrawn": "withdrawn", "撤销": "withdrawn", "已撤销": "withdrawn"}


class QueryError(FlowdocError):
    """The query cannot be read; the message says where."""

    code = "usage"


@dataclass(frozen=True)
class Text:
    """A term matched in the record's text (exact substring for Chinese, whole word for Latin)."""
    term: str


@dataclass(frozen=True)
class Keyword:
    field: str  # an index field: flow, signer, status, department, lane, meaning, decision, ids
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class DateRange:
    field: str  # created | signed
    low: int | None  # YYYYMMDD, inclusive
    high: int | None


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


@dataclass(frozen=True)
class Everything:
    pass


Node = Text | Keyword | DateRange | And | Or | Not | Everything

_TOKEN = re.compile(r'\s+|\(|\)|"[^"]*"?|[^\s()"]+(?:"[^"]*"?)?')


def _tokens(text: str) -> list[tuple[str, int]]:
    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok.isspace():
            continue
        if tok.count('"') % 2:
            raise QueryError(f"unbalanced quote at character {m.start() + tok.index(chr(34)) + 1}")
        out.append((tok, m.start() + 1))
    return out


def parse_date(text: str, end: bool = False) -> int:
    """YYYY, YYYY-MM or YYYY-MM-DD as YYYYMMDD; a partial date is its first (or last) day."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
    if not m:
        raise ValueError(f"'{text}' is not a date (YYYY-MM-DD)")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if month is None:
            d = dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        elif day is None:
            first = dt.date(year, int(month), 1)
            d = ((first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
                 - dt.timedelta(days=1)) if end else first
        else:
            d = dt.date(year, int(month), int(day))
    except ValueError:
        raise ValueError(f"'{text}' is not a date in the calendar") from None
    return d.year * 10000 + d.month * 100 + d.day


def date_range(field: str, text: str) -> DateRange:
    low, sep, high = text.partition("..")
    if not sep:
        high = low
    lo = parse_date(low) if low else None
    hi = parse_date(high, end=True) if high else None
    if lo is None and hi is None:
        raise ValueError(f"'{text}' gives neither end of the range")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"'{text}' ends before it starts")
    return DateRange(field, lo, hi)


def keyword(name: str, value: str) -> Keyword:
    field = KEYWORD_FIELDS[name]
    prefix = value.endswith("*")
    value = value.rstrip("*")
    if not value:
        raise ValueError(f"{name}: needs a value")
    if field == "status":
        if value.lower() not in STATUSES:
            raise ValueError(f"status '{value}' is not one of 办理中/已完成/已驳回/已作废/已退回/已撤销 "
                             "(in_progress/complete/rejected/void/returned/withdrawn)")
        return Keyword(field, STATUSES[value.lower()])
    if field == "ids":
        from .analysis import identifier

        return Keyword(field, identifier(value), prefix)
    if prefix:
        raise ValueError(f"{name}: takes no prefix '*'; only id: does")
    return Keyword(field, value)


def _field_term(tok: str, at: int) -> Node:
    name, _, value = tok.partition(":")
    if value.startswith('"'):
        value = value[1:-1]
    lname = name.lower()
    try:
        if lname in KEYWORD_FIELDS:
            return keyword(lname, value)
        if lname in DATE_FIELDS:
            return date_range(DATE_FIELDS[lname], value)
    except ValueError as exc:
        raise QueryError(f"character {at}: {exc}") from None
    known = sorted({*KEYWORD_FIELDS, *DATE_FIELDS})
    close = difflib.get_close_matches(lname, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise QueryError(f"character {at}: unknown field '{name}'{hint}; fields are {', '.join(known)}")


def parse(text: str) -> Node:
    """The tree of ``text``; an empty query matches every record."""
    if len(text) > MAX_LENGTH:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {MAX_LENGTH:,}")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise QueryError("the query contains control characters")
    tokens = _tokens(text)
    pos = 0
    depth = 0  # brackets and NOTs open around the token being read

    def deeper(at: int) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise QueryError(f"character {at}: brackets and NOT nested more than {MAX_DEPTH} "
                             "levels deep")

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def or_expr() -> Node:
        nonlocal pos
        parts = [and_expr()]
        while peek() in ("OR", "|"):
            pos += 1
            if peek() in (None, ")", "OR", "|"):
                raise QueryError(f"character {tokens[pos - 1][1]}: OR needs a term after it")
            parts.append(and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr() -> Node:
        nonlocal pos
        parts = []
        while peek() not in (None, ")", "OR", "|"):
            if peek() == "AND":
                pos += 1
                continue
            parts.append(unary())
        if not parts:
            at = tokens[pos][1] if pos < len(tokens) else len(text) + 1
            raise QueryError(f"character {at}: a term is missing")
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary() -> Node:
        nonlocal pos, depth
        tok, at = tokens[pos]
        if tok == "NOT" or (tok.startswith("-") and len(tok) > 1):
            deeper(at)
            if tok == "NOT":
                pos += 1
                if peek() in (None, ")", "OR", "|"):
                    raise QueryError(f"character {at}: NOT needs a term after it")
            else:
                tokens[pos] = (tok[1:], at + 1)
            inner = unary()
            depth -= 1
            return Not(inner)
        return atom()

    def atom() -> Node:
        nonlocal pos, depth
        tok, at = tokens[pos]
        pos += 1
        if tok == "(":
            deeper(at)
            inner = or_expr()
            if peek() != ")":
                raise QueryError(f"character {at}: the bracket opened here is never closed")
            pos += 1
            depth -= 1
            return inner
        if tok.startswith('"'):
            return _text(tok[1:-1], at)
        if ":" in tok and not tok.startswith(":"):
            return _field_term(tok, at)
        return _text(tok, at)

    if not tokens:
        return Everything()
    tree = or_expr()
    if pos < len(tokens):
        raise QueryError(f"character {tokens[pos][1]}: unmatched closing bracket")
    return tree


def _text(term: str, at: int) -> Node:
    from .analysis import segments

    if not segments(term):
        raise QueryError(f"character {at}: '{term}' has no letters, digits or characters to search")
    return Text(term)


def combine(tree: Node, filters: list[Node]) -> Node:
    """``tree`` restricted by command-line filters."""
    if not filters:
        return tree
    parts = [] if isinstance(tree, Everything) else [tree]
    return And((*parts, *filters)) if len(parts) + len(filters) > 1 else (parts + filters)[0]


def text_terms(tree: Node) -> list[str]:
    """The positive text terms of ``tree``, for highlighting."""
    if isinstance(tree, Text):
        return [tree.term]
    if isinstance(tree, And | Or):
        return [t for p in tree.parts for t in text_terms(p)]
    return []
