"""Signed events on records: keys, submit, sign, void; each checked before anything is written.

Every event is a canonical JSON entry signed by its author's key over the event itself and the
hash of the record's state before it (so a signature binds the signer to exactly what they
saw, 21 CFR 11.70). Authority (a holder of the step's lane, never the applicant on an
approval), sequence (the step the record is waiting for) and path (the flow's rules) are
checked first; a refused event writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import FlowdocError
from ..loader import flow_from_bytes
from ..model import Flow, Library
from ..records import RecordInput, check_record, may_sign, render_record, route
from ..records.rendition import SignatureLine
from . import keys
from .canonical import canonical, digest
from .index import lines
from .store import LOG, Archive, ArchiveError, Writer, key_table

MEANING = {"start": "编制", "approval": "审批", "decision": "复核"}


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def signed(entry: dict[str, Any], private, key_id: str, seq: int) -> dict[str, Any]:
    """``entry`` numbered ``seq`` and signed over its canonical form (number included)."""
    body = {**{k: v for k, v in entry.items() if k != "sig"}, "seq": seq}
    return {**body, "sig": {"key": key_id, "value": keys.sign(private, canonical(body))}}


def active_key(entries: list[dict[str, Any]], person: str) -> str | None:
    return _active(key_table(entries), person)


def _active(table: dict[str, dict[str, Any]], person: str) -> str | None:
    for kid, k in table.items():
        if k["person"] == person and k["revoked"] is None:
            return kid
    return None


def new_person_key(archive: Archive, library: Library, person: str, passphrase: str) -> str:
    assert library.org is not None
    if library.org.person(person) is None:
        raise ArchiveError(f"'{person}' is not a person in org.yaml")
    with archive.writing() as w:
        table = w.key_table()
        current = _active(table, person)
        if current:
            raise ArchiveError(f"{person} has key {current} already; revoke it before making "
                               "another")
        public, pem = keys.new_key(passphrase)
        kid = keys.key_id(public)
        if kid in table:
            raise ArchiveError("key id collision")  # pragma: no cover - 2^-128
        private = keys.unlock(pem, passphrase)
        w.put_key(kid, pem)
        entry = {"type": "key", "person": person, "key_id": kid, "public_key": public.hex(),
                 "time": _now()}
        w.append(signed(entry, private, kid, w.next_seq))  # proof of possession
        _register_org(w, library, person, private, kid, entry["time"])
        w.commit(private, kid)
    return kid


def _register_org(w: Writer, library: Library, person: str, private, kid: str,
                  time: str) -> None:
    """Register the org.yaml the next events are checked against, when it is not the one in
    force: ``verify`` then checks each signature's authority (who held which lane) against
    the org of its time, not today's (21 CFR 11.10(g)), so a person who has left or changed
    roles keeps their earlier signatures valid. The entry is signed by whoever writes next."""
    assert library.org is not None
    source = Path(library.org.origin.source).read_bytes()
    digest_ = hashlib.sha256(source).hexdigest()
    if w.org_blob() == digest_:
        return
    w.put_blob(source)
    w.append(signed({"type": "org", "blob": digest_, "person": person, "time": time},
                    private, kid, w.next_seq))


def _unlock(archive: Archive, w: Writer, person: str, passphrase: str):
    kid = _active(w.key_table(), person)
    if kid is None:
        raise ArchiveError(f"{person} has no active signing key (flowdoc keys new {person})")
    return keys.unlock(archive.private_key(kid), passphrase), kid


def revoke_key(archive: Archive, person: str, passphrase: str) -> str:
    with archive.writing() as w:
        private, kid = _unlock(archive, w, person, passphrase)
        w.append(signed({"type": "revoke", "person": person, "key_id": kid, "time": _now()},
                        private, kid, w.next_seq))
        w.commit(private, kid)
    return kid


# -- record state ------------------------------------------------------------------------------

@dataclass
class RecordState:
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
    status: str = "in progress"  # in progress | complete | rejected | void
    rendition: str | None = None

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
    """Fold one entry into the record states (the only place record state is computed)."""
    t = e["type"]
    if t == "submit":
        out[e["record"]] = RecordState(e["record"], e["flow"], e["revision"], e["flow_hash"],
                                       e["flow_blob"], e["original_blob"], dict(e["fields"]),
                                       e["applicant"], e["time"])
        out[e["record"]].history.append(e)
        out[e["record"]].signatures.append(e)
    elif t in ("sign", "void", "rendition", "correct") and e["record"] in out:
        s = out[e["record"]]
        s.history.append(e)
        if t == "sign":
            s.signatures.append(e)
            if e.get("decision"):
                s.decisions.setdefault(e["step"], []).append(e["decision"])
            s.status = e.get("status", s.status)
        elif t == "void":
            s.status = "void"
        elif t == "correct":
            s.fields.update(e["fields"])  # the earlier value stays in the history
        else:
            s.rendition = e["blob"]


def states(entries: list[dict[str, Any]]) -> dict[str, RecordState]:
    out: dict[str, RecordState] = {}
    for e in entries:
        apply(out, e)
    return out


def record_state(archive: Archive, number: str) -> RecordState | None:
    """One record's state, read from the committed log without parsing the other records'
    entries: a canonical entry of the record always holds its ``"record":"NUMBER"`` bytes."""
    cp = archive.checkpoint()
    log = archive.root / LOG
    if cp is None or not log.exists():
        return None
    mark = b'"record":' + json.dumps(number, ensure_ascii=False).encode()
    out: dict[str, RecordState] = {}
    for _, line in lines(log, 0, cp.bytes):  # up to the commit point, not a crashed tail
        if mark in line:
            entry = json.loads(line)
            if entry.get("record") == number:
                apply(out, entry)
    return out.get(number)


def state_digest(state: RecordState | None) -> str:
    return digest(None if state is None else {
        "number": state.number, "fields": state.fields, "decisions": state.decisions,
        "status": state.status, "events": len(state.history)})


def record_flow(archive: Archive, state: RecordState) -> Flow:
    raw = archive.blob(state.flow_blob)
    flow = _parsed_flow(raw)
    # a flow that does not parse is parsed again under the record's name, for the message
    return flow if flow is not None else flow_from_bytes(raw, f"{state.number}:flow")


@lru_cache(maxsize=32)
def _parsed_flow(raw: bytes) -> Flow | None:
    """Flows by their archived source: parsing the YAML again took a third of a signature."""
    try:
        return flow_from_bytes(raw, "archived flow")
    except FlowdocError:
        return None


def _checked(library: Library, record: RecordInput, person: str,
             signers: dict[str, dict] | None = None):
    """``record`` checked as ``person``'s submission: ``(flow, result, problems)``, the problems
    as one-line texts naming the record's source. ``signers``: check_record's caches by flow
    code, for a batch."""
    assert library.org is not None
    try:
        flow = library.flow(record.flow)
    except KeyError:
        return None, None, [f"{record.source}: no flow with code '{record.flow}'"]
    result = check_record(flow, library.org, RecordInput(**{**record.__dict__,
                                                            "applicant": person}),
                          None if signers is None else signers.setdefault(flow.code, {}))
    problems = [f"{record.source}: {where}: {message}" for where, message in result.problems]
    why = may_sign(flow, library.org, flow.start.id, person, None)
    if why:
        problems.append(why)
    return flow, result, problems


def _append_submissions(w, checked: list, person: str, moment: dt.datetime, private, kid: str,
                        durable: bool) -> list[str]:
    """One signed submit entry per ``(flow, result, original)``, numbered per flow and year
    after the records already in the log; returns the numbers."""
    counts: dict[str, int] = {}
    sources: dict[str, str] = {}
    numbers = []
    for flow, result, original in checked:
        prefix = f"{flow.code}-{moment.year}"
        if prefix not in counts:
            counts[prefix] = w.submitted(prefix)
        counts[prefix] += 1
        number = f"{prefix}-{counts[prefix]:04d}"
        if flow.code not in sources:
            sources[flow.code] = w.put_blob(_flow_source(flow), durable=durable)
        entry = {"type": "submit", "record": number, "flow": flow.code,
                 "revision": flow.revision, "flow_hash": flow.content_hash,
                 "flow_blob": sources[flow.code],
                 "original_blob": w.put_blob(original, durable=durable),
                 "fields": json_values(result.values), "applicant": person,
                 "step": flow.start.id, "role": flow.lane(flow.start.lane).name,
                 "meaning": "编制", "time": moment.isoformat(), "state": state_digest(None)}
        w.append(signed(entry, private, kid, w.next_seq))
        numbers.append(number)
    return numbers


def submit(archive: Archive, library: Library, record: RecordInput, original: bytes,
           person: str, passphrase: str, now: dt.datetime | None = None) -> str:
    """Open a record: the applicant's signature over the filled values; returns its number."""
    flow, result, problems = _checked(library, record, person)
    if problems:
        raise ArchiveError(problems[0] + (f" (and {len(problems) - 1} more)"
                                          if len(problems) > 1 else ""))
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    with archive.writing() as w:
        private, kid = _unlock(archive, w, person, passphrase)
        _register_org(w, library, person, private, kid, moment.isoformat())
        [number] = _append_submissions(w, [(flow, result, original)], person, moment, private,
                                       kid, durable=True)
        w.commit(private, kid)
    return number


