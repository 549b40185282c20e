"""What a person's 审批 screens list: 待办 (steps waiting for me, oldest first), 我发起的 (my
records and where each stands) and 已处理 (what I signed), and who may open a record at all.

"Waiting for me" is the rule book's own answer (:func:`archive.rulebook.signers_now`), so a
relative approver, a 会签 still missing my vote, a 转交 to me or a delegation in force show up
here without a rule of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..archive.state import RecordState, status_text
from ..archive.waitlist import Waitlist, since
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


def _item(state: RecordState, flow: Flow, who: Signers | None, me: str | None = None) -> Item:
    text = f"{who.text}（{who.lane}）" if who is not None else ""
    return Item(state.number, flow.code, flow.name, state.applicant, state.created,
                status_text(state.status), who.step if who else None, text,
                since(state), who.on_behalf(me) if who is not None and me else None)


def waitlist(ws: Workspace) -> Waitlist:
    """The archive's waiting list (:mod:`archive.waitlist`), kept by the workspace and
    brought up to the log by each request."""
    return ws.kept("waitlist", lambda: Waitlist(ws.archive()))


def inbox(ws: Workspace, person: str) -> Inbox:
    """``person``'s lists, read from the waiting list brought up to the log: their rows only,
    never a walk of every record."""
    wl = waitlist(ws)
    wl.refresh(ws.library)
    waiting, total, mine, done, copied = wl.lists(
        person, LIST, lambda s, f, w: _item(s, f, w, person))
    return Inbox(waiting, mine, done, copied, total)


def warm(ws: Workspace) -> None:
    """Bring the waiting list and the search index up to the log (a server's start, in the
    background), so the first person to open 待办 or search does not wait for a whole
    archive to be read. An archive that cannot be read yet is left for the pages to report."""
    from ..errors import FlowdocError
    from . import audit

    try:
        waitlist(ws).refresh(ws.library)
        if ws.archive().exists():
            audit.kept_index(ws).catch_up()
    except FlowdocError:
        pass


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
