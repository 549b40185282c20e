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
from pathlib import Path
from typing import Any

from ..loader import flow_from_bytes
from ..model import Flow, Library, Org
from ..records import RecordInput, check_record
from ..records.routing import RouteError, rewind, route
from ..seal import keys
from ..seal.canonical import canonical
from ..trust import TrustRoot, now, vouch_message
from . import rulebook
from .keyring import unlock_stored
from .rulebook import Book
from .state import (
    RecordState,
    apply,
    json_values,
    parsed_flow,
    parsed_org,
    render_state,
    state_digest,
    states,
    typed_fields,
)
from .store import ArchiveError, committed_key_table, key_table
from .store import Store as Archive  # any store: a folder, a database
from .store import StoreWriter as Writer
from .store import active_key as store_active

UNLOCK_FAILED = "{person}: no signing key of theirs unlocks with that passphrase"



def signed(entry: dict[str, Any], private, key_id: str, seq: int) -> dict[str, Any]:
    """``entry`` numbered ``seq`` and signed over its canonical form (number included)."""
    body = {**{k: v for k, v in entry.items() if k != "sig"}, "seq": seq}
    return {**body, "sig": {"key": key_id, "value": keys.sign(private, canonical(body))}}


def active_key(archive: Archive, library: Library, person: str) -> str | None:
    """``person``'s key that signs now (vouched for, not revoked), from the log."""
    return store_active(committed_key_table(archive.key_entries(), _trust(library)), person)


def _trust(library: Library) -> TrustRoot:
    return library.trust if library.trust is not None else TrustRoot()


def _book(w: Writer, library: Library, org: Org | None) -> Book:
    """What the rule book reads, as the archive stands under this writer (a flow this writer
    is archiving is known by its blob before the blob is on disk)."""
    archive = w.archive

    def blob_of(digest: str) -> bytes | None:
        try:
            return archive.blob(digest)
        except ArchiveError:
            return None

    def flow_of(digest: str) -> Flow | None:
        if digest in w.flows:
            return w.flows[digest]
        raw = blob_of(digest)
        return None if raw is None else parsed_flow(raw)

    table = w.key_table(_trust(library))
    # a grant counts when signed by the key of the person it names (verify reports others)
    grants = [d for e in w.delegations()
              if table.get(e["sig"]["key"], {}).get("person") == e["person"]
              and (d := rulebook.delegation_of(e)) is not None]
    return Book(_trust(library), {k.id: k for k in library.keys}, table, org, flow_of,
                render_state, blob_of, delegations=grants)


def _refuse(found: list[tuple[str, str]]) -> None:
    if found:
        raise ArchiveError(found[0][1] + (f" (and {len(found) - 1} more)" if len(found) > 1
                                          else ""))


def _append_checked(w: Writer, book: Book, entry: dict[str, Any], before: Any,
                    private, kid: str) -> dict[str, Any]:
    """Sign, check against the rule book (the one verify replays) and queue ``entry``."""
    entry = signed(entry, private, kid, w.next_seq)
    _refuse(rulebook.check(entry, before, book))
    w.append(entry)
    book.keys = key_table([entry], book.trust, book.keys)
    return entry


def new_person_key(archive: Archive, library: Library, person: str, passphrase: str,
                   private=None) -> str:
    """Register a new key of ``person`` (the private half encrypted with their passphrase):
    an enrolment request that signs nothing until a registrar vouches for it (``approve_key``),
    unless it is ``person``'s registrar key of the trust root (``private`` given)."""
    assert library.org is not None
    if library.org.person(person) is None:
        raise ArchiveError(f"'{person}' is not a person in org.yaml")
    if private is None:
        if len(passphrase) < keys.MIN_PASSPHRASE:
            raise ArchiveError(f"a passphrase needs at least {keys.MIN_PASSPHRASE} characters")
        public, pem, private = keys.new_key(passphrase)
    else:
        public, pem = keys.public_of(private), keys.encrypt(private, passphrase)
    kid = keys.key_id(public)
    with archive.writing() as w:
        book = _book(w, library, _org_in_force(w))
        if kid in book.keys:
            raise ArchiveError("key id collision")  # pragma: no cover - 2^-128
        entry = {"type": "key", "person": person, "key_id": kid, "public_key": public.hex(),
                 "time": now()}
        _append_checked(w, book, entry, None, private, kid)  # proof of possession
        w.put_key(kid, pem)
        w.commit()
    return kid


