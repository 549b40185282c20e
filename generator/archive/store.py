"""The archive on disk: an append-only log, content-addressed blobs, a signed checkpoint.

    records/log.jsonl         one canonical JSON entry a line, never rewritten
    records/checkpoint.json   size, byte length and Merkle root of the log, signed
    records/blobs/ab/cdef…    files by their sha256 (filled forms, renditions, flow sources)
    records/keys/KEYID.key    private keys, each encrypted with its owner's passphrase
    records/index.sqlite      derived, never trusted: what writers need of the past (index.py)

Writers hold an exclusive lock. An append writes and fsyncs the new lines, then replaces the
checkpoint atomically (write, fsync, rename, fsync the folder): that rename is the commit
point. A crash before it leaves lines past the checkpoint's byte length; the next writer drops
them before it appends, so a half-written event never becomes part of the record.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FlowdocError
from ..fileio import lock_exclusive
from . import keys, merkle
from .canonical import canonical
from .index import Index, Stale

LOG = "log.jsonl"
CHECKPOINT = "checkpoint.json"
LOCK = "lock"
LOCK_TIMEOUT = 10.0


def key_table(entries: Iterable[dict[str, Any]],
              table: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Every registered key: person, public key, the sequence number it was registered at and
    the one it was revoked at. ``entries`` are folded into ``table`` (a table of the entries
    before them), or into a new one."""
    table = {} if table is None else table
    for e in entries:
        if e["type"] == "key":
            table[e["key_id"]] = {"person": e["person"], "public": e["public_key"],
                                  "seq": e["seq"], "revoked": None}
        elif e["type"] == "revoke" and e["key_id"] in table:
            table[e["key_id"]]["revoked"] = e["seq"]
    return table


class ArchiveError(FlowdocError):
    """The archive cannot do what was asked; nothing was written."""


@dataclass(frozen=True)
class Checkpoint:
    size: int
    bytes: int
    root: str
    key: str
    signature: str

    def body(self) -> dict[str, Any]:
        return {"size": self.size, "bytes": self.bytes, "root": self.root, "key": self.key}


