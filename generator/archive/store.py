"""The archive on disk: an append-only log, content-addressed blobs, a signed checkpoint.

    records/log.jsonl         one canonical JSON entry a line, never rewritten
    records/checkpoint.json   size, byte length and Merkle root of the log, signed
    records/blobs/ab/cdef…    files by their sha256 (filled forms, renditions, flow sources)
    records/keys/KEYID.key    private keys, each encrypted with its owner's passphrase

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FlowdocError
from . import keys, merkle
from .canonical import canonical

LOG = "log.jsonl"
CHECKPOINT = "checkpoint.json"
LOCK = "lock"
LOCK_TIMEOUT = 10.0


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


def _fsync_dir(path: Path) -> None:
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
                yield Writer(self)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _lock(handle) -> None:
    import time

    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ArchiveError("another writer holds the archive lock; try again") from None
            time.sleep(0.05)


class Writer:
    """Appends entries and commits them under one new checkpoint."""

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
        self.entries = archive.entries()
        self.pending: list[dict[str, Any]] = []
        self._unsynced: set[Path] = set()

    @property
    def next_seq(self) -> int:
        return len(self.entries) + len(self.pending)

    def put_blob(self, data: bytes, durable: bool = True) -> str:
        """Store ``data`` by its hash. ``durable=False`` defers the fsyncs to :meth:`commit`,
        for a batch: one fsync per file and folder at the end instead of three per blob."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.archive.blob_path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            if durable:
                _replace(path, data)
            else:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
                self._unsynced.add(path)
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
        for path in sorted(self._unsynced):  # blobs of a batch: on disk before the log says so
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        for folder in sorted({p.parent for p in self._unsynced}):
            _fsync_dir(folder)
        self._unsynced.clear()
        log = self.archive.root / LOG
        lines = b"".join(canonical(e) + b"\n" for e in self.pending)
        with open(log, "ab") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(self.archive.root)
        all_entries = [*self.entries, *self.pending]
        data = self.archive.raw_log()
        leaves = [merkle.leaf_hash(line) for line in data.splitlines()]
        assert len(leaves) == len(all_entries)
        body = {"size": len(leaves), "bytes": len(data), "root": merkle.root(leaves).hex(),
                "key": key_id_}
        cp = Checkpoint(**body, signature=keys.sign(private, canonical(body)))
        _replace(self.archive.root / CHECKPOINT, canonical({**body, "signature": cp.signature}))
        self.entries, self.pending = all_entries, []
        return cp
