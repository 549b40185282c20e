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


@dataclass(frozen=True)
class Lane:
    id: str
    name: str
    role: str


@dataclass(frozen=True)
class Column:
    id: str
    label: str
    type: str
    unit: str | None = None


@dataclass(frozen=True)
class Field:
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


@dataclass(frozen=True)
class Exit:
    label: str
    to: str
    when: Expr | None = None


@dataclass(frozen=True)
class Ref:
    flow: str | None = None  # a code of this manual
    external: str | None = None  # the name of a flow outside it


@dataclass(frozen=True)
class Step:
    id: str
    lane: str
    kind: str
    text: str
    next: str | None = None
    exits: tuple[Exit, ...] = ()
    decisions: tuple[str, ...] = ()
    ref: Ref | None = None
    source_text: str | None = None
    # a role of org.yaml that narrows who signs this step within its lane (a 财务部 payment
    # inside 各职能部门): the signer must hold both the lane's role and this one
    role: str | None = None
    # that role's name in org.yaml, filled in when the flow is loaded beside its org
    role_name: str | None = field(default=None, compare=False)

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
        return self.kind in ("start", "approval") or (self.kind == "decision" and not self.automatic)


@dataclass(frozen=True)
class Signature:
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
    id: str
    name: str
    anyone: bool = False
    # one person holds it by design (总经理): no second holder is padded in; while they are
    # away or are the applicant, a dated 代理 signs for them
    sole: bool = False


@dataclass(frozen=True)
class Person:
    name: str
    department: str
    title: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Org:
    company: str
    department: str
    roles: tuple[Role, ...]
    people: tuple[Person, ...]
    origin: Origin = field(compare=False, repr=False)
    # Who may sign what is itself a controlled document: its own 编制/审核/批准, bound to the
    # hash of everything else in the file, decides whether it may be put in force.
    signoff: Signoff = field(default_factory=lambda: Signoff(), compare=False)
    content_hash: str = field(default="", compare=False)
    authority: tuple[Authority, ...] = ()  # the 授权审批权限表

    @property
    def limits(self) -> dict[str, dict[str, Any]]:
        """The matrix as flows' conditions read it: ``{'refund': {'ec_manager': 3000}}``."""
        return {a.id: dict(a.limits) for a in self.authority}

    @property
    def signed_off(self) -> bool:
        return self.signoff.bound_to(self.content_hash)

    def person(self, name: str) -> Person | None:
        return next((p for p in self.people if p.name == name), None)

    def role(self, role_id: str) -> Role | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def holders(self, role_id: str) -> tuple[Person, ...]:
        return tuple(p for p in self.people if role_id in p.roles)

    def may_sign(self, person: str, role_id: str) -> bool:
        role, who = self.role(role_id), self.person(person)
        return bool(role and who and (role.anyone or role_id in who.roles))


@dataclass(frozen=True)
class Distribution:
    """One controlled copy of the manual: its number, who holds it, when it was issued."""

    copy: int
    holder: str
    issued: dt.date


@dataclass(frozen=True)
class Manual:
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
