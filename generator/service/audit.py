"""What an auditor does: verify the archive or a package, keep a checkpoint, witness one,
search, and export an audit package."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..archive import trusting
from ..archive.location import open_store

if TYPE_CHECKING:
    from ..archive.verify import Report
    from .workspace import Workspace


@dataclass
class Verification:
    """A verify run: the report (findings by property, notes) and the proofs asked for."""

    report: Report
    inclusion: dict[str, Any] | None = None
    consistency: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok


def verify(ws: Workspace, proof_of: str | None = None, kept: bytes | None = None,
           kept_name: str = "the kept checkpoint", renditions: bool = False) -> Verification:
    """The archive checked against the workspace's trust root and flows. A broken definition
    of the working copy (keys.yaml, org.yaml) is one more finding; a kept checkpoint that the
    log does not extend is a rollback or fork finding, never an error."""
    from ..archive.verify import inclusion, kept_findings
    from ..archive.verify import verify as verify_log

    archive = ws.archive()
    report = verify_log(archive, ws.library, renditions=renditions)
    for problem in ws.checked.errors:
        report.add("真实性", f"{problem} (so what it would vouch for is not counted)")
    result = Verification(report, notes=report.notes)
    if report.checkpoint is not None and proof_of:
        result.inclusion = inclusion(report, archive, proof_of)
    if kept is not None:
        found, result.consistency = kept_findings(report, kept, ws.library.trust, kept_name)
        for message in found:
            report.add("完整性", message)
    return result


def checkpoint(archive_dir: Path) -> bytes:
    """The archive's signed checkpoint as JSON bytes, to keep outside it (``verify --since``
    compares a later archive with it)."""
    return trusting.checkpoint_json(open_store(archive_dir))


def witness(ws: Workspace, key_file: Path, passphrase: str, state_file: Path) -> dict[str, Any]:
    """A witness countersigns the archive's checkpoint and keeps it in its own state file."""
    signer = trusting.unlock_key_file(key_file, passphrase, "witness")
    return trusting.witness(ws.archive(), ws.library.trust, signer, state_file)


@dataclass(frozen=True)
class Integrity:
    """One record's place in the signed log: its submission is leaf ``index`` of the tree
    whose root the latest checkpoint signs; ``problem`` says why that does not hold (None:
    the proof and the checkpoint's signature verify)."""

    number: str
    index: int | None
    size: int
    root: str
    problem: str | None


def integrity(ws: Workspace, number: str) -> Integrity:
    """The record's inclusion proof against the latest checkpoint, checked: what a record page
    shows as its integrity line (the whole archive is ``verify``'s). The proof's other hashes
    come from the workspace's tree of the log (:class:`_LogTree`, extended as the log grows); the
    record's own submission is read and hashed afresh each time, so an edit of it shows."""
    from ..archive import merkle
    from ..archive.store import checkpoint_problem
    from ..seal.canonical import loads_canonical

    archive = ws.archive()
    cp = archive.checkpoint()
    if cp is None:
        return Integrity(number, None, 0, "", "the archive has no checkpoint")
    found = next(((raw, entry) for raw in archive.record_lines(number, cp.bytes)
                  if _is_submit_of(entry := loads_canonical(raw), number)), None)
    if found is None:
        return Integrity(number, None, cp.size, cp.root, f"no record {number}")
    line, index = found[0], found[1]["seq"]
    tree = ws.kept("log tree", _LogTree).current(archive, cp)
    try:
        proof = tree.inclusion_proof(index, cp.size)
    except ValueError:
        return Integrity(number, None, cp.size, cp.root, f"no entry {index} in the log")
    ok = merkle.verify_inclusion(index, cp.size, merkle.leaf_hash(line), proof,
                                 bytes.fromhex(cp.root))
    problem = None if ok else "the inclusion proof does not lead to the checkpoint's root"
    problem = problem or checkpoint_problem(cp, ws.library.trust)
    return Integrity(number, index, cp.size, cp.root, problem)


def _is_submit_of(entry: Any, number: str) -> bool:
    return isinstance(entry, dict) and entry.get("type") == "submit" and \
        entry.get("record") == number and isinstance(entry.get("seq"), int)


