"""Typed field values from what a person filled in (pure).

A filled PDF gives strings, a YAML record gives numbers and dates, a JSON record strings and
numbers: every field is brought to its declared type here, with one message per problem that
names the field by its label and id, so that the person who filled the form can find it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, Inexact, InvalidOperation
from typing import Any

from ..expr import ExprError
from ..model import Column, Field, Flow
from ..seal.canonical import MAX_SAFE_INTEGER

TRUE = {"true", "yes", "on", "1", "是", "√", "✓", "y", "x"}
FALSE = {"false", "no", "off", "0", "否", "", "n"}


class FieldError(ValueError):
    """One field's value is not acceptable; the message says why, in terms of the field."""


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or raw == [] or raw == {}


def parse_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and len(raw) == 10 and raw[4] == raw[7] == "-" and raw.isascii() \
            and (raw[:4] + raw[5:7] + raw[8:]).isdigit():  # not fromisoformat's 2026-W01-1
        try:  # the form every archived record holds: no normalising, no pattern
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass  # the careful way below says what is wrong
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    if not match:
        raise FieldError(f"'{raw}' is not a date (YYYY-MM-DD)")
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise FieldError(f"'{raw}' is not a date that exists") from None


# Numbers are exact. A whole number is an ``int``; any other is a ``Decimal`` with at most
# MAX_PLACES digits after the point, so an amount keeps its cents through the archive and back
# (a float turned 1234567.89 into "1.23457e+06"). Both are bounded by MAX_NUMBER, the largest
# integer canonical JSON accepts (I-JSON's 2^53 - 1): a number that could not be archived is
# refused while the record is checked, naming the field, not when it is signed.
MAX_NUMBER = MAX_SAFE_INTEGER
MAX_PLACES = 10  # 0.0000000001: finer than any amount, weight or rate on a form


def parse_number(raw: Any, integer: bool = False) -> int | Decimal:
    """``raw`` as an exact number: ``int`` if whole, else a ``Decimal`` without trailing zeros
    (``2.50`` is ``Decimal('2.5')``, ``2.0`` is ``2``); :class:`FieldError` if it is not a
    number, not whole when ``integer``, beyond ±MAX_NUMBER or finer than MAX_PLACES."""
    if isinstance(raw, bool):
        raise FieldError(f"'{raw}' is not a number")
    if isinstance(raw, int):
        value: Decimal | int = raw
    elif isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, float):  # a loader that gave a float: its shortest round-trip text
        value = Decimal(repr(raw))
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "")
        if not _NUMBER.fullmatch(text):  # no NaN, Infinity or 0x…: digits as people write them
            raise FieldError(f"'{_clip(raw)}' is not a number")
        value = Decimal(text)  # exact, whatever the length or exponent: checked below
    return exact_number(value, raw, integer)


_NUMBER = re.compile(r"[+-]?(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def exact_number(value: int | Decimal, raw: Any = None, integer: bool = False) -> int | Decimal:
    """``value`` in the one form a number has here (see :func:`parse_number`), or
    :class:`FieldError` naming ``raw`` (default: the value)."""
    if type(value) is int and -MAX_NUMBER <= value <= MAX_NUMBER:  # most numbers: nothing to do
        return value
    problem = None
    if isinstance(value, int):
        problem = f"is out of range: a number is at most ±{MAX_NUMBER}"
    elif not value.is_finite():
        problem = "is not a number"
    # copy_abs and comparisons are exact: abs() would round to the thread's decimal context
    elif value.copy_abs() > MAX_NUMBER:
        problem = f"is out of range: a number is at most ±{MAX_NUMBER}"
    else:
        try:  # without trailing zeros (2.50 is 2.5; 2.0 is 2)
            normal = value.normalize(_NORMAL)
            exponent = normal.as_tuple().exponent
        except Inexact:  # a digit beyond the ones every allowed number fits in
            normal, exponent = value, -MAX_PLACES - 1
        assert isinstance(exponent, int)  # finite
        if exponent >= 0:
            return int(normal)
        if integer:
            problem = "is not a whole number"
        elif exponent < -MAX_PLACES:
            problem = f"has more than {MAX_PLACES} digits after the point"
        else:
            return normal
    raise FieldError(f"'{_clip(value if raw is None else raw)}' {problem}")


# Every number within ±MAX_NUMBER with at most MAX_PLACES places fits in these digits, so a
# number that does not fit has too many places; rounding it is an error, never a result.
_NORMAL = Context(prec=len(str(MAX_NUMBER)) + MAX_PLACES + 1, traps=[Inexact, InvalidOperation])


def number_text(value: int | Decimal | float) -> str:
    """The canonical text of an exact number, as archived and shown: an integer's digits, or a
    plain decimal with a point, at least one digit either side and no trailing zero — no
    exponent, no ``+``, so one value has one text (``1234567.89``, ``-0.5``)."""
    exact = exact_number(Decimal(repr(value)) if isinstance(value, float) else value)
    return str(exact) if isinstance(exact, int) else format(exact, "f")  # "f": every digit


def json_number(value: int | Decimal | float) -> int | str:
    """A number as canonical JSON holds it: an integer as a JSON integer, any other number as
    its :func:`number_text` — never a float, which has no single text worth signing."""
    exact = parse_number(value)
    return exact if isinstance(exact, int) else number_text(exact)


def derived_number(value: Any) -> int | Decimal:
    """A computed number in the exact form: a quotient rounded (half to even) to MAX_PLACES
    digits after the point, so that writer and verifier, computing it again, agree on every
    digit; :class:`FieldError` if it is not a number or out of range."""
    if type(value) is int:
        return exact_number(value)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise FieldError(f"'{_clip(value)}' is not a number")
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal) and value.is_finite() and value.copy_abs() <= MAX_NUMBER:
        value = _QUANTIZE.quantize(value, _PLACE)
    return exact_number(value)