def import_records(archive: Archive, library: Library, items: list[tuple[RecordInput, bytes]],
                   person: str, passphrase: str, now: dt.datetime | None = None) -> list[str]:
    """Submit many records in one batch, all or nothing: every record is checked first, then
    all are appended under one commit (one fsync of the log, one checkpoint; the blobs are
    fsynced once, at the commit)."""
    problems, checked = [], []
    signers: dict[str, dict] = {}
    for record, original in items:
        flow, result, found = _checked(library, record, person, signers)
        problems += found
        if flow is not None:
            checked.append((flow, result, original))
    if problems:
        raise ArchiveError(f"{len(problems)} problem(s), nothing imported; first: {problems[0]}")
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    with archive.writing() as w:
        private, kid = _unlock(archive, w, person, passphrase)
        _register_org(w, library, person, private, kid, moment.isoformat())
        numbers = _append_submissions(w, checked, person, moment, private, kid, durable=False)
        w.commit(private, kid)
    return numbers


def _flow_source(flow: Flow) -> bytes:
    return Path(flow.origin.source).read_bytes()


def sign_step(archive: Archive, library: Library, number: str, step_id: str, person: str,
              passphrase: str, decision: str | None, comment: str = "",
              now: dt.datetime | None = None) -> RecordState:
    assert library.org is not None
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    with archive.writing() as w:
        state = _record(w, number)
        if state.status != "in progress":
            raise ArchiveError(f"{number} is {state.status}; it takes no more signatures")
        flow = record_flow(archive, state)
        values = _typed(flow, state.fields)
        path = route(flow, values, state.decisions)
        if path.waiting_for != step_id:
            waiting = path.waiting_for or "nothing"
            raise ArchiveError(f"{number} waits for step '{waiting}', not '{step_id}'")
        step = flow.step(step_id)
        if decision not in step.decisions:
            raise ArchiveError(f"decision must be one of {'/'.join(step.decisions)}, "
                               f"not '{decision}'")
        why = may_sign(flow, library.org, step_id, person, state.applicant)
        if why:
            raise ArchiveError(why)
        private, kid = _unlock(archive, w, person, passphrase)
        _register_org(w, library, person, private, kid, moment.isoformat())
        decisions = {**state.decisions, step_id: [*state.decisions.get(step_id, []), decision]}
        after = route(flow, values, decisions)
        status = {"complete": "complete", "rejected": "rejected"}.get(after.outcome,
                                                                      "in progress")
        if after.outcome == "complete" and step.kind == "approval" and \
                decision != step.decisions[0]:
            status = "rejected"  # an approval refused, and the refusal ended the record
        entry = {"type": "sign", "record": number, "step": step_id, "decision": decision,
                 "comment": comment, "person": person, "role": flow.lane(step.lane).name,
                 "meaning": MEANING.get(step.kind, "审批"), "time": moment.isoformat(),
                 "status": status, "state": state_digest(state)}
        entry = signed(entry, private, kid, w.next_seq)
        w.append(entry)
        if status != "in progress":  # the record is closed: its rendition is archived with it
            final = _record(w, number)
            pdf = rendition_of(flow, final, after.steps)
            w.append(signed({"type": "rendition", "record": number, "blob": w.put_blob(pdf),
                             "time": moment.isoformat()}, private, kid, w.next_seq))
        final = _record(w, number)
        w.commit(private, kid)
    return final


