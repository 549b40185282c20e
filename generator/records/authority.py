"""Who may sign a step of a record now, and why: the one answer every door and check uses.

``record check`` prints it, ``record sign`` and the archive writer refuse by it, ``verify``
replays it on every signature, the form prints its rule and the web inbox lists by it. The
answer is resolved the way DingTalk/Feishu 审批 resolve an approver node (see
:class:`generator.model.Lane`): a role's holders, or people relative to the applicant in the
org tree (their own 部门负责人, their 分管领导, the N-th manager up), or the one the applicant
chose from a role. On top of that come what happened on the record: 会签 votes already given,
转交 (a step handed to another holder), and 代理 (a deputy signing for someone in a date
range).

Pure functions over the model: the org passed in is the one in force at the event's time,
so a person who moved department keeps their earlier signatures valid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..model import Department, Flow, Lane, Org

# Delegation dates are the company's calendar days. The bundled company is in China (UTC+8 all
# year, no daylight saving); event times are UTC, so a day is read in this zone.
LOCAL = dt.timezone(dt.timedelta(hours=8), "CST")

SAME_APPROVER = "同一审批人，自动通过"


@dataclass(frozen=True)
class Delegation:
    """代理: ``deputy`` signs for ``person`` from ``start`` to ``until`` (both included)."""

    person: str
    deputy: str
    start: dt.date
    until: dt.date
    seq: int = 0  # the log entry that granted it; a signature sees only earlier grants

    def in_force(self, when: dt.date) -> bool:
        return self.start <= when <= self.until


@dataclass(frozen=True)
class Resolved:
    """The people a lane's rule gives for one applicant, and the rule in words."""

    people: tuple[str, ...]
    rule: str  # 部门负责人（电子商务部）, 角色：人力资源部 …
    department: str | None = None  # where a relative rule found them (转交 stays inside it)


@dataclass(frozen=True)
class Signers:
    """Who may sign ``step`` now. ``people`` still have to act; ``deputies`` pairs a deputy
    with the person they stand in for; ``needed`` approvals decide the step (会签: all)."""

    step: str
    text: str
    lane: str  # the lane's printed name
    kind: str
    rule: str
    people: tuple[str, ...]
    anyone: bool = False  # any employee (the applicant's own steps)
    needed: int = 1
    signed: tuple[str, ...] = ()  # approvals already given on this visit (会签)
    deputies: tuple[tuple[str, str], ...] = ()
    applicant: str | None = None
    role: str = ""  # the lane's role id
    relative: bool = False  # resolved for the applicant (org tree or their choice)
    step_role: str | None = None  # the role the step itself asks for, within its lane
    separated: tuple[tuple[str, str], ...] = ()  # (person, step they signed): 职责分离

    def on_behalf(self, person: str) -> str | None:
        """The person ``person`` stands in for as a deputy, when not entitled themself."""
        if person in self.people:
            return None
        return next((p for d, p in self.deputies if d == person), None)

    def shown(self) -> str:
        """``李强`` or ``李强、吴刚（代 李强）``, as ``record check`` prints them."""
        names = list(self.people) + [f"{d}（代 {p}）" for d, p in self.deputies]
        return "、".join(names)


def resolve(org: Org, lane: Lane, applicant: str | None,
            chosen: Mapping[str, str] | None = None) -> Resolved:
    """The people ``lane``'s rule gives for ``applicant`` (before 会签 votes, 转交, 代理)."""
    role = org.role(lane.role)
    role_name = role.name if role is not None else lane.role
    if lane.approver == "role":
        return Resolved(tuple(p.name for p in org.holders(lane.role)), f"角色：{role_name}")
    if lane.approver == "chosen":
        pick = (chosen or {}).get(lane.id)
        ok = pick is not None and pick != applicant and org.may_sign(pick, lane.role)
        return Resolved((pick,) if ok and pick else (), f"发起人自选（{role_name}）")
    who = org.person(applicant) if applicant else None
    chain = org.chain(who.department) if who is not None else ()
    if lane.approver == "director":
        for dept in chain:
            if dept.director and dept.director != applicant:
                return Resolved((dept.director,), f"分管领导（{dept.name}）", dept.id)
        return Resolved((), "分管领导（申请人所在部门）")
    managers = _managers(chain, applicant)
    n = 1 if lane.approver == "head" else lane.level
    label = "部门负责人" if lane.approver == "head" else f"第{n}级主管"
    if not managers:
        return Resolved((), f"{label}（申请人所在部门）")
    name, dept = managers[min(n, len(managers)) - 1]  # a short chain ends at the top
    return Resolved((name,), f"{label}（{dept.name}）", dept.id)