def _fsync_dir(path: Path | str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- reading ----------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint | None:
        path = self.root / CHECKPOINT
        if not path.exists():
            return None
        data = json.loads(path.read_bytes())
        return Checkpoint(data["size"], data["bytes"], data["root"], data["key"], data["signature"])

    def raw_log(self) -> bytes:
        path = self.root / LOG
        return path.read_bytes() if path.exists() else b""

    def entries(self) -> list[dict[str, Any]]:
        """The committed entries (up to the checkpoint), parsed."""
        cp = self.checkpoint()
        if cp is None:
            return []
        data = self.raw_log()[:cp.bytes]
        return [json.loads(line) for line in data.splitlines()]

    def blob(self, digest: str) -> bytes:
        path = self.blob_path(digest)
        if not path.exists():
            raise ArchiveError(f"blob {digest[:12]}… is missing from the archive")
        return path.read_bytes()

    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / digest[:2] / digest[2:]

    def private_key(self, key_id_: str) -> bytes:
        path = self.root / "keys" / f"{key_id_}.key"
        if not path.exists():
            raise ArchiveError(f"the private key {key_id_} is not in {self.root}/keys")
        return path.read_bytes()

    # -- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[Writer]:
        """Hold the writers' lock; the uncommitted tail of a crashed writer is dropped first."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "blobs").mkdir(exist_ok=True)
        (self.root / "keys").mkdir(exist_ok=True)
        with open(self.root / LOCK, "a+b") as lock:
            _lock(lock)
            try:
                writer = Writer(self)
                try:
                    yield writer
                finally:
                    writer.close()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _lock(handle) -> None:
    if not lock_exclusive(handle, LOCK_TIMEOUT):
        raise ArchiveError("another writer holds the archive lock; try again")


class Writer:
    """Appends entries and commits them under one new checkpoint.

    What it needs of the past (the next number, the Merkle frontier, keys, record counts, one
    record's entries) comes from the derived index, checked against the signed checkpoint, so
    opening and committing cost the same at any archive size."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        cp = archive.checkpoint()
        log = archive.root / LOG
        committed = cp.bytes if cp else 0
        if log.exists() and log.stat().st_size > committed:
            with open(log, "r+b") as f:  # a crashed writer's uncommitted tail
                f.truncate(committed)
                f.flush()
                os.fsync(f.fileno())
        self.size = cp.size if cp else 0
        self.bytes = committed
        self.index = Index(archive.root)
        self.frontier = self._catch_up(cp)
        self.pending: list[dict[str, Any]] = []
        self._unsynced: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._writes: list[Future] = []

    def _catch_up(self, cp: Checkpoint | None) -> merkle.Frontier:
        root = cp.root if cp else merkle.EMPTY_ROOT.hex()
        try:
            return self.index.catch_up(self.archive.root / LOG, self.size, self.bytes, root)
        except Stale:
            raise ArchiveError("the log does not give the root its signed checkpoint names: it "
                               "was altered (run flowdoc verify); nothing was written") from None

    def close(self) -> None:
        try:
            self._finish_writes()
        finally:
            self.index.close()

    def _finish_writes(self) -> None:
        writes, self._writes = self._writes, []
        for w in writes:
            w.result()  # an error writing a blob is raised here, before anything is committed
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    @property
    def next_seq(self) -> int:
        return self.size + len(self.pending)

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every committed entry, parsed: O(archive size), for tools and tests, never a write."""
        return self.archive.entries()

    def key_table(self) -> dict[str, dict[str, Any]]:
        """Every registered key (committed and pending): person, public key, the sequence
        number it was registered at and the one it was revoked at."""
        return key_table(self.pending, self.index.key_table())

    def org_blob(self) -> str | None:
        """The blob of the org.yaml in force (registered last, pending entries included)."""
        pending = [e["blob"] for e in self.pending if e["type"] == "org"]
        return pending[-1] if pending else self.index.org_blob()

    def submitted(self, prefix: str) -> int:
        """How many records numbered ``prefix-NNNN`` exist, pending ones included."""
        return self.index.count(prefix) + sum(
            1 for e in self.pending
            if e["type"] == "submit" and e["record"].rsplit("-", 1)[0] == prefix)

    def record_entries(self, number: str) -> list[dict[str, Any]]:
        """The entries of record ``number``, committed and pending, in order."""
        log = self.archive.root / LOG
        try:
            found = self.index.record_entries(log, number)
        except (Stale, ValueError, OSError):
            self.index.reset()  # an index that points at the wrong lines: built anew
            self._catch_up(self.archive.checkpoint())
            found = self.index.record_entries(log, number)
        return [*found, *(e for e in self.pending if e.get("record") == number)]

    def put_blob(self, data: bytes, durable: bool = True) -> str:
        """Store ``data`` by its hash. ``durable=False`` defers making it durable to
        :meth:`commit`, for a batch: one flush of the file system for all blobs instead of
        three fsyncs per blob."""
        digest = hashlib.sha256(data).hexdigest()
        if not durable:
            path = f"{self.archive.root}/blobs/{digest[:2]}/{digest[2:]}"
            if path not in self._unsynced:
                # creating a file costs 0.1-0.2 ms here, mostly waiting on the file system:
                # threads do it while this one checks and signs the next record
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(2)
                self._writes.append(self._pool.submit(_write_new, path, data))
                self._unsynced.add(path)
            return digest
        path_ = self.archive.blob_path(digest)
        if not path_.exists():
            path_.parent.mkdir(parents=True, exist_ok=True)
            _replace(path_, data)
        return digest

    def put_key(self, key_id_: str, pem: bytes) -> None:
        path = self.archive.root / "keys" / f"{key_id_}.key"
        if path.exists():
            raise ArchiveError(f"key {key_id_} exists already")
        _replace(path, pem)
        os.chmod(path, 0o600)

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Queue ``entry``, which carries (and its signature covers) the next sequence number."""
        if entry.get("seq") != self.next_seq:
            raise ArchiveError(f"entry numbered {entry.get('seq')}, expected {self.next_seq}")
        self.pending.append(entry)
        return entry

    def commit(self, private, key_id_: str) -> Checkpoint:
        """Write the pending entries and a checkpoint signed by ``private`` (the writer's key)."""
        self._finish_writes()
        _sync_all(self.archive.root, sorted(self._unsynced))  # blobs before the log names them
        self._unsynced.clear()
        log = self.archive.root / LOG
        created = not log.exists()
        lines = [canonical(e) for e in self.pending]
        with open(log, "ab") as f:
            if f.tell() != self.bytes:
                raise ArchiveError("the log changed under the writers' lock; nothing was written")
            f.write(b"".join(line + b"\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())
        if created:  # appending to an existing file changes no folder entry
            _fsync_dir(self.archive.root)
        frontier = self.frontier.copy()
        for line in lines:
            frontier.append(merkle.leaf_hash(line))
        nbytes = self.bytes + sum(len(line) + 1 for line in lines)
        body = {"size": frontier.size, "bytes": nbytes, "root": frontier.root().hex(),
                "key": key_id_}
        cp = Checkpoint(**body, signature=keys.sign(private, canonical(body)))
        _replace(self.archive.root / CHECKPOINT, canonical({**body, "signature": cp.signature}))
        # committed; the index follows (a failure here only leaves it behind, to catch up)
        offsets, at = [], self.bytes
        for line in lines:
            offsets.append(at)
            at += len(line) + 1
        try:
            self.frontier = self.index.add(self.frontier, zip(offsets, lines, self.pending,
                                                              strict=True),
                                           self.size, self.bytes)
        except (sqlite3.Error, Stale):
            self.frontier = frontier
        self.size, self.bytes, self.pending = frontier.size, nbytes, []
        return cp


def _write_new(path: str, data: bytes) -> None:
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)
    os.replace(path + ".tmp", path)  # never a half-written blob under its name


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _sync_all(root: Path, paths: list[str]) -> None:
    """Make ``paths`` (new files and their folders) durable. Many files: one syncfs(2) of the
    archive's file system (Linux) instead of an fsync per file and folder — 40x faster for a
    batch of 2,000 blobs here, and it reports write-back errors since Linux 5.8."""
    if not paths:
        return
    if len(paths) > 8 and _syncfs(root):
        return
    for path in paths:
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    for folder in sorted({os.path.dirname(p) for p in paths}):
        _fsync_dir(folder)


def _syncfs(root: Path) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return False  # not Linux: fsync one by one
    fd = os.open(root, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs: {os.strerror(err)}")
    finally:
        os.close(fd)
    return True