_PLACE = Decimal(1).scaleb(-MAX_PLACES)
_QUANTIZE = Context(prec=_NORMAL.prec, rounding=ROUND_HALF_EVEN)  # room for every digit kept


def _clip(raw: Any) -> str:
    """Raw input for a message: a megabyte of digits is not repeated back whole."""
    try:
        text = str(raw)
    except ValueError:  # an int beyond Python's 4300-digit str() limit, from a derivation
        return "a number of more than 4000 digits"
    return text if len(text) <= 40 else text[:37] + "…"


def coerce_scalar(kind: str, raw: Any, *, integer: bool = False) -> Any:
    if kind == "text":
        return str(raw).strip()
    if kind == "number":
        return parse_number(raw, integer)
    if kind == "date":
        return parse_date(raw)
    raise FieldError(f"unknown type {kind}")  # pragma: no cover - the loader refuses it


def coerce(field: Field, raw: Any) -> Any:
    """``raw`` as the field's type, or :class:`FieldError`. A blank value is ``None``."""
    if field.type == "table":
        return _table(field, raw)
    if field.type == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw or "").strip().lstrip("/").lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise FieldError(f"'{raw}' is neither yes nor no")
    if _blank(raw):
        return None
    if field.type == "text":
        value = str(raw).strip()
        if field.max_length is not None and len(value) > field.max_length:
            raise FieldError(f"is {len(value)} characters long; at most {field.max_length}")
        return value
    if field.type == "number":
        value = parse_number(raw, field.integer)
        _range(field, value)
        return value
    if field.type == "date":
        return parse_date(raw)
    if field.type == "choice":
        values = raw if isinstance(raw, list) else (
            re.split(r"[,、，;；]\s*", str(raw)) if field.multiple else [raw])
        values = [str(v).strip() for v in values if str(v).strip()]
        for v in values:
            if v not in field.options:
                raise FieldError(f"'{v}' is not one of {'/'.join(field.options)}")
        if not field.multiple and len(values) > 1:
            raise FieldError("takes one choice")
        return tuple(values) if field.multiple else values[0]
    raise FieldError(f"unknown type {field.type}")  # pragma: no cover


def _range(field: Field, value: int | Decimal) -> None:
    unit = field.unit or ""
    if field.min is not None and value < _bound(field.min):
        raise FieldError(f"{number_text(value)}{unit} is below the minimum "
                         f"{number_text(_bound(field.min))}{unit}")
    if field.max is not None and value > _bound(field.max):
        raise FieldError(f"{number_text(value)}{unit} is above the maximum "
                         f"{number_text(_bound(field.max))}{unit}")


def _bound(limit: float) -> int | Decimal:
    """A flow's min/max as the exact number it was written as: the float 0.1 is a little more
    than 0.1, and a value of exactly 0.1 must not be below a minimum of 0.1."""
    return limit if isinstance(limit, int) else Decimal(repr(limit))