def _record(w: Writer, number: str) -> RecordState:
    """The state of record ``number`` with the writer's pending entries, from its own entries
    only (the index says where they are), so the cost does not grow with the archive."""
    state = states(w.record_entries(number)).get(number)
    if state is None:
        raise ArchiveError(f"no record {number}")
    return state


def correct(archive: Archive, library: Library, number: str, person: str, passphrase: str,
            changes: dict[str, Any], reason: str) -> RecordState:
    """Correct field values of an open record: a new signed event; the earlier values stay in
    the history (21 CFR 11.10(e): an audit trail never hides what was there before)."""
    assert library.org is not None
    with archive.writing() as w:
        state = _record(w, number)
        if state.status != "in progress":
            raise ArchiveError(f"{number} is {state.status}; it can no longer be corrected")
        if person != state.applicant:
            raise ArchiveError(f"only the applicant {state.applicant} may correct {number}")
        if not reason.strip():
            raise ArchiveError("a correction needs a reason")
        flow = record_flow(archive, state)
        derived = {f.id for f in flow.fields if f.derive is not None}
        base = {k: v for k, v in state.fields.items() if k not in derived}  # computed again
        result = check_record(flow, library.org, RecordInput(flow.code, {**base, **changes},
                                                             number, applicant=person))
        if not result.ok:
            where, message = result.problems[0]
            raise ArchiveError(f"{where}: {message}")
        new = json_values(result.values)
        changed = {k: v for k, v in new.items() if state.fields.get(k) != v}
        if not changed:
            raise ArchiveError("nothing to correct: the values are the same")
        private, kid = _unlock(archive, w, person, passphrase)
        _register_org(w, library, person, private, kid, _now())
        w.append(signed({"type": "correct", "record": number, "person": person,
                         "fields": changed, "previous": {k: state.fields.get(k) for k in changed},
                         "reason": reason, "time": _now(), "state": state_digest(state)},
                        private, kid, w.next_seq))
        final = _record(w, number)
        w.commit(private, kid)
    return final


