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
- ``sign``: the step the record waits for, a decision the step allows, by someone
  :mod:`records.authority` names for it (the applicant's own head, a role's holder, a deputy
  in force …; never the applicant on an approval), a 会签 vote marked ``partial`` until the
  last needed approval, the later steps the same signer's one signature satisfies (``auto``,
  同一审批人，自动通过) and the status the route gives;
- ``return`` (退回): by whoever may sign the waiting step, with a reason, to the start or to an
  earlier step the step's exits loop back to, naming the decisions that stand after it;
- ``resubmit``: by the applicant of a record returned to them, with values the flow accepts;
- ``withdraw`` (撤销): by the applicant, before anyone decided anything;
- ``transfer`` (转交): by whoever may sign the waiting step, to another holder of the same
  authority, with a reason;
- ``delegate`` (代理): a person names a deputy entitled to stand in for them, for dates;
- ``correct``: by the applicant, on an open record, changing values to ones the flow accepts;
  it voids the approvals given before (they saw the old values) — see ``records.apply``;
- ``void``: by the applicant, once;
- ``rendition``: after the closing event, by the same signer, exactly the PDF the record's
  state renders to.

Messages are the writer's refusals, one line each, naming the record and the rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Flow, Org, PublicKey
from ..records import Delegation, RecordInput, check_record, route
from ..records.authority import (
    Signers,
    delegation_problem,
    local_day,
    may_submit,
    signers,
    transfer_problem,
    why_not,
)
from ..records.routing import RouteError, rewind
from ..seal.signoff import verified
from ..trust import TrustRoot
from .state import RENDER_MARK, json_values, typed_fields
from .store import vouch_valid

MEANING = {"start": "编制", "approval": "审批", "decision": "复核"}
RECORD_TYPES = ("submit", "sign", "void", "rendition", "correct", "return", "resubmit",
                "withdraw", "transfer")
