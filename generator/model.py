"""The model every writer reads: frozen dataclasses, built only by :mod:`generator.loader`.

Writers (diagram, manual, forms, records) never see YAML; they see these objects, so a flow's
chart, manual section, form and record rules cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .expr import Expr

STATUSES = ("受控", "非受控", "草稿", "作废")
PROVENANCES = ("source", "reconstructed")
STEP_KINDS = ("start", "task", "approval", "decision", "ref", "end")
FIELD_TYPES = ("text", "number", "date", "choice", "bool", "table")
COLUMN_TYPES = ("text", "number", "date")
DEFAULT_APPROVAL_DECISIONS = ("同意", "不同意")


@dataclass(frozen=True)
class Origin:
    """Where a model object was read from: the file and the line of each key path in it."""

    file: str
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, repr=False, compare=False)
    # the file's absolute path: ``file`` is for people (relative to where the command ran);
    # the archive reads the bytes again to keep the source a record was checked against
    path: str | None = field(default=None, repr=False, compare=False)

    @property
    def source(self) -> str:
        return self.path or self.file

    def line(self, *path: str | int) -> int:
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)


APPROVER_RULES = ("role", "head", "director", "level", "chosen")


@dataclass(frozen=True)
class Lane:
    """A swimlane: who acts in its steps.

    ``role`` is the authority its signers hold (a role of org.yaml). ``approver`` says which of
    the holders sign for a given record, as DingTalk/Feishu 审批 resolve an approver node:
    ``role`` any holder (指定角色); ``head`` the applicant's own department head (部门负责人);
    ``director`` the 分管领导 of the applicant's department; ``level`` the ``level``-th manager
    up from the applicant (逐级主管); ``chosen`` a holder the applicant names when submitting
    (发起人自选). The rules live in :mod:`generator.records.authority`."""

    id: str
    name: str
    role: str
    approver: str = "role"
    level: int = 0  # for approver == "level": 1 is the applicant's own head

    @property
    def relative(self) -> bool:
        """Whether the lane's signers depend on who applied (the org tree decides them)."""
        return self.approver in ("head", "director", "level")


@dataclass(frozen=True)
class Column:
    """One column of a table field (an item list on the form)."""

    id: str
    label: str
    type: str
    unit: str | None = None


@dataclass(frozen=True)
class Field:
    """One value a record of the flow holds, typed and bounded as the loader read it: the form
    draws it, the record rules coerce and check it, ``derive`` computes it from others."""

    id: str
    label: str
    type: str
    required: bool = False
    multiline: bool = False
    max_length: int | None = None
    options: tuple[str, ...] = ()
    multiple: bool = False
    min: float | None = None
    max: float | None = None
    integer: bool = False
    unit: str | None = None
    derive: Expr | None = None
    columns: tuple[Column, ...] = ()
    rows: int = 0
    help: str | None = None
    # personal information (个人信息保护法): kept only as long as the flow's ``retention`` says
    personal: bool = False


@dataclass(frozen=True)
class Exit:
    """Where a step may lead: to ``to`` when ``when`` holds (or, without ``when``, when the
    decision taken is ``label``, else as the default); ``label`` is printed on the chart."""

    label: str
    to: str
    when: Expr | None = None


@dataclass(frozen=True)
class Ref:
    """An off-page connector: a flow of this manual (``flow``) or one outside it (``external``)."""

    flow: str | None = None  # a code of this manual
    external: str | None = None  # the name of a flow outside it


@dataclass(frozen=True)
class Document:
    """A controlled document a step stands for (``name``: 绩效管理制度), made and approved under
    its own document control once, not in each record; a record cites it by its 文件编号 and
    version in the field ``field``."""

    name: str
    field: str


