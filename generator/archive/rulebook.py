"""The rule book: whether one signed event may follow the archive as it stood before it.

One function, :func:`check`, says it, and both sides of the archive call it: the writer before
it appends an event (a refusal writes nothing), and ``verify`` on every event it replays. So
an event forged past the writer — written with the project's own primitives by someone who
holds a registered key and write access to the folder — is reported by verify with the very
rule the writer would have refused it under; there is no second, shorter copy of the rules
for an insider to slip between.

The rules, by entry type:

- ``key``: a person of the org in force, who has no key that signs already;
- ``approve``: a registrar in office countersigns a registered key that is not vouched for,
  revoked or a second signing key of its person (one active key a person);
- ``revoke``: by the key's owner or a registrar;
- ``org``: an org.yaml whose 编制/审核/批准 is complete and signed by vouched keys
  (:func:`org_governs`, which the caller applies to the org's bytes it has read);
- ``submit``: under a 受控 flow signed off by vouched keys, by a holder of its start lane, with
  values the flow accepts and derived values as the flow computes them, numbered next;
- ``sign``: the step the record waits for, a decision the step allows, by a holder of the
  step's lane (never the applicant on an approval), with the status the route gives;
- ``correct``: by the applicant, on an open record, changing values to ones the flow accepts;
  it voids the approvals given before (they saw the old values) — see ``records.apply``;
- ``void``: by the applicant, once;
- ``rendition``: after the closing event, by the same signer, exactly the PDF the record's
  state renders to.

Messages are the writer's refusals, one line each, naming the record and the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Flow, Org, PublicKey
from ..records import RecordInput, check_record, may_sign, route
from ..seal.signoff import verified
from ..trust import TrustRoot
from .state import RENDER_MARK, json_values, typed_fields
from .store import vouch_valid

MEANING = {"start": "编制", "approval": "审批", "decision": "复核"}
RECORD_TYPES = ("submit", "sign", "void", "rendition", "correct")


@dataclass
class Book:
    """What the rules read besides the record's own state.

    ``keys``: the log's key table as it stood before the event; ``org``: the org.yaml in force
    (None: none registered yet); ``flow_of``/``render``: the archived flow by its blob, and the
    rendition a state gives (the writer and verify each supply theirs); ``signoff_keys``: the
    vouched keys of keys.yaml, which flow and org sign-offs are checked against."""

    trust: TrustRoot
    signoff_keys: Mapping[str, PublicKey]
    keys: dict[str, dict[str, Any]]
    org: Org | None
    flow_of: Callable[[str], Flow | None]
    render: Callable[..., bytes] | None = None
    blob_of: Callable[[str], bytes | None] | None = None
    # without ``render`` (verify's default: rendering costs 10-20 ms a record), a rendition is
    # checked by the digest of its state that the writer wrote into its metadata
    render_key: Callable[[Flow, Any], str] | None = None
    # submitted records per number prefix, for the writer; verify checks numbers in one pass
    # over every record (number_problem), as its shares see only some records each
    counts: dict[str, int] | None = None
    governing: dict[tuple[str, str], str | None] = field(default_factory=dict)  # cache
    signers: dict[str, dict] = field(default_factory=dict)  # check_record's, by flow content
    # the writer's own check of a submission's values, by record number: it just made the
    # entry's fields from it, so checking them again would only double an import's cost
    checked: dict[str, Any] = field(default_factory=dict)


def check(e: dict[str, Any], before: Any, book: Book) -> list[tuple[str, str]]:
    """Every rule event ``e`` breaks, as ``(property, message)``; empty if it may follow.
    ``before``: the record's state before it (None for a record not yet submitted)."""
    out: list[tuple[str, str]] = []
    rule = _RULES.get(e["type"])
    if rule is not None:
        rule(out, e, before, book)
    return out


def number_problem(number: str, counts: dict[str, int]) -> str | None:
    """None if ``number`` is the next of its flow and year (no gaps, none twice), counting it
    into ``counts``; else why not."""
    prefix, _, tail = number.rpartition("-")
    expected = counts.get(prefix, 0) + 1
    if tail != f"{expected:04d}":
        return (f"{number}: numbered out of turn (the next number of {prefix} was "
                f"{expected:04d})")
    counts[prefix] = expected
    return None


