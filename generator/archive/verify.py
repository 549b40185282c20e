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
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import FlowdocError
from ..model import Flow, Library
from ..records import may_sign, route
from . import keys, merkle
from .canonical import canonical, is_canonical
from .records import RecordState, _typed, apply, key_table, state_digest
from .store import CHECKPOINT, LOG, Archive, Checkpoint

PROPERTIES = ("真实性", "完整性", "可用性", "安全性")


@dataclass
class Report:
    findings: list[tuple[str, str]] = field(default_factory=list)
    entries: int = 0
    records: int = 0
    leaves: list[bytes] = field(default_factory=list)
    checkpoint: Checkpoint | None = None

    def add(self, prop: str, message: str) -> None:
        self.findings.append((prop, message))

    @property
    def ok(self) -> bool:
        return not self.findings


@lru_cache(maxsize=64)
def _flow(raw: bytes) -> Flow | None:
    from ..loader import flow_from_bytes

    try:
        return flow_from_bytes(raw, "archived flow")
    except FlowdocError:
        return None


def verify(archive: Archive, library: Library) -> Report:
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
    log = (root / LOG).read_bytes() if (root / LOG).exists() else b""
    if len(log) < cp.bytes:
        report.add("完整性", f"the log is {len(log)} bytes; the checkpoint covers {cp.bytes}: "
                             "entries were removed")
    elif len(log) > cp.bytes:
        report.add("完整性", f"{len(log) - cp.bytes} bytes follow the last checkpoint: entries "
                             "appended without commit, or the checkpoint was rolled back")
    committed = log[:cp.bytes]
    if committed and not committed.endswith(b"\n"):
        report.add("完整性", "the committed log does not end with a whole line")
    lines = committed.split(b"\n")[:-1] if committed.endswith(b"\n") else committed.split(b"\n")
    report.leaves = [merkle.leaf_hash(line) for line in lines]
    if len(lines) != cp.size:
        report.add("完整性", f"the checkpoint counts {cp.size} entries; the log has {len(lines)}")
    if merkle.root(report.leaves).hex() != cp.root:
        report.add("完整性", "the Merkle root of the log does not match the checkpoint")
    entries: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not is_canonical(line):
            report.add("完整性", f"entry {i}: not canonical JSON")
            continue
        entry = json.loads(line)
        problem = _malformed(entry)
        if problem:
            report.add("完整性", f"entry {i}: {problem}")
            continue
        if entry["seq"] != i:
            report.add("完整性", f"entry {i}: sequence number {entry['seq']} out of order")
            continue
        entries.append(entry)
    report.entries = len(entries)
    table = key_table(entries)
    _authenticity(report, entries, table, cp)
    _blobs(report, archive, entries)
    _records(report, archive, library, entries, table)
    _key_files(report, archive, table)
    return report


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
            and all(isinstance(v, str) and v and set(v) <= HEX for v in sig.values())):
        return "no well-formed signature"
    if set(entry) != {*shape, "type", "seq", "sig"}:
        return "unexpected or missing keys"
    for key, kind in shape.items():
        if not isinstance(entry[key], kind):
            return f"{key} has the wrong type"
    for key in ("public_key", "flow_hash", "flow_blob", "original_blob", "blob", "state"):
        if key in entry and not (entry[key] and set(entry[key]) <= HEX):
            return f"{key} is not hexadecimal"
    return None


def _authenticity(report: Report, entries: list, table: dict, cp: Checkpoint) -> None:
    seen: dict[str, str] = {}
    for e in entries:
        if e["type"] == "key":
            if e["key_id"] in seen:
                report.add("真实性", f"entry {e['seq']}: key {e['key_id']} was registered before "
                                     f"(to {seen[e['key_id']]}); a key is never reassigned")
            seen.setdefault(e["key_id"], e["person"])
    for e in entries:
        sig = e.get("sig")
        if not isinstance(sig, dict) or "key" not in sig or "value" not in sig:
            report.add("真实性", f"entry {e['seq']} ({e.get('type')}) is not signed")
            continue
        k = table.get(sig["key"])
        if k is None or k["seq"] > e["seq"]:
            report.add("真实性", f"entry {e['seq']} is signed with a key not registered before it")
            continue
        body = {x: y for x, y in e.items() if x != "sig"}
        if not keys.verify(bytes.fromhex(k["public"]), canonical(body), sig["value"]):
            report.add("真实性", f"entry {e['seq']} ({e.get('type')}): the signature does not match")
        if e["type"] == "key" and keys.key_id(bytes.fromhex(e["public_key"])) != e["key_id"]:
            report.add("真实性", f"entry {e['seq']}: key id does not name its public key")
        signer = e.get("person") or e.get("applicant")
        if signer and k["person"] != signer:
            report.add("真实性", f"entry {e['seq']}: signed by {k['person']}'s key on behalf of "
                                 f"{signer}")
        if k["revoked"] is not None and k["revoked"] < e["seq"]:
            report.add("安全性", f"entry {e['seq']}: signed with key {sig['key']} after it was "
                                 "revoked")
    k = table.get(cp.key)
    if k is None or not keys.verify(bytes.fromhex(k["public"]), canonical(cp.body()),
                                    cp.signature):
        report.add("真实性", "the checkpoint's signature does not match a registered key")


