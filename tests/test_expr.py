"""The condition language: what it accepts, what it refuses, and the coverage proof."""

from __future__ import annotations

import datetime as dt

import pytest

from generator import expr


@pytest.mark.parametrize(("source", "env", "expected"), [
    ("days <= 5", {"days": 5}, True),
    ("days <= 5", {"days": 6}, False),
    ("decision == '不同意' or days > 30", {"decision": "同意", "days": 31}, True),
    ("not (leave_type in ['病假', '婚假'])", {"leave_type": "事假"}, True),
    ("days_between(start, end) + 1", {"start": dt.date(2026, 2, 27), "end": dt.date(2026, 3, 1)}, 3),
    ("sum_of(items, 'qty') > 100", {"items": [{"qty": 60}, {"qty": 41}, {"qty": None}]}, True),
    ("start >= date('2026-01-01')", {"start": dt.date(2026, 1, 1)}, True),
    ("amount > 5000", {}, False),  # a missing value satisfies no ordering
])
def test_evaluates(source, env, expected):
    assert expr.parse(source).evaluate(env) == expected


@pytest.mark.parametrize(("source", "message"), [
    ("().__class__", "attribute access ('.') is not allowed"),
    ("().__class__.__base__.__subclasses__()", "not allowed"),
    ("__import__('os').system('true')", "attribute access ('.') is not allowed"),
    ("__import__('os')", "function '__import__' is not allowed"),
    ("open('/etc/passwd')", "function 'open' is not allowed"),
    ("items[0]", "subscripts ('[...]') are not allowed"),
    ("[x for x in items]", "ListComp is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("days ** 999999", "only + - * / are allowed"),
    ("days >", "invalid expression"),
    ("x" * 501, "at most 500"),
    ("(" * 400 + ")" * 400, "at most 500"),
    ("len(a, b)", "len() takes 1 positional arguments"),
])
def test_refuses_anything_outside_the_language(source, message):
    with pytest.raises(expr.ExprError, match=None) as info:
        expr.parse(source)
    assert message in str(info.value)


def test_string_arithmetic_cannot_exhaust_memory():
    with pytest.raises(expr.ExprError, match="not a number"):
        expr.parse("reason * 1000000000").evaluate({"reason": "长"})


def test_names_are_the_variables_read_not_the_functions():
    assert expr.parse("days_between(start, end) + 1 > limit").names == {"start", "end", "limit"}


def test_coverage_proof_finds_the_gap_between_thresholds():
    conditions = [expr.parse("days <= 5"), expr.parse("days > 6")]
    domains = {"days": expr.sample_values([a for c in conditions for a in c.atoms], "days")}
    case = expr.uncovered_case(conditions, domains)
    assert case is not None and 5 < case["days"] <= 6


def test_coverage_proof_accepts_complementary_conditions():
    conditions = [expr.parse("days <= 5"), expr.parse("days > 5 and days <= 30"),
                  expr.parse("days > 30")]
    domains = {"days": expr.sample_values([a for c in conditions for a in c.atoms], "days")}
    assert expr.uncovered_case(conditions, domains) is None


def test_coverage_over_decisions_and_choices():
    conditions = [expr.parse("decision == '不同意'"),
                  expr.parse("decision == '同意' and kind == '退货'"),
                  expr.parse("decision == '同意' and kind == '换货'")]
    domains = {"decision": ["同意", "不同意"], "kind": ["退货", "换货", "维修"]}
    assert expr.uncovered_case(conditions, domains) == {"decision": "同意", "kind": "维修"}


GRADE = "band(total, [90, 80, 60], ['A', 'B', 'C', 'D'])"


@pytest.mark.parametrize(("total", "grade"), [
    (100, "A"), (90, "A"), (89, "B"), (85, "B"), (80, "B"), (79.5, "C"), (60, "C"), (59, "D"),
    (0, "D"), (-1, "D"),
])
def test_band_gives_the_label_of_the_band_the_value_falls_in(total, grade):
    from decimal import Decimal

    assert expr.parse(GRADE).evaluate({"total": total}) == grade
    assert expr.parse(GRADE).evaluate({"total": Decimal(str(total))}) == grade


def test_band_of_a_missing_value_is_none_and_of_text_an_error():
    assert expr.parse(GRADE).evaluate({}) is None
    with pytest.raises(expr.ExprError, match="not a number"):
        expr.parse(GRADE).evaluate({"total": "九十"})
    assert expr.band_labels(expr.parse(GRADE)) == ("A", "B", "C", "D")


@pytest.mark.parametrize("source", [
    "band(total, [60, 80, 90], ['D', 'C', 'B', 'A'])",  # rising: the bands overlap
    "band(total, [90, 90], ['A', 'B', 'C'])",
    "band(total, [90, 80], ['A', 'B'])",  # one label short
    "band(total, limits, ['A', 'B'])",  # thresholds written in the flow, not read from a field
    "band(total, [90], [x, 'B'])",
    "band(total, ['九十'], ['A', 'B'])",
    "band(total, [], ['A'])",
])
def test_band_thresholds_and_labels_are_checked_when_parsed(source):
    with pytest.raises(expr.ExprError, match=r"band\(\)"):
        expr.parse(source)