@dataclass(frozen=True)
class Step:
    """One box of the chart and one stage of a record.

    ``kind`` says what happens there: ``start`` (the applicant fills the form and signs),
    ``task``, ``approval`` and ``decision`` (signed by whom :mod:`generator.records.authority`
    names for its lane), ``ref`` and ``end``. ``next`` or ``exits`` say where it leads; a
    step's id, lane and kind never change the meaning of another step's."""

    id: str
    lane: str
    kind: str
    text: str
    next: str | None = None
    exits: tuple[Exit, ...] = ()
    decisions: tuple[str, ...] = ()
    ref: Ref | None = None
    source_text: str | None = None
    # 会签/或签: how many of the step's resolved signers must approve it. None: all of them
    # (会签; any 不同意 decides at once); N: any N of them (或签 is 1, the default)
    quorum: int | None = 1
    cc: tuple[str, ...] = ()  # 抄送: roles or people who see the record once the step is reached
    # a role of org.yaml that narrows who signs this step within its lane (a 财务部 payment
    # inside 各职能部门): the signer must hold both the lane's role and this one
    role: str | None = None
    # that role's name in org.yaml, filled in when the flow is loaded beside its org
    role_name: str | None = field(default=None, compare=False)
    # how many times one record may pass this step (a loop taken at most N times: 延长试用期
    # once, 劳动合同法第19条); None: no limit
    max_visits: int | None = None
    # the step makes or approves a separate controlled document (a 制度, a period's report),
    # not something done in each record: a record passes it unsigned and cites the document
    document: Document | None = None

    @property
    def box_text(self) -> str:
        """The text the chart and the form show: the box text, and the step's role if it has
        one (``付款（财务部）``)."""
        if self.role is None:
            return self.text
        return f"{self.text}（{self.role_name or self.role}）"

    @property
    def successors(self) -> tuple[str, ...]:
        """Every step this one can lead to, ``next`` first, in the order written."""
        targets = ([self.next] if self.next else []) + [e.to for e in self.exits]
        return tuple(dict.fromkeys(targets))

    @property
    def is_end(self) -> bool:
        return self.kind == "end" or (self.kind == "ref" and not self.next)

    @property
    def automatic(self) -> bool:
        """A decision routed by the record's fields alone: nobody decides it at run time."""
        return self.kind == "decision" and bool(self.exits) and not self.decisions

    @property
    def signed(self) -> bool:
        """Approvals and decisions are signed by a holder of their lane; so is the start."""
        if self.document is not None:
            return False  # the document's own approval, not the record's
        return self.kind in ("start", "approval") or (self.kind == "decision" and not self.automatic)


@dataclass(frozen=True)
class Signature:
    """One 编制/审核/批准 signature: who, on which day, over which content hash, with which key.
    It counts only once the loader verified it against keys.yaml (``invalid`` is None)."""

    by: str
    on: dt.date
    hash: str | None = None  # the content hash the signer saw (``flowdoc flow sign`` records it)
    key: str | None = None  # id of the signer's key in flows/keys.yaml
    sig: str | None = None  # Ed25519 signature (hex) over generator.seal.signoff.signoff_message
    # Why the signature does not count, or None once it was verified against flows/keys.yaml.
    # A signature nobody verified does not count: only the loader, which has the keys, clears it.
    invalid: str | None = field(default="has not been verified against keys.yaml", compare=False)

    @property
    def valid(self) -> bool:
        return self.invalid is None

    def given_to_other(self, content_hash: str) -> bool:
        """Whether it was given to other content than ``content_hash`` (stale: the document
        changed after it was signed). A signature naming no content is not stale, only bare."""
        return self.hash is not None and self.hash != content_hash


@dataclass(frozen=True)
class Signoff:
    """编制 / 审核 / 批准: who prepared, reviewed and approved, and when."""

    prepared: Signature | None = None
    reviewed: Signature | None = None
    approved: Signature | None = None

    @property
    def complete(self) -> bool:
        return all((self.prepared, self.reviewed, self.approved))

    def entries(self) -> list[tuple[str, str, Signature | None]]:
        """``(key, meaning, signature)`` in signing order: 编制, 审核, 批准."""
        return [("prepared", "编制", self.prepared), ("reviewed", "审核", self.reviewed),
                ("approved", "批准", self.approved)]

    def bound_to(self, content_hash: str) -> bool:
        """Complete, and every signature was given to exactly this content by its signer's own
        key (a bare hash stamp anyone could have typed does not count)."""
        return self.complete and all(s.hash == content_hash and s.valid
                                     for _, _, s in self.entries() if s)


