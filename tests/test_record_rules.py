"""Record rules (pure): typed values, derivations, the path through the flow, who signs.

One table of cases per flow that routes on its values or decisions."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import ROOT, bundled_library, cli

from generator.records import (
    RecordInput,
    check_record,
    coerce,
    may_sign,
    record_from_data,
    route,
    typed_values,
)

LIBRARY = bundled_library()  # collected once per flow: the session's checked library
ORG = LIBRARY.org
D = dt.date


def leave_record(days: int, **extra) -> RecordInput:
    start = D(2026, 3, 2)
    fields = {"leave_type": "病假", "start": start.isoformat(),
              "end": (start + dt.timedelta(days=days - 1)).isoformat(), "reason": "感冒发烧"}
    fields.update(extra)
    return RecordInput("EC-HR-015", fields, applicant="赵敏")


@pytest.mark.parametrize(("days", "approvals"), [
    (1, ["部门负责人"]), (5, ["部门负责人"]), (6, ["部门负责人", "分管总监"]),
    (30, ["部门负责人", "分管总监"]), (31, ["部门负责人", "分管总监", "总经理"]),
    (40, ["部门负责人", "分管总监", "总经理"]), (60, ["部门负责人", "分管总监", "总经理"]),
])
def test_leave_path_and_signers_follow_the_days(days, approvals):
    result = check_record(LIBRARY.flow("EC-HR-015"), ORG, leave_record(days))
    assert result.ok, result.problems
    assert result.values["days"] == days
    lanes = [s.lane for s in result.signers if s.kind == "approval"]
    assert lanes == [*approvals, "人力资源部"]
    assert result.signers[0].anyone  # the applicant fills the request


# (flow, values, decisions) -> steps that must be on the path, and steps that must not
CASES = [
    ("EC-WH-006-2", {"source_type": "生产入库"}, {"inspect": "不合格"}, ["defective"], ["scan"]),
    ("EC-WH-006-2", {"source_type": "生产入库"}, {"inspect": "合格", "recheck": "无误"},
     ["scan", "shelve"], ["defective"]),
    ("EC-WH-006-2", {"source_type": "退换货"}, {"inspect": "合格", "recheck": "无误"},
     ["returns"], ["production"]),
    ("EC-FN-011", {"single_limit": 80000}, {}, ["limit_approve"], []),
    ("EC-FN-011", {"single_limit": 50000}, {}, ["submit_bank"], ["limit_approve"]),
    ("EC-FN-017", {"amount": 20000, "payment_type": "支付平台费用"}, {}, ["pay"], ["gm_approve"]),
    ("EC-FN-017", {"amount": 20001, "payment_type": "支付平台费用"}, {}, ["gm_approve"],
     ["meeting_review"]),
    ("EC-FN-017", {"amount": 100001, "payment_type": "支付平台费用"}, {}, ["meeting_review"], []),
    ("EC-CS-023", {"receipt_date": D(2026, 3, 1), "request_date": D(2026, 3, 9),
                   "reason": "不合适"}, {"window_check": "受理"}, ["refuse"], ["return_notice"]),
    ("EC-CS-023", {"receipt_date": D(2026, 3, 1), "request_date": D(2026, 3, 8),
                   "reason": "不合适"}, {"window_check": "受理"}, ["return_notice"], ["refuse"]),
    # the 7-day limit binds no-reason returns only (消费者权益保护法 第24条)
    ("EC-CS-023", {"receipt_date": D(2026, 3, 1), "request_date": D(2026, 5, 9),
                   "reason": "质量问题"}, {"window_check": "不受理"}, ["return_notice", "inspect"],
     ["refuse"]),
]


@pytest.mark.parametrize(("code", "values", "decisions", "on", "off"), CASES)
def test_routing_tables(code, values, decisions, on, off):
    flow = LIBRARY.flow(code)
    granted = {s.id: [s.decisions[0]] * 5 for s in flow.steps if s.kind == "approval"}
    # the decisions the case gives, and for other judgements the first option, as a filler
    judged = {s.id: [s.decisions[0]] * 5 for s in flow.steps
              if s.kind == "decision" and not s.automatic}
    result = route(flow, values, {**granted, **judged, **decisions}, ORG.limits)
    for step in on:
        assert step in result.steps, (code, step, result.steps)
    for step in off:
        assert step not in result.steps, (code, step, result.steps)


def test_reward_disagreement_loops_back_to_the_proposal():
    flow = LIBRARY.flow("EC-HR-019")
    audits = [s.id for s in flow.steps if s.text == "审核"]
    result = route(flow, {}, {audits[1]: ["不同意或调整", "同意"], audits[0]: ["同意", "同意"],
                              audits[2]: ["同意"]})
    assert result.outcome == "complete"
    assert result.steps.count(flow.start.id) == 2


@pytest.mark.parametrize(("field_id", "raw", "expected"), [
    ("start", "2026/11/02", D(2026, 11, 2)), ("start", "2026年11月2日", D(2026, 11, 2)),
    ("start", D(2026, 11, 2), D(2026, 11, 2)), ("leave_type", " 病假 ", "病假"),
    ("reason", "  感冒  ", "感冒"), ("handover", "", None),
])
def test_values_are_typed(field_id, raw, expected):
    assert coerce(LIBRARY.flow("EC-HR-015").field(field_id), raw) == expected


@pytest.mark.parametrize(("fields", "message"), [
    ({"start": "2026-02-30"}, "开始日期（start）: '2026-02-30' is not a date that exists"),
    ({"start": "明天"}, "开始日期（start）: '明天' is not a date (YYYY-MM-DD)"),
    ({"leave_type": "探亲假"},
     "请假类别（leave_type）: '探亲假' is not one of 事假/病假/年假/婚假/产假/丧假/调休"),
    ({"reason": ""}, "请假事由（reason） is required"),
    ({"reason": "长" * 201}, "请假事由（reason）: is 201 characters long; at most 200"),
    ({"end": "2026-03-01"}, "请假天数（days）: 0天 is below the minimum 1天 (computed as "
                            "days_between(start, end) + 1)"),
    ({"days": "9"}, "请假天数（days）: 9 was filled in, but days_between(start, end) + 1 gives 10; "
                    "the filled value contradicts the dates and amounts it comes from"),
    ({"colour": "红"}, "'colour' is not a field of EC-HR-015"),
])
def test_each_bad_value_is_named(fields, message):
    base = {"leave_type": "病假", "start": "2026-03-02", "end": "2026-03-11", "reason": "感冒"}
    _, problems = typed_values(LIBRARY.flow("EC-HR-015"), {**base, **fields})
    assert message in [m for _, m in problems]


def test_table_rows_numbers_and_sums():
    flow = LIBRARY.flow("EC-WH-006-1")
    rows = [{"product": "维生素C片", "spec": "100片", "qty": "12"}, {}, {"product": "钙片", "qty": 3}]
    values, problems = typed_values(flow, {"items": rows})
    assert values["items"] == [{"product": "维生素C片", "spec": "100片", "qty": 12},
                               {"product": "钙片", "spec": None, "qty": 3}]
    assert values["total_qty"] == 15
    too_many = [{"product": f"品{i}", "qty": 1} for i in range(9)]
    _, problems = typed_values(flow, {"items": too_many})
    assert "配货明细（items）: has 9 rows; the form has 8" in [m for _, m in problems]


def test_nobody_approves_their_own_request():
    flow = LIBRARY.flow("EC-HR-015")
    result = check_record(flow, ORG, RecordInput(**{**leave_record(3).__dict__, "applicant": "李强"}))
    head = next(s for s in result.signers if s.step == "head_approve")
    # 李强 heads 电子商务部: his own head is the head of the department above (总经理办公室)
    assert head.people == ("陈静",) and head.rule == "部门负责人（总经理办公室）"
    assert may_sign(flow, ORG, "head_approve", "李强", "李强") == (
        "李强 applied; an applicant may not approve their own request")
    assert may_sign(flow, ORG, "head_approve", "吴刚", "李强").startswith("吴刚 may not sign")
    assert may_sign(flow, ORG, "head_approve", "陈静", "李强") is None
    # a lane of a role: every holder but the applicant
    assert may_sign(flow, ORG, "hr_approve", "周婷", "周婷") == (
        "周婷 applied; an applicant may not approve their own request")
    assert may_sign(flow, ORG, "hr_approve", "马超", "周婷") is None


def test_a_form_of_another_revision_is_refused_naming_both():
    record = RecordInput(**{**leave_record(3).__dict__, "revision": "A/1"})
    result = check_record(LIBRARY.flow("EC-HR-015"), ORG, record)
    assert ("revision", "the form was made from revision A/1 of EC-HR-015; the controlled flow is "
            "now revision A/0") in result.problems


def run(args, cwd=ROOT):
    return cli(args, cwd)


def test_record_check_command_yaml_and_json_give_the_same_answer(tmp_path):
    yaml_file = tmp_path / "leave.yaml"
    yaml_file.write_text("flow: EC-HR-015\napplicant: 赵敏\nfields: {leave_type: 病假, start: "
                         "2026-11-02, end: 2026-12-11, reason: 手术后休养}\n", encoding="utf-8")
    json_file = tmp_path / "leave.json"
    json_file.write_text(json.dumps({"flow": "EC-HR-015", "applicant": "赵敏", "fields": {
        "leave_type": "病假", "start": "2026-11-02", "end": "2026-12-11", "reason": "手术后休养"}},
        ensure_ascii=False), encoding="utf-8")
    a, b = run(["record", "check", str(yaml_file), "--json"]), run(["record", "check", str(json_file),
                                                                     "--json"])
    assert a.returncode == b.returncode == 0, a.stderr
    ra, rb = json.loads(a.stdout), json.loads(b.stdout)
    assert ra == rb
    assert ra["values"]["days"] == 40
    assert [s["lane"] for s in ra["signers"]] == ["请假人员", "部门负责人", "分管总监", "总经理",
                                                  "人力资源部"]
    text = run(["record", "check", str(yaml_file)])
    assert "路径: 填写请假条 → 审批 → 审批 → 审批 → 审批 → 考勤管理流程" in text.stdout


@pytest.mark.parametrize(("content", "suffix", "message"), [
    ("{not json", ".json", "invalid JSON"),
    ("flow: EC-HR-015\nfields: [1, 2]\n", ".yaml", "fields: must map field ids to values"),
    ("flow: EC-HR-999\nfields: {}\n", ".yaml", "no flow with code 'EC-HR-999'"),
    ("flow: EC-HR-015\nfeilds: {}\n", ".yaml", "unknown key 'feilds'"),
    ("a: &x 1\nb: *x\n", ".yaml", "YAML anchor"),
])
def test_bad_record_files_get_one_line(tmp_path, content, suffix, message):
    path = tmp_path / f"record{suffix}"
    path.write_text(content, encoding="utf-8")
    proc = run(["record", "check", str(path)])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr


def test_record_from_data_rejects_non_mappings():
    with pytest.raises(Exception, match="a record is a mapping"):
        record_from_data([1, 2], "x.yaml")


def _exit_cases(flow):
    """For each exit of each step that routes on values, values that take it (from the checker's
    own case split), so that no exit of any bundled flow is dead."""
    from generator import expr

    for step in flow.steps:
        if not step.exits:
            continue
        for ex in step.exits:
            if ex.when is None or "decision" in ex.when.names:
                continue
            domains = {}
            when = expr.bind(ex.when, ORG.limits)  # limits read from the authority matrix
            for name in when.names:
                f = flow.field(name)
                known = f.options if f.type == "choice" else (True, False) if f.type == "bool" \
                    else None
                domains[name] = expr.sample_values(when.atoms, name, known)
                if domains[name] == [None]:  # compared with another field, or len() of a text
                    domains[name] = [None, "", "x"] if f.type == "text" else [None, 0, 1, 10**6]
            yield step, ex.__class__(ex.label, ex.to, when), domains


@pytest.mark.parametrize("flow", [f for f in LIBRARY.flows if any(
    e.when is not None for s in f.steps for e in s.exits)], ids=lambda f: f.code)
def test_every_conditional_exit_is_taken_by_some_values(flow):
    import itertools

    for step, ex, domains in _exit_cases(flow):
        names = sorted(domains)
        hit = False
        for combo in itertools.product(*(domains[n] for n in names)):
            env = dict(zip(names, combo, strict=True))
            if ex.when.evaluate({**env, "decision": step.decisions[0] if step.decisions else None}):
                hit = True
                break
        assert hit, (flow.code, step.id, ex.label)