def approve_key(archive: Archive, library: Library, person: str, registrar: str,
                passphrase: str) -> tuple[str, dict[str, str]]:
    """A registrar vouches for ``person``'s pending key: ``(key id, vouch)`` where the vouch
    ``{by, time, sig}`` is the countersignature keys.yaml carries beside the key."""
    trust = _trust(library)
    early = _unlock_early(archive, library, registrar, passphrase)
    with archive.writing() as w:
        private, rkid = _unlock(w, library, registrar, passphrase, early)
        book = _book(w, library, _org_in_force(w))
        pending = [kid for kid, k in book.keys.items() if k["person"] == person
                   and k["vouched"] is None and k["revoked"] is None]
        if not pending:
            raise ArchiveError(f"{person} has no key waiting to be vouched for "
                               f"(flowdoc keys new {person})")
        kid = pending[-1]
        k = book.keys[kid]
        time = now()
        vouch = keys.sign(private, vouch_message(person, kid, k["public"], time))
        entry = {"type": "approve", "person": registrar, "subject": person, "key_id": kid,
                 "public_key": k["public"], "vouch_by": rkid, "vouch": vouch, "time": time}
        if trust.registrar_at(rkid, time) is None:
            raise ArchiveError(f"{registrar} is not a registrar of the trust root: only a "
                               "registrar vouches for a key")
        _append_checked(w, book, entry, None, private, rkid)
        w.commit()
    return kid, {"by": rkid, "time": time, "sig": vouch}


def _org_in_force(w: Writer) -> Org | None:
    digest_ = w.org_blob()
    if digest_ is None:
        return None
    try:
        return parsed_org(w.archive.blob(digest_))
    except ArchiveError:
        return None


def _register_org(w: Writer, library: Library, person: str, private, kid: str,
                  time: str) -> Org:
    """Put the org.yaml of ``library`` in force when it is not the one in force, and return
    the org the next events are checked against. ``verify`` checks each signature's authority
    (who held which lane) against the org of its time, not today's (21 CFR 11.10(g)), so a
    person who has left or changed roles keeps their earlier signatures valid. Only an
    org.yaml signed off by vouched keys may be put in force: who may sign what is itself a
    controlled document, and a working copy someone edited is refused."""
    assert library.org is not None
    source = Path(library.org.origin.source).read_bytes()
    digest_ = hashlib.sha256(source).hexdigest()
    if w.org_blob() == digest_:  # the bytes in force are these: no need to read them back
        return parsed_org(source) or library.org
    org = parsed_org(source)
    book = _book(w, library, org)
    why = rulebook.org_governs(org, book) if org is not None else "org.yaml does not load"
    if why:
        raise ArchiveError(f"{library.org.origin.file}: {why}; nothing was written")
    w.put_blob(source)
    _append_checked(w, book, {"type": "org", "blob": digest_, "person": person, "time": time},
                    None, private, kid)
    return org


def _unlock_early(archive: Archive, library: Library, person: str, passphrase: str):
    """``person``'s signing key as committed, unlocked before the writers' turn is taken:
    ``(private, key id)``, or None when the committed log names no key of theirs (the turn
    decides, with the state it holds). Unlocking runs the passphrase's key derivation, the
    costliest step of an event, and depends on nothing another writer appends: done here, it
    never holds the other writers up. A wrong passphrase is refused here, before the turn."""
    kid = store_active(committed_key_table(archive.key_entries(), _trust(library)), person)
    if kid is None:
        return None
    try:
        return unlock_stored(archive, kid, passphrase), kid
    except (keys.KeyError_, ArchiveError):
        raise ArchiveError(UNLOCK_FAILED.format(person=person)) from None