def _blobs(report: Report, archive: Archive, entries: list) -> None:
    for e in entries:
        for name in ("flow_blob", "original_blob", "blob"):
            d = e.get(name)
            if not d:
                continue
            path = archive.blob_path(d)
            if not path.exists():
                report.add("完整性", f"entry {e['seq']}: blob {d[:12]}… ({name}) is missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != d:
                report.add("完整性", f"entry {e['seq']}: blob {d[:12]}… ({name}) was altered")


def _records(report: Report, archive: Archive, library: Library, entries: list,
             table: dict) -> None:
    """Replay every record's events in order, one pass (time and memory linear in the log)."""
    org = library.org
    running: dict[str, RecordState] = {}
    for e in entries:
        if e["type"] not in ("submit", "sign", "void", "correct"):
            apply(running, e)
            continue
        try:
            _record_event(report, archive, org, e, running)
        except Exception as exc:
            report.add("可用性", f"{e['record']}: entry {e['seq']} cannot be re-checked "
                                 f"({type(exc).__name__})")
    report.records = len(running)
    for number, state in running.items():
        if state.status in ("complete", "rejected") and not state.rendition:
            report.add("可用性", f"{number}: closed without an archived rendition")


def _record_event(report: Report, archive: Archive, org, e: dict, running: dict) -> None:
    number = e["record"]
    before = running.get(number)
    if e.get("state") != state_digest(before):
        report.add("完整性", f"{number}: entry {e['seq']} was signed over another state of "
                             "the record")
    if before is None and e["type"] != "submit":
        report.add("可用性", f"{number}: entry {e['seq']} refers to a record never submitted")
        return
    if e["type"] == "submit":
        _recheck_submit(report, archive, org, e)
    if e["type"] != "sign":
        apply(running, e)
        return
    state = before
    if state is None:
        report.add("可用性", f"{number}: signed before it was submitted")
        return
    try:
        flow = _flow(archive.blob(state.flow_blob))
    except FlowdocError:
        flow = None
    if flow is None:
        report.add("可用性", f"{number}: the flow it was made under cannot be read")
        return
    path = route(flow, _typed(flow, state.fields), state.decisions)
    if path.waiting_for != e["step"]:
        report.add("可用性", f"{number}: entry {e['seq']} signs '{e['step']}' while the "
                             f"record waited for '{path.waiting_for}'")
    if org is not None:
        why = may_sign(flow, org, e["step"], e["person"], state.applicant)
        if why:
            report.add("安全性", f"{number}: entry {e['seq']}: {why}")
    apply(running, e)


def _recheck_submit(report: Report, archive: Archive, org, e: dict) -> None:
    """The submitted values against the flow the record was made under (its archived source)."""
    from ..records import RecordInput, check_record

    try:
        flow = _flow(archive.blob(e["flow_blob"]))
    except FlowdocError:
        flow = None
    if flow is None:
        report.add("可用性", f"{e['record']}: the flow it was made under cannot be read")
        return
    if flow.content_hash != e["flow_hash"] or flow.code != e["flow"]:
        report.add("可用性", f"{e['record']}: the archived flow is not the one it names")
        return
    if org is not None:
        result = check_record(flow, org, RecordInput(flow.code, e["fields"], e["record"],
                                                     applicant=e["applicant"]))
        for where, message in result.problems:
            report.add("可用性", f"{e['record']}: {where}: {message}")


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
    entries = archive.entries()
    index = next((e["seq"] for e in entries if e["type"] == "submit" and e["record"] == number),
                 None)
    if index is None:
        raise FlowdocError(f"no record {number}")
    proof = merkle.inclusion_proof(index, report.leaves)
    return {"record": number, "index": index, "size": len(report.leaves),
            "leaf": report.leaves[index].hex(), "root": report.checkpoint.root,
            "proof": [p.hex() for p in proof]}


def consistency(report: Report, old: dict[str, Any]) -> dict[str, Any]:
    m, old_root = int(old["size"]), str(old["root"])
    n = len(report.leaves)
    if not 0 < m <= n:
        raise FlowdocError(f"the kept checkpoint has {m} entries; the log has {n}: it was cut")
    proof = merkle.consistency_proof(m, report.leaves)
    ok = merkle.verify_consistency(m, n, bytes.fromhex(old_root), bytes.fromhex(report.checkpoint.root),
                                   proof)
    return {"from": m, "to": n, "old_root": old_root, "root": report.checkpoint.root,
            "proof": [p.hex() for p in proof], "consistent": ok}