class _LogTree:
    """The Merkle tree of the log's lines as far as this workspace has read them, extended by
    the lines committed since (a log that shrank is read again from the start)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.tree: Any = None
        self.offset = 0

    def current(self, archive, cp):
        from ..archive import merkle

        with self.lock:
            if self.tree is None or cp.bytes < self.offset or cp.size < self.tree.size:
                self.tree, self.offset = merkle.Tree(), 0
            for _, line in archive.lines(self.offset, cp.bytes):
                if line:
                    self.tree.append(merkle.leaf_hash(line))
            self.offset = cp.bytes
            return self.tree


# -- search and audit export ------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """What a search form or the command line's options narrow a query to."""

    flow: str | None = None
    signer: str | None = None
    status: str | None = None
    dept: str | None = None
    date_from: str | None = None
    date_to: str | None = None


def query_tree(text: str, filters: Filters = Filters()):
    """The query and its filters as one tree; a malformed query or date is a usage error."""
    from ..search import combine, parse
    from ..search import query as q
    from .records import UsageError

    try:
        tree = parse(text)
        parts: list = []
        for name, value in (("flow", filters.flow), ("signer", filters.signer),
                            ("status", filters.status), ("dept", filters.dept)):
            if value:
                parts.append(q.keyword(name, value))
        if filters.date_from or filters.date_to:
            parts.append(q.date_range("created",
                                      f"{filters.date_from or ''}..{filters.date_to or ''}"))
    except q.QueryError as exc:
        raise UsageError(f"query: {exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return combine(tree, parts)


def open_index(ws: Workspace, backend: str = "whoosh"):
    """The search index of the workspace's archive (caught up by the caller, who may show
    progress while it does)."""
    from ..search import RecordIndex
    from .records import NotFound

    if not ws.archive().exists():
        raise NotFound(f"{ws.archive().name}: no archive here (give --archive)")
    return RecordIndex(ws.archive(), ws.library, backend)


def kept_index(ws: Workspace, backend: str = "whoosh"):
    """The archive's search index kept open by the workspace (a server's): opening one reads
    every segment's term index, and its facet columns are made once a segment, costs a page
    must not pay again. Thread-safe (the index serialises its callers)."""
    index = ws.kept(f"index/{backend}", lambda: open_index(ws, backend))
    index.library = ws.library  # the flows as checked now
    return index


def search(index, tree, limit: int = 20, page: int = 1, newest_first: bool = True):
    """Page ``page`` of the records ``tree`` (a parsed query with its filters) matches in
    ``index``, newest first unless asked otherwise."""
    return index.search(tree, limit, (page - 1) * limit, newest_first, False)


def facets(index, tree) -> dict[str, list[tuple[str, int]]]:
    """How many of the records ``tree`` matches fall on each flow, status, department, signer
    and month (the index caught up by :func:`search`'s caller)."""
    return index.facets(tree, catch_up=False)


CSV_COLUMNS = ("编号", "流程", "流程名称", "状态", "申请人", "提交时间", "摘要")


def results_csv(results) -> bytes:
    """Search results as CSV that Excel opens with its Chinese intact: UTF-8 with a byte
    order mark (without it Excel on Windows reads the bytes as the local code page)."""
    import csv
    import io

    text = io.StringIO()
    out = csv.writer(text, lineterminator="\r\n")
    out.writerow(CSV_COLUMNS)
    out.writerows(_rows(results))
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


def results_xlsx(results) -> bytes:
    """Search results as an XLSX workbook (the CSV's columns; the header row bold and frozen)."""
    from ..xlsx import workbook

    return workbook(CSV_COLUMNS, _rows(results), "检索结果")


def _rows(results):
    """Each hit as a row of :data:`CSV_COLUMNS`: one mapping for every export."""
    return ([h.number, h.flow, h.flow_name, h.status_text, h.applicant, h.created, h.snippet]
            for h in results.hits)


def export(ws: Workspace, index, tree, query_text: str, output: Path,
           newest_first: bool = True) -> int:
    """Every record the query matches, as an audit package signed by the operator key. The
    index only selects: a record of the log it lost is put back first."""
    from ..search.package import export_package

    index.repair()
    everything = index.search(tree, 10**9, 0, newest_first, False)
    return export_package(ws.archive(write=True), [h.number for h in everything.hits], output,
                          query_text, ws.flows_dir)


def verify_package(flows_dir: Path, path: Path, kept: bytes | None = None):
    """An audit package checked against the trust root of ``flows_dir`` when it has one (or
    a kept checkpoint), both from outside the package; else against what it carries, which
    the report says."""
    from ..checks import check_paths
    from ..search.package import verify_package as check_package
    from ..trust import TRUST_FILE

    trust = signoff_keys = None
    if (flows_dir / TRUST_FILE).exists():
        library = check_paths([flows_dir]).library
        trust, signoff_keys = library.trust, {k.id: k for k in library.keys}
    return check_package(path, trust, signoff_keys, kept)
