"""``flowdoc verify``: prove the archive unaltered and every record true to its flow.

It trusts nothing but the bytes and the keys registered in the log itself (never the search
index, never a cached state) and reports in the four properties of DA/T 70:
真实性 (authenticity: signatures, keys, who signed), 完整性 (integrity: canonical entries,
contiguous sequence, Merkle root, checkpoint, blobs), 可用性 (usability: every record readable
and consistent with the flow it was made under) and 安全性 (security: authority, revoked keys,
key protection).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import FlowdocError
from ..model import Library
from ..records import may_sign, route
from . import keys, merkle
from .canonical import canonical, is_canonical
from .index import lines
from .records import RecordState, _parsed_flow, _typed, apply, key_table, state_digest
from .store import CHECKPOINT, LOG, Archive, Checkpoint

PROPERTIES = ("真实性", "完整性", "可用性", "安全性")


@dataclass
class Report:
    findings: list[tuple[str, str]] = field(default_factory=list)
    entries: int = 0
    records: int = 0
    checkpoint: Checkpoint | None = None
    log: Path | None = None  # the proofs read their leaves from it when asked

    def add(self, prop: str, message: str) -> None:
        self.findings.append((prop, message))

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def leaves(self) -> list[bytes]:
        """The leaf hashes of the checkpoint's tree, read again from the log: only a proof
        needs them all at once, so verify itself keeps none."""
        if self.log is None or self.checkpoint is None:
            return []
        return [merkle.leaf_hash(line) for line in _lines(self.log, self.checkpoint.bytes)]


CHUNK = 1024  # lines a worker checks at a time
PARALLEL_FROM = 4096  # entries; below, starting worker processes costs more than it saves


def verify(archive: Archive, library: Library, workers: int | None = None) -> Report:
    """Check everything, streaming the log: memory stays flat in its length (the leaves are
    folded into a Merkle frontier; only a small state per record is kept). The costly checks
    of each entry — canonical form, Ed25519 signature, blob hashes, a submission re-checked
    against its flow — need nothing of other entries but the key table, so they run on every
    core in worker processes (``workers``: how many; by default the cores, for large logs)."""
    report = Report()
    root = archive.root
    cp_path = root / CHECKPOINT
    if not cp_path.exists():
        report.add("完整性", f"{cp_path} is missing")
        return report
    raw_cp = cp_path.read_bytes()
    try:
        cp_data = json.loads(raw_cp)
        cp = Checkpoint(int(cp_data["size"]), int(cp_data["bytes"]), str(cp_data["root"]),
                        str(cp_data["key"]), str(cp_data["signature"]))
        if set(cp_data) != {"size", "bytes", "root", "key", "signature"} or not is_canonical(raw_cp):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        report.add("完整性", "checkpoint.json is not a canonical checkpoint")
        return report
    report.checkpoint = cp
    log = root / LOG
    report.log = log
    length = log.stat().st_size if log.exists() else 0
    if length < cp.bytes:
        report.add("完整性", f"the log is {length} bytes; the checkpoint covers {cp.bytes}: "
                             "entries were removed")
    elif length > cp.bytes:
        report.add("完整性", f"{length - cp.bytes} bytes follow the last checkpoint: entries "
                             "appended without commit, or the checkpoint was rolled back")
    # as the log cut at the checkpoint's length would be, a negative one included
    committed = min(length, cp.bytes) if cp.bytes >= 0 else max(length + cp.bytes, 0)
    if committed and _last_byte(log, committed) != b"\n":
        report.add("完整性", "the committed log does not end with a whole line")
    # findings go to one list per check and are joined at the end, in the order of the
    # checks, as if each had been a pass of its own over the whole log
    integrity: list[tuple[str, str]] = []
    authenticity, blobs, records = _key_findings(log, committed), [], []
    table = _key_table(log, committed)
    frontier = merkle.Frontier()
    running: dict[str, RecordState] = {}
    count = 0
    for results in _checked_chunks(log, committed, table, root, library, cp.size, workers):
        for line, leaf, found in results:
            frontier.append(leaf)
            count += 1
            integrity += found.integrity
            if not found.valid:
                continue
            report.entries += 1
            authenticity += found.authenticity
            blobs += found.blobs
            _replay(records, archive, library.org, json.loads(line), found.recheck, running)
    if count != cp.size:
        report.add("完整性", f"the checkpoint counts {cp.size} entries; the log has {count}")
    if frontier.root().hex() != cp.root:
        report.add("完整性", "the Merkle root of the log does not match the checkpoint")
    k = table.get(cp.key)
    if k is None or not keys.verify(bytes.fromhex(k["public"]), canonical(cp.body()),
                                    cp.signature):
        authenticity.append(("真实性", "the checkpoint's signature does not match a registered key"))
    report.records = len(running)
    for number, state in running.items():
        if state.status in ("complete", "rejected") and not state.rendition:
            records.append(("可用性", f"{number}: closed without an archived rendition"))
    report.findings += integrity + authenticity + blobs + records
    _key_files(report, archive, table)
    return report


def _last_byte(path: Path, end: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(end - 1)
        return f.read(1)


def _lines(log: Path, committed: int) -> Iterator[bytes]:
    """The committed lines, a block at a time. An empty log is one empty line (which is no
    entry), as splitting the empty text gives."""
    if committed <= 0 or not log.exists():
        yield b""
        return
    for _, line in lines(log, 0, committed):
        yield line


class _Tally:
    """Stands for a record's list of events where only their number matters (the state
    digest): verify keeps no entry of the log, only this much per record."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def append(self, _entry: Any) -> None:
        self.n += 1

    def __len__(self) -> int:
        return self.n


