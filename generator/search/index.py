"""The search index: derived from the archive log, caught up before every search.

The index remembers, in the same commit as the documents, the log position it holds (entry
count, byte offset and the hash of its last line). Before answering a query it reads the
committed log past that position and indexes the new entries, so a crash between archiving and
indexing loses nothing: the next search catches up. If the log no longer has that line at that
place (the archive was replaced or restored), the index is rebuilt from scratch.

Each record's document keeps the byte offsets of its entries, so a new event is folded into
the record's state by re-reading just that record's lines, never the whole log. All writes go
through one writer under a lock with a timeout; nothing is acknowledged before it is committed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..archive.state import ArchivedFlows, RecordState, apply, status_text
from ..archive.store import Store as Archive  # any store: a folder, a database
from ..errors import FlowdocError
from ..fileio import lock_exclusive
from ..model import Library
from .documents import record_document
from .query import Node, text_terms
from .snippet import snippet

BACKENDS = ("whoosh", "tantivy")
LOCK_TIMEOUT = 10.0
CHUNK = 20_000  # entries a commit when catching up: bounded memory, progress survives a crash
Progress = Callable[[int], None]


class SearchError(FlowdocError):
    """The search cannot run; the message says why."""

    code = "busy"


@dataclass(frozen=True)
class Hit:
    number: str
    flow: str
    flow_name: str
    status: str
    applicant: str
    created: str
    snippet: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)

    @property
    def status_text(self) -> str:
        """The status as its reader sees it (办理中, 已完成 …): the words of the record's page."""
        return status_text(self.status)


@dataclass(frozen=True)
class Results:
    total: int
    hits: list[Hit]


def _position(seq: int, last_at: int, last: bytes) -> dict[str, Any]:
    """What the index records of the log it holds: ``seq`` entries, ending with the line
    ``last`` at byte ``last_at`` (and its newline), whose hash tells the same log again."""
    return {"seq": seq, "offset": last_at + len(last) + 1 if seq else 0, "last_at": last_at,
            "last": hashlib.sha256(last).hexdigest()}


def open_backend(name: str, folder: Path):
    if name == "whoosh":
        from .whoosh_backend import WhooshBackend

        return WhooshBackend(folder)
    if name == "tantivy":
        from .tantivy_backend import TantivyBackend

        return TantivyBackend(folder)
    raise SearchError(f"unknown search backend '{name}'; choose {' or '.join(BACKENDS)}")


def _serialised(method: Callable) -> Callable:
    """The method under the index's lock (the backend's searcher and its caches are one
    thread's at a time)."""
    import functools

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return locked


