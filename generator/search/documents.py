"""What one archived record looks like to the index: a flat document derived from its state.

The document is computed from the record's events alone (and the flow it was made under), so
rebuilding the index from the log always gives the same documents. Nothing in it is trusted
by ``verify``.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Flow, Org
from .analysis import identifier, streams

# Fields holding several exact values a record, searched as keywords by every backend
KEYWORDS = ("signer", "lane", "meaning", "decision", "department", "ids")
# what a search page counts its matches by (dates by month)
FACETS = ("flow", "status", "department", "signer", "created")
# The number of the index's own document, which holds the log position it has reached
META = "\x00meta"
STATUS_CODES = {"in progress": "in_progress", "complete": "complete", "rejected": "rejected",
                "void": "void", "returned": "returned", "withdrawn": "withdrawn"}
# Fields whose values are numbers someone will look up whole: order, waybill, ticket, voucher …
_IDENTIFIER_FIELD = re.compile(r"(?:_no|_serial|^sku)$")


def day(iso: str) -> int:
    """``2026-11-02T09:30:00Z`` as 20261102."""
    return int(iso[:10].replace("-", ""))


def _values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [x for v in value for x in _values(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _values(v)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value)]


def _identifiers(fields: dict[str, Any]) -> list[str]:
    found = []
    for key, value in fields.items():
        if isinstance(value, list):  # a table: its rows are mappings of column → value
            for row in value:
                if isinstance(row, dict):
                    found += _identifiers(row)
        elif _IDENTIFIER_FIELD.search(key) and isinstance(value, str) and value.strip():
            found.append(identifier(value))
    return found


def record_document(state: Any, flow: Flow | None, org: Org | None,
                    offsets: list[int]) -> dict[str, Any]:
    """The index document of one record (``state`` is an archive RecordState)."""
    lanes = {lane.id: lane.name for lane in flow.lanes} if flow else {}
    steps = {s.id: s for s in flow.steps} if flow else {}
    signers, lane_names, meanings, decisions, signed_days, parts = [], [], [], [], [], []
    for sig in state.signatures:
        person = sig.get("person") or sig.get("applicant") or ""
        signers.append(person)
        meanings.append(sig.get("meaning", ""))
        step = steps.get(sig.get("step", ""))
        if step is not None:
            lane_names.append(lanes.get(step.lane, ""))
            parts.append(step.text)
        if sig.get("decision"):
            decisions.append(sig["decision"])
        signed_days.append(day(sig["time"]))
        parts += [person, sig.get("meaning", ""), sig.get("decision", ""), sig.get("comment", "")]
    for event in state.history:
        if event["type"] in ("void", "correct", "return", "withdraw", "transfer", "resubmit"):
            parts += [event["person"], event.get("reason", "")]
    departments = [flow.owner_department] if flow else []
    if org is not None and org.person(state.applicant) is not None:
        departments.append(org.department_name(state.applicant))
    for key in ("department", "dept"):
        if isinstance(state.fields.get(key), str):
            departments.append(state.fields[key])
    flow_name = flow.name if flow else ""
    text = " ".join(p for p in [state.number, state.flow_code, flow_name, state.applicant,
                                *_values(state.fields), *parts] if p)
    status = STATUS_CODES.get(state.status, state.status)
    return {
        "number": state.number,
        "flow": state.flow_code,
        "status": status,
        "created": day(state.created),
        # creation day, then log order: the same order from every backend, ties included
        "order": day(state.created) * 10**10 + state.history[0]["seq"],
        "signed": sorted(set(signed_days)),
        "signer": _unique(signers),
        "lane": _unique(lane_names),
        "meaning": _unique(meanings),
        "decision": _unique(decisions),
        "department": _unique(departments),
        "ids": _unique([identifier(state.number), *_identifiers(state.fields)]),
        **streams(text),  # units, grams, tris
        "stored": {"number": state.number, "flow": state.flow_code, "flow_name": flow_name,
                   "status": status, "applicant": state.applicant, "created": state.created,
                   "text": text, "offsets": offsets},
    }


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