def _table(field: Field, raw: Any) -> list[dict[str, Any]]:
    if _blank(raw):
        return []
    if not isinstance(raw, list | tuple):
        raise FieldError("must be a list of rows")
    rows: list[dict[str, Any]] = []
    for i, row in enumerate(raw, start=1):
        if not isinstance(row, Mapping):
            raise FieldError(f"row {i} must map column ids to values")
        unknown = set(row) - {c.id for c in field.columns}
        if unknown:
            raise FieldError(f"row {i}: unknown column '{sorted(unknown)[0]}'")
        if all(_blank(row.get(c.id)) for c in field.columns):
            continue  # an empty line of the paper form
        rows.append({c.id: _cell(field, c, row.get(c.id), i) for c in field.columns})
    if len(rows) > field.rows:
        raise FieldError(f"has {len(rows)} rows; the form has {field.rows}")
    return rows


def _cell(field: Field, column: Column, raw: Any, row: int) -> Any:
    if _blank(raw):
        return None
    try:
        return coerce_scalar(column.type, raw)
    except FieldError as exc:
        raise FieldError(f"row {row}, {column.label}（{column.id}）: {exc}") from None


def typed_values(flow: Flow, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Every field of ``flow`` typed, derived fields computed; and the problems, as
    ``(field path, message)`` pairs: ``("fields.days", "请假天数（days）: …")``."""
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    known = {f.id for f in flow.fields}
    for key in sorted(set(raw) - known):
        problems.append((f"fields.{key}", f"'{key}' is not a field of {flow.code}"))
    for field in flow.fields:
        if field.derive is not None:
            continue
        try:
            value = coerce(field, raw.get(field.id))
        except FieldError as exc:
            problems.append((f"fields.{field.id}", f"{field.label}（{field.id}）: {exc}"))
            continue
        if field.required and (value is None or value == [] or value == ()):
            problems.append((f"fields.{field.id}", f"{field.label}（{field.id}） is required"))
        values[field.id] = value
    for field in flow.fields:  # derivations, in declaration order (the checker forbids cycles)
        if field.derive is None:
            continue
        names = field.derive.names
        if any(values.get(n) is None for n in names):
            values[field.id] = None
            continue
        try:
            value = field.derive.evaluate(values)
        except ExprError as exc:
            problems.append((f"fields.{field.id}", f"{field.label}（{field.id}）: {exc}"))
            continue
        if field.type == "number":
            try:
                value = derived_number(value)
            except FieldError as exc:
                problems.append((f"fields.{field.id}", f"{field.label}（{field.id}）: {exc} "
                                 f"(computed as {field.derive.source})"))
                values[field.id] = None
                continue
        values[field.id] = value
        problem = _derived_problem(field, value, raw.get(field.id))
        if problem:
            problems.append((f"fields.{field.id}", f"{field.label}（{field.id}）: {problem}"))
    return values, problems


def _derived_problem(field: Field, value: Any, filled: Any) -> str | None:
    if field.type == "number" and value is not None:
        try:
            _range(field, value)
        except FieldError as exc:
            return f"{exc} (computed as {field.derive.source})"
    if _blank(filled):
        return None
    try:  # the range is reported above
        given = parse_number(filled, field.integer) if field.type == "number" else \
            coerce(field, filled)
    except FieldError:
        return (f"'{_clip(filled)}' was filled in, but it is computed as {field.derive.source} = "
                f"{_shown(value)}")
    if given != value:
        source = "dates and amounts" if field.type == "number" else "values"
        return (f"{_clip(filled)} was filled in, but {field.derive.source} gives {_shown(value)}; "
                f"the filled value contradicts the {source} it comes from")
    return None


def _shown(value: Any) -> str:
    return number_text(value) if isinstance(value, int | Decimal) and \
        not isinstance(value, bool) else str(value)


def value_text(value: Any) -> str:
    """A typed value as a person reads it on one line: numbers in their canonical text, dates
    as YYYY-MM-DD, several choices joined by 、, a table's rows as ``col=value`` lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | Decimal | float):
        return number_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return "、".join(value_text(v) for v in value)
    if isinstance(value, list):
        return "; ".join(value_text(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={value_text(v)}" for k, v in value.items() if v is not None)
    return str(value)