class RecordIndex:
    """The index of one archive, in ``ARCHIVE/index/BACKEND``."""

    def __init__(self, archive: Archive, library: Library, backend: str = "whoosh") -> None:
        if backend not in BACKENDS:
            raise SearchError(f"unknown search backend '{backend}'; choose {' or '.join(BACKENDS)}")
        self.archive, self.library, self.backend_name = archive, library, backend
        self.folder = archive.local_dir / "index" / backend  # derived: each machine its own
        self._flow = ArchivedFlows(archive)
        self._open = None  # the backend, kept open between searches
        self.lock = threading.RLock()  # one thread at a time: a web server shares one index

    def _backend(self):
        if self._open is None:
            self._open = open_backend(self.backend_name, self.folder)
        return self._open

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    # -- reading the log ------------------------------------------------------------------------
    def _lines(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        if end <= start:  # nothing committed (a new or empty archive has no log yet)
            return
        yield from self.archive.lines(start, end)

    def _lines_at(self, offsets: list[int]) -> Iterator[bytes]:
        """The lines starting at ``offsets``, read together."""
        return self.archive.lines_at(offsets)

    def _document(self, state: RecordState, offsets: list[int]) -> dict[str, Any]:
        return record_document(state, self._flow(state.flow_blob), self.library.org, offsets)

    # -- writing ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with open(self.folder.parent / f"{self.backend_name}.lock", "a+b") as lock:
            if not lock_exclusive(lock, LOCK_TIMEOUT):
                raise SearchError("another process is updating the search index; try again")
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _position_valid(self, meta: dict[str, Any] | None, committed: int) -> bool:
        if meta is None:
            return False
        if meta["offset"] > committed:
            return False
        if meta["seq"] == 0:
            return True
        line = next(self._lines_at([meta["last_at"]]), b"")
        return hashlib.sha256(line).hexdigest() == meta["last"]

    @_serialised
    def catch_up(self, progress: Progress | None = None) -> int:
        """Index the entries committed since the index was last written; their count."""
        cp = self.archive.checkpoint()
        committed = cp.bytes if cp else 0
        with self._locked():
            if not self.folder.exists():
                self.close()
                return self._build(self.folder, committed, progress)
            backend = self._backend()
            meta = backend.meta()
            if not self._position_valid(meta, committed):
                self.close()
                return self._rebuild(committed, progress)
            if meta["offset"] == committed:
                return 0
            return self._extend(backend, meta, committed, progress)

    def _extend(self, backend, meta: dict[str, Any], committed: int,
                progress: Progress | None) -> int:
        seq, count = meta["seq"], 0
        lines = self._lines(meta["offset"], committed)
        while chunk := list(itertools.islice(lines, CHUNK)):
            entries = [(off, json.loads(line)) for off, line in chunk]
            touched = list(dict.fromkeys(e["record"] for _, e in entries if "record" in e))
            states: dict[str, RecordState] = {}
            offsets: dict[str, list[int]] = {}
            for number, stored in backend.stored(touched).items():
                offsets[number] = list(stored["offsets"])
                for line in self._lines_at(stored["offsets"]):
                    apply(states, json.loads(line))
            for off, e in entries:
                if "record" in e:
                    offsets.setdefault(e["record"], []).append(off)
                    apply(states, e)
            docs = [self._document(states[n], offsets[n]) for n in touched if n in states]
            seq += len(chunk)
            backend.write(docs, _position(seq, *chunk[-1]))
            count += len(chunk)
            if progress:
                progress(len(chunk))
        return count

    def _build(self, folder: Path, committed: int, progress: Progress | None) -> int:
        """A new index of everything up to ``committed`` in ``folder`` (which must not exist)."""
        states: dict[str, RecordState] = {}
        offsets: dict[str, list[int]] = {}
        seq, last_at, last = 0, 0, b""
        for off, line in self._lines(0, committed):
            e = json.loads(line)
            if "record" in e:
                offsets.setdefault(e["record"], []).append(off)
                apply(states, e)
            seq, last_at, last = seq + 1, off, line
            if progress and seq % 1000 == 0:
                progress(1000)
        if progress:
            progress(seq % 1000)
        docs = [self._document(s, offsets[n]) for n, s in states.items()]
        backend = open_backend(self.backend_name, folder)
        try:
            backend.write(docs, _position(seq, last_at, last), fresh=True)
        finally:
            backend.close()
        return seq

    def _rebuild(self, committed: int, progress: Progress | None) -> int:
        """Build beside the old index and swap, so a crash leaves the old one (or none)."""
        fresh = self.folder.with_name(self.folder.name + ".new")
        shutil.rmtree(fresh, ignore_errors=True)
        count = self._build(fresh, committed, progress)
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            self.folder.rename(old)
        fresh.rename(self.folder)
        shutil.rmtree(old, ignore_errors=True)
        return count

    @_serialised
    def reindex(self, progress: Progress | None = None) -> int:
        """Rebuild the index from the log; the number of entries read."""
        cp = self.archive.checkpoint()
        with self._locked():
            self.close()
            return self._rebuild(cp.bytes if cp else 0, progress)

    @_serialised
    def repair(self) -> list[str]:
        """Put back every record of the log that the index lost (a document deleted from it,
        a half-copied index folder) and return their numbers. The index only selects: what
        exists is the log's to say, so an audit export calls this first and cannot miss a
        record because the index forgot it. One pass over the log."""
        self.catch_up()
        cp = self.archive.checkpoint()
        committed = cp.bytes if cp else 0
        numbers = [json.loads(line)["record"] for _, line in self._lines(0, committed)
                   if b'"type":"submit"' in line]
        if not numbers or not self.folder.exists():
            return []
        with self._locked():
            backend = self._backend()
            have = backend.stored(numbers)
            lost = set(numbers) - set(have)
            if not lost:
                return []
            states: dict[str, RecordState] = {}
            offsets: dict[str, list[int]] = {}
            for off, line in self._lines(0, committed):
                e = json.loads(line)
                if e.get("record") in lost:
                    offsets.setdefault(e["record"], []).append(off)
                    apply(states, e)
            backend.write([self._document(states[n], offsets[n]) for n in sorted(states)],
                          backend.meta())
        return sorted(lost)

    @_serialised
    def pending(self) -> int:
        """How many committed entries the index does not hold yet (an estimate for progress)."""
        cp = self.archive.checkpoint()
        if cp is None:
            return 0
        if not self.folder.exists():
            return cp.size
        meta = self._backend().meta()
        return cp.size - (meta["seq"] if meta else 0)

    # -- searching ------------------------------------------------------------------------------
    @_serialised
    def facets(self, tree: Node, catch_up: bool = True) -> dict[str, list[tuple[str, int]]]:
        """How many records ``tree`` matches have each flow, status, department and signer,
        most first, and were created in each month (``2026-11``), newest first: what a search
        page offers to narrow its matches by."""
        if catch_up:
            self.catch_up()
        if not self.folder.exists():
            return {f: [] for f in ("flow", "status", "department", "signer", "month")}
        raw = self._backend().facets(tree)
        months: dict[str, int] = {}
        for day_, n in raw.pop("created").items():
            key = f"{int(day_) // 10000:04d}-{int(day_) // 100 % 100:02d}"
            months[key] = months.get(key, 0) + n
        out = {f: sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
               for f, counts in raw.items()}
        out["month"] = sorted(months.items(), reverse=True)
        return out

    @_serialised
    def search(self, tree: Node, limit: int = 20, offset: int = 0, newest_first: bool = True,
               catch_up: bool = True) -> Results:
        if catch_up:
            self.catch_up()
        if not self.folder.exists():
            return Results(0, [])
        total, found = self._backend().search(tree, limit, offset, newest_first)
        terms = text_terms(tree)
        return Results(total, [Hit(h["number"], h["flow"], h["flow_name"], h["status"],
                                   h["applicant"], h["created"], snippet(h["text"], terms))
                               for h in found])
