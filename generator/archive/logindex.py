"""A derived index of the log, so that a write costs the same at any archive size.

    records/index.sqlite   the Merkle frontier, the key table, record counts per flow and year,
                           where each record's entries sit in the log, the org in force

Nothing here is authoritative: the log and the signed checkpoint are. The index says which
checkpoint (size, byte length) it reflects; a writer folds in whatever the log holds beyond
that, and the frontier must then give the checkpoint's signed root. When it does not, or the
file is missing, unreadable or ahead of the checkpoint (rolled back), the index is rebuilt from
the log; a log that even then does not give the signed root is refused, so no writer ever
signs a checkpoint over an altered history. ``flowdoc verify`` never reads this file.

It is updated after the commit point; a writer killed in between leaves it one commit
behind, which the next writer catches up. SQLite survives a killed process at any moment, and
in WAL mode with synchronous=NORMAL a power cut at worst loses recent index updates — which
is again a lagging index, never a wrong one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import merkle

INDEX = "index.sqlite"
SCHEMA_VERSION = 2  # 2: the org in force

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER,
                                 size INTEGER, bytes INTEGER, frontier BLOB);
CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, person TEXT, public TEXT,
                                 seq INTEGER, revoked INTEGER);
CREATE TABLE IF NOT EXISTS counts (prefix TEXT PRIMARY KEY, n INTEGER);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, record TEXT, offset INTEGER,
                                   length INTEGER);
CREATE INDEX IF NOT EXISTS events_record ON events (record, seq);
CREATE TABLE IF NOT EXISTS org (id INTEGER PRIMARY KEY CHECK (id = 0), blob TEXT);
"""


class Stale(Exception):
    """The index does not describe this log; it is rebuilt."""


