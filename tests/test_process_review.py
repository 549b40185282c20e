"""The bundled flows pass a process-control review (issue 16): one test per class of finding,
on the real flows and org.yaml, so that a later edit that reopens a finding fails here."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import bundled_library

from generator.checks import check_library
from generator.records import route

LIBRARY = bundled_library()
ORG = LIBRARY.org
D = dt.date

# what moves (or receives) money, by its box text; a request for money moves none, an
# automatic decision only routes, and the platform's own escrow is the platform's business
MONEY = re.compile(r"付款|退款|回款|到账|发放奖金|记账")
NOT_MONEY = re.compile(r"申请|手续")


def signers(flow, step) -> set[str]:
    roles = [r for r in (flow.lane(step.lane).role, step.role) if r]
    return {p.name for p in ORG.people if all(r in p.roles for r in roles)}


def money_steps():
    for flow in LIBRARY.flows:
        for step in flow.steps:
            if (MONEY.search(step.text) and step.kind not in ("end", "ref")
                    and not step.automatic and not NOT_MONEY.search(step.text)
                    and flow.lane(step.lane).role != "channel"):
                yield flow, step


def test_every_step_that_moves_money_is_signed_by_finance_only():
    found = list(money_steps())
    assert {(f.code, s.id) for f, s in found} >= {
        ("EC-FN-017", "pay"), ("EC-FN-017", "confirm_receipt"), ("EC-CS-021", "finance_post"),
        ("EC-CS-023", "refund"), ("EC-OP-010", "refund"), ("EC-OP-010", "settle_check")}
    for flow, step in found:
        who = signers(flow, step)
        assert who, (flow.code, step.id)
        departments = {ORG.department_name(name) for name in who}
        assert departments == {"财务部"}, (flow.code, step.id, sorted(who))
        # in a lane the source gave to others (各职能部门), a step role narrows it to finance
        if flow.lane(step.lane).role != "finance":
            assert step.signed and step.role in ("accountant", "cashier", "finance_manager")


def test_reconciling_and_paying_are_different_people():
    pay, reconcile = (LIBRARY.flow("EC-FN-017").step(s) for s in ("pay", "reconcile"))
    assert not signers(LIBRARY.flow("EC-FN-017"), pay) & signers(LIBRARY.flow("EC-FN-017"),
                                                                   reconcile)


def test_declared_segregation_pairs_share_no_holder_in_org_yaml():
    problems = check_library(LIBRARY)
    assert [p for p in problems if p.where.startswith("separate")] == []
    declared = {f.code: f.separate for f in LIBRARY.flows if f.separate}
    # every flow that pays or refunds keeps the approver away from the payer
    for code, pair in (("EC-FN-017", ("pay_request", "ec_review")),
                       ("EC-FN-017", ("reconcile", "pay")),
                       ("EC-CS-021", ("manager_review", "finance_post")),
                       ("EC-CS-023", ("ec_review", "refund")),
                       ("EC-CS-023", ("director_approve", "ops_director_approve")),
                       ("EC-FN-011", ("finance_review", "limit_approve")),
                       ("EC-OP-013", ("propose", "compliance")),
                       ("EC-MK-022", ("compliance", "manager_review"))):
        assert pair in declared.get(code, ()), (code, pair)
        flow = LIBRARY.flow(code)
        assert not signers(flow, flow.step(pair[0])) & signers(flow, flow.step(pair[1]))


def test_no_flow_writes_out_a_limit_of_the_authority_matrix():
    problems = check_library(LIBRARY)
    assert [p for p in problems if "authority matrix" in p.message] == []
    amounts = {amount for kind in ORG.authority for _, amount in kind.limits}
    for flow in LIBRARY.flows:
        for step in flow.steps:
            for ex in step.exits:
                for atom in ex.when.atoms if ex.when else ():
                    f = flow.field(atom.name) if atom.name != "decision" else None
                    if f is not None and f.unit == "元":
                        assert atom.value not in amounts, (flow.code, step.id, ex.when.source)


def test_two_flows_that_approve_refunds_read_the_same_limit():
    def limits_of(code):
        return {k for s in LIBRARY.flow(code).steps for e in s.exits if e.when
                for k in e.when.limits}
    assert {("refund", "ec_manager"), ("refund", "director")} <= limits_of("EC-CS-021")
    assert {("refund", "ec_manager"), ("refund", "director")} <= limits_of("EC-CS-023")
    assert ("order", "ec_staff") in limits_of("EC-OP-005") & limits_of("EC-OP-010")


def test_the_padding_of_org_yaml_is_gone():
    gao = ORG.person("高峰")
    assert "gm" not in gao.roles  # an 执行副总 is no 总经理: absent, a dated 代理 signs
    assert [p.name for p in ORG.holders("gm")] == ["陈静"] and ORG.role("gm").sole
    assert not set(ORG.holders("director")) & set(ORG.holders("ops_director"))
    assert "user_dept" not in ORG.person("蒋芸").roles  # a 市场专员 is not the hiring department
    assert {"行政部", "质量法务部"} <= {ORG.department_name(p.name) for p in ORG.people}
    assert ORG.holders("senior_vp") and ORG.holders("qc")
    assert "qc" in {s.role for f in LIBRARY.flows for s in f.steps}  # 质检员 sign inspections


# -- 23 退换货: 消费者权益保护法 第24/25条, 《网络购买商品七日无理由退货暂行办法》 -----------------

RETURN = {"request_type": "退货退款", "receipt_date": D(2026, 3, 1), "opened": False,
          "no_return_confirmed": False, "paid_amount": 300, "refund_amount": 300}
GRANT = {"ec_review": "同意", "director_approve": "同意", "ops_director_approve": "同意",
         "refund": "已退款"}


def returns(decisions, **values):
    return route(LIBRARY.flow("EC-CS-023"), {**RETURN, **values}, {**GRANT, **decisions},
                 ORG.limits)


@pytest.mark.parametrize("reason", ["质量问题", "发错货", "运输破损"])
def test_a_return_with_a_reason_after_day_7_goes_to_inspection_not_refusal(reason):
    late = returns({"window_check": "不受理", "inspect": "不合格"}, reason=reason,
                   request_date=D(2026, 4, 30))
    assert "refuse" not in late.steps and "inspect" in late.steps
    assert late.steps[-1] == "archive" and "refund" in late.steps


def test_a_no_reason_return_is_refused_after_day_7_or_when_an_excluded_product_was_opened():
    assert returns({"window_check": "受理"}, reason="不合适",
                   request_date=D(2026, 3, 9)).steps[-1] == "refuse"
    assert "inspect" in returns({"window_check": "受理", "inspect": "合格"}, reason="不合适",
                                request_date=D(2026, 3, 8)).steps
    opened = returns({"window_check": "受理"}, reason="不合适", request_date=D(2026, 3, 3),
                     opened=True, no_return_confirmed=True)
    assert opened.steps[-1] == "refuse"


def test_customer_damage_is_not_restocked_and_the_request_type_decides_the_remedy():
    damaged = returns({"window_check": "受理", "inspect": "客户原因损坏"}, reason="质量问题",
                      request_date=D(2026, 3, 3))
    assert "restock" not in damaged.steps
    swap = returns({"window_check": "受理", "inspect": "合格"}, reason="发错货",
                   request_date=D(2026, 3, 3), request_type="换货")
    assert "exchange" in swap.steps and "refund" not in swap.steps


@pytest.mark.parametrize(("amount", "approvers"), [
    (500, ["ec_review"]), (501, ["ec_review", "director_approve"]),
    (3000, ["ec_review", "director_approve"]),
    (3001, ["ec_review", "director_approve", "ops_director_approve"]),
])
def test_refund_approvals_follow_the_matrix(amount, approvers):
    result = returns({"window_check": "受理", "inspect": "合格"}, reason="质量问题",
                     request_date=D(2026, 3, 3), paid_amount=10000, refund_amount=amount)
    assert [s for s in result.steps if s.endswith(("_review", "_approve"))] == approvers


def test_a_refund_above_what_the_customer_paid_is_never_paid():
    result = returns({"window_check": "受理", "inspect": "合格"}, reason="质量问题",
                     request_date=D(2026, 3, 3), paid_amount=100, refund_amount=101)
    assert "refund" not in result.steps and result.steps[-1] == "refused"
    assert LIBRARY.flow("EC-CS-023").field("refund_amount").required


# -- bypasses closed ---------------------------------------------------------------------------

def test_after_sales_no_payout_skips_approval_only_when_nothing_is_paid():
    flow = LIBRARY.flow("EC-CS-021")
    base = {"issue_type": "服务态度", "remedy": "无需赔付"}
    decided = {"classify": "直接处理", "manager_review": "同意", "follow_up": "满意",
               "finance_post": "已付款"}
    assert "manager_review" not in route(flow, {**base, "amount": 0}, decided, ORG.limits).steps
    assert "manager_review" in route(flow, {**base, "amount": 50}, decided, ORG.limits).steps
    # food safety goes past the manager whatever the amount (食品安全法 第148条)
    safety = route(flow, {**base, "issue_type": "食品安全或不良反应", "remedy": "现金赔偿",
                          "amount": 100}, {**decided, "director_approve": "同意"}, ORG.limits)
    assert "dept_verify" in safety.steps and "director_approve" in safety.steps


def test_an_empty_marketing_budget_is_not_approved_by_the_manager_alone():
    flow = LIBRARY.flow("EC-MK-022")
    assert flow.field("budget_items").required
    result = route(flow, {"budget_items": [], "is_health_food": False},
                   {"manager_review": "同意", "director_approve": "同意"}, ORG.limits)
    assert "director_approve" in result.steps


def test_a_health_food_advert_waits_for_its_approval_number():
    flow = LIBRARY.flow("EC-MK-022")
    values = {"budget_items": [{"amount": 1000}], "is_health_food": True}
    decided = {"manager_review": "同意", "compliance": ["合格", "合格"], "review": "达标"}
    without = route(flow, values, decided, ORG.limits)
    assert "ad_apply" in without.steps and without.steps.index("ad_apply") < len(without.steps)
    assert "launch" not in without.steps[:without.steps.index("ad_apply")]
    done = route(flow, {**values, "ad_approval_no": "京食健广审(文)第2026010001号"}, decided,
                 ORG.limits)
    assert "ad_apply" not in done.steps and "launch" in done.steps


@pytest.mark.parametrize(("values", "approved"), [
    ({"new_price": 96, "base_price": 100}, False),  # a 4 % cut: the assistant's own
    ({"new_price": 91, "base_price": 100}, True),  # 9 % off the 30-day high, after earlier cuts
    ({"new_price": 110, "base_price": 100}, True),  # a rise is always approved
    ({"base_price": 100}, True),  # no new price given: not waved through
])
def test_price_changes_cannot_avoid_approval(values, approved):
    flow = LIBRARY.flow("EC-OP-013")
    record = {"category": "日用品", "label_checked": True, "price": 96, **values}
    decided = {"compliance": "合规", "head_approve": "同意", "platform_review": "通过",
               "change_check": "调整价格", "price_approve": "同意"}
    assert ("price_approve" in route(flow, record, decided, ORG.limits).steps) is approved


def test_health_food_is_not_listed_without_its_registration_and_licence():
    flow = LIBRARY.flow("EC-OP-013")
    decided = {"compliance": "合规", "head_approve": "同意"}
    missing = route(flow, {"category": "保健食品", "label_checked": True, "sc_licence": "SC1"},
                    decided, ORG.limits)
    assert missing.steps == ("propose", "prepare", "licence_check", "rejected")
    compliance = flow.step("compliance")
    assert signers(flow, compliance).isdisjoint(signers(flow, flow.step("propose")))
    assert {ORG.department_name(n) for n in signers(flow, compliance)} == {"质量法务部"}


# -- 10 订单: platforms settle after 确认收货 ------------------------------------------------------

def test_orders_are_picked_without_waiting_for_the_money_to_arrive():
    flow = LIBRARY.flow("EC-OP-010")
    values = {"items": [{"amount": 200}], "paid_amount": 180, "abnormal_type": "无"}
    result = route(flow, values, {"pay_check": "已支付", "check_goods": "相符",
                                  "settle_check": "相符"}, ORG.limits)
    before = result.steps[:result.steps.index("pick")]
    assert not any("到账" in flow.step(s).text for s in before)
    # settlement is checked after shipping, net of the platform's fees (±1 元)
    after = result.steps[result.steps.index("ship"):]
    assert "settle_check" in after
    fees = {**values, "platform_fee": 18, "settled_amount": 162}
    assert route(flow, fees, {"pay_check": "已支付", "check_goods": "相符",
                              "settle_check": "相符"}, ORG.limits).steps[-1] == "archive"
    short = {**values, "platform_fee": 18, "settled_amount": 150}
    assert "settle_follow" in route(flow, short, {"pay_check": "已支付", "check_goods": "相符",
                                                  "settle_check": ["相符"]}, ORG.limits).steps


def test_the_channel_statement_is_reconciled_by_its_computed_difference():
    flow = LIBRARY.flow("EC-FN-017")
    values = {"shipments": [{"amount": 1000}], "refund_total": 100, "platform_fee": 50,
              "payment_type": "平台回款"}
    decided = {"stock_check": "库存充足", "reconcile": ["相符"], "confirm_receipt": "已到账"}
    assert route(flow, {**values, "amount": 850}, decided, ORG.limits).steps[-1] == "archive"
    wrong = route(flow, {**values, "amount": 800}, decided, ORG.limits)
    assert "resolve_diff" in wrong.steps  # 相符 was signed, but the numbers disagree


# -- labour law: 劳动合同法 第19条, 劳动法 第41/44条 -------------------------------------------

def test_a_legal_six_month_probation_is_accepted_and_a_longer_one_is_not():
    from generator.records.values import typed_values

    for code in ("EC-HR-003", "EC-HR-007"):
        flow = LIBRARY.flow(code)
        six = {"hire_date": "2026-07-01", "probation_end": "2026-12-31"}  # 184 days
        _, problems = typed_values(flow, six)
        assert not [p for p in problems if p[0] == "fields.probation_days"], code
        _, problems = typed_values(flow, {**six, "probation_end": "2027-01-01"})
        assert [p for p in problems if p[0] == "fields.probation_days"], code
    # an extension may not take the probation past the legal maximum either
    _, problems = typed_values(LIBRARY.flow("EC-HR-007"), {"hire_date": "2026-07-01",
                                                           "extended_to": "2027-02-01"})
    assert [p for p in problems if p[0] == "fields.extended_days"]


OVERTIME = {"ot_type": "工作日加班", "planned_hours": 2, "month_hours_before": 10,
            "compensation": "加班工资", "actual_hours": 2}
OT_DECIDED = {"head_approve": "同意", "ec_review": "同意", "finance_review": "同意"}


def overtime(**values):
    return route(LIBRARY.flow("EC-HR-014"), {**OVERTIME, **values}, OT_DECIDED)


def test_overtime_within_the_legal_hours_is_paid_and_beyond_them_is_not_arranged():
    from generator.records.values import typed_values

    assert overtime().steps[-1] == "pay"
    assert overtime(planned_hours=4).steps[-1] == "over_limit"  # 3 h a working day
    assert overtime(ot_type="休息日加班", planned_hours=8).steps[-1] == "pay"
    _, problems = typed_values(LIBRARY.flow("EC-HR-014"), {"month_hours_before": 35,
                                                           "planned_hours": 2})
    assert [p for p in problems if p[0] == "fields.month_hours"]  # 36 h a month


def test_time_off_is_not_paid_but_a_public_holiday_always_is():
    assert overtime(compensation="调休").steps[-1] == "time_off"
    holiday = overtime(compensation="调休", ot_type="法定节假日加班")
    assert holiday.steps[-1] == "pay"  # 劳动法 第44条: 300 %, never 调休


def test_overtime_pay_is_not_worked_out_without_the_actual_hours():
    result = route(LIBRARY.flow("EC-HR-014"), {**OVERTIME, "actual_hours": None},
                   {**OT_DECIDED, "ec_review": ["同意", "同意"]})
    assert result.outcome == "pending" and "pay" not in result.steps
    assert "record" in result.steps[result.steps.index("finance_review"):]  # sent back


def test_leave_allows_half_days_and_long_statutory_leave():
    from generator.records.values import typed_values

    flow = LIBRARY.flow("EC-HR-015")
    values, problems = typed_values(flow, {"start": "2026-03-02", "end": "2026-08-06",
                                           "workdays": "0.5"})
    assert not [p for p in problems if p[0] in ("fields.days", "fields.workdays")]
    assert values["days"] == 158  # 产假: 98 days and the provinces' extensions


# -- transcribed flows: every addition and correction says so -----------------------------------

@pytest.mark.parametrize(("code", "added"), [
    ("EC-WH-006-2", ["货品到库", "入库来源"]), ("EC-HR-020", ["方案下发执行"]),
    ("EC-HR-015", ["未准假"]), ("EC-HR-008", ["不予任命"]),
    ("EC-HR-014", ["核对法定时限", "超过法定时限，不予安排", "补偿方式", "安排调休"]),
])
def test_additions_to_a_transcribed_flow_are_marked_in_its_notes(code, added):
    flow = LIBRARY.flow(code)
    assert flow.provenance == "source" and "编者注" in flow.notes
    editor = flow.notes[flow.notes.index("编者注"):]
    for text in added:
        assert any(s.text == text for s in flow.steps), text
        assert f"“{text}”" in editor or text in editor, text


@pytest.mark.parametrize(("code", "kept"), [
    ("EC-HR-003", "签订试用合同"), ("EC-HR-007", "劳动仲裁机构签字备案"),
    ("EC-HR-007", "签订正式合同"), ("EC-HR-007", "延长试用期"),
])
def test_source_text_wrong_in_law_is_kept_with_a_note(code, kept):
    flow = LIBRARY.flow(code)
    assert any(s.text == kept for s in flow.steps)
    assert kept in flow.notes and "劳动合同法第19条" in flow.notes


def test_reconstructed_flows_say_what_they_were_rebuilt_from():
    for flow in LIBRARY.flows:
        if flow.provenance == "reconstructed":
            assert flow.status == "草稿"
            assert "重建稿" in flow.notes and "依据" in flow.notes, flow.code
            for lane in flow.lanes:
                assert lane.name in flow.notes or lane.name.split("（")[0] in flow.notes, (
                    flow.code, lane.name)


def test_a_meeting_decision_records_its_minutes_and_attendees():
    for flow in LIBRARY.flows:
        if any(flow.lane(s.lane).role == "gm_meeting" for s in flow.steps if s.signed):
            ids = {f.id for f in flow.fields}
            assert {"minutes_no", "attendees"} <= ids, flow.code


@pytest.mark.parametrize(("code", "table", "score"), [("EC-HR-016", "kpis", "score"),
                                                     ("EC-HR-018", "items", "dept_score")])
def test_appraisal_weights_add_up_to_100_and_the_total_is_the_weighted_scores(code, table, score):
    from generator.records.values import typed_values

    flow = LIBRARY.flow(code)
    rows = [{"weight": 60, score: 50}, {"weight": 30, score: 20}]
    _, problems = typed_values(flow, {table: rows})
    assert [m for f, m in problems if f == "fields.weight_total"]
    values, problems = typed_values(flow, {table: [*rows[:1], {"weight": 40, score: 20}]})
    assert not [m for f, m in problems if f == "fields.weight_total"]
    assert values["total_score"] == 70 and "加权" in str(flow.field(table).columns)


# -- 16/18: the grade is the total's band, not a second judgement --------------------------------

APPRAISALS = {
    "EC-HR-016": ("kpis", "score", {"period": "2026年10月", "policy_ref": "EC-ZD-016 A/0",
                                    "department": "电子商务部", "employee": "赵敏"}),
    "EC-HR-018": ("items", "dept_score", {"period": "2026年第四季度", "policy_ref": "EC-ZD-018 A/0",
                                          "notice_no": "电商〔2026〕12号", "department": "电子商务部",
                                          "employee": "赵敏", "head_comment": "完成良好"}),
}


def appraisal(code: str, total, **more):
    from generator.records import RecordInput, check_record

    table, score, base = APPRAISALS[code]
    rows = [{"weight": 60, score: total - 30}, {"weight": 40, score: 30}]
    return check_record(LIBRARY.flow(code), ORG,
                        RecordInput(code, {**base, table: rows, **more}, "a.yaml"))


@pytest.mark.parametrize(("code", "bands"), [
    ("EC-HR-016", {95: "A", 90: "A", 85: "B", 80: "B", 79: "C", 60: "C", 59: "D"}),
    ("EC-HR-018", {90: "优秀", 85: "良好", 70: "合格", 69: "待改进", 59: "不合格"}),
])
def test_the_grade_is_the_band_of_the_total_nobody_chooses_it(code, bands):
    for total, grade in bands.items():
        result = appraisal(code, total)
        assert result.ok, result.problems
        assert result.values["total_score"] == total and result.values["grade"] == grade
    field = LIBRARY.flow(code).field("grade")
    assert field.derive is not None and not field.required


def test_a_grade_that_contradicts_the_total_is_refused_in_one_line_naming_the_field():
    result = appraisal("EC-HR-016", 85, grade="A")
    assert [f"{where}: {message}" for where, message in result.problems] == [
        "fields.grade: 考评等级（grade）: A was filled in, but band(total_score, [90, 80, 60], "
        "['A', 'B', 'C', 'D']) gives B; the filled value contradicts the values it comes from"]
    assert appraisal("EC-HR-016", 85, grade="B").ok  # the right grade written in is accepted
    assert not appraisal("EC-HR-018", 85, grade="优秀").ok


def test_the_form_shows_the_grade_as_computed_not_chosen():
    from generator.forms.layout import form_layout

    for code in APPRAISALS:
        layout = form_layout(LIBRARY.flow(code), [], "受控")
        spec = next(f for p in layout.pages for f in p.fields if f.name == "fields.grade")
        assert spec.readonly


# -- 05: the customer's 确认收货 is the platform's fact ----------------------------------------------

def test_the_customers_receipt_is_entered_from_the_platform_not_confirmed_by_staff():
    flow = LIBRARY.flow("EC-OP-005")
    step = flow.step("receipt_check")
    assert step.text == "顾客确认收货" and flow.lane(step.lane).name == "央视网商城"  # the platform
    assert "平台超时自动确认" in step.decisions and "确认收货" not in step.decisions
    values = {"items": [{"amount": 100}], "paid_amount": 100}
    decided = {"pay_check": "已付款", "review_order": "信息无误", "stock_check": "有货"}
    for fact in ("顾客已确认收货", "平台超时自动确认"):
        result = route(flow, values, {**decided, "receipt_check": fact}, ORG.limits)
        assert result.steps[-2:] == ("settle", "archive"), fact
    returned = route(flow, values, {**decided, "receipt_check": "顾客申请退换货"}, ORG.limits)
    assert "returns" in returned.steps and "settle" not in returned.steps[:-2]
    assert "编者注" in flow.notes and "不得代顾客确认" in flow.notes


# -- 08/16/18: a policy is a controlled document a record cites, not made in each record ---------

@pytest.mark.parametrize(("code", "policy"), [("EC-HR-008", "rules"), ("EC-HR-016", "policy"),
                                              ("EC-HR-018", "policy")])
def test_no_record_asks_a_person_to_make_the_policy(code, policy):
    from generator.forms.layout import signed_steps
    from generator.records import RecordInput, check_record

    flow = LIBRARY.flow(code)
    making = [s for s in flow.steps if re.search(r"制定.*制度", s.text)]
    assert [s.id for s in making] == [policy]  # the source's box is kept …
    cited = flow.field(making[0].document.field)
    assert cited.required and "文件编号" in cited.label  # … and stands for the cited document
    assert flow.start.id != policy and not re.search("制定|制度", flow.start.text)
    # on a record's path the policy's own approvals are signed by nobody
    result = check_record(flow, ORG, RecordInput(code, {}, "x.yaml"))
    assert f"fields.{cited.id}" in [w for w, _ in result.problems]
    path = route(flow, {"level": "部门负责人以下职位"}, {}, ORG.limits)
    assert policy in path.steps and path.waiting_for != policy
    documents = {s.id for s in flow.steps if s.document is not None}
    assert not documents & {s.id for s in signed_steps(flow)}
    assert not any(flow.step(s).signed for s in path.steps if s in documents)