@dataclass(frozen=True)
class Flow:
    """One flow of the manual, as read from its YAML file: the single source its chart, manual
    section, form and record rules are all written from.

    Promises: step, lane and field ids are unique; every ``next``/``exit`` names a step; a
    flow that loaded without errors has exactly one start and a way from it to an end.
    ``content_hash`` covers everything a reader of the chart sees (not the sign-off or the
    status), so a sign-off bound to it goes stale as soon as the content changes."""

    code: str
    name: str
    status: str
    revision: str
    owner_department: str
    control_department: str
    provenance: str
    lanes: tuple[Lane, ...]
    fields: tuple[Field, ...]
    steps: tuple[Step, ...]
    notes: str | None
    signoff: Signoff
    content_hash: str  # sha256 of the canonical content, sign-off and status excluded
    origin: Origin = field(compare=False, repr=False)
    # segregation of duties: pairs of signed steps one person may not both sign in one record
    separate: tuple[tuple[str, str], ...] = ()
    # 保存期限: how long a record of the flow is kept (``3年``, ``离职后2年``); a flow with a
    # personal field must say it (个人信息保护法第19条)
    retention: str | None = None

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def lane(self, lane_id: str) -> Lane:
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane
        raise KeyError(lane_id)

    def field(self, field_id: str) -> Field:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)

    @property
    def retention_text(self) -> str:
        """保存期限 as the header table and the form print it, with the personal information
        the flow's records hold (个人信息保护法: kept no longer than this, then deleted or
        anonymised)."""
        text = self.retention or "未规定"
        personal = [f.label for f in self.fields if f.personal]
        if personal:
            text += f"；含个人信息（{'、'.join(personal)}），期满删除或匿名化"
        return text

    @property
    def start(self) -> Step:
        return next(s for s in self.steps if s.kind == "start")

    @property
    def effective_status(self) -> str:
        """The status a published copy may print: 受控 only while the sign-off is complete and
        bound to the content as it is now; a 受控 flow changed since its approval is a 草稿."""
        if self.status == "受控" and not self.signoff.bound_to(self.content_hash):
            return "草稿"
        return self.status


@dataclass(frozen=True)
class Authority:
    """One kind of limit of the 授权审批权限表: up to which amount each role approves it."""

    id: str  # what flows name it by: limit('refund', 'ec_manager')
    name: str  # 退款
    unit: str  # 元
    limits: tuple[tuple[str, Any], ...]  # (role id, the highest amount it approves), ascending
    note: str | None = None


@dataclass(frozen=True)
class Role:
    """A role of org.yaml; ``anyone``: every employee holds it (an applicant's own lane)."""

    id: str
    name: str
    anyone: bool = False
    # one person holds it by design (总经理): no second holder is padded in; while they are
    # away or are the applicant, a dated 代理 signs for them
    sole: bool = False


@dataclass(frozen=True)
class Person:
    """A person of org.yaml: their department, title and the roles they hold."""

    name: str
    department: str  # a department id of org.yaml (free text in an org without departments)
    title: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Department:
    """A node of the company's tree: its 负责人 (``head``) and 分管领导 (``director``) are
    people; ``parent`` is the department above it (None at the top, the 总经理's)."""

    id: str
    name: str
    parent: str | None = None
    head: str | None = None
    director: str | None = None


