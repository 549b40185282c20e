"""Process controls as mechanisms: step roles, segregation of duties (``separate``) and the
authority matrix (``authority:`` in org.yaml, ``limit('kind', 'role')`` in conditions)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from generator.checks import check_paths
from generator.errors import ProblemsError
from generator.loader import flow_from_bytes, org_from_bytes
from generator.records import RouteError, route

BROKEN = Path(__file__).resolve().parent / "broken"
VALID = (BROKEN / "_valid.yaml.txt").read_text(encoding="utf-8")
AMOUNT = '''derive: "days_between(start, end) + 1"}
  - {id: amount, label: 扣薪金额, type: number, min: 0, unit: 元}'''


def valid_with(*replacements: tuple[str, str]) -> str:
    text = VALID.split("signoff:")[0].replace("status: 受控", "status: 草稿")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def limited_flow():
    text = valid_with(('derive: "days_between(start, end) + 1"}', AMOUNT),
                      ('when: "days <= 5"', "when: \"amount <= limit('refund', 'head')\""))
    return flow_from_bytes(text.encode(), "limited.yaml")


def values(amount) -> dict:
    return {"leave_type": "事假", "start": dt.date(2026, 3, 2), "end": dt.date(2026, 3, 2),
            "amount": amount}


@pytest.mark.parametrize(("limit", "amount", "path"), [
    (500, 500, ("fill", "head_approve", "done")),
    (500, 501, ("fill", "head_approve", "gm_approve", "done")),
    (800, 501, ("fill", "head_approve", "done")),  # the matrix changed, not the flow
    (Decimal("500.5"), Decimal("500.5"), ("fill", "head_approve", "done")),
])
def test_a_limit_is_read_from_the_matrix_the_record_is_evaluated_against(limit, amount, path):
    matrix = {"refund": {"head": limit, "gm": 3000}}
    result = route(limited_flow(), values(amount), {"head_approve": "同意", "gm_approve": "同意"},
                   matrix)
    assert result.steps == path


def test_without_the_matrix_the_route_names_the_missing_limit():
    with pytest.raises(RouteError, match=r"limit\('refund', 'head'\).*authority matrix"):
        route(limited_flow(), values(100), {"head_approve": "同意"})
    with pytest.raises(RouteError, match="no limit for 'head'"):
        route(limited_flow(), values(100), {"head_approve": "同意"}, {"refund": {"gm": 1}})


def folder(tmp_path: Path, flow_text: str) -> Path:
    target = tmp_path / "flows"
    target.mkdir()
    for name in ("org.yaml", "keys.yaml", "trust.yaml"):
        shutil.copy(BROKEN / name, target / name)
    (target / "valid.yaml").write_text(flow_text, encoding="utf-8")
    return target


def test_check_warns_naming_who_may_sign_both_steps_of_a_separated_pair(tmp_path):
    # 李强 holds both 部门负责人 and 总经理 in the corpus's org: a padded org shows up
    text = valid_with(("steps:\n", "separate: [[head_approve, gm_approve]]\nsteps:\n"))
    result = check_paths([folder(tmp_path, text)], base=tmp_path)
    found = [p for p in result.problems if p.where == "separate[0]"]
    assert result.ok and len(found) == 1 and found[0].severity == "warning"
    assert found[0].line == text.splitlines().index(
        "separate: [[head_approve, gm_approve]]") + 1
    assert found[0].message.startswith("李强 may sign both 'head_approve' (部门负责人) and "
                                       "'gm_approve' (总经理)")


def test_a_step_role_narrows_the_lane_and_clears_the_overlap(tmp_path):
    # 总经理's step narrowed to a role only 陈静 holds: 李强 (部门负责人 and 总经理) no longer may
    text = valid_with(("steps:\n", "separate: [[head_approve, gm_approve]]\nsteps:\n"),
                      ("{id: gm_approve, lane: gm, kind: approval,",
                       "{id: gm_approve, lane: gm, role: board, kind: approval,"))
    target = folder(tmp_path, text)
    org = target / "org.yaml"
    org.write_text(org.read_text(encoding="utf-8").replace(
        "roles:\n", "roles:\n  - {id: board, name: 董事会授权}\n").replace(
        "title: 总经理, roles: [gm]", "title: 总经理, roles: [gm, board]"), encoding="utf-8")
    result = check_paths([target], base=tmp_path)
    assert result.ok, result.errors
    assert not [p for p in result.problems if p.where == "separate[0]"]
    step = result.library.flow("EC-HR-101").step("gm_approve")
    assert step.role == "board" and step.box_text == "审批（董事会授权）"


def test_a_step_role_nobody_holds_with_the_lane_is_an_error(tmp_path):
    text = valid_with(("{id: gm_approve, lane: gm, kind: approval,",
                       "{id: gm_approve, lane: gm, role: head, kind: approval,"))
    target = folder(tmp_path, text)
    org = target / "org.yaml"
    org.write_text(org.read_text(encoding="utf-8").replace("roles: [head, gm]", "roles: [head]"),
                   encoding="utf-8")
    result = check_paths([target], base=tmp_path)
    assert not result.ok
    assert [p.message for p in result.errors if "gm_approve" in p.where] == [
        "nobody in org.yaml holds both the lane's role 'gm' and role 'head'"]


ORG = (BROKEN / "org.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("limits", "message"), [
    ("{head: 500, ceo: 3000}", "authority[0] 'refund'.limits.ceo: 'ceo' is not a role declared in roles"),
    ("{head: 3000, gm: 500}", "authority[0] 'refund'.limits.gm: the limit of 'gm' (500) must be above "
                              "the one before it ('head': 3000); list the levels in rising order"),
    ("{head: 0}", "authority[0] 'refund'.limits.head: the limit of 'head' must be above 0, not 0"),
    ("{head: 五百}", "authority[0] 'refund'.limits.head: head must be a number, not '五百'"),
    ("[head, gm]", "authority[0] 'refund'.limits: limits must be a mapping of role: highest amount, "
                   "not a list"),
])
def test_a_bad_authority_matrix_is_one_line_naming_file_line_and_key(limits, message):
    text = ORG.replace("limits: {head: 500, gm: 3000}", f"limits: {limits}")
    with pytest.raises(ProblemsError) as info:
        org_from_bytes(text.encode(), "flows/org.yaml")
    lines = [str(p) for p in info.value.problems]
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "limits:" in t)
    assert lines == [f"flows/org.yaml:{line}: {message}"]


def test_the_matrix_is_parsed_in_order_with_its_units():
    org = org_from_bytes(ORG.encode(), "org.yaml")
    assert org.limits == {"refund": {"head": 500, "gm": 3000}}
    assert org.authority[0].unit == "元"


def test_a_derived_value_may_not_read_the_matrix(tmp_path):
    cap = "\n  - {id: cap, label: 上限, type: number, derive: \"limit('refund', 'head')\"}"
    text = valid_with(('derive: "days_between(start, end) + 1"}', AMOUNT + cap))
    result = check_paths([folder(tmp_path, text)], base=tmp_path)
    assert [p.message for p in result.errors] == [
        "a derived value cannot read limit(); compare with the authority matrix in an exit's "
        "when instead"]


# -- max_visits: a loop a record may take only so often (07: 延长试用期 once) ----------------------

T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)


def test_a_probation_is_extended_once_the_writer_refuses_a_second_and_verify_reports_it(
        trusted, tmp_path):
    import forgery as F
    from conftest import secret

    from generator.archive import events as R
    from generator.archive.store import ArchiveError
    from generator.archive.verify import verify
    from generator.records import RecordInput

    library = trusted.library
    assert library.flow("EC-HR-007").step("extend").max_visits == 1
    archive = trusted.fresh(tmp_path / "records", ("赵敏", "李强"))
    record = RecordInput("EC-HR-007", {
        "employee_name": "赵敏", "department": "电子商务部", "position": "运营助理",
        "hire_date": "2026-07-01", "probation_end": "2026-09-30", "self_review": "按期完成",
        "extended_to": "2026-12-31"}, "p.yaml")
    number = R.submit(archive, library, record, b"x", "赵敏", secret("赵敏"), T0)

    def sign(step, decision):
        return R.sign_step(archive, library, number, step, "李强", secret("李强"), decision,
                           now=T0)

    sign("qualified", "不合格")
    state = sign("retain", "留用")  # the one extension: back to 转正考核评估
    assert state.status == "in progress"
    sign("qualified", "不合格")
    log = archive.raw_log()
    with pytest.raises(ArchiveError, match=r"step 'extend' \(延长试用期\) may be passed at most "
                                           r"once in a record"):
        sign("retain", "留用")
    assert archive.raw_log() == log  # nothing written
    assert verify(archive, library).ok
    # written past the writer, the second extension is reported by verify with the same rule
    F.append(archive, library.trust, "李强",
             F.sign_event(archive, number, "retain", "李强", "留用", role="用人部门"))
    findings = [m for _, m in verify(archive, library).findings]
    assert any("may be passed at most once" in m for m in findings), findings


def test_after_the_one_extension_not_retaining_is_what_is_left():
    from conftest import bundled_library

    from generator.records import RouteError

    library = bundled_library()
    flow = library.flow("EC-HR-007")
    values = {"hire_date": dt.date(2026, 7, 1), "probation_end": dt.date(2026, 9, 30)}
    once = {"qualified": ["不合格", "不合格"], "retain": ["留用", "不留用"]}
    result = route(flow, values, once, library.org.limits)
    assert result.steps.count("extend") == 1 and result.steps[-1] == "dismissal"
    twice = {"qualified": ["不合格", "不合格"], "retain": ["留用", "留用"]}
    with pytest.raises(RouteError, match="at most once"):
        route(flow, values, twice, library.org.limits)


# -- personal information and 保存期限 (个人信息保护法) -------------------------------------------

PHONE = "\n  - {id: contact, label: 联系电话, type: text, personal: true}\nsteps:"


def test_a_flow_with_personal_fields_and_no_retention_is_an_error_with_file_and_line(tmp_path):
    text = valid_with(("\nsteps:", PHONE))
    result = check_paths([folder(tmp_path, text)], base=tmp_path)
    line = text.splitlines().index("  - {id: contact, label: 联系电话, type: text, personal: true}")
    assert [str(p) for p in result.errors] == [
        f"flows/valid.yaml:{line + 1}: fields[4] 'contact': the flow collects personal information "
        "(联系电话（contact）) but gives no retention period: add retention: (保存期限, e.g. 3年) "
        "to the flow"]
    kept = valid_with(("\nsteps:", PHONE), ("provenance: source\n",
                                             "provenance: source\nretention: 3年\n"))
    (tmp_path / "kept").mkdir()
    result = check_paths([folder(tmp_path / "kept", kept)], base=tmp_path)
    assert result.ok, result.errors
    assert result.library.flow("EC-HR-101").retention_text == \
        "3年；含个人信息（联系电话），期满删除或匿名化"


def test_every_bundled_flow_prints_its_retention_and_the_personal_fields_it_holds(library):
    from generator.manual.plan import notes_rows

    for flow in library.flows:
        assert flow.retention, flow.code
        assert notes_rows(flow)[-1][:2] == ["保存期限", flow.retention_text], flow.code
    # the customer's phone and address stay with the platform's order: no flow collects them
    for flow in library.flows:
        for f in flow.fields:
            assert not re.search(r"电话|地址", f.label) or f.personal, (flow.code, f.id)
    for code in ("EC-OP-005", "EC-WH-006-1"):
        labels = {f.label for f in library.flow(code).fields}
        assert not labels & {"联系电话", "收货人电话", "收货地址", "收货人"}, code
        assert any("平台订单号" in label for label in labels), code
    assert library.flow("EC-HR-015").field("reason").personal  # 病假事由: health information
    # the paper form says it too, above the fields it applies to
    from generator.forms.layout import form_layout

    leave = library.flow("EC-HR-015")
    texts = "".join(t.text for p in form_layout(leave, [], "受控").pages for t in p.texts)
    assert "保存期限：" + leave.retention in texts and "请假事由" in texts.split("保存期限")[1]
