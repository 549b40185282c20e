"""Approvers that follow the org chart (issue 15): the applicant's own head and director,
会签/或签, 退回, 撤销, 转交, 代理, 抄送 and 同一审批人 — each refused by the writer when it breaks a
rule, each history the writer accepts accepted by verify, and a forged event past the writer
reported by verify with the rule it breaks.

The bundled leave flow gives the relative lanes; a flow of the tests' own (EC-HR-099, put under
control in a copy of the trusted repository) gives a 会签 step of three, a lane whose approver
the applicant chooses, a loop-back and a 抄送.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from pathlib import Path

import forgery as F
import pytest
from conftest import OPERATOR_SECRET, STORES, as_store, location, secret, store_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.archive import events as R
from generator.archive.store import Archive, ArchiveError
from generator.archive.trusting import unlock_operator
from generator.archive.verify import verify
from generator.checks import check_paths
from generator.records import Delegation, RecordInput, check_record, signers
from generator.records.authority import resolve

T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)  # 10:00 in the company's zone

COUNTERSIGN = """\
code: EC-HR-099
name: 费用报销（会签）
status: 受控
revision: A/0
owner_department: 电子商务部
control_department: 电商运营总监
provenance: reconstructed

lanes:
  - {id: applicant, name: 报销人, role: employee}
  - {id: head, name: 部门负责人, approver: head}
  - {id: manager, name: 直属主管, role: head, approver: {level: 1}}
  - {id: panel, name: 人力资源部, role: hr}
  - {id: cashier, name: 财务部, role: finance, approver: chosen}

fields:
  - {id: amount, label: 金额, type: number, min: 1, max: 100000, unit: 元, required: true}
  - {id: reason, label: 事由, type: text, required: true}

steps:
  - {id: fill, lane: applicant, kind: start, text: 填写报销单, next: head_approve}
  - id: head_approve
    lane: head
    kind: approval
    text: 审批
    exits:
      - {label: 不同意, to: rejected}
      - {label: 同意, to: manager_approve}
  - {id: manager_approve, lane: manager, kind: approval, text: 复核, next: panel_review}
  - id: panel_review
    lane: panel
    kind: approval
    text: 会审
    sign: all
    exits:
      - {label: 不同意, to: rejected}
      - {label: 同意, to: pay}
  - id: pay
    lane: cashier
    kind: approval
    text: 付款审核
    decisions: [同意, 不同意, 重审]
    role: accountant
    cc: [hr, 王芳]
    exits:
      - {label: 不同意, to: rejected}
      - {label: 重审, to: head_approve}
      - {label: 同意, to: done}
  - {id: done, lane: cashier, kind: end, text: 付款}
  - {id: rejected, lane: applicant, kind: end, text: 未通过}

separate:
  - [head_approve, panel_review]

signoff:
  prepared: {by: 周婷, on: 2026-11-01}
  reviewed: {by: 王芳, on: 2026-11-02}
  approved: {by: 陈静, on: 2026-11-03}