@dataclass(frozen=True)
class Org:
    """org.yaml: the roles, the company's department tree and its people — who may sign what.

    It is itself a controlled document (its own sign-off), archived with the events it
    governed, so authority is always judged by the org in force when a signature was made.
    Lookups by name, role and department are indexed once per org (verify asks for every
    signature)."""

    company: str
    department: str
    roles: tuple[Role, ...]
    people: tuple[Person, ...]
    origin: Origin = field(compare=False, repr=False)
    # Who may sign what is itself a controlled document: its own 编制/审核/批准, bound to the
    # hash of everything else in the file, decides whether it may be put in force.
    signoff: Signoff = field(default_factory=lambda: Signoff(), compare=False)
    content_hash: str = field(default="", compare=False)
    departments: tuple[Department, ...] = ()  # the tree; the loader refuses cycles
    authority: tuple[Authority, ...] = ()  # the 授权审批权限表

    @property
    def limits(self) -> dict[str, dict[str, Any]]:
        """The matrix as flows' conditions read it: ``{'refund': {'ec_manager': 3000}}``."""
        return {a.id: dict(a.limits) for a in self.authority}

    @property
    def signed_off(self) -> bool:
        return self.signoff.bound_to(self.content_hash)

    def person(self, name: str) -> Person | None:
        cached = self.__dict__.get("_people_index")
        if cached is None:  # asked on every signature verify checks: a dict, not a scan
            cached = {p.name: p for p in self.people}
            object.__setattr__(self, "_people_index", cached)
        return cached.get(name)

    def role(self, role_id: str) -> Role | None:
        cached = self.__dict__.get("_roles_index")
        if cached is None:
            cached = {r.id: r for r in self.roles}
            object.__setattr__(self, "_roles_index", cached)
        return cached.get(role_id)

    def holders(self, role_id: str) -> tuple[Person, ...]:
        cached = self.__dict__.get("_holders_index")
        if cached is None:  # by role, once: a role lane is resolved for every signature
            cached = {}
            for p in self.people:
                for r in p.roles:
                    cached.setdefault(r, []).append(p)
            cached = {r: tuple(ps) for r, ps in cached.items()}
            object.__setattr__(self, "_holders_index", cached)
        return cached.get(role_id, ())

    def may_sign(self, person: str, role_id: str) -> bool:
        role, who = self.role(role_id), self.person(person)
        return bool(role and who and (role.anyone or role_id in who.roles))

    def department_of(self, dept_id: str) -> Department | None:
        return self._departments().get(dept_id)

    def chain(self, dept_id: str) -> tuple[Department, ...]:
        """``dept_id``'s department and every one above it, nearest first."""
        chains = self.__dict__.get("_chains")
        if chains is None:
            chains = {}
            object.__setattr__(self, "_chains", chains)
        found = chains.get(dept_id)
        if found is None:  # walked once a department: verify asks for every signature
            out: list[Department] = []
            seen: set[str] = set()
            index = self._departments()
            current = index.get(dept_id)
            while current is not None and current.id not in seen:  # the loader refuses cycles
                seen.add(current.id)
                out.append(current)
                current = index.get(current.parent) if current.parent else None
            found = chains[dept_id] = tuple(out)
        return found

    def department_name(self, person: str) -> str:
        """The name of ``person``'s department (the text itself in an org without a tree)."""
        who = self.person(person)
        if who is None:
            return ""
        dept = self.department_of(who.department)
        return dept.name if dept is not None else who.department

    def _departments(self) -> dict[str, Department]:
        # built once per org: resolving an approver walks this in verify's hot path
        cached = self.__dict__.get("_dept_index")
        if cached is None:
            cached = {d.id: d for d in self.departments}
            object.__setattr__(self, "_dept_index", cached)
        return cached


@dataclass(frozen=True)
class Distribution:
    """One controlled copy of the manual: its number, who holds it, when it was issued."""

    copy: int
    holder: str
    issued: dt.date


@dataclass(frozen=True)
class Manual:
    """manual.yaml: the manual's cover, preface, numbering and 分发清单."""

    title: str
    company: str
    department: str
    document_number: str
    revision: str
    issue_date: dt.date
    effective_date: dt.date
    confidentiality: str | None
    preface: str
    signoff: Signoff
    origin: Origin = field(compare=False, repr=False)
    distribution: tuple[Distribution, ...] = ()  # 分发清单


@dataclass(frozen=True)
class PublicKey:
    """A person's signing key as flows/keys.yaml registers it (the private half never leaves
    the signer's keystore)."""

    id: str
    person: str
    public: bytes
    # A registrar's countersignature ``{by, time, sig}`` (generator.trust.vouch_message); a key
    # nobody vouched for signs nothing.
    vouch: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Library:
    """Everything in ``flows/``: the manual, the organisation and the flows in manual order."""

    manual: Manual | None
    org: Org | None
    flows: tuple[Flow, ...]
    keys: tuple[PublicKey, ...] = ()  # flows/keys.yaml, vouched: what sign-offs are verified against
    trust: Any = None  # generator.trust.TrustRoot of flows/trust.yaml

    def flow(self, code: str) -> Flow:
        for f in self.flows:
            if f.code == code:
                return f
        raise KeyError(code)
