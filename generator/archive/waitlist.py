"""Who waits for whom: the derived index the 审批 screens (待办, 我发起的, 已处理, 抄送) read.

It keeps every record's state, folded from the committed log once and then from only the lines
committed since; for each record, who may sign it now (the rule book's own answer,
:func:`rulebook.signers_now`, so relative approvers, 会签, 转交 and 代理 need no rule here) and to
whom it is copied; and for each person the records waiting for them (oldest first), copied to
them, applied for and signed by them. A page reads one person's rows, never every record.

Like the search index, it is derived: in memory, made from the log when a process first asks,
never written anywhere; each server of a shared (PostgreSQL) archive keeps its own and catches
up by log position.

An answer depends on the record's events, the org, the key table and the 代理 grants in force
on the day. A new event of a record answers that record again; a key, org or 代理 entry in the
log, another org in the flows folder, or a day on which other grants are in force answers every
open record again, once.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..model import Flow, Library
from ..records import Signers
from ..records.authority import copied_to, local_day
from ..records.routing import route
from ..trust import now
from . import rulebook
from .events import reading_book
from .state import ArchivedFlows, RecordState, apply, typed_fields
from .store import Store as Archive

OPEN = ("in progress", "returned")
_NOTHING = object()  # the org of a list that answered nothing yet
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """Who may sign the record now (None: nobody, it is closed or waits for no one) and to whom
    the steps it reached copy it."""

    who: Signers | None
    copied: tuple[str, ...]

    def waiting_for(self) -> tuple[str, ...]:
        """Everyone it waits for: the people who may sign and their deputies."""
        if self.who is None:
            return ()
        return tuple(dict.fromkeys([*self.who.people, *(d for d, _ in self.who.deputies)]))


class Waitlist:
    """The index of one archive, kept current by :meth:`refresh`. Thread-safe: one lock
    guards folding and reading, so a page never sees a record half-folded."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.bytes = 0
        self.size = 0
        self.states: dict[str, RecordState] = {}
        self.open: set[str] = set()
        self.by_applicant: dict[str, list[str]] = {}
        self.by_signer: dict[str, list[str]] = {}
        self.answers: dict[str, Answer] = {}
        self.last: dict[str, int] = {}  # each record's last entry in the log (its seq)
        self.waiting: dict[str, dict[str, None]] = {}  # person -> numbers, oldest first
        self.copied: dict[str, dict[str, None]] = {}  # person -> numbers, in log order
        self.generation = 0  # counts the key, org and 代理 entries folded
        # what the answers were given under: the org, and (generation, day, grants in force)
        self.org: object = _NOTHING
        self.basis: tuple = (-1, None, frozenset())
        self.touched: dict[str, None] = {}  # records with events not answered yet, in order
        self._flow = ArchivedFlows(self.archive)
        self.moment = ""

    # -- keeping current ---------------------------------------------------------------------
    def refresh(self, library: Library) -> None:
        """Fold the lines committed since the last look (all again if the log shrank) and
        answer again what they, the 代理 grants in force today or ``library``'s org changed."""
        with self.lock:
            self._fold()
            self.moment = now()  # one moment for every answer of this look
            day = local_day(self.moment)
            # the org by identity, held: an id() of a freed org could be a new org's
            if not self.touched and self.org is library.org and \
                    (self.generation, day) == self.basis[:2]:
                return
            book = reading_book(self.archive, library, self._flow)
            in_force = frozenset(d.seq for d in book.delegations if d.in_force(day))
            if self.org is not library.org or (self.generation, in_force) != \
                    (self.basis[0], self.basis[2]):
                self._answer_all(book, library)
            else:
                for number in self.touched:
                    self._answer(number, book, library)
            self.touched.clear()
            self.org, self.basis = library.org, (self.generation, day, in_force)

    def _fold(self) -> None:
        cp = self.archive.checkpoint()
        if cp is None or cp.bytes < self.bytes or cp.size < self.size:
            self._reset()
        if cp is None or cp.bytes == self.bytes:
            return
        for _, line in self.archive.lines(self.bytes, cp.bytes):
            if not line:
                continue
            e = json.loads(line)
            number = e.get("record")
            if number is None:
                self.generation += 1
                continue
            known = number in self.states
            apply(self.states, e)
            state = self.states.get(number)
            if state is None:
                continue
            if not known:
                self.by_applicant.setdefault(state.applicant, []).append(number)
            person = e.get("person")
            if person and e["type"] in ("sign", "return", "transfer") and \
                    number not in self.by_signer.get(person, ()):
                self.by_signer.setdefault(person, []).append(number)
            if state.status in OPEN:
                self.open.add(number)
            else:
                self.open.discard(number)
            self.last[number] = e.get("seq", 0)
            self.touched.pop(number, None)  # to the end: the order of the last events
            self.touched[number] = None
        self.bytes, self.size = cp.bytes, cp.size

    def _answer_all(self, book: rulebook.Book, library: Library) -> None:
        """Answer every open record again, the one whose last event is oldest first, and the
        closed ones touched."""
        self.waiting = {}
        for number in sorted(self.open, key=self.last.__getitem__):
            self._answer(number, book, library)
        for number in self.touched:
            if number not in self.open:
                self._answer(number, book, library)

    def _forget(self, number: str, answer: Answer) -> None:
        for person in answer.waiting_for():
            self.waiting.get(person, {}).pop(number, None)
        for person in answer.copied:
            self.copied.get(person, {}).pop(number, None)

    def _answer(self, number: str, book: rulebook.Book, library: Library) -> None:
        state = self.states[number]
        old = self.answers.pop(number, None)
        if old is not None:
            self._forget(number, old)
        flow = self._flow(state.flow_blob)
        org = library.org
        if flow is None or org is None:
            return
        path = route(flow, typed_fields(flow, state.fields), state.decisions, org.limits)
        who = None
        if state.status == "in progress" and path.waiting_for is not None:
            who = rulebook.signers_now(flow, book, state, path.waiting_for,
                                       {"seq": self.size, "time": self.moment})
        answer = Answer(who, tuple(p for p in copied_to(flow, org, path.steps)
                                   if p != state.applicant))
        self.answers[number] = answer
        for person in answer.waiting_for():
            self.waiting.setdefault(person, {})[number] = None
        for person in answer.copied:
            self.copied.setdefault(person, {})[number] = None

    # -- reading -----------------------------------------------------------------------------
    def lists(self, person: str, limit: int,
              make: Callable[[RecordState, Flow, Signers | None], T]) -> tuple[
                  list[T], int, list[T], list[T], list[T]]:
        """``person``'s rows, each made by ``make(state, flow, signers)`` while the index is
        held still: the ``limit`` oldest waiting for them and how many wait in all; the
        ``limit`` newest they applied for, signed (not their own) and were copied (not waiting
        for them)."""
        with self.lock:
            def rows(numbers) -> list[T]:
                out = []
                for n in numbers:
                    state = self.states[n]
                    flow = self._flow(state.flow_blob)
                    if flow is not None:
                        answer = self.answers.get(n)
                        out.append(make(state, flow, answer.who if answer else None))
                return out

            mine = self.waiting.get(person, {})
            signed = (n for n in reversed(self.by_signer.get(person, []))
                      if self.states[n].applicant != person)
            copied = (n for n in reversed(self.copied.get(person, {})) if n not in mine)
            return (rows(itertools.islice(mine, limit)), len(mine),
                    rows(self.by_applicant.get(person, [])[-limit:][::-1]),
                    rows(itertools.islice(signed, limit)),
                    rows(itertools.islice(copied, limit)))


def since(state: RecordState) -> str:
    """When the record came to the step it is at: its last event's time."""
    return state.history[-1]["time"] if state.history else state.created