def governs(flow: Flow, book: Book) -> str | None:
    """None if ``flow`` may govern records: 受控, its 编制/审核/批准 complete and signed by
    vouched keys over exactly this content; else why not."""
    cached = book.governing.get((flow.code, flow.content_hash))
    if (flow.code, flow.content_hash) in book.governing:
        return cached
    why = None
    if flow.status != "受控":
        why = f"{flow.code} is {flow.status}, not 受控: records can be tried, not archived"
    else:
        signoff = verified(flow.signoff, flow.code, book.signoff_keys)
        if not signoff.bound_to(flow.content_hash):
            bad = next((f"{m} {s.invalid}" for _, m, s in signoff.entries()
                        if s is not None and s.invalid), None)
            why = (f"{flow.code} is not signed off (编制/审核/批准 by vouched keys over its "
                   f"content){': ' + bad if bad else ''}")
    book.governing[(flow.code, flow.content_hash)] = why
    return why


def org_governs(org: Org, book: Book) -> str | None:
    """None if ``org`` may be put in force: its own sign-off complete, by vouched keys."""
    slot = ("org.yaml", org.content_hash + repr(org.signoff))
    if slot in book.governing:
        return book.governing[slot]
    signoff = verified(org.signoff, "org.yaml", book.signoff_keys)
    why = None
    if not signoff.bound_to(org.content_hash):
        bad = next((f"{m} {s.invalid}" for _, m, s in signoff.entries()
                    if s is not None and s.invalid), None)
        why = ("org.yaml is not signed off (编制/审核/批准 by vouched keys over its content)"
               + (f": {bad}" if bad else ""))
    book.governing[slot] = why
    return why


def closing_status(flow: Flow, step_id: str, decision: str, after_outcome: str) -> str:
    """The record's status after ``decision`` on ``step_id``: an approval refused that ended
    the record leaves it rejected, whatever end the chart draws for it."""
    status = {"complete": "complete", "rejected": "rejected"}.get(after_outcome, "in progress")
    step = flow.step(step_id)
    if after_outcome == "complete" and step.kind == "approval" and decision != step.decisions[0]:
        status = "rejected"
    return status


def _active(table: dict[str, dict[str, Any]], person: str) -> str | None:
    return next((kid for kid, k in table.items() if k["person"] == person
                 and k["vouched"] is not None and k["revoked"] is None), None)


# -- keys --------------------------------------------------------------------------------------

def _key(out: list, e: dict, _before: Any, book: Book) -> None:
    if book.org is not None and book.org.person(e["person"]) is None:
        out.append(("安全性", f"'{e['person']}' is not a person in org.yaml"))
    current = _active(book.keys, e["person"])
    if current is not None:
        out.append(("安全性", f"{e['person']} has key {current} already; revoke it before "
                              "making another"))


def _approve(out: list, e: dict, _before: Any, book: Book) -> None:
    k = book.keys.get(e["key_id"])
    if k is None:
        out.append(("安全性", f"approves key {e['key_id']}, which is not registered"))
        return
    if book.trust.registrar_at(e["sig"]["key"], e["time"]) is None:
        out.append(("安全性", f"{e['person']} is not a registrar of the trust root: only a "
                              "registrar vouches for a key"))
        return
    if k["revoked"] is not None:
        out.append(("安全性", f"key {e['key_id']} was revoked"))
    elif k["vouched"] is not None:
        out.append(("安全性", f"key {e['key_id']} is vouched for already"))
    elif not vouch_valid(e, k, book.trust):
        out.append(("真实性", f"the countersignature of key {e['key_id']} does not verify or "
                              "names another person or key"))
    other = _active(book.keys, k["person"])
    if other is not None and other != e["key_id"]:
        out.append(("安全性", f"{k['person']} has an active key {other}: one signing key a "
                              "person"))


