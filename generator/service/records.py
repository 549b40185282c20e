"""Records: check a filled form, open a record, sign, correct, void, show and export it.

What a front door needs beyond the archive's own operations lives here once: which files are
records, that a file naming its applicant is that person's request, that an export hands out
only the rendition the log names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..archive import events as archive_records
from ..archive.state import RecordState
from ..archive.store import ArchiveError
from ..errors import FlowdocError
from ..model import Flow
from ..records import RecordCheck, RecordInput, Signers, check_record, read_record
from .workspace import Workspace

RECORD_SUFFIXES = (".yaml", ".yml", ".json", ".pdf")  # what `record import` takes from a folder


class NotFound(FlowdocError):
    """No such record, flow or rendition."""

    code = "not_found"


class ApplicantMismatch(FlowdocError):
    """A record file names another applicant than the person submitting it."""

    code = "invalid"


def read(ws: Workspace, path: Path) -> RecordInput:
    """A filled form (PDF) or a YAML/JSON record, read against the workspace's flows."""
    flows = {f.code: f for f in ws.library.flows}
    if path.suffix.lower() == ".pdf":
        from ..forms.filled import read_filled_record

        return read_filled_record(path, flows)
    return read_record(path, flows)


def same_applicant(path: Path, written: str | None, person: str) -> None:
    """A record file that names its applicant is that person's request: submitting it as
    someone else would sign another person's request in their own name (a file without
    ``applicant:`` is anyone's)."""
    if written is not None and written != person:
        raise ApplicantMismatch(f"{path}: applicant: {written} in the file, but --as {person}; "
                                "a record is submitted by its applicant")


def flow_of(ws: Workspace, code: str, source: Path | None = None) -> Flow:
    """The workspace's flow ``code``, or NotFound naming the file that asked for it."""
    try:
        return ws.library.flow(code)
    except KeyError:
        where = f"{source}: " if source is not None else ""
        raise NotFound(f"{where}no flow with code '{code}'") from None


def check(ws: Workspace, path: Path, applicant: str | None = None,
          chosen: dict[str, str] | None = None) -> RecordCheck:
    """What ``record check`` shows: values, problems, the path and who may sign each step
    (for this applicant), archiving nothing."""
    data = read(ws, path)
    if applicant:
        same_applicant(path, data.applicant, applicant)  # as submit would refuse it
        data = replace(data, applicant=applicant)
    if chosen:
        data = replace(data, chosen=chosen)
    flow = flow_of(ws, data.flow, path)
    assert ws.library.org is not None
    return check_record(flow, ws.library.org, data)


Prepared = list[tuple[RecordInput, bytes]]


def preview(ws: Workspace, code: str, fields: dict[str, Any], applicant: str | None,
            chosen: dict[str, str] | None = None) -> RecordCheck:
    """A form being filled, checked as ``record check`` checks it: typed and derived values,
    per-field problems, the path and who would sign (what a screen shows while typing)."""
    flow = flow_of(ws, code)
    assert ws.library.org is not None
    return check_record(flow, ws.library.org, RecordInput(code, fields, "form",
                                                          applicant=applicant,
                                                          chosen=chosen or {}))


def prepare_values(ws: Workspace, code: str, fields: dict[str, Any], person: str,
                   chosen: dict[str, str] | None = None) -> Prepared:
    """A form filled on screen, as a record ``submit`` takes: the original the archive keeps
    is the canonical JSON of what was typed (flow code and fields)."""
    from ..seal.canonical import canonical

    flow_of(ws, code)
    data = RecordInput(code, fields, "form", applicant=person, chosen=chosen or {})
    return [(data, canonical({"flow": code, "fields": fields}))]


def prepare(ws: Workspace, paths: list[Path], person: str,
            chosen: dict[str, str] | None = None) -> Prepared:
    """The records of ``paths`` read and owned by ``person``, with their original bytes (what
    the archive keeps): everything about the files is settled before a passphrase is asked.
    ``chosen``: the approvers the applicant names for lanes of ``approver: chosen``."""
    items = []
    for path in paths:
        data = read(ws, path)
        same_applicant(path, data.applicant, person)
        if chosen:
            data = replace(data, chosen=chosen)
        items.append((data, path.read_bytes()))
    return items