def _managers(chain: Sequence[Department], applicant: str | None) -> list[tuple[str, Department]]:
    """The heads up the tree from the applicant's department, nearest first: a head applying
    is managed by the head above (逐级主管), and nobody is their own manager."""
    out: list[tuple[str, Department]] = []
    seen: set[str] = set()
    for dept in chain:
        if dept.head and dept.head != applicant and dept.head not in seen:
            seen.add(dept.head)
            out.append((dept.head, dept))
    return out


def signers(flow: Flow, org: Org, step_id: str, applicant: str | None, *,
            chosen: Mapping[str, str] | None = None, signed: Iterable[str] = (),
            transfers: Iterable[Sequence[str]] = (), delegations: Iterable[Delegation] = (),
            when: dt.date | None = None,
            history: Mapping[str, Iterable[str]] | None = None) -> Signers:
    """Who may sign ``step_id`` of a record by ``applicant`` now, and why.

    ``signed``: who already approved this visit of the step (会签); ``transfers``: the step's
    转交 on this visit, ``(from, to)`` in order; ``delegations``: 代理 grants, of which those in
    force on ``when`` count; ``history``: who signed which step of the record so far, for the
    flow's separated pairs (职责分离: whoever signed one step of a pair signs not the other).
    A step's own ``role`` narrows its lane to those who hold it too. The applicant never
    approves or judges their own request."""
    step = flow.step(step_id)
    lane = flow.lane(step.lane)
    role = org.role(lane.role)
    anyone = bool(role and role.anyone) and lane.approver == "role"
    found = resolve(org, lane, applicant, chosen)
    people = list(found.people)
    if step.role is not None:  # e.g. 出纳 inside 各职能部门: both roles
        if anyone:
            anyone, people = False, [p.name for p in org.holders(step.role)]
        people = [p for p in people if org.may_sign(p, step.role)]
    for frm, to in transfers:
        if frm in people:
            people[people.index(frm)] = to
    judged = step.kind in ("approval", "decision")
    if judged and applicant:
        people = [p for p in people if p != applicant]
    separated: list[tuple[str, str]] = []
    for pair in flow.separate:
        if step_id in pair:
            other = pair[1] if pair[0] == step_id else pair[0]
            separated += [(p, other) for p in (history or {}).get(other, ())]
    barred = {p for p, _ in separated}
    people = [p for p in dict.fromkeys(people) if p not in barred]
    done = tuple(p for p in dict.fromkeys(signed) if p in people)
    needed = len(people) if step.quorum is None else min(step.quorum, len(people))
    remaining = tuple(p for p in people if p not in done)
    deputies: list[tuple[str, str]] = []
    if when is not None:
        for d in delegations:
            if d.person in remaining and d.in_force(when) and d.deputy != d.person \
                    and not (judged and d.deputy == applicant) and d.deputy not in barred \
                    and (d.deputy, d.person) not in deputies:
                deputies.append((d.deputy, d.person))
    return Signers(step.id, step.text, lane.name, step.kind, found.rule, remaining, anyone,
                   max(needed - len(done), 0), done, tuple(deputies), applicant, lane.role,
                   lane.approver != "role", step.role, tuple(separated))


def may_submit(flow: Flow, org: Org, person: str) -> str | None:
    """``None`` if ``person`` may open a record of ``flow`` (sign its start step); else why
    not. The start's lane is a role (the applicant's own), so this is two look-ups, not a
    resolution: verify asks it for every submission of an import."""
    start = flow.start
    lane = flow.lane(start.lane)
    if lane.approver != "role":
        return why_not(signers(flow, org, start.id, None), person, org)
    if org.person(person) is None:
        return f"'{person}' is not a person in org.yaml"
    if not org.may_sign(person, lane.role):
        return f"{person} does not hold the lane {lane.name} ({lane.role}) of step '{start.id}'"
    if start.role is not None and not org.may_sign(person, start.role):
        return f"{person} does not hold {start.role}, which step '{start.id}' asks for"
    return None