"""


class Repo:
    """A signed copy of the trusted repository with EC-HR-099 under control."""

    def __init__(self, root: Path) -> None:
        from generator.service.bootstrap import sign_folder

        self.root = root
        self.seed = root / "seed-records"
        sign_folder(root / "flows", self.seed, secret, OPERATOR_SECRET)
        result = check_paths([root / "flows"], base=root)
        assert result.ok, result.problems
        self.library = result.library

    def archive(self, target: Path, people) -> Archive:
        shutil.copytree(self.seed, target)
        archive = Archive(target, unlock_operator(target, OPERATOR_SECRET))
        for person in people:
            if R.active_key(archive, self.library, person) is None:
                R.new_person_key(archive, self.library, person, secret(person))
                R.approve_key(archive, self.library, person, "王芳", secret("王芳"))
        return archive


@pytest.fixture(scope="module")
def repo(trusted, tmp_path_factory) -> Repo:
    root = tmp_path_factory.mktemp("approvers")
    shutil.copytree(trusted.flows, root / "flows")
    shutil.copytree(trusted.root / "templates", root / "templates")
    (root / "flows" / "99-countersign.yaml").write_text(COUNTERSIGN, encoding="utf-8")
    return Repo(root)


PEOPLE = ("赵敏", "李强", "吴刚", "郑丽", "张伟", "陈静", "周婷", "马超", "朱莉", "胡斌", "林娜",
          "王芳", "罗欣", "梁爽")


@pytest.fixture(scope="module")
def seeded(repo, tmp_path_factory) -> Path:
    """An archive with a vouched key for everyone these tests sign as (made once)."""
    target = tmp_path_factory.mktemp("seeded") / "records"
    repo.archive(target, PEOPLE).root  # noqa: B018 - made for its side effect
    return target


@pytest.fixture(params=STORES)
def archive(seeded, tmp_path, request, monkeypatch):
    """A copy of the seeded archive, in each of the stores (the same rules on both)."""
    monkeypatch.setenv("FLOWDOC_STATE_DIR", str(tmp_path / "state"))
    shutil.copytree(seeded, tmp_path / "records")
    folder = Archive(tmp_path / "records", unlock_operator(tmp_path / "records", OPERATOR_SECRET))
    return as_store(folder, request.param, request)


def leave(days: int = 3) -> RecordInput:
    end = dt.date(2026, 12, 1) + dt.timedelta(days=days - 1)
    return RecordInput("EC-HR-015", {"leave_type": "事假", "start": "2026-12-01",
                                     "end": end.isoformat(), "reason": "家中有事"}, "leave.yaml")


def claim(amount: int = 800) -> RecordInput:
    return RecordInput("EC-HR-099", {"amount": amount, "reason": "差旅"}, "claim.yaml",
                       chosen={"cashier": "林娜"})


def sign(repo, archive, number, step, person, decision="同意", when=T0):
    return R.sign_step(archive, repo.library, number, step, person, secret(person), decision,
                       now=when)


def unchanged(archive: Archive):
    return store_snapshot(archive)


def assert_verified(archive: Archive, repo) -> None:
    report = verify(archive, repo.library)
    assert report.ok, report.findings


# -- resolution: a table for the leave flow ----------------------------------------------------

@pytest.mark.parametrize(("applicant", "lane", "people", "rule"), [
    ("赵敏", "head", ("李强",), "部门负责人（电子商务部）"),
    ("赵敏", "director", ("张伟",), "分管领导（电子商务部）"),
    ("李强", "head", ("陈静",), "部门负责人（总经理办公室）"),  # a head's head is the one above
    ("冯涛", "head", ("郑丽",), "部门负责人（客服部）"),
    ("冯涛", "director", ("张伟",), "分管领导（客服部）"),
    ("林娜", "director", ("高峰",), "分管领导（财务部）"),
    ("陈静", "head", (), "部门负责人（申请人所在部门）"),  # the top has nobody above
    ("赵敏", "gm", ("陈静",), "角色：总经理"),  # one 总经理 (sole); away, a 代理 signs
])
def test_the_leave_flows_approvers_are_the_applicants_own(library, applicant, lane, people,
                                                          rule):
    flow = library.flow("EC-HR-015")
    found = resolve(library.org, flow.lane(lane), applicant)
    assert (found.people, found.rule) == (people, rule)


def test_record_check_names_the_applicants_head_not_every_head(library):
    flow = library.flow("EC-HR-015")
    result = check_record(flow, library.org, RecordInput(**{**leave(8).__dict__,
                                                            "applicant": "赵敏"}))
    assert result.ok, result.problems
    shown = {s.step: s.people for s in result.signers}
    assert shown["head_approve"] == ("李强",) and shown["director_approve"] == ("张伟",)
    assert "郑丽" not in shown["head_approve"]


def test_a_cycle_or_a_stranger_in_the_tree_is_refused_with_its_line(tmp_path, library):
    from generator.errors import FlowdocError
    from generator.loader import org_from_bytes

    source = Path(library.org.origin.source).read_text(encoding="utf-8")
    cycle = source.replace("{id: gmo, name: 总经理办公室, head: 陈静}",
                           "{id: gmo, name: 总经理办公室, parent: ec, head: 陈静}")
    with pytest.raises(FlowdocError, match=r"org.yaml:\d+: .*(own ancestor|no parent)"):
        org_from_bytes(cycle.encode(), "org.yaml")
    stranger = source.replace("head: 李强, director: 张伟", "head: 李四, director: 张伟")
    with pytest.raises(FlowdocError, match="head '李四' of 电子商务部 is not a person"):
        org_from_bytes(stranger.encode(), "org.yaml")
    lost = source.replace("{name: 赵敏, department: ec,", "{name: 赵敏, department: ops,")
    with pytest.raises(FlowdocError, match="department 'ops' is not a department id"):
        org_from_bytes(lost.encode(), "org.yaml")


# -- the writer and verify agree ------------------------------------------------------------------

def test_another_departments_head_is_refused_and_a_forgery_is_reported(repo, archive):
    number = R.submit(archive, repo.library, leave(), b"x", "赵敏", secret("赵敏"), T0)
    before = unchanged(archive)
    with pytest.raises(ArchiveError, match=r"郑丽 may not sign step 'head_approve'.*who may: 李强"):
        sign(repo, archive, number, "head_approve", "郑丽")
    assert unchanged(archive) == before
    F.append(archive, repo.library.trust, "郑丽",
             F.sign_event(archive, number, "head_approve", "郑丽", "同意"))
    findings = verify(archive, repo.library).findings
    assert any("郑丽 may not sign step 'head_approve'" in m for _, m in findings), findings


def test_a_head_applying_is_approved_by_the_head_above(repo, archive):
    number = R.submit(archive, repo.library, leave(), b"x", "李强", secret("李强"), T0)
    with pytest.raises(ArchiveError, match="吴刚 may not sign"):
        sign(repo, archive, number, "head_approve", "吴刚")
    sign(repo, archive, number, "head_approve", "陈静")
    assert_verified(archive, repo)


def test_countersign_needs_all_three_and_any_refusal_decides(repo, archive):
    approved = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, approved, "head_approve", "李强")  # and 复核 (李强 again): signed once
    state = R.record_state(archive, approved)
    assert state.decisions["manager_approve"] == ["同意"]
    for person in ("周婷", "马超"):
        state = sign(repo, archive, approved, "panel_review", person)
        assert state.status == "in progress" and state.decisions.get("panel_review") is None
    with pytest.raises(ArchiveError, match="周婷 approved step 'panel_review' already"):
        sign(repo, archive, approved, "panel_review", "周婷")
    state = sign(repo, archive, approved, "panel_review", "朱莉")
    assert state.decisions["panel_review"] == ["同意"]  # all three: the next step waits
    state = sign(repo, archive, approved, "pay", "林娜")
    assert state.status == "complete"

    refused = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, refused, "head_approve", "李强")
    sign(repo, archive, refused, "panel_review", "周婷")
    sign(repo, archive, refused, "panel_review", "马超")
    state = sign(repo, archive, refused, "panel_review", "朱莉", "不同意")
    assert state.status == "rejected"
    assert_verified(archive, repo)


def test_a_forged_vote_that_claims_to_decide_the_step_is_reported(repo, archive):
    number = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, number, "head_approve", "李强")
    # 周婷 writes her vote as if it decided the 会签 alone
    F.append(archive, repo.library.trust, "周婷",
             F.sign_event(archive, number, "panel_review", "周婷", "同意", role="人力资源部"))
    findings = [m for _, m in verify(archive, repo.library).findings]
    assert any("the rules make it a 会签 vote" in m for m in findings), findings


def test_the_chosen_approver_and_only_them(repo, archive):
    flow = repo.library.flow("EC-HR-099")
    org = repo.library.org
    result = check_record(flow, org, RecordInput(**{**claim().__dict__, "applicant": "赵敏",
                                                    "chosen": {"cashier": "周婷"}}))
    assert any("nobody may sign '付款审核'" in m for _, m in result.problems)  # 周婷 is not 财务
    number = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, number, "head_approve", "李强")
    for person in ("周婷", "马超", "朱莉"):
        sign(repo, archive, number, "panel_review", person)
    with pytest.raises(ArchiveError, match=r"梁爽 may not sign step 'pay'.*who may: 林娜"):
        sign(repo, archive, number, "pay", "梁爽")  # a 会计 too, but not the one she chose
    sign(repo, archive, number, "pay", "林娜")
    assert_verified(archive, repo)


def test_return_to_the_applicant_then_resubmit_keeps_the_earlier_signatures(repo, archive):
    number = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, number, "head_approve", "李强")
    with pytest.raises(ArchiveError, match=r"may be returned to .*not 'panel_review'"):
        R.return_step(archive, repo.library, number, "panel_review", "panel_review", "周婷",
                      secret("周婷"), "金额有误")
    state = R.return_step(archive, repo.library, number, "panel_review", "fill", "周婷",
                          secret("周婷"), "发票缺失")
    assert state.status == "returned" and state.decisions == {}
    with pytest.raises(ArchiveError, match="it takes no more signatures"):
        sign(repo, archive, number, "head_approve", "李强")
    with pytest.raises(ArchiveError, match="only the applicant 赵敏 may resubmit"):
        R.resubmit(archive, repo.library, number, "李强", secret("李强"), {}, "")
    state = R.resubmit(archive, repo.library, number, "赵敏", secret("赵敏"),
                       {"amount": "760"}, "补发票，金额更正")
    assert state.status == "in progress" and state.fields["amount"] == 760
    old = [e for e in state.signatures if e["type"] == "sign"]
    assert old and all(e["seq"] in state.superseded for e in old)  # kept, no longer counting
    sign(repo, archive, number, "head_approve", "李强")
    assert_verified(archive, repo)


def test_return_to_an_earlier_step_the_flow_loops_back_to(repo, archive):
    number = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, number, "head_approve", "李强")
    for person in ("周婷", "马超", "朱莉"):
        sign(repo, archive, number, "panel_review", person)
    state = R.return_step(archive, repo.library, number, "pay", "head_approve", "林娜",
                          secret("林娜"), "请部门负责人重新确认")
    assert state.status == "in progress" and state.decisions == {}
    _, _, who = R.waiting(archive, repo.library, number)
    assert who.step == "head_approve" and who.people == ("李强",)
    assert_verified(archive, repo)


def test_withdraw_only_before_anyone_decides(repo, archive):
    early = R.submit(archive, repo.library, leave(), b"x", "赵敏", secret("赵敏"), T0)
    with pytest.raises(ArchiveError, match="only the applicant 赵敏 may withdraw"):
        R.withdraw(archive, repo.library, early, "李强", secret("李强"), "不需要了")
    assert R.withdraw(archive, repo.library, early, "赵敏", secret("赵敏"),
                      "行程取消").status == "withdrawn"
    late = R.submit(archive, repo.library, leave(8), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, late, "head_approve", "李强")
    before = unchanged(archive)
    with pytest.raises(ArchiveError, match="an approver has decided already"):
        R.withdraw(archive, repo.library, late, "赵敏", secret("赵敏"), "行程取消")
    assert unchanged(archive) == before
    assert_verified(archive, repo)


@pytest.mark.parametrize(("to", "message"), [
    ("郑丽", "郑丽 is not in 电子商务部"),          # a head, of another department
    ("王芳", "王芳 does not hold 部门负责人's authority"),
    ("赵敏", "赵敏 applied"),
])
def test_a_transfer_goes_to_a_holder_of_the_same_authority(repo, archive, to, message):
    number = R.submit(archive, repo.library, leave(), b"x", "赵敏", secret("赵敏"), T0)
    before = unchanged(archive)
    with pytest.raises(ArchiveError, match=message):
        R.transfer(archive, repo.library, number, "head_approve", to, "李强", secret("李强"),
                   "出差")
    assert unchanged(archive) == before


def test_a_transferred_step_is_signed_by_the_new_holder_only(repo, archive):
    number = R.submit(archive, repo.library, leave(), b"x", "赵敏", secret("赵敏"), T0)
    R.transfer(archive, repo.library, number, "head_approve", "吴刚", "李强", secret("李强"),
               "出差一周")
    with pytest.raises(ArchiveError, match="李强 may not sign"):
        sign(repo, archive, number, "head_approve", "李强")
    sign(repo, archive, number, "head_approve", "吴刚")
    assert_verified(archive, repo)


def test_a_deputy_signs_within_the_dates_and_shows_as_deputy(repo, archive):
    day = T0.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    R.delegate(archive, repo.library, "李强", "吴刚", day - dt.timedelta(days=1),
               day + dt.timedelta(days=1), secret("李强"), "年假")
    number = R.submit(archive, repo.library, leave(), b"x", "赵敏", secret("赵敏"), T0)
    flow = repo.library.flow("EC-HR-015")
    grant = [Delegation("李强", "吴刚", day, day)]
    on_the_day = signers(flow, repo.library.org, "head_approve", "赵敏", delegations=grant,
                         when=day)
    assert on_the_day.people == ("李强",) and on_the_day.deputies == (("吴刚", "李强"),)
    assert on_the_day.shown() == "李强、吴刚（代 李强）"
    after = signers(flow, repo.library.org, "head_approve", "赵敏", delegations=grant,
                    when=day + dt.timedelta(days=1))
    assert after.deputies == ()
    late = T0 + dt.timedelta(days=3)
    with pytest.raises(ArchiveError, match="吴刚 may not sign"):
        sign(repo, archive, number, "head_approve", "吴刚", when=late)  # outside the dates
    state = sign(repo, archive, number, "head_approve", "吴刚")
    sig = state.signatures[-1]
    assert (sig["person"], sig["on_behalf"]) == ("吴刚", "李强")
    assert_verified(archive, repo)


def test_a_delegation_to_someone_outside_the_line_is_refused(repo, archive):
    before = unchanged(archive)
    with pytest.raises(ArchiveError, match=r"郑丽 .* may not stand in for 李强"):
        R.delegate(archive, repo.library, "李强", "郑丽", dt.date(2026, 12, 1),
                   dt.date(2026, 12, 5), secret("李强"))
    with pytest.raises(ArchiveError, match=r"ends .* before it begins"):
        R.delegate(archive, repo.library, "李强", "吴刚", dt.date(2026, 12, 5),
                   dt.date(2026, 12, 1), secret("李强"))
    assert unchanged(archive) == before


def test_a_forged_delegation_signed_by_the_deputy_is_not_honoured(repo, archive):
    # 吴刚 writes a grant in 李强's name, signed with his own key, then signs as his deputy
    F.append(archive, repo.library.trust, "吴刚",
             {"type": "delegate", "person": "李强", "deputy": "吴刚", "start": "2026-01-01",
              "until": "2026-12-31", "reason": "", "time": "2026-11-30T00:00:00+00:00"})
    number = R.submit(archive, repo.library, leave(), b"x", "赵敏", secret("赵敏"), T0)
    with pytest.raises(ArchiveError, match="吴刚 may not sign"):
        sign(repo, archive, number, "head_approve", "吴刚")
    F.append(archive, repo.library.trust, "吴刚",
             {**F.sign_event(archive, number, "head_approve", "吴刚", "同意"),
              "on_behalf": "李强"})
    findings = [m for _, m in verify(archive, repo.library).findings]
    assert any("signed by 吴刚's key on behalf of 李强" in m for m in findings), findings
    assert any("without a delegation in force" in m for m in findings), findings


def test_waiting_names_the_signers_and_the_copies(repo, archive):
    number = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, number, "head_approve", "李强")
    sign(repo, archive, number, "panel_review", "马超")
    _, _, who = R.waiting(archive, repo.library, number)
    assert (who.step, who.signed, set(who.people), who.needed) == (
        "panel_review", ("马超",), {"周婷", "朱莉"}, 2)
    flow = repo.library.flow("EC-HR-099")
    s = signers(flow, repo.library.org, "pay", "赵敏", chosen={"cashier": "林娜"})
    assert s.people == ("林娜",) and s.rule == "发起人自选（财务部）"


# -- writers at once -------------------------------------------------------------------------------

def _racer(repo, where: str, number: str, step: str, person: str, k: int, ready, go,
           results) -> None:
    """One signer, in a process forked from the test's (the flows already checked: a new
    interpreter would spend a second on them): it opens the store, says it is ready, waits
    for the others, signs and sends what came of it."""
    from generator.archive.location import open_store

    archive = open_store(where, unlock_operator(repo.seed, OPERATOR_SECRET))
    ready.put(k)
    go.wait(60)
    try:
        state = R.sign_step(archive, repo.library, number, step, person, secret(person), "同意")
        results.put((k, f"ok {state.status}"))
    except ArchiveError as exc:
        results.put((k, f"refused {exc}"))


def _race(repo, archive, number, step, people):
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    ready, go, results = fork.Queue(), fork.Event(), fork.Queue()
    procs = [fork.Process(target=_racer, args=(repo, location(archive), number, step, p, k,
                                               ready, go, results))
             for k, p in enumerate(people)]
    for p in procs:
        p.start()
    assert sorted(ready.get(timeout=60) for _ in procs) == list(range(len(procs)))
    go.set()  # all at once
    answers = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return [answers[k] for k in range(len(procs))]


def test_two_holders_of_an_or_step_at_once_one_signs_one_is_refused(repo, archive):
    number = R.submit(archive, repo.library, leave(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, number, "head_approve", "李强")
    results = _race(repo, archive, number, "hr_approve", ("周婷", "马超"))
    assert sorted(r.split()[0] for r in results) == ["ok", "refused"], results
    refused = next(r for r in results if r.startswith("refused"))
    assert "is complete; it takes no more signatures" in refused
    assert_verified(archive, repo)


def test_three_countersigners_at_once_all_count_and_the_last_decides(repo, archive):
    number = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    sign(repo, archive, number, "head_approve", "李强")
    results = _race(repo, archive, number, "panel_review", ("周婷", "马超", "朱莉"))
    assert all(r.startswith("ok") for r in results), results
    state = R.record_state(archive, number)
    assert state.decisions["panel_review"] == ["同意"]
    assert sorted(e["person"] for e in state.signatures if e["step"] == "panel_review") == \
        sorted(("周婷", "马超", "朱莉"))
    assert sum(1 for e in state.signatures if e.get("partial")) == 2
    assert_verified(archive, repo)


# -- properties over random org trees --------------------------------------------------------------

def _org(draw_shape, names):
    """An org of ``draw_shape`` = (parents, heads, directors, homes): departments d0..dn with
    d0 at the top, people p0..pm each in one department."""
    from generator.model import Department, Org, Origin, Person, Role

    parents, heads, directors, homes = draw_shape
    departments = tuple(
        Department(f"d{i}", f"部门{i}", None if i == 0 else f"d{parents[i]}",
                   names[heads[i]] if heads[i] is not None else None,
                   names[directors[i]] if directors[i] is not None else None)
        for i in range(len(parents)))
    people = tuple(Person(n, f"d{homes[k]}", "员工", ("staff", "head") if k % 2 else ("staff",))
                   for k, n in enumerate(names))
    return Org("公司", "部门", (Role("staff", "员工", anyone=True), Role("head", "负责人")),
               people, Origin("org.yaml"), departments=departments)


@st.composite
def orgs(draw):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 12))
    names = [f"员工{k}" for k in range(m)]
    parents = [0] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    maybe = st.one_of(st.none(), st.integers(0, m - 1))
    heads = [draw(maybe) for _ in range(n)]
    directors = [draw(maybe) for _ in range(n)]
    homes = [draw(st.integers(0, n - 1)) for _ in range(m)]
    return _org((parents, heads, directors, homes), names), names


@given(orgs(), st.data())
@settings(max_examples=300, deadline=None)
def test_resolved_approvers_are_of_the_applicants_line_and_never_the_applicant(made, data):
    from generator.model import Lane

    org, names = made
    applicant = data.draw(st.sampled_from(names))
    line = org.chain(org.person(applicant).department)
    for lane in (Lane("h", "负责人", "head", "head"), Lane("d", "分管", "head", "director"),
                 Lane("l", "主管", "head", "level", data.draw(st.integers(1, 4)))):
        found = resolve(org, lane, applicant)
        assert applicant not in found.people
        assert len(found.people) <= 1
        for person in found.people:
            dept = next(d for d in line if d.id == found.department)
            assert person == (dept.director if lane.approver == "director" else dept.head)
    # the head is the nearest head above the applicant that is not the applicant
    nearest = next((d.head for d in line if d.head and d.head != applicant), None)
    assert resolve(org, Lane("h", "负责人", "head", "head"), applicant).people == \
        ((nearest,) if nearest else ())


ACTIONS = st.lists(st.tuples(st.sampled_from(["sign", "refuse", "return", "transfer",
                                              "withdraw", "resubmit"]),
                             st.sampled_from(PEOPLE)), min_size=1, max_size=8)


@given(ACTIONS)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_verify_accepts_every_history_the_writer_accepts(repo, seeded, tmp_path_factory,
                                                         actions):
    """Random people try random acts on a 会签 claim: whatever the writer lets through,
    verify accepts; whatever it refuses leaves the archive as it was."""
    target = tmp_path_factory.mktemp("random") / "records"
    shutil.copytree(seeded, target)
    archive = Archive(target, unlock_operator(target, OPERATOR_SECRET))
    number = R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0)
    for act, person in actions:
        before = unchanged(archive)
        try:
            attempt(repo, archive, number, act, person)
        except ArchiveError:
            assert unchanged(archive) == before
    assert_verified(archive, repo)


def attempt(repo, archive, number: str, act: str, person: str) -> None:
    """``person`` tries ``act`` on the step record ``number`` waits for (ArchiveError when
    the writer refuses)."""
    _, _, who = R.waiting(archive, repo.library, number)
    step = who.step if who is not None else "head_approve"
    if act in ("sign", "refuse"):
        sign(repo, archive, number, step, person, "同意" if act == "sign" else "不同意")
    elif act == "return":
        R.return_step(archive, repo.library, number, step, "fill", person, secret(person), "退回")
    elif act == "transfer":
        R.transfer(archive, repo.library, number, step, "马超", person, secret(person), "转交")
    elif act == "withdraw":
        R.withdraw(archive, repo.library, number, person, secret(person), "撤销")
    else:
        R.resubmit(archive, repo.library, number, person, secret(person), {}, "")


@given(ACTIONS)
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_waiting_list_follows_every_history_as_the_rule_book_answers_it(
        repo, seeded, tmp_path_factory, actions):
    """The 待办 screens read a waiting list kept by a long-running reader of its own, folding
    only what was committed since its last look. After every act on two records (a 会签 claim
    and a leave whose head has a deputy today), everyone's 待办 and its count, 我发起的 and
    已处理 are what the rule book answers for each record from scratch."""
    from generator.archive.waitlist import Waitlist
    from generator.records.authority import local_day
    from generator.trust import now

    target = tmp_path_factory.mktemp("waitlist") / "records"
    shutil.copytree(seeded, target)
    archive = Archive(target, unlock_operator(target, OPERATOR_SECRET))
    listed = Waitlist(Archive(target))
    today = local_day(now())
    R.delegate(archive, repo.library, "李强", "吴刚", today, today, secret("李强"), "出差")
    numbers = [R.submit(archive, repo.library, claim(), b"x", "赵敏", secret("赵敏"), T0),
               R.submit(archive, repo.library, leave(), b"x", "赵敏", secret("赵敏"), T0)]
    listed.refresh(repo.library)
    assert listed.lists("吴刚", 10, lambda s, f, w: (s.number, w.on_behalf("吴刚")))[0] == [
        (n, "李强") for n in numbers]  # the deputy's 待办 holds both, in 李强's stead
    for i, (act, person) in enumerate(actions):
        with contextlib.suppress(ArchiveError):
            attempt(repo, archive, numbers[i % 2], act, person)
        listed.refresh(repo.library)
        answers = {n: R.waiting(archive, repo.library, n)[2] for n in numbers}
        states = {n: R.record_state(archive, n) for n in numbers}
        for someone in PEOPLE:
            waiting, total, mine, done, _ = listed.lists(someone, 10, lambda s, f, w: s.number)
            expected = [n for n in sorted(numbers) if answers[n] is not None and (
                someone in answers[n].people or answers[n].on_behalf(someone))]
            assert sorted(waiting) == expected and total == len(expected), (someone, act)
            assert sorted(mine) == (sorted(numbers) if someone == "赵敏" else [])
            assert sorted(done) == [n for n in sorted(numbers) if someone != "赵敏" and any(
                e.get("person") == someone and e["type"] in ("sign", "return", "transfer")
                for e in states[n].history)], someone


def test_separated_steps_are_signed_by_different_people_and_a_forgery_is_reported(repo, archive):
    """朱莉 (人力资源部) claims: her head 马超 approves; 马超 also holds the 人力资源部 role of the
    会签, but the flow separates the two steps, so the 会签 is 周婷's alone."""
    record = RecordInput(**{**claim().__dict__, "chosen": {"cashier": "林娜"}})
    number = R.submit(archive, repo.library, record, b"x", "朱莉", secret("朱莉"), T0)
    sign(repo, archive, number, "head_approve", "马超")
    _, _, who = R.waiting(archive, repo.library, number)
    assert who.people == ("周婷",) and who.needed == 1
    before = unchanged(archive)
    with pytest.raises(ArchiveError, match="马超 signed step 'head_approve' of this record"):
        sign(repo, archive, number, "panel_review", "马超")
    assert unchanged(archive) == before
    F.append(archive, repo.library.trust, "马超",
             F.sign_event(archive, number, "panel_review", "马超", "同意", role="人力资源部"))
    findings = [m for _, m in verify(archive, repo.library).findings]
    assert any("职责分离" in m for m in findings), findings


def test_a_step_role_narrows_its_lane(repo, archive):
    """付款审核 asks for a 会计 within 财务部: 胡斌 (财务经理, not 会计) chosen is nobody."""
    flow = repo.library.flow("EC-HR-099")
    result = check_record(flow, repo.library.org, RecordInput(
        **{**claim().__dict__, "applicant": "赵敏", "chosen": {"cashier": "胡斌"}}))
    assert any("nobody may sign '付款审核'" in m for _, m in result.problems), result.problems
    s = signers(flow, repo.library.org, "pay", "赵敏", chosen={"cashier": "林娜"})
    assert s.people == ("林娜",)
    from generator.records.authority import why_not

    s = signers(flow, repo.library.org, "pay", "赵敏", chosen={"cashier": "胡斌"})
    assert s.people == () and "胡斌" not in s.people
    assert why_not(s, "胡斌", repo.library.org) == \
        "胡斌 does not hold accountant, which step 'pay' asks for"