def void(archive: Archive, number: str, person: str, passphrase: str, reason: str) -> None:
    with archive.writing() as w:
        state = _record(w, number)
        if state.status == "void":
            raise ArchiveError(f"{number} is void already")
        if person != state.applicant:
            raise ArchiveError(f"only the applicant {state.applicant} may void {number}")
        private, kid = _unlock(archive, w, person, passphrase)
        w.append(signed({"type": "void", "record": number, "person": person, "reason": reason,
                         "time": _now(), "state": state_digest(state)}, private, kid, w.next_seq))
        w.commit(private, kid)


def _typed(flow: Flow, fields: dict[str, Any]) -> dict[str, Any]:
    from ..records import typed_values

    values, _ = typed_values(flow, fields)
    return values


def rendition_of(flow: Flow, state: RecordState, path) -> bytes:
    lines = []
    for e in state.signatures:
        step = flow.step(e["step"])
        fingerprint = digest(e["sig"]["value"])[:16]
        lines.append(SignatureLine(step.text, e.get("person", state.applicant), e["role"],
                                   e["meaning"], e.get("decision"),
                                   dt.datetime.fromisoformat(e["time"]), fingerprint,
                                   e.get("comment", "")))
    status = {"complete": "已完成", "rejected": "未通过", "void": "已作废"}.get(state.status,
                                                                              "办理中")
    return render_record(flow, state.number, _typed(flow, state.fields), path, lines, status,
                         dt.datetime.fromisoformat(state.created))