def lines(path: Path, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` for the lines of ``path`` between byte ``start`` and ``end``, read
    a block at a time (memory flat in the log's length). The last piece may lack its newline."""
    with open(path, "rb") as f:
        f.seek(start)
        offset = start
        rest = b""
        while offset + len(rest) < end:
            block = f.read(min(1 << 20, end - offset - len(rest)))
            if not block:
                break
            rest += block
            parts = rest.split(b"\n")
            rest = parts.pop()
            for line in parts:
                yield offset, line
                offset += len(line) + 1
        if rest:
            yield offset, rest


class Index:
    def __init__(self, root: Path) -> None:
        self.path = root / INDEX
        try:
            self.db = self._open()
        except sqlite3.DatabaseError:  # not a database at all: derived, so start a new one
            self._remove()
            self.db = self._open()

    @classmethod
    def reader(cls, root: Path) -> Index:
        """The index opened read-only, for a reader that must leave the archive as it is (a
        writer creates, repairs and extends it)."""
        self = cls.__new__(cls)
        self.path = root / INDEX
        self.db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True,
                                  isolation_level=None, check_same_thread=False)
        return self

    def _remove(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    def close(self) -> None:
        self.db.close()

    # -- the checkpoint the index reflects ---------------------------------------------------
    def position(self) -> tuple[int, int, merkle.Frontier]:
        row = self.db.execute("SELECT version, size, bytes, frontier FROM meta").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise Stale
        size, nbytes, blob = row[1], row[2], row[3]
        hashes = [blob[i:i + 32] for i in range(0, len(blob), 32)]
        try:
            return size, nbytes, merkle.Frontier(size, hashes)
        except ValueError:
            raise Stale from None

    def catch_up(self, log: Path, size: int, nbytes: int, root: str) -> merkle.Frontier:
        """The frontier of the committed log (``size`` entries, ``nbytes`` bytes, signed
        ``root``), the index brought up to it first. Raises :class:`Stale` when even a
        rebuild from the whole log does not give ``root``."""
        for rebuild in (False, True):
            try:
                if rebuild:
                    self.reset()
                frontier = self._catch_up(log, size, nbytes)
                if frontier.root().hex() == root:
                    return frontier
            except (Stale, sqlite3.DatabaseError, ValueError, KeyError, TypeError):
                if rebuild:
                    raise Stale from None
                self._recreate_if_broken()
        raise Stale

    def _catch_up(self, log: Path, size: int, nbytes: int) -> merkle.Frontier:
        try:
            at, at_bytes, frontier = self.position()
        except Stale:
            self.reset()
            at, at_bytes, frontier = 0, 0, merkle.Frontier()
        if at > size or at_bytes > nbytes:
            raise Stale  # ahead of the checkpoint: it was rolled back
        if at < size:
            found = ((offset, line, json.loads(line))
                     for offset, line in lines(log, at_bytes, nbytes))
            frontier = self.add(frontier, found, at, at_bytes)
        if frontier.size != size:
            raise Stale
        return frontier

    def reset(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        for table in ("meta", "keys", "counts", "events", "org"):
            self.db.execute(f"DELETE FROM {table}")
        self.db.execute("INSERT INTO meta VALUES (0, ?, 0, 0, ?)", (SCHEMA_VERSION, b""))
        self.db.execute("COMMIT")

    def _recreate_if_broken(self) -> None:
        try:
            self.db.execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.DatabaseError:  # not a database at all: start a new file
            self.db.close()
            self._remove()
            self.db = self._open()

    # -- folding entries in ------------------------------------------------------------------
    def add(self, frontier: merkle.Frontier, found: Iterable[tuple[int, bytes, dict[str, Any]]],
            size: int, nbytes: int) -> merkle.Frontier:
        """Fold ``(offset, line, entry)`` of the log after ``size`` entries / ``nbytes`` bytes
        into a copy of ``frontier`` and into the index, in one transaction; the new frontier."""
        frontier = frontier.copy()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for offset, line, e in found:
                if offset != nbytes or e.get("seq") != size:
                    raise Stale
                frontier.append(merkle.leaf_hash(line))
                t = e["type"]
                if t == "key":
                    db.execute("INSERT OR REPLACE INTO keys VALUES (?, ?, ?, ?, NULL)",
                               (e["key_id"], e["person"], e["public_key"], e["seq"]))
                elif t == "revoke":
                    db.execute("UPDATE keys SET revoked = ? WHERE key_id = ?",
                               (e["seq"], e["key_id"]))
                elif t == "org":
                    db.execute("INSERT OR REPLACE INTO org VALUES (0, ?)", (e["blob"],))
                elif isinstance(e.get("record"), str):  # every event of a record
                    db.execute("INSERT INTO events VALUES (?, ?, ?, ?)",
                               (e["seq"], e["record"], offset, len(line)))
                    if t == "submit":
                        db.execute("INSERT INTO counts VALUES (?, 1) ON CONFLICT (prefix) "
                                   "DO UPDATE SET n = n + 1", (e["record"].rsplit("-", 1)[0],))
                size += 1
                nbytes += len(line) + 1
            db.execute("UPDATE meta SET size = ?, bytes = ?, frontier = ?",
                       (size, nbytes, b"".join(frontier.hashes)))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return frontier

    # -- what the writers ask ----------------------------------------------------------------
    def key_table(self) -> dict[str, dict[str, Any]]:
        return {kid: {"person": person, "public": public, "seq": seq, "revoked": revoked}
                for kid, person, public, seq, revoked in self.db.execute(
                    "SELECT key_id, person, public, seq, revoked FROM keys ORDER BY seq")}

    def org_blob(self) -> str | None:
        """The blob of the org.yaml registered last (in force for the next event)."""
        row = self.db.execute("SELECT blob FROM org").fetchone()
        return row[0] if row else None

    def count(self, prefix: str) -> int:
        row = self.db.execute("SELECT n FROM counts WHERE prefix = ?", (prefix,)).fetchone()
        return row[0] if row else 0

    def record_entries(self, log: Path, number: str) -> list[dict[str, Any]]:
        """The committed entries of record ``number``, in order, read from the log itself."""
        return [e for _, e in self._record_rows(log, number)]

    def record_lines(self, log: Path, number: str, end: int) -> list[bytes]:
        """The lines of record ``number`` that end by byte ``end`` of the log, in order, read
        from the log itself."""
        return [line for line, _ in self._record_rows(log, number, end)]

    def _record_rows(self, log: Path, number: str, end: int | None = None
                     ) -> list[tuple[bytes, dict[str, Any]]]:
        """``(line, entry)`` of the record's entries the index places (up to byte ``end``),
        each checked to be that record's entry of that number: Stale when one is not."""
        rows = self.db.execute("SELECT seq, offset, length FROM events WHERE record = ? "
                               "ORDER BY seq", (number,)).fetchall()
        out = []
        if rows:
            with open(log, "rb") as f:
                for seq, offset, length in rows:
                    if end is not None and offset + length > end:
                        break
                    f.seek(offset)
                    line = f.read(length)
                    e = json.loads(line)
                    if e.get("seq") != seq or e.get("record") != number:
                        raise Stale
                    out.append((line, e))
        return out
