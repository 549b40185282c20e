"""Audit packages: a set of records handed on as evidence, verifiable offline.

An auditor exports what a search found; whoever receives the zip checks it with
``flowdoc verify --package`` without the archive. The package carries the archive's signed
checkpoint, every log entry of the records (and the key, approve, revoke and org entries) as
the exact bytes of the log, a Merkle inclusion proof of each entry in the checkpoint's tree,
in the manner of Certificate Transparency, and a manifest signed by the archive's operator
key that lists every member and, for each record, the positions of all its events up to the
checkpoint.

So the receiver can prove, from the package and a trust root (or a checkpoint they kept)
given from outside it: that each entry was in the archive at that checkpoint, signed by a key
a registrar vouched for, and allowed by the archive's rule book; that each record is whole
up to the checkpoint (a dropped event is a finding); that the readable JSON and the PDF
renditions are the ones those entries name; and that the package holds nothing else.

What it cannot prove is that it holds *every* record the query matched: it proves what it
holds, not the absence of anything else. ``verify`` on the archive itself is the check of
completeness; every run says so.

    manifest.json            format, query, checkpoint, records and their events, sha256 of
                             every other member, the operator's key and signature
    checkpoint.json          the archive's signed checkpoint, byte for byte
    entries/NNNNNNNNNN.json  log entries (canonical JSON, exactly as in the log)
    proofs.json              inclusion proof of every entry
    records/NUMBER.json      each record's state with its full history
    records/NUMBER.pdf       its archived rendition, if it is closed
    flows/SHA256.yaml        the flow source each record was made under
    orgs/SHA256.yaml         each org.yaml registered in the log (who held which lane when)
    trust/trust.yaml         the exporter's trust root and keys.yaml, for reading only: a
    trust/keys.yaml          verification that has nothing else says so in its first line
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..archive import merkle, rulebook
from ..archive.rulebook import Book
from ..archive.state import (
    RecordState,
    apply,
    parsed_flow,
    parsed_org,
    render_state,
    state_digest,
)
from ..archive.store import Store as Archive  # any store: a folder, a database
from ..archive.store import checkpoint_problem, key_table, parse_checkpoint
from ..archive.verify import authenticity, signed_body
from ..errors import FlowdocError
from ..fileio import write_atomic
from ..model import Flow, Org
from ..seal import keys
from ..seal.canonical import canonical, is_canonical
from ..seal.signoff import KEYS_FILE
from ..trust import TRUST_FILE, TrustRoot, load_trust

FORMAT = "flowdoc-audit-package/1"
_TIME = (2000, 1, 1, 0, 0, 0)  # fixed zip times: the same records give the same bytes
MAX_PACKAGE = 2 * 2**30


class PackageError(FlowdocError):
    """The package cannot be written or read."""

    code = "invalid"


def _prover(leaves: list[bytes]):
    """Inclusion proofs for many leaves of one tree, sharing the subtree roots (RFC 9162 §2.1.3.1)."""
    @cache
    def root(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        return merkle.node_hash(root(lo, lo + k), root(lo + k, hi))

    return lambda index: [root(lo, hi) for lo, hi in merkle.inclusion_ranges(index, len(leaves))]


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _TIME)
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".pdf") else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name])
    return buffer.getvalue()


COMPLETENESS = ("完整性说明：本包证明所列记录在检查点时的全部事件均已收录且未被改动；"
                "不证明检索条件匹配的记录均已收录（请在档案上运行 flowdoc verify）")


def export_package(archive: Archive, numbers: list[str], output: Path, query: str = "",
                   flows_dir: Path | None = None) -> int:
    """Write the package of ``numbers`` to ``output``, its manifest signed by the archive's
    operator key; the number of records in it."""
    cp = archive.checkpoint()
    if cp is None:
        raise PackageError(f"{archive.name}: the archive is empty")
    if archive.operator is None:
        raise PackageError("the archive's operator key is not unlocked: it signs the "
                           "package's manifest (set FLOWDOC_OPERATOR_PASSPHRASE)")
    raw_cp = archive.raw_checkpoint() or b""
    lines = [line for _, line in archive.lines(0, cp.bytes)]
    wanted = set(numbers)
    chosen: dict[int, bytes] = {}
    states: dict[str, RecordState] = {}
    events: dict[str, list[int]] = {}
    for seq, line in enumerate(lines):
        entry = json.loads(line)
        if entry["type"] in ("key", "approve", "revoke", "org") or entry.get("record") in wanted:
            chosen[seq] = line
            if entry.get("record") in wanted:
                apply(states, entry)
                events.setdefault(entry["record"], []).append(seq)
    missing = wanted - set(states)
    if missing:
        raise PackageError(f"no record {sorted(missing)[0]} in {archive.name}")
    prove = _prover([merkle.leaf_hash(line) for line in lines])
    files: dict[str, bytes] = {"checkpoint.json": raw_cp}
    for seq, line in chosen.items():
        files[f"entries/{seq:010d}.json"] = line
        if b'"type":"org"' in line:
            blob = json.loads(line)["blob"]
            files[f"orgs/{blob}.yaml"] = archive.blob(blob)
    files["proofs.json"] = canonical({str(seq): [p.hex() for p in prove(seq)] for seq in chosen})
    for number in sorted(states):
        state = states[number]
        files[f"records/{number}.json"] = _state_json(state)
        if state.rendition:
            files[f"records/{number}.pdf"] = archive.blob(state.rendition)
        files[f"flows/{state.flow_blob}.yaml"] = archive.blob(state.flow_blob)
    if flows_dir is not None:
        for name in (TRUST_FILE, KEYS_FILE):
            if (flows_dir / name).exists():
                files[f"trust/{name}"] = (flows_dir / name).read_bytes()
    manifest = {"format": FORMAT, "query": query, "checkpoint": json.loads(raw_cp),
                "records": {n: events[n] for n in sorted(states)},
                "files": {name: hashlib.sha256(data).hexdigest()
                          for name, data in sorted(files.items())},
                "operator": archive.operator.key.id}
    manifest["signature"] = archive.operator.sign(manifest_message(manifest))
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode() + b"\n"
    write_atomic(output, _zip(files))
    return len(states)


def manifest_message(manifest: dict[str, Any]) -> bytes:
    """What the operator signs: the manifest without its signature, typed apart."""
    return canonical({"type": "audit-package", **{k: v for k, v in manifest.items()
                                                  if k != "signature"}})


def _state_json(state: RecordState) -> bytes:
    return json.dumps(state.as_dict(), ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"


@dataclass
class PackageReport:
    problems: list[str]
    manifest: dict[str, Any]
    anchor: str  # what the package was checked against, in words (the first line printed)
    independent: bool  # False: only against what the package itself carries


def verify_package(path: Path, trust: TrustRoot | None = None, signoff_keys=None,
                   kept: bytes | None = None) -> PackageReport:
    """Every problem of the package at ``path`` (empty if it proves what it says).

    ``trust`` (with ``signoff_keys``, the vouched keys of its keys.yaml) or ``kept`` (the bytes
    of a checkpoint the auditor kept) come from outside the package; without either the
    package is checked against the trust root it carries, and the report says so."""
    try:
        if path.stat().st_size > MAX_PACKAGE:
            return _unreadable(f"{path}: larger than {MAX_PACKAGE // 2**30} GiB; not an audit package")
        with zipfile.ZipFile(path) as z:
            if sum(info.file_size for info in z.infolist()) > MAX_PACKAGE:  # a zip bomb
                return _unreadable(f"{path}: unpacks to more than {MAX_PACKAGE // 2**30} GiB; "
                                   "not an audit package")
            files = {info.filename: z.read(info) for info in z.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError,
            zlib.error) as exc:
        return _unreadable(f"{path}: not a readable zip ({type(exc).__name__}: {exc})")
    try:
        manifest = json.loads(files["manifest.json"])
        listed: dict[str, str] = dict(manifest["files"])
        if manifest.get("format") != FORMAT:
            return _unreadable(f"{path}: not a {FORMAT} package")
    except (KeyError, ValueError, TypeError):
        return _unreadable(f"{path}: manifest.json is missing or unreadable")
    independent = trust is not None or kept is not None
    anchor = "the trust root given" if trust is not None else (
        "the checkpoint kept" if kept is not None else "")
    if trust is None:  # a kept checkpoint anchors the log; the keys are the package's own
        trust, signoff_keys = _own_trust(files)
    if not independent:
        anchor = ("ONLY the trust root inside the package (not independent: give --flows with "
                  "a trust.yaml you trust, or --checkpoint with one you kept)")
    problems = []
    for name, data in sorted(files.items()):
        if name == "manifest.json":
            continue
        if name not in listed:
            problems.append(f"{name}: in the package but not in the manifest")
        elif hashlib.sha256(data).hexdigest() != listed[name]:
            problems.append(f"{name}: altered (its sha256 differs from the manifest)")
    problems += [f"{name}: listed in the manifest but missing" for name in sorted(set(listed) - set(files))]
    try:
        problems += _check_contents(files, manifest, trust or TrustRoot(), signoff_keys or {},
                                    kept)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        problems.append(f"the package's contents are malformed ({type(exc).__name__}: {exc})")
    return PackageReport(problems, manifest, anchor, independent)


def _unreadable(problem: str) -> PackageReport:
    return PackageReport([problem], {}, "nothing (unreadable)", False)


def _own_trust(files: dict[str, bytes]):
    """The trust root and vouched keys the package carries (for a check that says it is not
    independent)."""
    import tempfile

    from ..loader import load_keys

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for name in (TRUST_FILE, KEYS_FILE):
            if f"trust/{name}" in files:
                (home / name).write_bytes(files[f"trust/{name}"])
        trust = load_trust(home / TRUST_FILE)
        keys_ = load_keys(home, None, [], None, trust)
    return trust, {k.id: k for k in keys_}


def _check_contents(files: dict[str, bytes], manifest: dict[str, Any], trust: TrustRoot,
                    signoff_keys, kept: bytes | None) -> list[str]:
    problems: list[str] = []
    raw_cp = files.get("checkpoint.json", b"")
    cp = parse_checkpoint(raw_cp)
    if json.loads(raw_cp) != manifest["checkpoint"]:
        problems.append("manifest.json names another checkpoint than checkpoint.json")
    if kept is not None:
        try:
            kept_cp = parse_checkpoint(kept)
        except ValueError as exc:
            raise ValueError(f"the kept checkpoint is not one ({exc})") from None
        if (kept_cp.size, kept_cp.root) != (cp.size, cp.root):
            problems.append(f"the package's checkpoint ({cp.size} entries) is not the one kept "
                            f"({kept_cp.size} entries): check it against a trust root")
    why = checkpoint_problem(cp, trust)
    if why:
        problems.append(f"checkpoint.json: {why}")
    operator = trust.key(str(manifest.get("operator")), "operator")
    if operator is None or not keys.verify(operator.public, manifest_message(manifest),
                                           str(manifest.get("signature"))):
        problems.append("manifest.json: not signed by an operator key of the trust root")
    root, size = bytes.fromhex(cp.root), cp.size
    proofs = json.loads(files["proofs.json"])
    entries: list[tuple[dict[str, Any], bytes]] = []
    for name in sorted(n for n in files if n.startswith("entries/")):
        line, seq = files[name], int(name[8:-5])
        if not is_canonical(line):
            problems.append(f"{name}: not canonical JSON")
            continue
        entry = json.loads(line)
        proof = [bytes.fromhex(p) for p in proofs.get(str(seq), [])]
        if entry.get("seq") != seq or not merkle.verify_inclusion(seq, size, merkle.leaf_hash(line),
                                                                   proof, root):
            problems.append(f"{name}: not proven to be entry {seq} of the checkpoint's log")
            continue
        entries.append((entry, line))
    table = key_table((e for e, _ in entries if e["type"] in ("key", "approve", "revoke")),
                      trust)
    records: dict[str, list[int]] = manifest["records"]
    seqs = {e["seq"] for e, _ in entries}
    for number, wanted in records.items():
        lost = [s for s in wanted if s not in seqs]
        if lost:
            problems.append(f"{number}: events {', '.join(map(str, lost))} of the record are not "
                            "in the package")
    states: dict[str, RecordState] = {}
    publics: dict[str, bytes] = {}
    orgs: Org | None = None
    flows: dict[str, Flow | None] = {}

    def flow_of(digest: str) -> Flow | None:
        if digest not in flows:
            raw = files.get(f"flows/{digest}.yaml")
            flows[digest] = None if raw is None or hashlib.sha256(raw).hexdigest() != digest \
                else parsed_flow(raw)
        return flows[digest]

    def blob_of(digest: str) -> bytes | None:
        for name, data in files.items():
            if name.startswith("records/") and name.endswith(".pdf") and \
                    hashlib.sha256(data).hexdigest() == digest:
                return data
        return None

    governing: dict = {}
    for e, line in entries:
        found: list[tuple[str, str]] = []  # the archive's own rules for a signed entry
        authenticity(found, e, signed_body(line, e), table, publics)
        problems += [message for _, message in found]
        if e["type"] == "org":
            org = files.get(f"orgs/{e.get('blob')}.yaml")
            if org is None or hashlib.sha256(org).hexdigest() != e.get("blob"):
                problems.append(f"entry {e['seq']}: the org.yaml it registers is missing or "
                                "altered")
            else:
                parsed = parsed_org(org)
                book = Book(trust, signoff_keys, table, orgs, flow_of, governing=governing)
                why = "it cannot be read" if parsed is None else rulebook.org_governs(parsed, book)
                if why:
                    problems.append(f"entry {e['seq']}: {why}")
                else:
                    orgs = parsed
            continue
        if "record" not in e:
            continue
        if e["record"] not in records:
            problems.append(f"entry {e['seq']}: of record {e['record']}, which the manifest "
                            "does not list")
            continue
        before = states.get(e["record"])
        if "state" in e and e["state"] != state_digest(before):
            # each event signs the state it applied to: a left-out event breaks the chain
            problems.append(f"{e['record']}: entry {e['seq']} follows events not in the package")
        book = Book(trust, signoff_keys, table, orgs, flow_of, render_state, blob_of,
                    governing=governing)
        if before is not None or e["type"] == "submit":
            problems += [f"entry {e['seq']}: {m}" for _, m in rulebook.check(e, before, book)]
        apply(states, e)
    for number in records:
        state = states.get(number)
        if state is None:
            problems.append(f"{number}: named in the manifest, but its entries are not in the package")
            continue
        if files.get(f"records/{number}.json") != _state_json(state):
            problems.append(f"records/{number}.json: differs from the record its entries give")
        if state.rendition:
            pdf = files.get(f"records/{number}.pdf")
            if pdf is None or hashlib.sha256(pdf).hexdigest() != state.rendition:
                problems.append(f"records/{number}.pdf: not the rendition its entries name")
        elif f"records/{number}.pdf" in files:
            problems.append(f"records/{number}.pdf: the record has no rendition")
        flow = files.get(f"flows/{state.flow_blob}.yaml")
        if flow is None or hashlib.sha256(flow).hexdigest() != state.flow_blob:
            problems.append(f"{number}: the flow it was made under is missing or altered")
    return problems