# -- the key table, before anything else: a signature is checked against the final table -----

_KEY_MARKS = (b'"type":"key"', b'"type":"revoke"')


def _key_entries(log: Path, committed: int) -> Iterator[dict[str, Any]]:
    """The well-formed key and revoke entries, in order. Only their lines are parsed: the
    canonical form of such an entry always holds one of the marks."""
    for i, line in enumerate(_lines(log, committed)):
        if _KEY_MARKS[0] in line or _KEY_MARKS[1] in line:
            entry, _ = _entry(i, line)
            if entry is not None and entry["type"] in ("key", "revoke"):
                yield entry


def _key_table(log: Path, committed: int) -> dict[str, dict[str, Any]]:
    return key_table(list(_key_entries(log, committed)))


def _key_findings(log: Path, committed: int) -> list[tuple[str, str]]:
    out, seen = [], {}
    for e in _key_entries(log, committed):
        if e["type"] == "key":
            if e["key_id"] in seen:
                out.append(("真实性", f"entry {e['seq']}: key {e['key_id']} was registered "
                                      f"before (to {seen[e['key_id']]}); a key is never "
                                      "reassigned"))
            seen.setdefault(e["key_id"], e["person"])
    return out


def _entry(i: int, line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Line ``i`` as an entry, or why it is none."""
    if not is_canonical(line):
        return None, f"entry {i}: not canonical JSON"
    entry = json.loads(line)
    problem = _malformed(entry)
    if problem:
        return None, f"entry {i}: {problem}"
    if entry["seq"] != i:
        return None, f"entry {i}: sequence number {entry['seq']} out of order"
    return entry, None


# -- the checks of one entry that need no other entry: in worker processes -------------------

@dataclass
class _Found:
    valid: bool
    integrity: list[tuple[str, str]] = field(default_factory=list)
    authenticity: list[tuple[str, str]] = field(default_factory=list)
    blobs: list[tuple[str, str]] = field(default_factory=list)
    recheck: list[tuple[str, str]] | str | None = None  # findings, or the exception's name


_context: dict[str, Any] = {}


def _set_context(table: dict, root: Path, org) -> None:
    _blob_state.cache_clear()  # a blob may have changed since the last verify
    _context.update(table=table, root=root, org=org, publics={})


def _check_chunk(start: int, chunk: list[bytes]) -> list[tuple[bytes, bytes, _Found]]:
    return [(line, merkle.leaf_hash(line), _check_line(start + j, line))
            for j, line in enumerate(chunk)]


def _check_line(i: int, line: bytes) -> _Found:
    entry, problem = _entry(i, line)
    if entry is None:
        return _Found(False, [("完整性", problem or "")])
    found = _Found(True)
    _authenticity(found.authenticity, entry, _context["table"], _context["publics"])
    _blobs(found.blobs, _context["root"], entry)
    if entry["type"] == "submit":
        try:
            found.recheck = []
            _recheck_submit(found.recheck, _context["root"], _context["org"], entry)
        except Exception as exc:
            found.recheck = type(exc).__name__
    return found


def _checked_chunks(log: Path, committed: int, table: dict, root: Path, library: Library,
                    size: int, workers: int | None) -> Iterator[list[tuple[bytes, bytes, _Found]]]:
    """The checked lines of the log, in order, a chunk at a time. At most a few chunks are
    in flight, so memory stays flat however long the log."""
    n = workers if workers is not None else ((os.cpu_count() or 1) if size >= PARALLEL_FROM else 1)
    chunks = _chunks(_lines(log, committed))
    if n <= 1:
        _set_context(table, root, library.org)
        try:
            for start, chunk in chunks:
                yield _check_chunk(start, chunk)
        finally:
            _context.clear()
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    # fork: the workers inherit the library and key table instead of unpickling them
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_set_context,
                             initargs=(table, root, library.org)) as pool:
        window: deque = deque()
        for start, chunk in chunks:
            window.append(pool.submit(_check_chunk, start, chunk))
            if len(window) > 2 * n:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _chunks(source: Iterator[bytes]) -> Iterator[tuple[int, list[bytes]]]:
    chunk: list[bytes] = []
    start = 0
    for line in source:
        chunk.append(line)
        if len(chunk) == CHUNK:
            yield start, chunk
            start += len(chunk)
            chunk = []
    if chunk:
        yield start, chunk


TEXT = str
SHAPES: dict[str, dict[str, type]] = {
    "key": {"person": TEXT, "key_id": TEXT, "public_key": TEXT, "time": TEXT},
    "revoke": {"person": TEXT, "key_id": TEXT, "time": TEXT},
    "submit": {"record": TEXT, "flow": TEXT, "revision": TEXT, "flow_hash": TEXT,
               "flow_blob": TEXT, "original_blob": TEXT, "fields": dict, "applicant": TEXT,
               "step": TEXT, "role": TEXT, "meaning": TEXT, "time": TEXT, "state": TEXT},
    "sign": {"record": TEXT, "step": TEXT, "decision": TEXT, "comment": TEXT, "person": TEXT,
             "role": TEXT, "meaning": TEXT, "time": TEXT, "status": TEXT, "state": TEXT},
    "rendition": {"record": TEXT, "blob": TEXT, "time": TEXT},
    "void": {"record": TEXT, "person": TEXT, "reason": TEXT, "time": TEXT, "state": TEXT},
    "correct": {"record": TEXT, "person": TEXT, "fields": dict, "previous": dict, "reason": TEXT,
                "time": TEXT, "state": TEXT},
}
HEX = set("0123456789abcdef")


def _hex(value: Any) -> bool:
    """Bytes written as hexadecimal: non-empty, of hex digits, and whole bytes (an odd length
    would make ``bytes.fromhex`` fail later, in the middle of a check)."""
    return isinstance(value, str) and bool(value) and len(value) % 2 == 0 and set(value) <= HEX


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
    if set(entry) != {*shape, "type", "seq", "sig"}:
        return "unexpected or missing keys"
    for key, kind in shape.items():
        if not isinstance(entry[key], kind):
            return f"{key} has the wrong type"
    for key in ("public_key", "flow_hash", "flow_blob", "original_blob", "blob", "state"):
        if key in entry and not _hex(entry[key]):
            return f"{key} is not hexadecimal"
    return None


def _authenticity(out: list, e: dict, table: dict, publics: dict) -> None:
    sig = e.get("sig")
    if not isinstance(sig, dict) or "key" not in sig or "value" not in sig:
        out.append(("真实性", f"entry {e['seq']} ({e.get('type')}) is not signed"))
        return
    k = table.get(sig["key"])
    if k is None or k["seq"] > e["seq"]:
        out.append(("真实性", f"entry {e['seq']} is signed with a key not registered before it"))
        return
    body = {x: y for x, y in e.items() if x != "sig"}
    if not keys.verify(bytes.fromhex(k["public"]), canonical(body), sig["value"]):
        out.append(("真实性", f"entry {e['seq']} ({e.get('type')}): the signature does not match"))
    if e["type"] == "key" and keys.key_id(bytes.fromhex(e["public_key"])) != e["key_id"]:
        out.append(("真实性", f"entry {e['seq']}: key id does not name its public key"))
    signer = e.get("person") or e.get("applicant")
    if signer and k["person"] != signer:
        out.append(("真实性", f"entry {e['seq']}: signed by {k['person']}'s key on behalf of "
                              f"{signer}"))
    if k["revoked"] is not None and k["revoked"] < e["seq"]:
        out.append(("安全性", f"entry {e['seq']}: signed with key {sig['key']} after it was "
                              "revoked"))


def _blobs(out: list, root: Path, e: dict) -> None:
    for name in ("flow_blob", "original_blob", "blob"):
        d = e.get(name)
        if not d:
            continue
        state = _blob_state(root, d)
        if state:
            out.append(("完整性", f"entry {e['seq']}: blob {d[:12]}… ({name}) {state}"))


@lru_cache(maxsize=256)
def _blob_state(root: Path, d: str) -> str | None:
    """None for a blob that is there and whole. Remembered for a while: every record of a
    flow names the same flow source."""
    path = root / "blobs" / d[:2] / d[2:]
    if not path.exists():
        return "is missing"
    if hashlib.sha256(path.read_bytes()).hexdigest() != d:
        return "was altered"
    return None


def _replay(out: list, archive: Archive, org, e: dict, recheck, running: dict) -> None:
    """Fold one entry into the running record states, checking it against the state it was
    signed over and the flow's path and authority (linear in the log, one pass)."""
    if e["type"] not in ("submit", "sign", "void", "correct"):
        if e["type"] == "rendition":  # keys and revocations hold no record state
            _apply(running, e)
        return
    try:
        _record_event(out, archive, org, e, running, recheck)
    except Exception as exc:
        out.append(("可用性", f"{e['record']}: entry {e['seq']} cannot be re-checked "
                              f"({type(exc).__name__})"))


def _apply(running: dict, e: dict) -> None:
    apply(running, e)
    if e["type"] == "submit":  # only the count of events matters from here on
        s = running[e["record"]]
        s.history, s.signatures = _Tally(), _Tally()
        s.history.append(e)
        s.signatures.append(e)


class _RecheckFailed(Exception):
    pass


def _record_event(out: list, archive: Archive, org, e: dict, running: dict, recheck) -> None:
    number = e["record"]
    before = running.get(number)
    if e.get("state") != state_digest(before):
        out.append(("完整性", f"{number}: entry {e['seq']} was signed over another state of "
                              "the record"))
    if before is None and e["type"] != "submit":
        out.append(("可用性", f"{number}: entry {e['seq']} refers to a record never submitted"))
        return
    if e["type"] == "submit":
        if isinstance(recheck, str):  # the worker's re-check raised
            out.append(("可用性", f"{e['record']}: entry {e['seq']} cannot be re-checked "
                                  f"({recheck})"))
            return
        out += recheck or []
    if e["type"] != "sign":
        _apply(running, e)
        return
    state = before
    if state is None:
        out.append(("可用性", f"{number}: signed before it was submitted"))
        return
    try:
        flow = _parsed_flow(archive.blob(state.flow_blob))
    except FlowdocError:
        flow = None
    if flow is None:
        out.append(("可用性", f"{number}: the flow it was made under cannot be read"))
        return
    path = route(flow, _typed(flow, state.fields), state.decisions)
    if path.waiting_for != e["step"]:
        out.append(("可用性", f"{number}: entry {e['seq']} signs '{e['step']}' while the "
                              f"record waited for '{path.waiting_for}'"))
    if org is not None:
        why = may_sign(flow, org, e["step"], e["person"], state.applicant)
        if why:
            out.append(("安全性", f"{number}: entry {e['seq']}: {why}"))
    _apply(running, e)


def _recheck_submit(out: list, root: Path, org, e: dict) -> None:
    """The submitted values against the flow the record was made under (its archived source)."""
    from ..records import RecordInput, check_record

    try:
        flow = _parsed_flow(Archive(root).blob(e["flow_blob"]))
    except FlowdocError:
        flow = None
    if flow is None:
        out.append(("可用性", f"{e['record']}: the flow it was made under cannot be read"))
        return
    if flow.content_hash != e["flow_hash"] or flow.code != e["flow"]:
        out.append(("可用性", f"{e['record']}: the archived flow is not the one it names"))
        return
    if org is not None:
        result = check_record(flow, org, RecordInput(flow.code, e["fields"], e["record"],
                                                     applicant=e["applicant"]))
        for where, message in result.problems:
            out.append(("可用性", f"{e['record']}: {where}: {message}"))


def _key_files(report: Report, archive: Archive, table: dict) -> None:
    for kid in table:
        path = archive.root / "keys" / f"{kid}.key"
        if not path.exists():
            continue  # a key kept elsewhere by its owner is fine
        if b"ENCRYPTED PRIVATE KEY" not in path.read_bytes()[:64]:
            report.add("安全性", f"private key {kid} is stored unencrypted")
        if path.stat().st_mode & 0o077:
            report.add("安全性", f"private key {kid} is readable by others")


def inclusion(report: Report, archive: Archive, number: str) -> dict[str, Any]:
    """The inclusion proof of a record's submit entry in the checkpoint's tree."""
    index = next((e["seq"] for e in _committed_entries(archive)
                  if e["type"] == "submit" and e["record"] == number), None)
    if index is None:
        raise FlowdocError(f"no record {number}")
    leaves = report.leaves
    proof = merkle.inclusion_proof(index, leaves)
    return {"record": number, "index": index, "size": len(leaves),
            "leaf": leaves[index].hex(), "root": report.checkpoint.root,
            "proof": [p.hex() for p in proof]}


def _committed_entries(archive: Archive) -> Iterator[dict[str, Any]]:
    cp = archive.checkpoint()
    if cp is None:
        return
    for line in _lines(archive.root / LOG, cp.bytes):
        yield json.loads(line)


def consistency(report: Report, old: dict[str, Any]) -> dict[str, Any]:
    m, old_root = int(old["size"]), str(old["root"])
    leaves = report.leaves
    n = len(leaves)
    if not 0 < m <= n:
        raise FlowdocError(f"the kept checkpoint has {m} entries; the log has {n}: it was cut")
    proof = merkle.consistency_proof(m, leaves)
    ok = merkle.verify_consistency(m, n, bytes.fromhex(old_root), bytes.fromhex(report.checkpoint.root),
                                   proof)
    return {"from": m, "to": n, "old_root": old_root, "root": report.checkpoint.root,
            "proof": [p.hex() for p in proof], "consistent": ok}
