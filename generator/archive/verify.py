"""``flowdoc verify``: prove the archive unaltered and every record true to its flow.

It trusts nothing but the bytes, the keys registered in the log and vouched for by a registrar
of the trust root (flows/trust.yaml, reviewed under git), the checkpoint's operator key named
there, and the rule book the writer applies (:mod:`generator.archive.rulebook`), which it
replays on every event: never the search index, never a cached state. It reports in the four
properties of DA/T 70:
真实性 (authenticity: signatures, keys, who signed), 完整性 (integrity: canonical entries,
contiguous sequence, Merkle root, checkpoint, blobs), 可用性 (usability: every record readable
and consistent with the flow it was made under) and 安全性 (security: authority, revoked keys,
key protection).
"""

from __future__ import annotations

import json
import marshal
import os
import re
import shutil
import sqlite3
import tempfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import FlowdocError
from ..model import Library, Org
from ..seal import keys
from ..seal.canonical import NOT_CANONICAL, canonical, is_canonical, loads_canonical
from ..trust import TrustRoot
from . import merkle, rulebook
from .rulebook import Book
from .state import (
    ArchivedFlows,
    RecordState,
    apply,
    parsed_org,
    render_key,
    render_state,
    state_digest,
)
from .store import (
    CHECKPOINT,
    Checkpoint,
    Store,
    checkpoint_problem,
    key_table,
    parse_checkpoint,
)

PROPERTIES = ("真实性", "完整性", "可用性", "安全性")


@dataclass
class Report:
    """What ``verify`` found: every finding as ``(property, message)`` (完整性, 真实性, 安全性,
    可用性), and what it checked. ``ok`` when nothing was found."""

    findings: list[tuple[str, str]] = field(default_factory=list)
    entries: int = 0
    records: int = 0
    checkpoint: Checkpoint | None = None
    log: Store | None = None  # the proofs read their leaves from it again when asked
    lines: int = 0  # the committed lines of the log: the leaves of its tree
    notes: list[str] = field(default_factory=list)  # worth saying, not a failure

    def add(self, prop: str, message: str) -> None:
        self.findings.append((prop, message))

    @property
    def ok(self) -> bool:
        return not self.findings


PARALLEL_FROM = 1024  # entries; below, starting worker processes costs more than it saves
IN_MEMORY = 4096  # record states a process keeps in memory; the others wait in a temporary file

# Findings are reported by check, then by entry, as if each check were a pass of its own over
# the log, whichever process found them.
INTEGRITY, AUTHENTICITY, BLOBS, RECORDS, HISTORY = range(5)  # HISTORY: by line of it
LAST = 1 << 62  # findings about the whole log, after those about one entry


def verify(archive: Store, library: Library, workers: int | None = None,
           renditions: bool = False) -> Report:
    """Check everything in one streaming pass over the log per process.

    The records are split between ``workers`` processes (by default one per core, for large
    logs) by a hash of their number, so each process checks whole records — canonical form,
    signature, blobs, the submission against its flow, then the record's path and authority
    event by event — and none waits for another or sends them entries. The first process also
    folds every line into the Merkle frontier. Memory stays flat in the log's length: a
    process keeps a frontier, a bounded number of record states (:class:`_States`) and its
    findings."""
    report = Report()
    raw_cp = archive.raw_checkpoint()
    if raw_cp is None:
        report.add("完整性", f"{_checkpoint_name(archive)} is missing")
        return report
    try:
        cp = parse_checkpoint(raw_cp)
        if not is_canonical(raw_cp):
            raise ValueError("not canonical")
    except ValueError:
        report.add("完整性", "checkpoint.json is not a canonical checkpoint")
        return report
    report.checkpoint = cp
    log = archive.with_operator(None)  # what worker processes get: never the operator key
    report.log = log
    length = log.log_length()
    if length < cp.bytes:
        report.add("完整性", f"the log is {length} bytes; the checkpoint covers {cp.bytes}: "
                             "entries were removed")
    elif length > cp.bytes:
        report.add("完整性", f"{length - cp.bytes} bytes follow the last checkpoint: entries "
                             "appended without commit, or the checkpoint was rolled back")
    # as the log cut at the checkpoint's length would be, a negative one included
    committed = min(length, cp.bytes) if cp.bytes >= 0 else max(length + cp.bytes, 0)
    if committed and not log.ends_whole(committed):
        report.add("完整性", "the committed log does not end with a whole line")
    trust = library.trust if library.trust is not None else TrustRoot()
    signoff_keys = {k.id: k for k in library.keys}
    for problem in trust.problems:
        report.add("真实性", problem)
    keys_context = _Context({}, log, trust, signoff_keys)
    table, findings = _keys(log, committed, keys_context)
    parts = workers if workers is not None else (
        (os.cpu_count() or 1) if cp.size >= PARALLEL_FROM else 1)
    kept_history = log.history_lines()
    if kept_history is None:
        report.notes.append("the archive keeps no checkpoint history (a folder from before "
                            "it was kept): only its head checkpoint was checked")
    else:
        kept_history.close()  # each process reads it again, as it reads the log
    summaries = _run(max(1, parts), log, committed,
                     _Context(table, log, trust, signoff_keys, renditions,
                              keys_context.delegations, raw_cp if kept_history is not None
                              else None, _cosigned(archive, trust)))
    first = summaries[0]
    report.lines = first.lines
    if first.lines != cp.size:
        report.add("完整性", f"the checkpoint counts {cp.size} entries; the log has {first.lines}")
    if first.root != cp.root:
        report.add("完整性", "the Merkle root of the log does not match the checkpoint")
    why = checkpoint_problem(cp, trust)
    if why:
        findings.append((AUTHENTICITY, LAST, "真实性", why))
    for s in summaries:
        report.entries += s.entries
        report.records += s.records
        findings += s.findings
    findings.sort(key=lambda f: (f[0], f[1]))  # stable: an entry's findings keep their order
    report.findings += [(prop, message) for _, _, prop, message in findings]
    _key_files(report, archive, table)
    from .trusting import witness_findings

    found, report.notes = witness_findings(archive, trust, cp, report.lines)
    for message in found:
        report.add("真实性", message)
    return report