def _revoke(out: list, e: dict, _before: Any, book: Book) -> None:
    k = book.keys.get(e["key_id"])
    signer = book.keys.get(e["sig"]["key"])
    if k is None:
        out.append(("安全性", f"revokes key {e['key_id']}, which is not registered"))
        return
    own = signer is not None and e["sig"]["key"] == e["key_id"]
    registrar = book.trust.registrar_at(e["sig"]["key"], e["time"]) is not None
    if not (own or registrar):
        out.append(("安全性", f"{e['person']} revokes {k['person']}'s key: only its owner or a "
                              "registrar may"))


# -- records -----------------------------------------------------------------------------------

def _submit(out: list, e: dict, before: Any, book: Book) -> None:
    number = e["record"]
    if before is not None:
        out.append(("完整性", f"{number} was submitted before: a record number is used once"))
        return
    flow = book.flow_of(e["flow_blob"])
    if flow is None:
        out.append(("可用性", f"{number}: the flow it was made under cannot be read"))
        return
    if flow.content_hash != e["flow_hash"] or flow.code != e["flow"] or \
            flow.revision != e["revision"]:
        out.append(("可用性", f"{number}: the archived flow is not the one it names"))
        return
    why = governs(flow, book)
    if why:
        out.append(("安全性", f"{number}: {why}"))
    if not number.startswith(flow.code + "-"):
        out.append(("完整性", f"{number}: not a number of {flow.code}"))
    if book.counts is not None:
        why = number_problem(number, book.counts)
        if why:
            out.append(("完整性", why))
    if book.org is None:
        out.append(("安全性", f"{number}: no signed-off org.yaml was in force"))
        return
    start = flow.start
    if e["step"] != start.id or e["role"] != flow.lane(start.lane).name or e["meaning"] != "编制":
        out.append(("可用性", f"{number}: the submission names another step, lane or meaning "
                              "than its flow's start"))
    why = may_sign(flow, book.org, start.id, e["applicant"], None)
    if why:
        out.append(("安全性", f"{number}: {why}"))
    result = book.checked.pop(number, None)
    if result is None or result.flow.content_hash != flow.content_hash:
        result = check_record(flow, book.org, RecordInput(flow.code, e["fields"], number,
                                                          applicant=e["applicant"]),
                              book.signers.setdefault(f"{flow.content_hash}/{id(book.org)}", {}))
    for where, message in result.problems:
        out.append(("可用性", f"{number}: {where}: {message}"))
    if result.ok and _derived_differ(flow, result.values, e["fields"]):
        out.append(("可用性", f"{number}: the archived values are not the ones its flow gives "
                              "(derived values included)"))


def _flow(out: list, before: Any, book: Book) -> Flow | None:
    flow = book.flow_of(before.flow_blob)
    if flow is None:
        out.append(("可用性", f"{before.number}: the flow it was made under cannot be read"))
    return flow


def _sign(out: list, e: dict, before: Any, book: Book) -> None:
    number = e["record"]
    if before.status != "in progress":
        out.append(("可用性", f"{number} is {before.status}; it takes no more signatures"))
        return
    flow = _flow(out, before, book)
    if flow is None:
        return
    values = typed_fields(flow, before.fields)
    path = route(flow, values, before.decisions, book.org and book.org.limits)
    if path.waiting_for != e["step"]:
        out.append(("可用性", f"{number} waits for step '{path.waiting_for or 'nothing'}', not "
                              f"'{e['step']}'"))
        return
    step = flow.step(e["step"])
    if e["decision"] not in step.decisions:
        out.append(("可用性", f"{number}: decision must be one of {'/'.join(step.decisions)}, "
                              f"not '{e['decision']}'"))
        return
    if e["role"] != flow.lane(step.lane).name or e["meaning"] != MEANING.get(step.kind, "审批"):
        out.append(("可用性", f"{number}: the signature names another lane or meaning than "
                              f"step '{step.id}'"))
    if book.org is None:
        out.append(("安全性", f"{number}: no signed-off org.yaml was in force"))
    else:
        why = may_sign(flow, book.org, step.id, e["person"], before.applicant)
        if why:
            out.append(("安全性", f"{number}: {why}"))
    decisions = {**before.decisions, step.id: [*before.decisions.get(step.id, []), e["decision"]]}
    limits = book.org and book.org.limits
    status = closing_status(flow, step.id, e["decision"], route(flow, values, decisions, limits).outcome)
    if e["status"] != status:
        out.append(("可用性", f"{number}: the event says the record is {e['status']}; its route "
                              f"makes it {status}"))


