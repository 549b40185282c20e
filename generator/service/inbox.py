"""What a person's 审批 screens list: 待办 (steps waiting for me, oldest first), 我发起的 (my
records and where each stands) and 已处理 (what I signed), and who may open a record at all.

"Waiting for me" is the rule book's own answer (:func:`archive.rulebook.signers_now`), so a
relative approver, a 会签 still missing my vote, a 转交 to me or a delegation in force show up
here without a rule of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..archive import events
from ..archive.state import RecordState, status_text
from ..model import Flow
from ..records import Signers
from .people import Person
from .records import Waiting
from .workspace import Workspace


@dataclass(frozen=True)
class Item:
    """One row of a list: a record, where it stands and since when."""

    number: str
    flow: str
    flow_name: str
    applicant: str
    created: str
    status: str  # 办理中 / 已退回 / 已完成 …
    step: str | None  # the step it waits for (its id)
    step_text: str  # 审批（部门负责人）…
    since: str  # when it came to this step (the last event's time)
    on_behalf: str | None = None  # whom I would sign for, as a deputy

    @property
    def waited(self) -> str:
        """How long it has waited, in words (天/小时)."""
        then = dt.datetime.fromisoformat(self.since)
        hours = int((dt.datetime.now(dt.UTC) - then).total_seconds() // 3600)
        if hours < 1:
            return "不足 1 小时"
        return f"{hours // 24} 天" if hours >= 24 else f"{hours} 小时"


@dataclass(frozen=True)
class Inbox:
    waiting: list[Item]  # the LIST oldest of them
    mine: list[Item]
    done: list[Item]
    copied: list[Item]  # 抄送 to me
    waiting_total: int = 0  # how many wait for me in all


def _since(state: RecordState) -> str:
    """When it came to the step it is at: its last event's time."""
    return state.history[-1]["time"] if state.history else state.created


def _item(state: RecordState, flow: Flow, who: Signers | None, me: str | None = None) -> Item:
    text = f"{who.text}（{who.lane}）" if who is not None else ""
    since = _since(state)
    return Item(state.number, flow.code, flow.name, state.applicant, state.created,
                status_text(state.status), who.step if who else None, text,
                since, who.on_behalf(me) if who is not None and me else None)


_LIVE: dict[str, events.LiveStates] = {}


def live_states(ws: Workspace) -> events.LiveStates:
    """The archive's record states, kept current across requests of one process."""
    key = str(ws.archive_dir)
    if key not in _LIVE:
        _LIVE[key] = events.LiveStates(ws.archive())
    return _LIVE[key]


def inbox(ws: Workspace, person: str) -> Inbox:
    """``person``'s lists: the open records (for 待办 and 抄送), and their own and signed
    ones by the indexes the live states keep — never a walk of every closed record."""
    from ..archive.state import typed_fields
    from ..records import route
    from ..records.authority import copied_to

    live = live_states(ws)
    live.refresh()
    org = ws.library.org
    limits = org.limits if org is not None else None
    waiting, copied = [], []
    for state, flow, who in events.waiting_all(ws.archive(), ws.library, live,
                                               sorted(live.open)):
        if who is not None and (person in who.people or who.on_behalf(person)):
            waiting.append((_since(state), state, flow, who))
        elif org is not None and state.applicant != person:
            reached = route(flow, typed_fields(flow, state.fields), state.decisions,
                            limits).steps
            if person in copied_to(flow, org, reached):
                copied.append(_item(state, flow, who))
    waiting.sort(key=lambda row: row[0])
    oldest = [_item(s, f, w, person) for _, s, f, w in waiting[:LIST]]
    mine = [_item(s, f, w) for s, f, w in events.waiting_all(
        ws.archive(), ws.library, live, live.by_applicant.get(person, [])[-LIST:])]
    signed = [n for n in live.by_signer.get(person, []) if live.states[n].applicant != person]
    done = [_item(s, f, w) for s, f, w in events.waiting_all(
        ws.archive(), ws.library, live, signed[-LIST:])]
    for rows in (mine, done, copied):
        rows.sort(key=lambda i: i.created, reverse=True)
    return Inbox(oldest, mine, done, copied, len(waiting))


LIST = 200  # the newest of 我发起的 and 已处理 a page shows


def may_open(who: Person, found: Waiting) -> bool:
    """Whether ``who`` may see the record ``found`` (:func:`records.waiting`'s answer): its
    applicant, anyone who signed it or may sign it now, whoever it is copied to, and
    auditors and document controllers."""
    if who.auditor or who.doc_control:
        return True
    state = found.state
    return (state.applicant == who.name
            or any(e.get("person") == who.name for e in state.signatures)
            or found.may_sign(who.name) or who.name in found.copied_to)