def _checkpoint_name(archive: Store) -> str:
    """How the missing checkpoint is named: its file for a folder, else the store."""
    root = getattr(archive, "root", None)
    return str(root / CHECKPOINT) if root is not None else f"{archive.name}: the checkpoint"


def _lines(log: Store, committed: int) -> Iterator[bytes]:
    """The committed lines, a block at a time. An empty log is one empty line (which is no
    entry), as splitting the empty text gives."""
    if committed <= 0 or log.log_length() == 0:
        yield b""
        return
    for _, line in log.lines(0, committed):
        yield line


# -- the key table, before anything else: a signature is checked against the final table -----

_KEY_MARKS = (b'"type":"key"', b'"type":"approve"', b'"type":"revoke"', b'"type":"org"',
              b'"type":"delegate"')


def _keys(log: Store, committed: int, context: _Context) -> tuple[dict[str, dict[str, Any]],
                                                                 list[tuple]]:
    """The key table of the well-formed key, approve and revoke entries, each checked by the
    rule book against the table and the org in force before it. Only their lines (and the
    org entries') are parsed: the canonical form of such an entry holds one of the marks."""
    table: dict[str, dict[str, Any]] = {}
    findings: list[tuple] = []
    seen: dict[str, str] = {}
    checker = _Checker(context, _Summary())
    try:
        for i, line in enumerate(_lines(log, committed)):
            if not any(mark in line for mark in _KEY_MARKS):
                continue
            entry, _ = _entry(i, line)
            if entry is None:
                continue
            if entry["type"] == "org":
                checker.follow_org(i, line)
                continue
            if entry["type"] == "delegate":
                _grant(entry, line, checker, table, context, findings, i)
                continue
            if entry["type"] not in ("key", "approve", "revoke"):
                continue
            if entry["type"] == "key" and entry["key_id"] in seen:
                findings.append((AUTHENTICITY, i, "真实性",
                                 f"entry {i}: key {entry['key_id']} was registered before (to "
                                 f"{seen[entry['key_id']]}); a key is never reassigned"))
                continue
            seen.setdefault(entry.get("key_id", ""), entry.get("person", ""))
            book = checker.book(table)
            findings += [(RECORDS, i, prop, f"entry {i} ({entry['type']}): {message}")
                         for prop, message in rulebook.check(entry, None, book)]
            key_table([entry], context.trust, table)
    finally:
        checker.states.close()
    return table, findings


def _grant(entry: dict, line: bytes, checker: _Checker, table: dict, context: _Context,
           findings: list, i: int) -> None:
    """A 代理 grant counts for the signatures after it when the rule book accepts it under
    the org then in force and the delegator's own key signed it (the share that checks the
    entry reports a bad signature; here it only keeps the grant out)."""
    found = [(prop, f"entry {i} (delegate): {message}")
             for prop, message in rulebook.check(entry, None, checker.book(table))]
    findings += [(RECORDS, i, prop, message) for prop, message in found]
    sig_ok: list = []
    authenticity(sig_ok, entry, signed_body(line, entry), table, checker.publics)
    grant = rulebook.delegation_of(entry)
    if not found and not sig_ok and grant is not None:
        context.delegations.append(grant)


# -- one process's share: whole records, checked entry by entry ------------------------------

@dataclass
class _Context:
    table: dict[str, dict[str, Any]]
    store: Store  # sent to worker processes: a store opens its own connection in each
    trust: TrustRoot
    signoff_keys: dict[str, Any]
    renditions: bool = False  # render every closed record again and compare bytes
    delegations: list = field(default_factory=list)  # 代理 grants that passed, from the key pass
    head: bytes | None = None  # the head checkpoint's bytes; None: no history to check
    cosigned: dict[bytes, str] = field(default_factory=dict)  # checkpoints witnesses signed


