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
from typing import Any

from ..expr import ExprError
from ..model import Column, Field, Flow

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


def parse_number(raw: Any, integer: bool = False) -> int | float:
    if isinstance(raw, bool):
        raise FieldError(f"'{raw}' is not a number")
    if isinstance(raw, int | float):
        value = raw
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "")
        try:
            value = float(text) if re.search(r"[.eE]", text) else int(text)
        except ValueError:
            raise FieldError(f"'{raw}' is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise FieldError(f"'{raw}' is not a number")
    if integer:
        if value != int(value):
            raise FieldError(f"'{raw}' is not a whole number")
        value = int(value)
    return value


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


def _range(field: Field, value: float) -> None:
    unit = field.unit or ""
    if field.min is not None and value < field.min:
        raise FieldError(f"{value:g}{unit} is below the minimum {field.min:g}{unit}")
    if field.max is not None and value > field.max:
        raise FieldError(f"{value:g}{unit} is above the maximum {field.max:g}{unit}")


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
        if field.type == "number" and isinstance(value, float) and value.is_integer():
            value = int(value)
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
        return f"'{filled}' was filled in, but it is computed as {field.derive.source} = {value}"
    if given != value:
        return (f"{filled} was filled in, but {field.derive.source} gives {value}; "
                "the filled value contradicts the dates and amounts it comes from")
    return None
