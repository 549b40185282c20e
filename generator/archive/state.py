"""A record's state: the one fold of its events (``apply``), what a signature binds it to
(``state_digest``), its values as archived (``json_values``) and the rendition it renders to.

The writer, ``verify``, the search index and audit packages all compute a record's state with
this module and nothing else, so none can disagree on what a record says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import FlowdocError
from ..loader import flow_from_bytes, org_from_bytes
from ..model import Flow, Org
from ..records import render_record, route, typed_values
from ..records.authority import SAME_APPROVER
from ..records.rendition import CorrectionLine, SignatureLine
from ..seal.canonical import digest


@dataclass
class RecordState:
    """A record as its events make it: values, decisions per step, signatures, status.

    Computed only by :func:`apply` from the log; never stored, so it cannot disagree with
    the signed events it comes from."""

    number: str
    flow_code: str
    revision: str
    flow_hash: str
    flow_blob: str
    original_blob: str
    fields: dict[str, Any]
    applicant: str
    created: str
    decisions: dict[str, list[str]] = field(default_factory=dict)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    # in progress | returned (退回 to the applicant) | complete | rejected | void | withdrawn
    status: str = "in progress"
    rendition: str | None = None
    corrections: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)  # signatures a correction voided
    chosen: dict[str, str] = field(default_factory=dict)  # 发起人自选: lane id → person
    # on the step's current visit: 会签 approvals given so far (by whom they count for), and
    # 转交 [from, to] in order; both end when the step is decided
    votes: dict[str, list[str]] = field(default_factory=dict)
    transfers: dict[str, list[list[str]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def json_values(values: dict[str, Any]) -> dict[str, Any]:
    """Typed values as canonical-JSON-safe data (dates as ISO text, tuples as lists, numbers
    exact: see ``records.values.number_text``)."""
    from decimal import Decimal  # local: json_values is their only user in this module

    from ..records.values import json_number

    def conv(v: Any) -> Any:
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, tuple | list):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, float | Decimal):
            # exact: a whole number as an integer, any other as its one decimal text
            return json_number(v)
        return v
    return {k: conv(v) for k, v in values.items() if v is not None}


def apply(out: dict[str, RecordState], e: dict[str, Any]) -> None:
    """Fold one entry into the record states (the only place record state is computed).

    The fold needs no flow: an event carries what it decided (a 会签 vote is ``partial``; the
    steps a signer's one signature also satisfied are its ``auto``; a 退回 names the decisions
    that stand after it), and the rule book checks each claim against the flow."""
    t = e["type"]
    if t == "submit":
        out[e["record"]] = RecordState(e["record"], e["flow"], e["revision"], e["flow_hash"],
                                       e["flow_blob"], e["original_blob"], dict(e["fields"]),
                                       e["applicant"], e["time"],
                                       chosen=dict(e.get("chosen", {})))
        out[e["record"]].history.append(e)
        out[e["record"]].signatures.append(e)
        return
    s = out.get(e.get("record", ""))
    if s is None or t not in _FOLDS:
        return
    s.history.append(e)
    _FOLDS[t](s, e)


def _sign(s: RecordState, e: dict[str, Any]) -> None:
    s.signatures.append(e)
    step = e["step"]
    if e.get("partial"):  # a 会签 approval that does not decide the step yet
        s.votes.setdefault(step, []).append(e.get("on_behalf") or e["person"])
    else:
        if e.get("decision"):
            s.decisions.setdefault(step, []).append(e["decision"])
        s.votes.pop(step, None)
        s.transfers.pop(step, None)
        for later, decision in e.get("auto", ()):  # 同一审批人，自动通过
            s.decisions.setdefault(later, []).append(decision)
    s.status = e.get("status", s.status)


def _correct(s: RecordState, e: dict[str, Any]) -> None:
    s.fields.update(e["fields"])  # the earlier value stays in the history
    s.corrections.append(e)
    # every decision taken so far saw the old values: it no longer counts, and the record
    # waits for those steps again (a correction reopens what it touches)
    s.superseded += [x["seq"] for x in s.signatures
                     if x["type"] == "sign" and x["seq"] not in s.superseded]
    s.decisions, s.votes, s.transfers = {}, {}, {}


def _resubmit(s: RecordState, e: dict[str, Any]) -> None:
    if e["fields"]:
        s.fields.update(e["fields"])
        s.corrections.append(e)
    s.status = "in progress"


def _return(s: RecordState, e: dict[str, Any]) -> None:
    """退回: the decisions from the target step on no longer count (their signatures stay in
    the history, marked as superseded), and the record waits at the target again."""
    kept = {k: list(v) for k, v in e["decisions"].items()}
    live = [x for x in s.signatures if x["type"] == "sign" and x["seq"] not in s.superseded]
    for step, given in s.decisions.items():
        undone = len(given) - len(kept.get(step, []))
        deciding = [x["seq"] for x in live if x["step"] == step and not x.get("partial")]
        if undone > 0:
            s.superseded += deciding[-undone:]
    s.superseded += [x["seq"] for x in live if x.get("partial") and x["step"] in s.votes]
    s.decisions, s.votes, s.transfers = kept, {}, {}
    s.status = e["status"]
    s.signatures.append(e)


def _transfer(s: RecordState, e: dict[str, Any]) -> None:
    s.signatures.append(e)  # a signed act on the step, shown with the signatures
    s.transfers.setdefault(e["step"], []).append([e["person"], e["to"]])


def _close(status: str):
    def fold(s: RecordState, _e: dict[str, Any]) -> None:
        s.status = status
    return fold


def _rendition(s: RecordState, e: dict[str, Any]) -> None:
    s.rendition = e["blob"]


_FOLDS = {"sign": _sign, "correct": _correct, "resubmit": _resubmit, "return": _return,
          "transfer": _transfer, "void": _close("void"), "withdraw": _close("withdrawn"),
          "rendition": _rendition}


def states(entries: list[dict[str, Any]]) -> dict[str, RecordState]:
    out: dict[str, RecordState] = {}
    for e in entries:
        apply(out, e)
    return out


def state_digest(state: RecordState | None) -> str:
    if state is None:  # every submission is signed over it
        return _NO_STATE
    return digest({
        "number": state.number, "fields": state.fields, "decisions": state.decisions,
        "status": state.status, "events": len(state.history)})


_NO_STATE = digest(None)




def typed_fields(flow: Flow, fields: dict[str, Any]) -> dict[str, Any]:
    """A record's archived field values typed by its flow (what routes and renditions read)."""
    values, _ = typed_values(flow, fields)
    return values