def _unlock(w: Writer, library: Library, person: str, passphrase: str, early=None):
    """``person``'s signing key, unlocked: ``early`` (:func:`_unlock_early`'s) when it is still
    their active key in the state the turn holds, else unlocked now. One message for an
    unknown person, a person with no key and a wrong passphrase, so a failed attempt tells a
    guesser nothing."""
    kid = store_active(w.key_table(_trust(library)), person)
    if early is not None and early[1] == kid:
        return early
    try:
        if kid is None:
            raise keys.KeyError_("no key")
        return unlock_stored(w.archive, kid, passphrase), kid
    except (keys.KeyError_, ArchiveError):
        raise ArchiveError(UNLOCK_FAILED.format(person=person)) from None


def revoke_key(archive: Archive, library: Library, person: str, passphrase: str,
               by: str | None = None) -> str:
    """Revoke ``person``'s active key, signed by ``person`` or (``by``) a registrar."""
    signer = by or person
    early = _unlock_early(archive, library, signer, passphrase)
    with archive.writing() as w:
        private, skid = _unlock(w, library, signer, passphrase, early)
        book = _book(w, library, _org_in_force(w))
        kid = store_active(book.keys, person) or next(
            (k for k, v in book.keys.items() if v["person"] == person and v["revoked"] is None),
            None)
        if kid is None:
            raise ArchiveError(f"{person} has no key to revoke")
        _append_checked(w, book, {"type": "revoke", "person": signer, "key_id": kid,
                                  "time": now()}, None, private, skid)
        w.commit()
    return kid


# -- record state (the fold and the rendition live in archive.state) ----------------------------

def record_state(archive: Archive, number: str) -> RecordState | None:
    """One record's state, read from the committed log without parsing the other records'
    entries: a canonical entry of the record always holds its ``"record":"NUMBER"`` bytes."""
    cp = archive.checkpoint()
    if cp is None:
        return None
    out: dict[str, RecordState] = {}
    for line in archive.record_lines(number, cp.bytes):  # to the commit point, not a crashed tail
        entry = json.loads(line)
        if entry.get("record") == number:
            apply(out, entry)
    return out.get(number)


def reading_book(archive: Archive, library: Library, flow_of) -> Book:
    """The rule book's view for a reader (no writer, no lock): the committed key table and
    代理 grants, and the org of ``library`` (the one a signature now is checked against)."""
    entries = archive.key_entries()
    table = committed_key_table(entries, _trust(library))
    grants = [d for e in entries if e["type"] == "delegate"
              and table.get(e["sig"]["key"], {}).get("person") == e["person"]
              and (d := rulebook.delegation_of(e)) is not None]
    return Book(_trust(library), {}, table, library.org, flow_of, delegations=grants)


def waiting(archive: Archive, library: Library, number: str):
    """``(state, flow, signers)`` of record ``number``: who may sign the step it waits for
    now, and why (``signers`` None when it waits for nobody) — the rule book's own answer,
    with the org of ``library`` (the one a signature now would be checked against) and the
    代理 grants of the log."""
    state = record_state(archive, number)
    if state is None:
        raise ArchiveError(f"no record {number}")
    flow = record_flow(archive, state)
    if state.status != "in progress" or library.org is None:
        return state, flow, None
    step = route(flow, typed_fields(flow, state.fields), state.decisions,
                 library.org.limits).waiting_for
    if step is None:
        return state, flow, None
    book = reading_book(archive, library, lambda _d: flow)
    cp = archive.checkpoint()
    return state, flow, rulebook.signers_now(flow, book, state, step,
                                             {"seq": cp.size if cp else 0, "time": now()})


def record_flow(archive: Archive, state: RecordState) -> Flow:
    raw = archive.blob(state.flow_blob)
    flow = parsed_flow(raw)
    # a flow that does not parse is parsed again under the record's name, for the message
    return flow if flow is not None else flow_from_bytes(raw, f"{state.number}:flow")


def _checked(library: Library, record: RecordInput, person: str,
             signers: dict[str, dict] | None = None):
    """``record`` checked as ``person``'s submission: ``(flow, result, problems)``, the problems
    as one-line texts naming the record's source. Only the values: who may submit is the rule
    book's, checked once the signer's key is unlocked. ``signers``: check_record's caches by
    flow code, for a batch."""
    assert library.org is not None
    try:
        flow = library.flow(record.flow)
    except KeyError:
        return None, None, [f"{record.source}: no flow with code '{record.flow}'"]
    result = check_record(flow, library.org, RecordInput(**{**record.__dict__,
                                                            "applicant": person}),
                          None if signers is None else signers.setdefault(flow.code, {}))
    problems = [f"{record.source}: {where}: {message}" for where, message in result.problems]
    return flow, result, problems


