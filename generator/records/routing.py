"""The path a record takes through its flow, from its field values and the decisions taken.

Pure functions: the same values and decisions always give the same path. A decision is given
per step as a sequence, one entry per visit, because a loop (不同意或调整 → 修改 → 审核 again)
visits the same step more than once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import FlowdocError
from ..expr import LIMITS, ExprError
from ..model import Flow
from .values import FieldError, derived_number

MAX_STEPS = 500  # a path longer than this is a loop nobody is breaking


class RouteError(FlowdocError):
    """The values or decisions do not lead anywhere the flow allows."""

    code = "invalid"


@dataclass(frozen=True)
class Route:
    """The path a record takes: the steps visited, how it ended (or which step it waits for)
    and the exit taken after each decided step."""

    steps: tuple[str, ...]  # step ids in the order visited
    outcome: str  # "complete", "rejected" or "pending"
    waiting_for: str | None = None  # the step whose decision is needed next, when pending
    exits: tuple[str, ...] = ()  # the exit label taken after each decided step, in order


def derive_values(flow: Flow, values: Mapping[str, Any],
                  limits: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """``values`` plus every derived field computed from them (in dependency order).
    ``limits``: the authority matrix of the org in force (``Org.limits``), which
    ``limit(kind, level)`` in a derivation reads."""
    result = dict(values)
    pending = [f for f in flow.fields if f.derive is not None]
    for _ in range(len(pending) + 1):
        remaining = []
        for f in pending:
            assert f.derive is not None
            if any(n in {p.id for p in pending} for n in f.derive.names):
                remaining.append(f)
                continue
            if any(result.get(n) is None for n in f.derive.names):
                result[f.id] = None
                continue
            try:
                value = f.derive.evaluate({**result, LIMITS: limits} if f.derive.limits
                                          else result)
                # rounded as typed_values rounds it: conditions see the value that is archived
                result[f.id] = derived_number(value) if f.type == "number" else value
            except (ExprError, FieldError) as exc:
                raise RouteError(f"{f.label}（{f.id}）: {exc}") from None
        if len(remaining) == len(pending):
            break
        pending = remaining
    return result


def route(
    flow: Flow,
    values: Mapping[str, Any],
    decisions: Mapping[str, str | Sequence[str]] | None = None,
    limits: Mapping[str, Mapping[str, Any]] | None = None,
) -> Route:
    """Walk ``flow`` from its start. Stops at an end, at a rejection, or at the first approval or
    decision whose outcome is not given yet (``outcome == "pending"``). ``limits`` is the
    authority matrix of the org the record is evaluated against (``Org.limits``): conditions
    such as ``amount <= limit('refund', 'ec_manager')`` read it."""
    env = derive_values(flow, values, limits)
    queues = {k: [v] if isinstance(v, str) else list(v) for k, v in (decisions or {}).items()}
    steps = {s.id: s for s in flow.steps}
    visited: list[str] = []
    taken: list[str] = []
    current = flow.start
    while True:
        visited.append(current.id)
        if len(visited) > MAX_STEPS:
            raise RouteError(f"the path passes more than {MAX_STEPS} steps; a loop is not broken")
        if current.max_visits is not None and visited.count(current.id) > current.max_visits:
            raise RouteError(f"step '{current.id}' ({current.text}) may be passed at most "
                             f"{_times(current.max_visits)} in a record; this path would pass "
                             f"it {_times(visited.count(current.id))}")
        if current.is_end:
            return Route(tuple(visited), "complete", None, tuple(taken))
        if current.kind not in ("approval", "decision"):
            assert current.next is not None
            current = steps[current.next]
            continue
        if current.automatic or current.document is not None:
            decision = None  # routed by the fields; a document's approval is not the record's
        elif not (queue := queues.get(current.id)):
            return Route(tuple(visited), "pending", current.id, tuple(taken))
        else:
            decision = queue.pop(0)
        if decision is not None and decision not in current.decisions:
            raise RouteError(
                f"'{decision}' is not a decision of step '{current.id}' "
                f"({'/'.join(current.decisions)})"
            )
        if not current.exits and current.document is not None:
            assert current.next is not None
            current = steps[current.next]
            continue
        if not current.exits:  # an approval with `next`: its first decision is the approved one
            if decision != current.decisions[0]:
                taken.append(decision)
                return Route(tuple(visited), "rejected", None, tuple(taken))
            taken.append(decision)
            assert current.next is not None
            current = steps[current.next]
            continue
        scope = {**env, "decision": decision, LIMITS: limits}
        for ex in current.exits:
            if ex.when is not None:
                try:
                    holds = bool(ex.when.evaluate(scope))
                except ExprError as exc:
                    raise RouteError(f"step '{current.id}', exit '{ex.label}': {exc}") from None
            else:
                holds = ex.label == decision or ex.label not in current.decisions
            if holds:
                taken.append(ex.label)
                current = steps[ex.to]
                break
        else:
            raise RouteError(f"no exit of step '{current.id}' is taken"
                             + (f" with decision '{decision}'" if decision else ""))


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def rewind(flow: Flow, values: Mapping[str, Any], decisions: Mapping[str, Sequence[str]],
           target: str, limits: Mapping[str, Mapping[str, Any]] | None = None
           ) -> dict[str, list[str]]:
    """The decisions that stand when a record is sent back (退回) to ``target``: those taken
    on the path before its last visit of ``target``; the rest no longer count. The start
    keeps none: the applicant sends the record on again and every step is decided anew."""
    path = route(flow, values, decisions, limits).steps
    if target not in path:
        raise RouteError(f"step '{target}' is not on the record's path")
    cut = len(path) - 1 - path[::-1].index(target)
    kept: dict[str, list[str]] = {}
    for step_id in path[:cut]:
        step = flow.step(step_id)
        if step.kind in ("approval", "decision") and not step.automatic:
            given = list(decisions.get(step_id, []))
            n = len(kept.get(step_id, [])) + 1
            if n <= len(given):
                kept[step_id] = given[:n]
    return kept
