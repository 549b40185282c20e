"""Audit packages: a set of records handed on as evidence, verifiable offline.

An auditor exports what a search found; whoever receives the zip checks it with
``flowdoc verify --package`` without the archive. The package carries the archive's signed
checkpoint, every log entry of the records (and the key and org registrations) as the
exact bytes of the log, and a Merkle inclusion proof of each entry in the checkpoint's tree,
in the manner of Certificate Transparency. So the receiver can prove, from the package alone,
that each entry was in the archive at that checkpoint and signed by a registered key, that the
readable JSON and the PDF renditions are the ones those entries name, and that no file of the
package was changed.

What the package cannot prove is that it holds *every* record the query matched, or every
event after a record's last one in the package: it proves what it holds, not the absence of
anything else. ``verify`` on the archive itself is the check of completeness.

    manifest.json            format, query, checkpoint, records, sha256 of every other file
    checkpoint.json          the archive's signed checkpoint, byte for byte
    entries/NNNNNNNNNN.json  log entries (canonical JSON, exactly as in the log)
    proofs.json              inclusion proof of every entry
    records/NUMBER.json      each record's state with its full history
    records/NUMBER.pdf       its archived rendition, if it is closed
    flows/SHA256.yaml        the flow source each record was made under
    orgs/SHA256.yaml         each org.yaml registered in the log (who held which lane when)
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from ..archive import keys, merkle
from ..archive.canonical import canonical, is_canonical
from ..archive.records import RecordState, apply, key_table, state_digest
from ..archive.store import LOG, Archive
from ..archive.verify import authenticity, signed_body
from ..errors import FlowdocError
from ..fileio import write_atomic

FORMAT = "flowdoc-audit-package/1"
_TIME = (2000, 1, 1, 0, 0, 0)  # fixed zip times: the same records give the same bytes
MAX_PACKAGE = 2 * 2**30


class PackageError(FlowdocError):
    """The package cannot be written or read."""


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


def export_package(archive: Archive, numbers: list[str], output: Path, query: str = "") -> int:
    """Write the package of ``numbers`` to ``output``; the number of records in it."""
    cp = archive.checkpoint()
    if cp is None:
        raise PackageError(f"{archive.root}: the archive is empty")
    raw_cp = (archive.root / "checkpoint.json").read_bytes()
    lines = (archive.root / LOG).read_bytes()[:cp.bytes].split(b"\n")[:-1]
    wanted = set(numbers)
    chosen: dict[int, bytes] = {}
    states: dict[str, RecordState] = {}
    for seq, line in enumerate(lines):
        entry = json.loads(line)
        if entry["type"] in ("key", "revoke", "org") or entry.get("record") in wanted:
            chosen[seq] = line
            if entry.get("record") in wanted:
                apply(states, entry)
    missing = wanted - set(states)
    if missing:
        raise PackageError(f"no record {sorted(missing)[0]} in {archive.root}")
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
    manifest = {"format": FORMAT, "query": query, "checkpoint": json.loads(raw_cp),
                "records": sorted(states),
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}}
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode() + b"\n"
    write_atomic(output, _zip(files))
    return len(states)


def _state_json(state: RecordState) -> bytes:
    return json.dumps(state.as_dict(), ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"


def verify_package(path: Path) -> tuple[list[str], dict[str, Any]]:
    """Every problem of the package at ``path`` (empty if it proves what it says) and its manifest."""
    try:
        if path.stat().st_size > MAX_PACKAGE:
            return [f"{path}: larger than {MAX_PACKAGE // 2**30} GiB; not an audit package"], {}
        with zipfile.ZipFile(path) as z:
            if sum(info.file_size for info in z.infolist()) > MAX_PACKAGE:  # a zip bomb
                return [f"{path}: unpacks to more than {MAX_PACKAGE // 2**30} GiB; not an audit package"], {}
            files = {info.filename: z.read(info) for info in z.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError,
            zlib.error) as exc:
        return [f"{path}: not a readable zip ({type(exc).__name__}: {exc})"], {}
    try:
        manifest = json.loads(files["manifest.json"])
        listed: dict[str, str] = dict(manifest["files"])
        if manifest.get("format") != FORMAT:
            return [f"{path}: not a {FORMAT} package"], {}
    except (KeyError, ValueError, TypeError):
        return [f"{path}: manifest.json is missing or unreadable"], {}
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
        problems += _check_contents(files, manifest)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        problems.append(f"the package's contents are malformed ({type(exc).__name__}: {exc})")
    return problems, manifest


def _check_contents(files: dict[str, bytes], manifest: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    raw_cp = files.get("checkpoint.json", b"")
    cp = json.loads(raw_cp)
    if cp != manifest["checkpoint"]:
        problems.append("manifest.json names another checkpoint than checkpoint.json")
    root, size = bytes.fromhex(cp["root"]), int(cp["size"])
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
    table = key_table(e for e, _ in entries)
    k = table.get(cp["key"])
    body = {x: cp[x] for x in ("size", "bytes", "root", "key")}
    if k is None or not keys.verify(bytes.fromhex(k["public"]), canonical(body), cp["signature"]):
        problems.append("checkpoint.json: the signature does not match a registered key")
    states: dict[str, RecordState] = {}
    publics: dict[str, bytes] = {}
    for e, line in entries:
        found: list[tuple[str, str]] = []  # the archive's own rules for a signed entry
        authenticity(found, e, signed_body(line, e), table, publics)
        problems += [message for _, message in found]
        if e["type"] == "org":
            org = files.get(f"orgs/{e.get('blob')}.yaml")
            if org is None or hashlib.sha256(org).hexdigest() != e.get("blob"):
                problems.append(f"entry {e['seq']}: the org.yaml it registers is missing or "
                                "altered")
        if "state" in e and e["state"] != state_digest(states.get(e["record"])):
            # each event signs the state it applied to: a left-out event breaks the chain
            problems.append(f"{e['record']}: entry {e['seq']} follows events not in the package")
        apply(states, e)
    for number in manifest["records"]:
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
        flow = files.get(f"flows/{state.flow_blob}.yaml")
        if flow is None or hashlib.sha256(flow).hexdigest() != state.flow_blob:
            problems.append(f"{number}: the flow it was made under is missing or altered")
    return problems