def _append_submissions(w: Writer, book: Book, checked: list, person: str,
                        moment: dt.datetime, private, kid: str, durable: bool) -> list[str]:
    """One signed submit entry per ``(flow, result, original, record)``, numbered per flow and year
    after the records already in the log, each checked by the rule book; the numbers."""
    sources: dict[str, str] = {}
    numbers = []
    for flow, result, original, record in checked:
        prefix = f"{flow.code}-{moment.year}"
        book.counts = {} if book.counts is None else book.counts
        if prefix not in book.counts:
            book.counts[prefix] = w.submitted(prefix)
        number = f"{prefix}-{book.counts[prefix] + 1:04d}"
        if flow.code not in sources:
            source = _flow_source(flow)
            sources[flow.code] = w.put_blob(source, durable=durable)
            w.flows[sources[flow.code]] = parsed_flow(source)
        entry = {"type": "submit", "record": number, "flow": flow.code,
                 "revision": flow.revision, "flow_hash": flow.content_hash,
                 "flow_blob": sources[flow.code],
                 "original_blob": w.put_blob(original, durable=durable),
                 "fields": json_values(result.values), "applicant": person,
                 "step": flow.start.id, "role": flow.lane(flow.start.lane).name,
                 "meaning": "编制", "time": moment.isoformat(), "state": state_digest(None)}
        if record.chosen:
            entry["chosen"] = dict(record.chosen)
        book.checked[number] = result
        _append_checked(w, book, entry, None, private, kid)  # counts the number in
        numbers.append(number)
    return numbers


def submit(archive: Archive, library: Library, record: RecordInput, original: bytes,
           person: str, passphrase: str, now: dt.datetime | None = None) -> str:
    """Open a record: the applicant's signature over the filled values; returns its number."""
    [number] = import_records(archive, library, [(record, original)], person, passphrase, now,
                              durable=True)
    return number


def import_records(archive: Archive, library: Library, items: list[tuple[RecordInput, bytes]],
                   person: str, passphrase: str, now: dt.datetime | None = None,
                   durable: bool = False) -> list[str]:
    """Submit many records in one batch, all or nothing: every record is checked first, then
    all are appended under one commit (one fsync of the log, one checkpoint; the blobs are
    fsynced once, at the commit)."""
    problems, checked = [], []
    signers: dict[str, dict] = {}
    for record, original in items:
        flow, result, found = _checked(library, record, person, signers)
        problems += found
        if flow is not None:
            checked.append((flow, result, original, record))
    if problems:
        if len(items) == 1:
            raise ArchiveError(problems[0] + (f" (and {len(problems) - 1} more)"
                                              if len(problems) > 1 else ""))
        raise ArchiveError(f"{len(problems)} problem(s), nothing imported; first: {problems[0]}")
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    early = _unlock_early(archive, library, person, passphrase)
    with archive.writing() as w:
        private, kid = _unlock(w, library, person, passphrase, early)
        org = _register_org(w, library, person, private, kid, moment.isoformat())
        book = _book(w, library, org)
        numbers = _append_submissions(w, book, checked, person, moment, private, kid,
                                      durable=durable)
        w.commit()
    return numbers


def _flow_source(flow: Flow) -> bytes:
    return Path(flow.origin.source).read_bytes()