def why_not(s: Signers, person: str, org: Org) -> str | None:
    """``None`` if ``person`` may sign under ``s`` (themself or as a deputy); else why not."""
    if org.person(person) is None:
        return f"'{person}' is not a person in org.yaml"
    if s.anyone or person in s.people or s.on_behalf(person) is not None:
        return None
    if person == s.applicant and s.kind in ("approval", "decision"):
        return f"{person} applied; an applicant may not approve their own request"
    if person in s.signed:
        return f"{person} approved step '{s.step}' already (会签: once a person)"
    other = next((step for p, step in s.separated if p == person), None)
    if other is not None:
        return (f"{person} signed step '{other}' of this record; '{s.step}' and '{other}' are "
                "signed by different people (职责分离)")
    if s.step_role is not None and not org.may_sign(person, s.step_role):
        return f"{person} does not hold {s.step_role}, which step '{s.step}' asks for"
    if not s.relative and not org.may_sign(person, s.role):
        return f"{person} does not hold the lane {s.lane} ({s.role}) of step '{s.step}'"
    if s.people:
        return (f"{person} may not sign step '{s.step}' ({s.lane}: {s.rule}); "
                f"who may: {s.shown()}")
    return f"nobody may sign step '{s.step}' ({s.lane}: {s.rule}) for this applicant"


def transfer_problem(org: Org, flow: Flow, step_id: str, applicant: str | None, to: str,
                     chosen: Mapping[str, str] | None = None) -> str | None:
    """``None`` if step ``step_id`` may be handed (转交) to ``to``: a holder of the same
    authority (the lane's role; for a lane relative to the applicant, inside the department
    the rule found), never the applicant of an approval."""
    lane = flow.lane(flow.step(step_id).lane)
    if org.person(to) is None:
        return f"'{to}' is not a person in org.yaml"
    if to == applicant:
        return f"{to} applied; a step is not handed to the applicant"
    if not org.may_sign(to, lane.role):
        return f"{to} does not hold {lane.name}'s authority ({lane.role}); 转交 goes to a holder"
    found = resolve(org, lane, applicant, chosen)
    if found.department is not None:
        who = org.person(to)
        inside = who is not None and any(d.id == found.department
                                         for d in org.chain(who.department))
        if not inside:
            return (f"{to} is not in {org.department_of(found.department).name}"  # type: ignore[union-attr]
                    f", where {lane.name} is resolved for this applicant")
    return None


def delegation_problem(org: Org, person: str, deputy: str, start: dt.date,
                       until: dt.date) -> str | None:
    """``None`` if ``person`` may name ``deputy`` for these dates: both in the org, not the
    same, the dates in order, and the deputy entitled to it — a colleague of the same
    department or a manager above it (the authority stays in the line that holds it)."""
    who, dep = org.person(person), org.person(deputy)
    if who is None:
        return f"'{person}' is not a person in org.yaml"
    if dep is None:
        return f"'{deputy}' is not a person in org.yaml"
    if deputy == person:
        return "a person is not their own deputy"
    if until < start:
        return f"the delegation ends ({until}) before it begins ({start})"
    if not org.departments:
        return "org.yaml has no departments: a deputy is entitled by the org tree"
    line = {d.id for d in org.chain(who.department)}
    if dep.department not in line:
        return (f"{deputy} ({org.department_name(deputy)}) may not stand in for {person} "
                f"({org.department_name(person)}): a deputy is of the same department or above")
    return None


def local_day(iso_time: str) -> dt.date:
    """The company's calendar day of an event time (ISO 8601, UTC)."""
    moment = dt.datetime.fromisoformat(iso_time)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL).date()


def copied_to(flow: Flow, org: Org, steps: Iterable[str]) -> tuple[str, ...]:
    """抄送: the people the steps reached copy the record to (read-only, no signature)."""
    out: list[str] = []
    for step_id in steps:
        for name in flow.step(step_id).cc:
            people = [name] if org.person(name) else [p.name for p in org.holders(name)]
            out += [p for p in people if p not in out]
    return tuple(out)