def render_state(flow: Flow, state: RecordState, limits: dict | None = None) -> bytes:
    """The rendition of a record's state: what the writer archives at closing and what verify
    renders again to compare (same state, same bytes). Remembered for the last few states:
    verify renders a closed record once however often it is run in a process."""
    key = render_key(flow, state)
    return _render_cached(key, flow, state, limits)


RENDER_MARK = "flowdoc-state:"
STATUS_TEXT = {"in progress": "办理中", "returned": "已退回", "complete": "已完成",
               "rejected": "已驳回", "void": "已作废", "withdrawn": "已撤销"}


def status_text(status: str) -> str:
    """A record's status as its reader sees it (办理中, 已完成 …), from the state's code or the
    search index's (``in progress`` or ``in_progress``): one name per status everywhere."""
    return STATUS_TEXT.get(status.replace("_", " "), status)


def render_key(flow: Flow, state: RecordState) -> str:
    """The digest of everything a rendition shows, written into its metadata, so that
    ``verify`` can tell without rendering that an archived rendition was made from exactly
    the state it replayed (``verify --renditions`` renders each again and compares bytes)."""
    return digest({"flow": flow.content_hash, "number": state.number, "fields": state.fields,
                  "decisions": state.decisions, "status": state.status,
                  "created": state.created, "superseded": state.superseded,
                  "corrections": state.corrections,
                  "signatures": [{**{k: e.get(k) for k in ("seq", "step", "person", "role",
                                                           "meaning", "decision", "time",
                                                           "comment", "sig")},
                                  # only when present: records made before them keep their key
                                  **{k: e[k] for k in ("on_behalf", "partial", "auto") if k in e}}
                                 for e in state.signatures],
                   "applicant": state.applicant})