def sign_step(archive: Archive, library: Library, number: str, step_id: str, person: str,
              passphrase: str, decision: str | None, comment: str = "",
              now: dt.datetime | None = None) -> RecordState:
    """``person`` decides ``step_id`` of record ``number``. Who they sign as (themself, or
    the deputy of someone whose delegation is in force), whether it is a 会签 vote, the later
    steps their one signature also satisfies and the record's status after it are worked out
    here by the rule book's own functions, written into the event, and checked again."""
    def make(w: Writer, book: Book, state: RecordState, flow: Flow, time: str) -> dict:
        step = _step(flow, step_id, number)
        entry: dict[str, Any] = {
            "type": "sign", "step": step_id, "decision": decision or "", "comment": comment,
            "role": flow.lane(step.lane).name, "meaning": rulebook.MEANING.get(step.kind, "审批"),
            "status": "in progress"}
        if state.status == "in progress" and decision in step.decisions and book.org:
            who = rulebook.signers_now(flow, book, state, step_id,
                                       {"seq": w.next_seq, "time": time})
            principal = who.on_behalf(person)
            if principal is not None:
                entry["on_behalf"] = principal
            try:
                partial, auto, status = rulebook.signing_outcome(
                    flow, typed_fields(flow, state.fields), state, step_id, decision, who,
                    person, principal is not None, book.org, time)
            except RouteError:
                return entry  # the rule book says why the decision is refused
            entry["status"] = status
            if partial:
                entry["partial"] = True
            if auto:
                entry["auto"] = auto
        return entry
    return _act(archive, library, number, person, passphrase, make, now)


def _close(w: Writer, book: Book, flow: Flow, number: str, moment: dt.datetime, private,
           kid: str) -> RecordState:
    """The record's state after the event just appended; a record it closed gets its
    rendition archived with it, signed by the same person."""
    final = _record(w, number)
    if final.status in ("complete", "rejected"):
        pdf = render_state(flow, final, book.org.limits if book.org else None)
        _append_checked(w, book, {"type": "rendition", "record": number,
                                  "blob": w.put_blob(pdf), "time": moment.isoformat()},
                        final, private, kid)
        final = _record(w, number)
    return final


def _act(archive: Archive, library: Library, number: str, person: str, passphrase: str,
         make: Any, now: dt.datetime | None = None) -> RecordState:
    """Append the event ``make(w, book, state, flow, time)`` builds for record ``number``,
    signed by ``person`` and checked by the rule book; the record's state after it (a record
    the event closed gets its rendition archived with it)."""
    assert library.org is not None
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    early = _unlock_early(archive, library, person, passphrase)
    with archive.writing() as w:
        private, kid = _unlock(w, library, person, passphrase, early)
        state = _record(w, number)
        org = _register_org(w, library, person, private, kid, moment.isoformat())
        book = _book(w, library, org)
        flow = record_flow(archive, state)
        entry = make(w, book, state, flow, moment.isoformat())
        entry = {**entry, "record": number, "person": person, "time": moment.isoformat(),
                 "state": state_digest(state)}
        _append_checked(w, book, entry, state, private, kid)
        final = _close(w, book, flow, number, moment, private, kid)
        w.commit()
    return final


def return_step(archive: Archive, library: Library, number: str, step_id: str, to: str,
                person: str, passphrase: str, reason: str) -> RecordState:
    """退回: whoever may sign the waiting step sends the record back to ``to`` (its start, the
    applicant, or an earlier step the step's exits loop back to), with a reason. The earlier
    signatures stay in the history; those it undid are marked superseded."""
    def make(w: Writer, book: Book, state: RecordState, flow: Flow, time: str) -> dict:
        try:
            kept = rewind(flow, typed_fields(flow, state.fields), state.decisions, to,
                          book.org.limits if book.org else None)
        except (RouteError, KeyError):
            kept = {}  # the rule book says why the target is refused
        entry = {"type": "return", "step": step_id, "to": to, "reason": reason,
                 "decisions": kept, "status": "returned" if to == flow.start.id
                 else "in progress"}
        principal = _deputy_for(w, book, state, flow, step_id, person, time)
        return {**entry, "on_behalf": principal} if principal else entry
    return _act(archive, library, number, person, passphrase, make)


def _deputy_for(w: Writer, book: Book, state: RecordState, flow: Flow, step_id: str,
                person: str, time: str) -> str | None:
    try:
        flow.step(step_id)
    except KeyError:
        return None
    if book.org is None:
        return None
    who = rulebook.signers_now(flow, book, state, step_id, {"seq": w.next_seq, "time": time})
    return who.on_behalf(person)


def transfer(archive: Archive, library: Library, number: str, step_id: str, to: str,
             person: str, passphrase: str, reason: str) -> RecordState:
    """转交: the person the step waits for hands it to another holder of the same authority."""
    return _act(archive, library, number, person, passphrase,
                lambda w, book, state, flow, time: {"type": "transfer", "step": step_id,
                                                    "to": to, "reason": reason})


