"""Routing: the path a record takes, from its values and decisions (pure functions)."""

from __future__ import annotations

import datetime as dt

import pytest

from generator.records import RouteError, derive_values, route

APPROVE_ALL = {s: "同意" for s in ("head_approve", "director_approve", "gm_approve", "hr_approve")}


def leave(days: int) -> dict:
    start = dt.date(2026, 3, 2)
    return {"leave_type": "病假", "start": start, "end": start + dt.timedelta(days=days - 1),
            "reason": "感冒发烧"}


@pytest.mark.parametrize(("days", "approvers"), [
    (1, ["head_approve"]),
    (5, ["head_approve"]),
    (6, ["head_approve", "director_approve"]),
    (30, ["head_approve", "director_approve"]),
    (31, ["head_approve", "director_approve", "gm_approve"]),
    (60, ["head_approve", "director_approve", "gm_approve"]),
])
def test_leave_routes_by_days_as_the_source_gives(library, days, approvers):
    flow = library.flow("EC-HR-015")
    result = route(flow, leave(days), APPROVE_ALL)
    assert result.outcome == "complete"
    assert result.steps == ("fill", *approvers, "hr_approve", "attendance")
    assert derive_values(flow, leave(days))["days"] == days


def test_leave_refused_by_the_head_ends_at_not_granted(library):
    result = route(library.flow("EC-HR-015"), leave(10), {"head_approve": "不同意"})
    assert result.steps == ("fill", "head_approve", "rejected")
    assert result.exits == ("不同意",)


def test_route_waits_for_the_next_decision(library):
    result = route(library.flow("EC-HR-015"), leave(40), {"head_approve": "同意"})
    assert result.outcome == "pending" and result.waiting_for == "director_approve"


def test_unknown_decision_is_refused(library):
    with pytest.raises(RouteError, match="'也许' is not a decision of step 'head_approve'"):
        route(library.flow("EC-HR-015"), leave(3), {"head_approve": "也许"})


def test_inbound_goods_that_fail_inspection_go_to_the_defect_store(library):
    flow = library.flow("EC-WH-006-2")
    inspect = next(s for s in flow.steps if s.text == "检验")
    defect = next(s for s in flow.steps if s.text == "入残品库")
    decisions = {inspect.id: "不合格"}
    result = route(flow, {"source_type": "生产入库"}, decisions)
    assert defect.id in result.steps
    assert result.steps.index(defect.id) == result.steps.index(inspect.id) + 1


def test_reward_loops_back_on_disagree_and_adjust(library):
    flow = library.flow("EC-HR-019")
    first = flow.steps[0]
    audits = [s for s in flow.steps if s.text == "审核"]
    decisions = {audits[0].id: ["不同意或调整", "同意"]}
    decisions.update({a.id: "同意" for a in audits[1:]})
    result = route(flow, {}, decisions)
    assert result.steps.count(first.id) == 2  # the proposal is made again after 不同意或调整
    assert result.outcome == "complete"