def record_files(folder: Path) -> list[Path]:
    """What ``record import`` takes from a folder: its YAML, JSON and PDF files, by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in RECORD_SUFFIXES)


def submit(ws: Workspace, prepared: Prepared, person: str, passphrase: str) -> str:
    """Open one record (signed by its applicant); its number."""
    [(data, original)] = prepared
    return archive_records.submit(ws.archive(write=True), ws.library, data, original, person,
                                  passphrase)


def import_records(ws: Workspace, prepared: Prepared, person: str, passphrase: str) -> list[str]:
    """Many records submitted as one batch, all or nothing; their numbers."""
    return archive_records.import_records(ws.archive(write=True), ws.library, prepared, person,
                                          passphrase)


def sign(ws: Workspace, number: str, step: str, person: str, passphrase: str,
         decision: str | None, comment: str = "") -> RecordState:
    """``person`` decides ``step`` of record ``number`` (who may is the rule book's answer)."""
    return archive_records.sign_step(ws.archive(write=True), ws.library, number, step, person,
                                     passphrase, decision, comment)


def return_step(ws: Workspace, number: str, step: str, to: str, person: str, passphrase: str,
                reason: str) -> RecordState:
    """退回: send record ``number`` back from its waiting ``step`` to ``to``."""
    return archive_records.return_step(ws.archive(write=True), ws.library, number, step, to,
                                       person, passphrase, reason)


def resubmit(ws: Workspace, number: str, person: str, passphrase: str, changes: dict[str, Any],
             reason: str) -> RecordState:
    """The applicant sends a returned record on again (with changed values, or none)."""
    return archive_records.resubmit(ws.archive(write=True), ws.library, number, person,
                                    passphrase, changes, reason)


def withdraw(ws: Workspace, number: str, person: str, passphrase: str,
             reason: str) -> RecordState:
    """撤销: the applicant withdraws a record nobody has decided on."""
    return archive_records.withdraw(ws.archive(write=True), ws.library, number, person,
                                    passphrase, reason)


def transfer(ws: Workspace, number: str, step: str, to: str, person: str, passphrase: str,
             reason: str) -> RecordState:
    """转交: hand the waiting ``step`` to another holder of the same authority."""
    return archive_records.transfer(ws.archive(write=True), ws.library, number, step, to,
                                    person, passphrase, reason)


def transfer_candidates(ws: Workspace, found: Waiting, person: str) -> list[str]:
    """Whom ``person`` may hand the step ``found`` waits at to (转交): the holders of the same
    authority the rule book would accept, ``person`` left out."""
    from ..records.authority import transfer_problem

    org = ws.library.org
    if org is None or found.signers is None or not found.may_sign(person):
        return []
    return [p.name for p in org.people if p.name != person and transfer_problem(
        org, found.flow, found.signers.step, found.state.applicant, p.name,
        found.state.chosen) is None]


def deputy_candidates(ws: Workspace, person: str) -> list[str]:
    """Whom ``person`` may name as deputy (代理): a colleague of the same department or a
    manager above it, as the rule book says."""
    import datetime as dt

    from ..records.authority import delegation_problem

    org = ws.library.org
    if org is None:
        return []
    today = dt.date.today()
    return [p.name for p in org.people
            if delegation_problem(org, person, p.name, today, today) is None]


def delegate(ws: Workspace, person: str, deputy: str, start: str, until: str, passphrase: str,
             reason: str = "") -> None:
    """代理: ``deputy`` signs for ``person`` from ``start`` to ``until`` (YYYY-MM-DD)."""
    import datetime as dt

    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(until)
    except ValueError:
        raise UsageError(f"--from {start} --until {until}: write dates as YYYY-MM-DD") from None
    archive_records.delegate(ws.archive(write=True), ws.library, person, deputy, first, last,
                             passphrase, reason)


@dataclass(frozen=True)
class Waiting:
    """A record as its next signer sees it: its state, flow, who may sign the step it waits
    for now and why (None: it waits for nobody), and who it is copied to (抄送)."""

    state: RecordState
    flow: Flow
    signers: Signers | None
    copied_to: tuple[str, ...]
    path: tuple[str, ...] = ()  # the steps it has taken, up to the one it waits for
    values: dict[str, Any] = field(default_factory=dict)  # its fields, typed by its flow

    def may_sign(self, person: str) -> bool:
        """Whether ``person`` may sign the step the record waits for (or as a deputy)."""
        s = self.signers
        return s is not None and (person in s.people or s.on_behalf(person) is not None)

    def may_withdraw(self, person: str) -> bool:
        """Whether ``person`` may withdraw it now (the rule book's rule, asked ahead)."""
        from ..archive.rulebook import may_withdraw

        return not may_withdraw(self.state, person)

    def may_correct(self, person: str) -> bool:
        """Whether ``person`` may correct its values now (the rule book's rule, asked ahead)."""
        from ..archive.rulebook import may_correct

        return not may_correct(self.state, person)

    def may_resubmit(self, person: str) -> bool:
        """Whether ``person`` may send it on again after a 退回 (the rule book's rule)."""
        from ..archive.rulebook import may_resubmit

        return not may_resubmit(self.state, person)


def waiting(ws: Workspace, number: str) -> Waiting:
    """Who may sign record ``number`` now (the one answer: the archive writer checks the same)."""
    from ..archive.state import typed_fields
    from ..records import route
    from ..records.authority import copied_to

    state, flow, who = archive_records.waiting(ws.archive(), ws.library, number)
    assert ws.library.org is not None
    values = typed_fields(flow, state.fields)
    reached = route(flow, values, state.decisions, ws.library.org.limits).steps
    return Waiting(state, flow, who, copied_to(flow, ws.library.org, reached), reached, values)


def parse_changes(changes: list[str] | tuple[str, ...], option: str = "--set") -> dict[str, str]:
    """``NAME=VALUE`` texts as a mapping; a text without ``=`` is a usage error."""
    pairs: dict[str, str] = {}
    for change in changes:
        field_, sep, value = change.partition("=")
        if not sep:
            what = "FIELD" if option == "--set" else "LANE"
            raise UsageError(f"{option} {change}: write {what}=VALUE")
        pairs[field_.strip()] = value
    return pairs


class UsageError(FlowdocError):
    """The request itself is malformed (an option written wrongly)."""

    code = "usage"


def correct(ws: Workspace, number: str, person: str, passphrase: str,
            changes: dict[str, Any], reason: str) -> RecordState:
    """The applicant corrects values of an open record; the approvals given so far lapse."""
    return archive_records.correct(ws.archive(write=True), ws.library, number, person,
                                   passphrase, changes, reason)


def void(ws: Workspace, number: str, person: str, passphrase: str, reason: str) -> None:
    """The applicant voids a record (a signed event; the record and its history stay)."""
    archive_records.void(ws.archive(write=True), ws.library, number, person, passphrase, reason)


def show(archive_dir: Path, number: str) -> RecordState:
    """Record ``number`` as its committed events make it."""
    from ..archive.location import open_store

    archive = open_store(archive_dir)
    state = archive_records.record_state(archive, number)
    if state is None:
        raise NotFound(f"no record {number} in {archive.name}")
    return state


def rendition(archive_dir: Path, number: str) -> bytes:
    """The archived PDF of a closed record, only if its bytes are the ones the log names: a
    replaced file is never handed out."""
    from ..archive.location import open_store

    archive = open_store(archive_dir)
    state = archive_records.record_state(archive, number)
    if state is None or not state.rendition:
        raise NotFound(f"{number}: no archived rendition (is it closed?)")
    data = archive.blob(state.rendition)
    if hashlib.sha256(data).hexdigest() != state.rendition:
        raise ArchiveError(f"{number}: the archived rendition was altered (its sha256 is not the "
                           "one the log names); nothing was written; run flowdoc verify")
    return data