_RENDERED: dict[str, bytes] = {}


def _render_cached(key: str, flow: Flow, state: RecordState, limits: dict | None) -> bytes:
    if key not in _RENDERED:
        if len(_RENDERED) >= 64:
            _RENDERED.pop(next(iter(_RENDERED)))
        _RENDERED[key] = _render(flow, state, limits)
    return _RENDERED[key]


def _render(flow: Flow, state: RecordState, limits: dict | None) -> bytes:
    path = route(flow, typed_fields(flow, state.fields), state.decisions, limits).steps
    lines = []
    for e in state.signatures:
        step = flow.step(e["step"])
        fingerprint = digest(e["sig"]["value"])[:16]
        who = e.get("person", state.applicant)
        if e.get("on_behalf"):
            who = f"{who}（代 {e['on_behalf']}）"
        if e["type"] in ("return", "transfer"):
            act = (f"退回至 {flow.step(e['to']).text}" if e["type"] == "return"
                   else f"转交 {e['to']}")
            lines.append(SignatureLine(step.text, who, flow.lane(step.lane).name, act[:2], act,
                                       dt.datetime.fromisoformat(e["time"]), fingerprint,
                                       e["reason"], False))
            continue
        lines.append(SignatureLine(step.text, who, e["role"],
                                   e["meaning"], e.get("decision"),
                                   dt.datetime.fromisoformat(e["time"]), fingerprint,
                                   e.get("comment", ""), e["seq"] in state.superseded))
        for later, decision in e.get("auto", ()):  # the same signature, shown at each step
            lines.append(SignatureLine(flow.step(later).text, who, flow.lane(
                flow.step(later).lane).name, e["meaning"], decision,
                dt.datetime.fromisoformat(e["time"]), fingerprint, SAME_APPROVER,
                e["seq"] in state.superseded))
    corrections = [CorrectionLine(e["person"], dt.datetime.fromisoformat(e["time"]),
                                  _label(flow, k), _shown(e["previous"].get(k)), _shown(v),
                                  e["reason"])
                   for e in state.corrections for k, v in sorted(e["fields"].items())]
    status = STATUS_TEXT.get(state.status, "办理中")
    return render_record(flow, state.number, typed_fields(flow, state.fields), path, lines, status,
                         dt.datetime.fromisoformat(state.created), corrections,
                         RENDER_MARK + render_key(flow, state))


def _label(flow: Flow, field_id: str) -> str:
    try:
        return flow.field(field_id).label
    except KeyError:
        return field_id


def _shown(value: Any) -> str:
    if value is None:
        return "（空）"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


@lru_cache(maxsize=32)
def parsed_flow(raw: bytes) -> Flow | None:
    """A flow by its archived source (None if it does not parse): parsing the YAML again took
    a third of a signature check, and every record of a flow names the same source."""
    try:
        return flow_from_bytes(raw, "archived flow")
    except FlowdocError:
        return None


class ArchivedFlows:
    """The flows an archive's records name, by the digest of their archived source, each read
    and parsed once (None for a blob that is missing or does not parse): every record of a
    flow names the same blob, so a pass over many records reads it once, not once a record."""

    def __init__(self, archive: Any) -> None:
        self.archive = archive
        self.known: dict[str, Flow | None] = {}

    def __call__(self, digest: str) -> Flow | None:
        if digest not in self.known:
            try:
                self.known[digest] = parsed_flow(self.archive.blob(digest))
            except FlowdocError:
                self.known[digest] = None
        return self.known[digest]


@lru_cache(maxsize=8)
def parsed_org(raw: bytes) -> Org | None:
    """An org.yaml by its archived source (None if it does not parse)."""
    try:
        return org_from_bytes(raw, "archived org.yaml")
    except FlowdocError:
        return None
