"""Record rules: is this record acceptable under its flow, which path will it take, and who
may sign each step on it (pure functions over the model).

The path assumes every approval still ahead is granted (its first decision, 同意) and stops
at the first judgement nobody can foresee (合格/不合格 …); decisions already taken can be
given. Signers of a step are the holders of its lane's role in org.yaml; the applicant never
approves or judges their own request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Flow, Org
from .routing import Route, RouteError, route
from .values import typed_values


@dataclass(frozen=True)
class RecordInput:
    """What a filled form or a YAML/JSON record says, before any checking."""

    flow: str
    fields: Mapping[str, Any]
    source: str = "<record>"
    revision: str | None = None  # the flow revision the form was made from
    flow_hash: str | None = None  # the content hash of that flow
    applicant: str | None = None
    decisions: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StepSigners:
    step: str
    text: str
    lane: str  # the lane's printed name
    kind: str
    people: tuple[str, ...]  # who may sign it
    anyone: bool = False  # any employee (the applicant's own steps)


@dataclass(frozen=True)
class RecordCheck:
    flow: Flow
    values: dict[str, Any]
    problems: tuple[tuple[str, str], ...]  # (where, message)
    route: Route | None
    signers: tuple[StepSigners, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def signers_for(flow: Flow, org: Org, step_id: str, applicant: str | None) -> StepSigners:
    step = flow.step(step_id)
    lane = flow.lane(step.lane)
    role = org.role(lane.role)
    anyone = bool(role and role.anyone)
    people = tuple(p.name for p in org.holders(lane.role))
    if step.kind in ("approval", "decision") and applicant:
        people = tuple(p for p in people if p != applicant)  # nobody approves their own request
    return StepSigners(step.id, step.text, lane.name, step.kind, people, anyone)


def may_sign(flow: Flow, org: Org, step_id: str, person: str, applicant: str | None) -> str | None:
    """``None`` if ``person`` may sign ``step_id`` of a record by ``applicant``; else why not."""
    step = flow.step(step_id)
    lane = flow.lane(step.lane)
    if org.person(person) is None:
        return f"'{person}' is not a person in org.yaml"
    if not org.may_sign(person, lane.role):
        return f"{person} does not hold the lane {lane.name} ({lane.role}) of step '{step_id}'"
    if step.kind in ("approval", "decision") and applicant == person:
        return f"{person} applied; an applicant may not approve their own request"
    return None


def check_record(flow: Flow, org: Org, record: RecordInput,
                 signers_cache: dict[tuple[str, str | None], StepSigners] | None = None
                 ) -> RecordCheck:
    """The record's values, problems, path and signers under ``flow`` and ``org``.

    ``signers_cache``: a dict kept by a caller that checks many records of one flow and org
    (an import, verify): who may sign a step depends on the step and the applicant only, not
    on the values, and working it out again was a third of the check."""
    problems: list[tuple[str, str]] = []
    if record.flow != flow.code:
        problems.append(("flow", f"the record is for {record.flow}, not {flow.code}"))
    if record.revision is not None and record.revision != flow.revision:
        problems.append(("revision", f"the form was made from revision {record.revision} of "
                         f"{flow.code}; the controlled flow is now revision {flow.revision}"))
    elif record.flow_hash is not None and record.flow_hash != flow.content_hash:
        problems.append(("revision", f"the form was made from other content of {flow.code} "
                         f"revision {flow.revision} ({record.flow_hash[:12]}… , now "
                         f"{flow.content_hash[:12]}…); make the form again"))
    if record.applicant is not None and org.person(record.applicant) is None:
        problems.append(("applicant", f"'{record.applicant}' is not a person in org.yaml"))
    values, field_problems = typed_values(flow, record.fields)
    problems += field_problems
    path: Route | None = None
    signers: list[StepSigners] = []
    if not field_problems:
        decisions: dict[str, list[str]] = {k: list(v) for k, v in record.decisions.items()}
        for step in flow.steps:  # approvals not yet decided: assume granted, to show the path
            if step.kind == "approval" and step.id not in decisions:
                decisions[step.id] = [step.decisions[0]] * 20
        try:
            path = route(flow, values, decisions, org.limits)
        except RouteError as exc:
            problems.append(("steps", str(exc)))
        if path is not None:
            seen = []
            for step_id in path.steps:
                if flow.step(step_id).signed and step_id not in seen:
                    seen.append(step_id)
                    key = (step_id, record.applicant)
                    s = signers_cache.get(key) if signers_cache is not None else None
                    if s is None:
                        s = signers_for(flow, org, step_id, record.applicant)
                        if signers_cache is not None:
                            signers_cache[key] = s
                    signers.append(s)
                    if not s.people and not s.anyone:
                        problems.append((f"steps.{step_id}", f"nobody may sign '{s.text}' "
                                         f"({s.lane}) but the applicant"))
    return RecordCheck(flow, values, tuple(problems), path, tuple(signers))