def withdraw(archive: Archive, library: Library, number: str, person: str, passphrase: str,
             reason: str) -> RecordState:
    """撤销: the applicant withdraws a record nobody has decided on yet."""
    return _act(archive, library, number, person, passphrase,
                lambda w, book, state, flow, time: {"type": "withdraw", "reason": reason})


def resubmit(archive: Archive, library: Library, number: str, person: str, passphrase: str,
             changes: dict[str, Any], reason: str) -> RecordState:
    """The applicant sends a record returned to them (退回) on again, with changed values or
    none; the flow's steps are decided anew."""
    def make(w: Writer, book: Book, state: RecordState, flow: Flow, time: str) -> dict:
        _refuse(rulebook.may_resubmit(state, person))
        changed = _changed_values(library, flow, state, person, changes)
        return {"type": "resubmit", "fields": changed,
                "previous": {k: state.fields.get(k) for k in changed}, "reason": reason}
    return _act(archive, library, number, person, passphrase, make)


def _changed_values(library: Library, flow: Flow, state: RecordState, person: str,
                    changes: dict[str, Any]) -> dict[str, Any]:
    """The values ``changes`` changes, as archived (derived values computed again)."""
    assert library.org is not None
    derived = {f.id for f in flow.fields if f.derive is not None}
    base = {k: v for k, v in state.fields.items() if k not in derived}
    result = check_record(flow, library.org, RecordInput(flow.code, {**base, **changes},
                                                         state.number, applicant=person,
                                                         chosen=state.chosen))
    if not result.ok:
        where, message = result.problems[0]
        raise ArchiveError(f"{where}: {message}")
    new = json_values(result.values)
    return {k: v for k, v in new.items() if state.fields.get(k) != v}


def delegate(archive: Archive, library: Library, person: str, deputy: str, start: dt.date,
             until: dt.date, passphrase: str, reason: str = "") -> None:
    """代理: ``person`` names ``deputy`` to sign for them from ``start`` to ``until``."""
    assert library.org is not None
    moment = now()
    early = _unlock_early(archive, library, person, passphrase)
    with archive.writing() as w:
        private, kid = _unlock(w, library, person, passphrase, early)
        org = _register_org(w, library, person, private, kid, moment)
        book = _book(w, library, org)
        _append_checked(w, book, {"type": "delegate", "person": person, "deputy": deputy,
                                  "start": start.isoformat(), "until": until.isoformat(),
                                  "reason": reason, "time": moment}, None, private, kid)
        w.commit()


def _step(flow: Flow, step_id: str, number: str):
    try:
        return flow.step(step_id)
    except KeyError:
        raise ArchiveError(f"{number}: {flow.code} has no step '{step_id}'") from None


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
    the history (21 CFR 11.10(e): an audit trail never hides what was there before), and the
    decisions taken on the old values no longer count: those steps are signed again."""
    assert library.org is not None
    early = _unlock_early(archive, library, person, passphrase)
    with archive.writing() as w:
        private, kid = _unlock(w, library, person, passphrase, early)
        state = _record(w, number)
        org = _register_org(w, library, person, private, kid, now())
        book = _book(w, library, org)
        _refuse(rulebook.may_correct(state, person))
        flow = record_flow(archive, state)
        changed = _changed_values(library, flow, state, person, changes)
        _append_checked(w, book, {"type": "correct", "record": number, "person": person,
                                  "fields": changed,
                                  "previous": {k: state.fields.get(k) for k in changed},
                                  "reason": reason, "time": now(),
                                  "state": state_digest(state)}, state, private, kid)
        final = _record(w, number)
        w.commit()
    return final


def void(archive: Archive, library: Library, number: str, person: str, passphrase: str,
         reason: str) -> None:
    early = _unlock_early(archive, library, person, passphrase)
    with archive.writing() as w:
        private, kid = _unlock(w, library, person, passphrase, early)
        state = _record(w, number)
        book = _book(w, library, _org_in_force(w))
        _append_checked(w, book, {"type": "void", "record": number, "person": person,
                                  "reason": reason, "time": now(),
                                  "state": state_digest(state)}, state, private, kid)
        w.commit()