OPEN = ("in progress", "returned")


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
    # 代理 grants of the log that passed the rules, each with the seq of its entry
    delegations: list[Delegation] = field(default_factory=list)


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
    why = may_submit(flow, book.org, e["applicant"])
    if why:
        out.append(("安全性", f"{number}: {why}"))
    result = book.checked.pop(number, None)
    if result is None or result.flow.content_hash != flow.content_hash:
        result = check_record(flow, book.org, RecordInput(flow.code, e["fields"], number,
                                                          applicant=e["applicant"],
                                                          chosen=e.get("chosen", {})),
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


def _limits(book: Book) -> dict | None:
    """The authority matrix of the org in force, which conditions read (``limit(…)``)."""
    return book.org.limits if book.org is not None else None


def signers_now(flow: Flow, book: Book, before: Any, step_id: str, e: dict) -> Signers:
    """Who may sign ``step_id`` of the record now: the one answer, with what the record holds
    (the applicant's choice, 会签 votes, 转交) and the 代理 grants made before the event
    ``e`` (its ``seq`` and ``time`` are read)."""
    assert book.org is not None
    return signers(flow, book.org, step_id, before.applicant, chosen=before.chosen,
                   signed=before.votes.get(step_id, ()),
                   transfers=before.transfers.get(step_id, ()),
                   delegations=[d for d in book.delegations if d.seq < e["seq"]],
                   when=local_day(e["time"]), history=signed_by(before))


def signed_by(state: Any) -> dict[str, set[str]]:
    """Who signed which step of the record (signatures a correction or 退回 voided included:
    a person who once signed a step of a separated pair stays its signer for the other)."""
    out: dict[str, set[str]] = {}
    for e in state.signatures:
        if e.get("type") in ("submit", "sign") and e.get("step"):
            out.setdefault(e["step"], set()).add(e.get("person") or state.applicant)
    return out


def _waiting(out: list, e: dict, before: Any, book: Book):
    """``(flow, values, step, signers)`` when ``e`` acts on the step the record waits for, by
    someone who may sign it (in person or as a deputy, as the event says); else None."""
    number = e["record"]
    if before.status != "in progress":
        out.append(("可用性", f"{number} is {before.status}; it takes no more signatures"))
        return None
    flow = _flow(out, before, book)
    if flow is None:
        return None
    values = typed_fields(flow, before.fields)
    path = route(flow, values, before.decisions, _limits(book))
    if path.waiting_for != e["step"]:
        out.append(("可用性", f"{number} waits for step '{path.waiting_for or 'nothing'}', not "
                              f"'{e['step']}'"))
        return None
    if book.org is None:
        out.append(("安全性", f"{number}: no signed-off org.yaml was in force"))
        return None
    step = flow.step(e["step"])
    who = signers_now(flow, book, before, step.id, e)
    principal = e.get("on_behalf")
    if principal is not None:
        if (e["person"], principal) not in who.deputies:
            out.append(("安全性", f"{number}: {e['person']} signs for {principal} without a "
                                  f"delegation in force that lets them sign step '{step.id}'"))
            return None
        why = delegation_problem(book.org, principal, e["person"], local_day(e["time"]),
                                 local_day(e["time"]))
        if why:
            out.append(("安全性", f"{number}: {why}"))
            return None
    else:
        why = why_not(who, e["person"], book.org)
        if why is None and who.on_behalf(e["person"]) is not None:
            why = (f"{e['person']} may sign step '{step.id}' only as the deputy of "
                   f"{who.on_behalf(e['person'])} (the event must say so)")
        if why:
            out.append(("安全性", f"{number}: {why}"))
            return None
    return flow, values, step, who


def signing_outcome(flow: Flow, values: dict[str, Any], before: Any, step_id: str,
                    decision: str, who: Signers, person: str, deputy: bool,
                    org: Org, when: str) -> tuple[bool, list[list[str]], str]:
    """``(partial, auto, status)`` of ``person`` deciding ``decision`` on ``step_id``: whether
    it is a 会签 vote that does not decide the step yet, the later approvals the same signer's
    one signature satisfies (同一审批人，自动通过: the next step waits for nobody but them), and
    the record's status after it. The writer writes these into the event; the rule book
    checks them."""
    step = flow.step(step_id)
    approved = decision == step.decisions[0]
    if step.kind == "approval" and approved and who.needed > 1:
        return True, [], "in progress"
    decisions = {k: list(v) for k, v in before.decisions.items()}
    decisions.setdefault(step_id, []).append(decision)
    auto: list[list[str]] = []
    last = (step_id, decision)
    result = route(flow, values, decisions, org.limits)
    while (approved and not deputy and result.outcome == "pending" and result.waiting_for
           and len(auto) < len(flow.steps)):
        nxt = flow.step(result.waiting_for)
        if nxt.kind != "approval" or nxt.quorum != 1:
            break
        history = signed_by(before)
        history.setdefault(step_id, set()).add(person)
        later = signers(flow, org, nxt.id, before.applicant, chosen=before.chosen,
                        when=local_day(when), history=history)
        if later.people != (person,):
            break
        auto.append([nxt.id, nxt.decisions[0]])
        decisions.setdefault(nxt.id, []).append(nxt.decisions[0])
        last = (nxt.id, nxt.decisions[0])
        result = route(flow, values, decisions, org.limits)
    return False, auto, closing_status(flow, last[0], last[1], result.outcome)


def _sign(out: list, e: dict, before: Any, book: Book) -> None:
    number = e["record"]
    found = _waiting(out, e, before, book)
    if found is None:
        return
    flow, values, step, who = found
    if e["decision"] not in step.decisions:
        out.append(("可用性", f"{number}: decision must be one of {'/'.join(step.decisions)}, "
                              f"not '{e['decision']}'"))
        return
    if e["role"] != flow.lane(step.lane).name or e["meaning"] != MEANING.get(step.kind, "审批"):
        out.append(("可用性", f"{number}: the signature names another lane or meaning than "
                              f"step '{step.id}'"))
    assert book.org is not None
    try:
        partial, auto, status = signing_outcome(
            flow, values, before, step.id, e["decision"], who, e["person"],
            e.get("on_behalf") is not None, book.org, e["time"])
    except RouteError as exc:  # the decision leads where the flow does not allow (max_visits …)
        out.append(("可用性", f"{number}: '{e['decision']}' on step '{step.id}': {exc}"))
        return
    if bool(e.get("partial")) != partial or e.get("auto", []) != auto:
        def said(vote: bool, later: list) -> str:
            return ("a 会签 vote" if vote else "a decision") + \
                (f" also satisfying {', '.join(a for a, _ in later)}" if later else "")
        claimed = said(bool(e.get("partial")), e.get("auto", []))
        out.append(("可用性", f"{number}: the event says it is {claimed}; the rules make it "
                              f"{said(partial, auto)}"))
    if e["status"] != status:
        out.append(("可用性", f"{number}: the event says the record is {e['status']}; its route "
                              f"makes it {status}"))


def _return(out: list, e: dict, before: Any, book: Book) -> None:
    number = e["record"]
    found = _waiting(out, e, before, book)
    if found is None:
        return
    flow, values, step, _ = found
    if not e["reason"].strip():
        out.append(("可用性", f"{number}: 退回 needs a reason"))
    path = route(flow, values, before.decisions, _limits(book)).steps
    targets = {flow.start.id} | {x.to for x in step.exits if x.to in path[:-1]}
    if e["to"] not in targets:
        out.append(("可用性", f"{number}: step '{step.id}' may be returned to "
                              f"{', '.join(sorted(targets))}, not '{e['to']}'"))
        return
    status = "returned" if e["to"] == flow.start.id else "in progress"
    if e["decisions"] != rewind(flow, values, before.decisions, e["to"], _limits(book)) or \
            e["status"] != status:
        out.append(("可用性", f"{number}: the 退回's decisions or status are not the ones its "
                              "route gives"))


def _transfer(out: list, e: dict, before: Any, book: Book) -> None:
    number = e["record"]
    found = _waiting(out, e, before, book)
    if found is None:
        return
    flow, _, step, who = found
    if e.get("on_behalf") is not None:
        out.append(("安全性", f"{number}: a deputy signs; handing the step on (转交) is its "
                              "holder's"))
        return
    if not e["reason"].strip():
        out.append(("可用性", f"{number}: 转交 needs a reason"))
    assert book.org is not None
    why = transfer_problem(book.org, flow, step.id, before.applicant, e["to"], before.chosen)
    if why is None and (e["to"] in who.people or e["to"] in who.signed):
        why = f"{e['to']} is already asked to sign step '{step.id}'"
    if why:
        out.append(("安全性", f"{number}: {why}"))


def may_withdraw(before: Any, person: str) -> list[tuple[str, str]]:
    """Whether ``person`` may withdraw (撤销) the record: its applicant, before anyone
    decided anything."""
    number = before.number
    if before.status not in OPEN:
        return [("可用性", f"{number} is {before.status}; it can no longer be withdrawn")]
    if person != before.applicant:
        return [("安全性", f"only the applicant {before.applicant} may withdraw {number}")]
    if before.decisions or before.votes:
        return [("可用性", f"{number}: an approver has decided already; 撤销 is only before "
                           "anyone decides (void it instead)")]
    return []


def _withdraw(out: list, e: dict, before: Any, book: Book) -> None:
    out += may_withdraw(before, e["person"])


def delegation_of(e: dict[str, Any]) -> Delegation | None:
    """The grant a delegate entry makes (None if its dates are not dates)."""
    try:
        return Delegation(e["person"], e["deputy"], dt.date.fromisoformat(e["start"]),
                          dt.date.fromisoformat(e["until"]), e["seq"])
    except (ValueError, KeyError, TypeError):
        return None


def _delegate(out: list, e: dict, _before: Any, book: Book) -> None:
    if book.org is None:
        out.append(("安全性", "no signed-off org.yaml was in force"))
        return
    try:
        start, until = (dt.date.fromisoformat(e[k]) for k in ("start", "until"))
    except ValueError:
        out.append(("可用性", "the delegation's dates are not dates (YYYY-MM-DD)"))
        return
    why = delegation_problem(book.org, e["person"], e["deputy"], start, until)
    if why:
        out.append(("安全性", why))


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
    _new_values(out, e, before, book)


def may_resubmit(before: Any, person: str) -> list[tuple[str, str]]:
    """Whether ``person`` may send a record returned to them (退回) on again."""
    if before.status != "returned":
        return [("可用性", f"{before.number} is {before.status}, not returned to its applicant")]
    if person != before.applicant:
        return [("安全性", f"only the applicant {before.applicant} may resubmit "
                           f"{before.number}")]
    return []


def _resubmit(out: list, e: dict, before: Any, book: Book) -> None:
    refused = may_resubmit(before, e["person"])
    if refused:
        out += refused
        return
    _new_values(out, e, before, book)


def _new_values(out: list, e: dict, before: Any, book: Book) -> None:
    """A correction's or resubmission's changed values: the record's before them, and the
    ones its flow gives (derived values included)."""
    number = e["record"]
    if e["previous"] != {k: before.fields.get(k) for k in e["fields"]}:
        out.append(("完整性", f"{number}: the correction's earlier values are not the record's"))
    flow = _flow(out, before, book)
    if flow is None or book.org is None:
        return
    derived = {f.id for f in flow.fields if f.derive is not None}
    base = {k: v for k, v in before.fields.items() if k not in derived}
    given = {k: v for k, v in e["fields"].items() if k not in derived}
    result = check_record(flow, book.org, RecordInput(flow.code, {**base, **given}, number,
                                                      applicant=before.applicant,
                                                      chosen=before.chosen))
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
    "sign": _sign, "correct": _correct, "void": _void, "rendition": _rendition,
    "return": _return, "resubmit": _resubmit, "withdraw": _withdraw, "transfer": _transfer,
    "delegate": _delegate}


def _derived_differ(flow: Flow, values: dict[str, Any], archived: dict[str, Any]) -> bool:
    """Whether a submission's archived derived values are not the ones its flow computes from
    the others (the given values were just read from the archived ones, so only the derived
    can differ; comparing those alone keeps verify's replay cheap)."""
    derived = {f.id: values.get(f.id) for f in flow.fields if f.derive is not None}
    return json_values(derived) != {k: archived[k] for k in derived if k in archived}
