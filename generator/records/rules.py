"""Record rules: is this record acceptable under its flow, which path will it take, and who
may sign each step on it (pure functions over the model).

The path assumes every approval still ahead is granted (its first decision, 同意) and stops
at the first judgement nobody can foresee (合格/不合格 …); decisions already taken can be
given. Who may sign each step is :mod:`.authority`'s answer for this applicant; the applicant
never approves or judges their own request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Flow, Org
from .authority import Signers, signers, why_not
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
    chosen: Mapping[str, str] = field(default_factory=dict)  # 发起人自选: lane id → person


@dataclass(frozen=True)
class RecordCheck:
    """A record checked against its flow: typed values, problems (none: acceptable), its path,
    and who may sign each step on it for this applicant."""

    flow: Flow
    values: dict[str, Any]
    problems: tuple[tuple[str, str], ...]  # (where, message)
    route: Route | None
    signers: tuple[Signers, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def may_sign(flow: Flow, org: Org, step_id: str, person: str, applicant: str | None,
             **record: Any) -> str | None:
    """``None`` if ``person`` may sign ``step_id`` of a record by ``applicant``; else why not.
    ``record``: what the record holds that narrows it (see :func:`authority.signers`)."""
    return why_not(signers(flow, org, step_id, applicant, **record), person, org)


def check_record(flow: Flow, org: Org, record: RecordInput,
                 signers_cache: dict[tuple[str, str | None], Signers] | None = None
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
    found: list[Signers] = []
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
                    key = (step_id, record.applicant, tuple(sorted(record.chosen.items())))
                    s = signers_cache.get(key) if signers_cache is not None else None
                    if s is None:
                        s = signers(flow, org, step_id, record.applicant, chosen=record.chosen)
                        if signers_cache is not None:
                            signers_cache[key] = s
                    found.append(s)
                    relative = flow.lane(flow.step(step_id).lane).approver != "role"
                    if not s.people and not s.anyone and (record.applicant or not relative):
                        problems.append((f"steps.{step_id}", f"nobody may sign '{s.text}' "
                                         f"({s.lane}: {s.rule}) but the applicant"))
    return RecordCheck(flow, values, tuple(problems), path, tuple(found))