def may_correct(before: Any, person: str) -> list[tuple[str, str]]:
    """Whether ``person`` may correct the record at all (asked first, before its values)."""
    number = before.number
    if before.status != "in progress":
        return [("可用性", f"{number} is {before.status}; it can no longer be corrected")]
    if person != before.applicant:
        return [("安全性", f"only the applicant {before.applicant} may correct {number}")]
    return []


def _correct(out: list, e: dict, before: Any, book: Book) -> None:
    number = e["record"]
    refused = may_correct(before, e["person"])
    if refused:
        out += refused
        return
    if not e["reason"].strip():
        out.append(("可用性", f"{number}: a correction needs a reason"))
    if not e["fields"]:
        out.append(("可用性", f"{number}: nothing to correct: the values are the same"))
    if e["previous"] != {k: before.fields.get(k) for k in e["fields"]}:
        out.append(("完整性", f"{number}: the correction's earlier values are not the record's"))
    flow = _flow(out, before, book)
    if flow is None or book.org is None:
        return
    derived = {f.id for f in flow.fields if f.derive is not None}
    base = {k: v for k, v in before.fields.items() if k not in derived}
    given = {k: v for k, v in e["fields"].items() if k not in derived}
    result = check_record(flow, book.org, RecordInput(flow.code, {**base, **given}, number,
                                                      applicant=before.applicant))
    for where, message in result.problems:
        out.append(("可用性", f"{number}: {where}: {message}"))
    if result.ok:
        new = json_values(result.values)
        changed = {k: v for k, v in new.items() if before.fields.get(k) != v}
        if changed != e["fields"]:
            out.append(("可用性", f"{number}: the corrected values are not the ones its flow "
                                  "gives (derived values included)"))


def _void(out: list, e: dict, before: Any, book: Book) -> None:
    number = e["record"]
    if before.status == "void":
        out.append(("可用性", f"{number} is void already"))
    if e["person"] != before.applicant:
        out.append(("安全性", f"only the applicant {before.applicant} may void {number}"))


def _rendition(out: list, e: dict, before: Any, book: Book) -> None:
    number = e["record"]
    if before.status not in ("complete", "rejected") or before.rendition:
        out.append(("可用性", f"{number}: a rendition follows the closing event, once"))
        return
    flow = _flow(out, before, book)
    if flow is None or book.blob_of is None:
        return
    data = book.blob_of(e["blob"])
    if data is None:
        return  # a missing blob: the blob check says so
    if book.render is not None:
        same = data == book.render(flow, before, book.org and book.org.limits)
    elif book.render_key is not None:
        same = data.startswith(b"%PDF") and \
            (RENDER_MARK + book.render_key(flow, before)).encode() in data
    else:
        return
    if not same:
        out.append(("可用性", f"{number}: the archived rendition is not the PDF its record "
                              "renders to"))


_RULES: dict[str, Callable[[list, dict, Any, Book], None]] = {
    "key": _key, "approve": _approve, "revoke": _revoke, "submit": _submit,
    "sign": _sign, "correct": _correct, "void": _void, "rendition": _rendition}


def _derived_differ(flow: Flow, values: dict[str, Any], archived: dict[str, Any]) -> bool:
    """Whether a submission's archived derived values are not the ones its flow computes from
    the others (the given values were just read from the archived ones, so only the derived
    can differ; comparing those alone keeps verify's replay cheap)."""
    derived = {f.id: values.get(f.id) for f in flow.fields if f.derive is not None}
    return json_values(derived) != {k: archived[k] for k in derived if k in archived}