@dataclass
class _Summary:
    findings: list[tuple] = field(default_factory=list)  # (check, entry, property, message)
    entries: int = 0  # well-formed entries of this share
    records: int = 0
    lines: int = 0  # every line, counted by the process that builds the tree
    root: str | None = None


def _run(parts: int, log: Store, committed: int, context: _Context) -> list[_Summary]:
    """The summaries of every share, the first (which also builds the tree) first."""
    if parts == 1:
        return [_check_share(0, 1, log, committed, context)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork: a worker starts at once, without importing the package again; it is sent only
    # its share's number and the context (key table, archive, org), and sends back findings
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(parts - 1, mp_context=ctx) as pool:
        others = [pool.submit(_check_share, k, parts, log, committed, context)
                  for k in range(1, parts)]
        first = _check_share(0, parts, log, committed, context)
        return [first, *(f.result() for f in others)]


_RECORD = b'"record":"'
_ORG_MARK = b'"type":"org"'


def _share_of(line: bytes, parts: int) -> int:
    """Which process checks ``line``: by its record number, so a record is checked whole by
    one process; entries of no record go to the first. In a canonical entry the top-level
    ``"record"`` member is the last: the only objects that may hold such a key (``fields``,
    ``previous``) sort before it, and a string cannot hold an unescaped quote."""
    at = line.rfind(_RECORD)
    if at < 0:
        return 0
    start = at + len(_RECORD)
    return zlib.crc32(line[start:line.find(b'"', start)]) % parts


def _number_of(line: bytes) -> str | None:
    at = line.rfind(_RECORD)
    if at < 0:
        return None
    start = at + len(_RECORD)
    try:
        return line[start:line.find(b'"', start)].decode()
    except UnicodeDecodeError:
        return None


def _check_share(part: int, parts: int, log: Store, committed: int,
                 context: _Context) -> _Summary:
    summary = _Summary()
    checker = _Checker(context, summary)
    frontier = merkle.Frontier() if part == 0 else None
    leaf = merkle.leaf_hash
    counts: dict[str, int] = {}
    history = _History(log, context, part, parts) if context.head is not None else None
    want = history.want if history is not None and frontier is not None else -1
    nbytes = 0
    try:
        for i, line in enumerate(_lines(log, committed)):
            if frontier is not None:
                if i == want:  # the next checkpoint of the history is of these i lines
                    want = history.reached(frontier, nbytes)
                frontier.append(leaf(line))
                nbytes += len(line) + 1
                summary.lines += 1
                if _SUBMIT_MARK in line:  # numbers run without gaps across every record
                    number = _number_of(line)
                    why = number and rulebook.number_problem(number, counts)
                    if why:
                        summary.findings.append((RECORDS, i, "完整性", f"entry {i}: {why}"))
            if _ORG_MARK in line:  # every process follows the org in force
                checker.follow_org(i, line)
            if parts == 1 or _share_of(line, parts) == part:
                checker.check(i, line)
        checker.blobs.flush()
        if history is not None:
            history.finish(frontier, nbytes)
            summary.findings += history.findings
    finally:
        checker.states.close()
        if history is not None:
            history.lines.close()
    if frontier is not None:
        summary.root = frontier.root().hex()
    for number in sorted(checker.unrendered):
        summary.findings.append((RECORDS, LAST, "可用性",
                                 f"{number}: closed without an archived rendition"))
    return summary


class _History:
    """The checkpoint history (every checkpoint committed, oldest first, the head last),
    checked as it is read beside the log: each line a canonical checkpoint, signed by an
    operator key of the trust root in office at its time, its size and length never less than
    the one's before it, its length and root those of the log's first ``size`` lines —
    computed from the frontier when the pass has folded that many (O(log n) a checkpoint, no
    leaf kept) —, the head its last line, and every checkpoint a witness co-signed in it. The
    process that builds the tree checks all that; the signatures are shared between the
    processes by line (line j by process j mod parts), each reading the history itself.
    Lines equal to the head are checked as the head is. Findings name the line (1 = the
    first checkpoint committed)."""

    def __init__(self, log: Store, context: _Context, part: int, parts: int) -> None:
        self.lines = log.history_lines() or iter(())
        self.head = context.head
        self.trust = context.trust
        self.part, self.parts = part, parts
        self.cosigned = dict(context.cosigned) if part == 0 else {}
        self.findings: list[tuple] = []
        self.count = 0  # lines read
        self.head_at: int | None = None  # the last line that is the head
        self.size = self.bytes = 0  # of the last checkpoint in order
        self.next: tuple[int, Checkpoint, bool] | None = None
        self.want = -1  # the size of the next checkpoint to check against the log's prefix
        if part != 0:  # only signatures: read it all now
            while self._read() is not None:
                pass
        else:
            self._advance()

    def _add(self, j: int, prop: str, message: str) -> None:
        self.findings.append((HISTORY, j, prop, f"checkpoint {j + 1} of the history: {message}"))

    def _read(self) -> tuple[int, Checkpoint, bool] | None:
        """The next line that is a checkpoint in order, ``(line, checkpoint, whether it is
        the head)``; the first process reports those that are not, and each process checks
        the signatures that fall to it."""
        first = self.part == 0
        for raw in self.lines:
            j = self.count
            self.count += 1
            body = raw[:-1] if raw[-1:] == b"\n" else raw
            is_head = body == self.head
            if is_head:
                self.head_at = j
            if first:
                if body is raw:
                    self._add(j, "完整性", "the line is cut (no newline ends it)")
                self.cosigned.pop(body, None)
            try:
                cp = parse_checkpoint(body)
                if not is_canonical(body):
                    raise ValueError("not canonical")
            except ValueError:
                if first:
                    self._add(j, "完整性", "not a canonical checkpoint")
                continue
            if j % self.parts == self.part and not is_head:
                why = checkpoint_problem(cp, self.trust)
                if why:
                    self._add(j, "真实性", why)
            if not first:
                continue
            if cp.size < self.size or cp.bytes < self.bytes:
                self._add(j, "完整性", f"out of order: {cp.size} entries ({cp.bytes} bytes) "
                                     f"after a checkpoint of {self.size} ({self.bytes})")
                continue
            self.size, self.bytes = cp.size, cp.bytes
            return j, cp, is_head
        return None

    def _advance(self) -> None:
        self.next = self._read()
        self.want = self.next[1].size if self.next is not None else -1

    def reached(self, frontier: merkle.Frontier, nbytes: int) -> int:
        """The pass has folded ``frontier.size`` lines, ``nbytes`` bytes: the checkpoints of
        that size are checked; the size the next one waits for."""
        root = None
        while self.next is not None and self.next[1].size == frontier.size:
            j, cp, is_head = self.next
            if not is_head:
                root = root or frontier.root().hex()
                if cp.bytes != nbytes or cp.root != root:
                    self._add(j, "完整性", "its length or root is not that of the log's first "
                                         f"{cp.size} entries")
            self._advance()
        return self.want

    def finish(self, frontier: merkle.Frontier | None, nbytes: int) -> None:
        if self.part != 0 or frontier is None:
            return
        if self.want == frontier.size:
            self.reached(frontier, nbytes)
        beyond = []  # checkpoints of more entries than the log holds
        while self.next is not None:
            j, cp, is_head = self.next
            if not is_head:
                beyond.append((j, cp.size))
            self._advance()
        for j, size in beyond:  # those past the head are its uncommitted tail (said below)
            if self.head_at is None or j < self.head_at:
                self._add(j, "完整性", f"it counts {size} entries; the log holds "
                                     f"{frontier.size} (entries were removed)")
        last = self.count - 1
        if self.head_at is None:
            self.findings.append((HISTORY, LAST, "完整性", "the checkpoint history does not hold "
                                  "the head checkpoint (its last line was removed or altered)"))
        elif self.head_at < last:
            self.findings.append((HISTORY, LAST, "完整性", f"{last - self.head_at} checkpoint(s) "
                                  f"of the history follow the head (line {self.head_at + 1}): "
                                  "a commit that did not finish, or the head was rolled back"))
        for witness in sorted(set(self.cosigned.values())):
            self.findings.append((HISTORY, LAST, "完整性", f"witness {witness} co-signed a "
                                  "checkpoint the checkpoint history does not hold (a line of "
                                  "it was removed or altered)"))


def _cosigned(archive: Store, trust: TrustRoot) -> dict[bytes, str]:
    """The checkpoints (canonical bytes) the trust root's witnesses co-signed, with a
    signature that verifies: each must be in the checkpoint history."""
    from .trusting import cosign_message

    witnesses = {k.id: k for k in trust.of_role("witness")}
    if not witnesses:
        return {}
    out: dict[bytes, str] = {}
    for kid, raw in archive.cosignatures():
        k = witnesses.get(kid)
        if k is None:
            continue
        try:
            data = json.loads(raw)
            signed = parse_checkpoint(canonical(data["checkpoint"]))
            if keys.verify(k.public, cosign_message(signed), data["signature"]):
                out[canonical(signed.as_dict())] = k.holder
        except (ValueError, KeyError, TypeError):
            continue
    return out


class _Tally:
    """Stands for a record's list of events where only their number matters (the state
    digest): verify keeps no entry of the log, only this much per record."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0) -> None:
        self.n = n

    def append(self, _entry: Any) -> None:
        self.n += 1

    def __len__(self) -> int:
        return self.n


class _States:
    """The running state of each record, by number. The most recently used stay in memory;
    the others are written to a temporary SQLite file and read back when their record has
    another event. A record's events are usually close together in the log, so that is rare,
    and memory stays flat however many records the archive holds."""

    FLUSH = 2048  # states written to the file at a time

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.memory: OrderedDict[str, RecordState] = OrderedDict()
        self.pending: dict[str, bytes] = {}
        self.db: sqlite3.Connection | None = None
        self.folder: str | None = None

    def get(self, number: str) -> RecordState | None:
        state = self.memory.get(number)
        if state is not None:
            self.memory.move_to_end(number)
            return state
        data = self.pending.pop(number, None)
        if data is None and self.db is not None:
            row = self.db.execute("SELECT data FROM states WHERE number = ?", (number,)).fetchone()
            data = row[0] if row else None
        if data is None:
            return None
        state = _thaw(data)
        self.put(number, state)
        return state

    def put(self, number: str, state: RecordState) -> None:
        self.memory[number] = state
        self.memory.move_to_end(number)
        while len(self.memory) > self.limit:
            old, s = self.memory.popitem(last=False)
            self.pending[old] = _freeze(s)
        if len(self.pending) >= self.FLUSH:
            self._flush()

    def _flush(self) -> None:
        if self.db is None:
            self.folder = tempfile.mkdtemp(prefix="flowdoc-verify-")
            self.db = sqlite3.connect(os.path.join(self.folder, "states.sqlite"))
            self.db.execute("PRAGMA journal_mode = OFF")
            self.db.execute("PRAGMA synchronous = OFF")
            self.db.execute("CREATE TABLE states (number TEXT PRIMARY KEY, data BLOB)")
        self.db.executemany("INSERT OR REPLACE INTO states VALUES (?, ?)", self.pending.items())
        self.pending.clear()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _freeze(s: RecordState) -> bytes:
    return marshal.dumps((s.number, s.flow_code, s.revision, s.flow_hash, s.flow_blob,
                          s.original_blob, s.fields, s.applicant, s.created, s.decisions,
                          s.signatures, len(s.history), s.status, s.rendition, s.corrections,
                          s.superseded, s.chosen, s.votes, s.transfers))


def _thaw(data: bytes) -> RecordState:
    (number, code, revision, flow_hash, flow_blob, original, fields, applicant, created,
     decisions, signatures, history, status, rendition, corrections,
     superseded, chosen, votes, transfers) = marshal.loads(data)
    return RecordState(number, code, revision, flow_hash, flow_blob, original, fields,
                       applicant, created, decisions, signatures, _Tally(history), status,
                       rendition, corrections, superseded, chosen, votes, transfers)


def _slim(e: dict) -> dict:
    """What a record's state keeps of a signature for its rendition (not the values again)."""
    return {k: e[k] for k in ("type", "seq", "step", "person", "applicant", "role", "meaning",
                              "decision", "time", "comment", "sig", "on_behalf", "partial",
                              "auto", "to", "reason") if k in e}


class _Checker:
    """Checks one share's entries in log order and folds them into its record states."""

    def __init__(self, context: _Context, summary: _Summary) -> None:
        self.context = context
        self.archive = context.store
        self.summary = summary
        self.states = _States(IN_MEMORY)
        self.flow = ArchivedFlows(context.store)
        self.publics: dict[str, bytes] = {}
        self.unrendered: set[str] = set()  # closed records still waiting for their rendition
        self.blobs = _Blobs(context.store, self.emit)
        # authority is checked against the org.yaml put in force last before the event (one
        # that is not signed off never is); none before the first
        self.org: Org | None = None
        self.orgs: dict[str, Org | None] = {}
        self.governing: dict = {}
        self.signers: dict = {}
        self._book: Book | None = None

    def org_of(self, digest: str) -> Org | None:
        if digest not in self.orgs:
            raw = self.blob(digest)
            self.orgs[digest] = None if raw is None else parsed_org(raw)
        return self.orgs[digest]

    def book(self, keys_table: dict | None = None) -> Book:
        """The rule book's view for the next event: one a process, made again only when the
        org in force changes (or for the key pass, which folds its own table)."""
        if keys_table is None and self._book is not None and self._book.org is self.org:
            return self._book
        book = Book(self.context.trust, self.context.signoff_keys,
                    self.context.table if keys_table is None else keys_table, self.org,
                    self.flow, render_state if self.context.renditions else None, self.blob,
                    governing=self.governing, signers=self.signers, render_key=render_key,
                    delegations=self.context.delegations)
        if keys_table is None:
            self._book = book
        return book

    def blob(self, digest: str) -> bytes | None:
        try:
            return self.archive.blob(digest)
        except FlowdocError:
            return None

    def org_problem(self, entry: dict) -> str | None:
        org = self.org_of(entry["blob"])
        if org is None:
            return "the org.yaml it puts in force cannot be read"
        return rulebook.org_governs(org, self.book())

    def follow_org(self, i: int, line: bytes) -> None:
        """An org entry puts its org.yaml in force for the entries after it when it is a
        well-formed entry of a signed-off org (the first process reports the others)."""
        entry, _ = _entry(i, line)
        if entry is None or entry["type"] != "org":
            return
        if self.org_problem(entry) is None:
            self.org = self.org_of(entry["blob"])

    def emit(self, check: int, seq: int, found: list[tuple[str, str]]) -> None:
        self.summary.findings += [(check, seq, prop, message) for prop, message in found]

    def check(self, i: int, line: bytes) -> None:
        entry, problem = _entry(i, line)
        if entry is None:
            self.emit(INTEGRITY, i, [("完整性", f"entry {i}: {problem}")])
            return
        self.summary.entries += 1
        found: list[tuple[str, str]] = []
        authenticity(found, entry, signed_body(line, entry), self.context.table, self.publics)
        self.emit(AUTHENTICITY, i, found)
        self.blobs.add(i, entry)
        if entry["type"] == "org":
            why = self.org_problem(entry)
            if why:
                self.emit(RECORDS, i, [("安全性", f"entry {i}: {why}; it was not put in force")])
        if entry["type"] in rulebook.RECORD_TYPES:
            found = []
            try:
                self.record_event(found, entry)
            except Exception as exc:  # verify reports; it never stops on what it reads
                found.append(("可用性", f"{entry['record']}: entry {i} cannot be re-checked "
                                       f"({type(exc).__name__})"))
            self.emit(RECORDS, i, found)

    def record_event(self, out: list, e: dict) -> None:
        """Check one event with the writer's rule book against the state it was signed over,
        and fold it into that state."""
        number = e["record"]
        before = self.states.get(number)
        if e["type"] != "rendition" and e.get("state") != state_digest(before):
            out.append(("完整性", f"{number}: entry {e['seq']} was signed over another state "
                                  "of the record"))
        if before is None and e["type"] != "submit":
            out.append(("可用性", f"{number}: entry {e['seq']} refers to a record never "
                                  "submitted"))
            return
        lead = f"{number}: "
        out += [(prop, lead + f"entry {e['seq']}: " + message[len(lead):]
                 if message.startswith(lead) else f"entry {e['seq']}: {message}")
                for prop, message in rulebook.check(e, before, self.book())]
        if e["type"] == "submit" and before is None:
            self.summary.records += 1
        self.fold(before, e)

    def fold(self, before: RecordState | None, e: dict) -> None:
        number = e["record"]
        if e["type"] == "submit" and before is not None:
            return  # a number used twice: reported; the first record stands
        one = {} if before is None else {number: before}
        apply(one, e)  # the only place record state is computed
        state = one.get(number)
        if state is None:
            return
        if e["type"] == "submit":  # only the count of events matters from here on
            state.history = _Tally(1)
        if e["type"] in ("submit", "sign", "return", "transfer"):
            state.signatures[-1] = _slim(state.signatures[-1])
        self.states.put(number, state)
        if state.status in ("complete", "rejected") and not state.rendition:
            self.unrendered.add(number)
        else:
            self.unrendered.discard(number)


def _entry(i: int, line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Line ``i`` as an entry of this archive, or why it is none: canonical JSON, of a known
    shape, numbered ``i``."""
    entry = loads_canonical(line)
    if entry is NOT_CANONICAL:
        return None, "not canonical JSON"
    problem = _malformed(entry)
    if problem is None and entry["seq"] != i:
        problem = f"sequence number {entry['seq']} out of order"
    return (None, problem) if problem is not None else (entry, None)


def signed_body(line: bytes, e: dict[str, Any]) -> bytes:
    """What the entry's signature covers — the canonical form of the entry without ``sig`` —
    cut out of the canonical line (encoding the entry again cost as much as checking it).
    ``sig`` is never the first member (``seq`` sorts before it) and holds two hex strings."""
    sig = e["sig"]
    member = f',"sig":{{"key":"{sig["key"]}","value":"{sig["value"]}"}}'.encode()
    body = line.replace(member, b"", 1)
    if len(body) != len(line) - len(member):
        return canonical({k: v for k, v in e.items() if k != "sig"})
    return body


TEXT = str
SHAPES: dict[str, dict[str, type]] = {
    "key": {"person": TEXT, "key_id": TEXT, "public_key": TEXT, "time": TEXT},
    "org": {"person": TEXT, "blob": TEXT, "time": TEXT},
    "revoke": {"person": TEXT, "key_id": TEXT, "time": TEXT},
    "approve": {"person": TEXT, "subject": TEXT, "key_id": TEXT, "public_key": TEXT,
                "vouch_by": TEXT, "vouch": TEXT, "time": TEXT},
    "submit": {"record": TEXT, "flow": TEXT, "revision": TEXT, "flow_hash": TEXT,
               "flow_blob": TEXT, "original_blob": TEXT, "fields": dict, "applicant": TEXT,
               "step": TEXT, "role": TEXT, "meaning": TEXT, "time": TEXT, "state": TEXT},
    "sign": {"record": TEXT, "step": TEXT, "decision": TEXT, "comment": TEXT, "person": TEXT,
             "role": TEXT, "meaning": TEXT, "time": TEXT, "status": TEXT, "state": TEXT},
    "rendition": {"record": TEXT, "blob": TEXT, "time": TEXT},
    "void": {"record": TEXT, "person": TEXT, "reason": TEXT, "time": TEXT, "state": TEXT},
    "correct": {"record": TEXT, "person": TEXT, "fields": dict, "previous": dict, "reason": TEXT,
                "time": TEXT, "state": TEXT},
    "resubmit": {"record": TEXT, "person": TEXT, "fields": dict, "previous": dict,
                 "reason": TEXT, "time": TEXT, "state": TEXT},
    "return": {"record": TEXT, "step": TEXT, "to": TEXT, "reason": TEXT, "decisions": dict,
               "status": TEXT, "person": TEXT, "time": TEXT, "state": TEXT},
    "transfer": {"record": TEXT, "step": TEXT, "to": TEXT, "reason": TEXT, "person": TEXT,
                 "time": TEXT, "state": TEXT},
    "withdraw": {"record": TEXT, "person": TEXT, "reason": TEXT, "time": TEXT, "state": TEXT},
    "delegate": {"person": TEXT, "deputy": TEXT, "start": TEXT, "until": TEXT, "reason": TEXT,
                 "time": TEXT},
}
# members an entry of the type may carry (absent in entries written before them)
OPTIONAL: dict[str, dict[str, type]] = {
    "submit": {"chosen": dict},
    "sign": {"on_behalf": TEXT, "partial": bool, "auto": list},
    "return": {"on_behalf": TEXT},
}
_HEX = re.compile("[0-9a-f]+")


def _hex(value: Any) -> bool:
    """Bytes written as hexadecimal: non-empty, of hex digits, and whole bytes (an odd length
    would make ``bytes.fromhex`` fail later, in the middle of a check)."""
    return isinstance(value, str) and len(value) % 2 == 0 and _HEX.fullmatch(value) is not None


def _malformed(entry: Any) -> str | None:
    """Why ``entry`` is not an entry of this archive's kinds, or None."""
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        return "not an entry"
    shape = SHAPES.get(entry["type"])
    if shape is None:
        return f"unknown entry type '{entry['type']}'"
    if not isinstance(entry.get("seq"), int) or isinstance(entry.get("seq"), bool):
        return "no sequence number"
    sig = entry.get("sig")
    if not (isinstance(sig, dict) and set(sig) == {"key", "value"}
            and all(_hex(v) for v in sig.values())):
        return "no well-formed signature"
    optional = OPTIONAL.get(entry["type"], {})
    if set(entry) - set(optional) != {*shape, "type", "seq", "sig"}:
        return "unexpected or missing keys"
    for key, kind in {**shape, **optional}.items():
        if key in entry and not isinstance(entry[key], kind):
            return f"{key} has the wrong type"
    if entry.get("partial") is False or entry.get("auto") == [] or entry.get("chosen") == {}:
        return "an optional member is written only when it says something"
    if not all(isinstance(a, list) and len(a) == 2 and all(isinstance(x, str) for x in a)
               for a in entry.get("auto", [])):
        return "auto has the wrong type"
    for key in ("public_key", "flow_hash", "flow_blob", "original_blob", "blob", "state",
                "vouch"):
        if key in entry and not _hex(entry[key]):
            return f"{key} is not hexadecimal"
    return None


def authenticity(out: list, e: dict, message: bytes, table: dict, publics: dict) -> None:
    """The entry's signature over ``message`` (its body), by a key registered before it to the
    person it names and not revoked: findings appended to ``out``. ``publics`` caches public
    keys by id. Audit packages check their entries with it too."""
    sig = e["sig"]
    k = table.get(sig["key"])
    if k is None or k["seq"] > e["seq"]:
        out.append(("真实性", f"entry {e['seq']} is signed with a key not registered before it"))
        return
    public = publics.get(sig["key"])
    if public is None:
        public = publics[sig["key"]] = bytes.fromhex(k["public"])
    if not keys.verify_once(public, message, sig["value"]):
        out.append(("真实性", f"entry {e['seq']} ({e.get('type')}): the signature does not match"))
    if e["type"] == "key" and keys.key_id(bytes.fromhex(e["public_key"])) != e["key_id"]:
        out.append(("真实性", f"entry {e['seq']}: key id does not name its public key"))
    if e["type"] == "key":
        if sig["key"] != e["key_id"]:
            out.append(("真实性", f"entry {e['seq']}: a key's registration is signed by the key "
                                  "itself (proof of possession)"))
    elif k["vouched"] is None or k["vouched"] >= e["seq"]:
        out.append(("真实性", f"entry {e['seq']} is signed with key {sig['key']} of {k['person']}, "
                              "which no registrar had vouched for"))
    signer = e.get("person") or e.get("applicant")
    if signer and k["person"] != signer:
        out.append(("真实性", f"entry {e['seq']}: signed by {k['person']}'s key on behalf of "
                              f"{signer}"))
    if k["revoked"] is not None and k["revoked"] < e["seq"]:
        out.append(("安全性", f"entry {e['seq']}: signed with key {sig['key']} after it was "
                              "revoked"))


BLOB_BATCH = 512  # blobs checked together: one round trip to a database store


class _Blobs:
    """The blobs entries name, checked a batch at a time (a database store answers a batch in
    one query, a folder reads the files) and remembered for a while: every record of a flow
    names the same flow source. Findings keep their (check, entry) keys, so the report is
    ordered as if each blob were checked with its entry."""

    LIMIT = 4096

    def __init__(self, store: Store, emit) -> None:
        self.store, self.emit = store, emit
        self.queue: list[tuple[int, int, str, str]] = []  # entry, seq, field, digest
        self.known: OrderedDict[str, str | None] = OrderedDict()

    def add(self, i: int, e: dict) -> None:
        for name in ("flow_blob", "original_blob", "blob"):
            d = e.get(name)
            if d:
                self.queue.append((i, e["seq"], name, d))
        if len(self.queue) >= BLOB_BATCH:
            self.flush()

    def flush(self) -> None:
        queue, self.queue = self.queue, []
        unknown = list(dict.fromkeys(d for *_, d in queue if d not in self.known))
        if unknown:
            problems = self.store.blob_problems(unknown)
            for d in unknown:
                self.known[d] = problems.get(d)
            while len(self.known) > self.LIMIT:
                self.known.popitem(last=False)
        for i, seq, name, d in queue:
            state = self.known[d] if d in self.known else self.store.blob_problem(d)
            if state:
                self.emit(BLOBS, i, [("完整性", f"entry {seq}: blob {d[:12]}… ({name}) {state}")])


def _key_files(report: Report, archive: Store, table: dict) -> None:
    for kid in table:
        for problem in archive.private_key_problems(kid):
            report.add("安全性", problem)


def inclusion(report: Report, archive: Store, number: str) -> dict[str, Any]:
    """The inclusion proof of a record's submit entry in the checkpoint's tree."""
    mark = b'"record":' + json.dumps(number, ensure_ascii=False).encode()
    index = leaf = None
    for i, line in enumerate(_lines(report.log, report.checkpoint.bytes)):
        if mark in line and _SUBMIT_MARK in line:
            entry = loads_canonical(line)
            if isinstance(entry, dict) and entry.get("type") == "submit" \
                    and entry.get("record") == number:
                index, leaf = i, merkle.leaf_hash(line)
                break
    if index is None or leaf is None:
        raise FlowdocError(f"no record {number}")
    proof = _proof(report, merkle.inclusion_ranges(index, report.lines))
    return {"record": number, "index": index, "size": report.lines, "leaf": leaf.hex(),
            "root": report.checkpoint.root, "proof": proof}


_SUBMIT_MARK = b'"type":"submit"'


def _proof(report: Report, ranges: list[tuple[int, int]]) -> list[str]:
    """The roots of ``ranges`` of the log's leaves, read once (memory flat in its length)."""
    leaves = (merkle.leaf_hash(line) for line in _lines(report.log, report.checkpoint.bytes))
    return [r.hex() for r in merkle.range_roots(ranges, leaves)]


def consistency(report: Report, old: dict[str, Any]) -> dict[str, Any]:
    m, old_root = int(old["size"]), str(old["root"])
    n = report.lines
    if not 0 < m <= n:
        raise FlowdocError(f"the kept checkpoint has {m} entries; the log has {n}: it was cut")
    proof = _proof(report, merkle.consistency_ranges(m, n))
    ok = merkle.verify_consistency(m, n, bytes.fromhex(old_root), bytes.fromhex(report.checkpoint.root),
                                   [bytes.fromhex(p) for p in proof])
    return {"from": m, "to": n, "old_root": old_root, "root": report.checkpoint.root,
            "proof": proof, "consistent": ok}


def kept_findings(report: Report, raw: bytes | None, trust: TrustRoot, name: str
                  ) -> tuple[list[str], dict[str, Any] | None]:
    """What a checkpoint kept earlier says of the archive now: a finding for a rollback (the
    log is shorter than it was) or a fork (its first entries are not the ones kept), and the
    consistency proof when there is one. Never an error: a history cut or rewritten is what
    the kept checkpoint exists to show."""
    try:
        kept = parse_checkpoint(raw or b"")
        bytes.fromhex(kept.root)
    except ValueError as exc:
        return [f"{name}: not a checkpoint ({exc})"], None
    found = []
    why = checkpoint_problem(kept, trust)
    if why:
        found.append(f"{name}: the kept checkpoint proves nothing: {why}")
    cp = report.checkpoint
    if cp is None:
        return [*found, f"rollback: the archive has no checkpoint; {name} had {kept.size} "
                        "entries"], None
    n = report.lines
    if kept.size > n:
        found.append(f"rollback: the archive holds {n} entries; the checkpoint kept in {name} "
                     f"had {kept.size}")
        return found, None
    if kept.size == 0:
        return found, None
    proof = consistency(report, {"size": kept.size, "root": kept.root})
    if not proof["consistent"]:
        found.append(f"fork: the archive's first {kept.size} entries are not the ones the "
                     f"checkpoint kept in {name} covers (the history was rewritten)")
    return found, proof
