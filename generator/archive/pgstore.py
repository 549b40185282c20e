"""The archive in PostgreSQL: the same log, blobs, checkpoints and keys as the folder store,
for writers on many machines (:class:`~generator.archive.store.Store`).

    flowdoc.entries       one row an entry: position (its seq), byte offset, canonical line
                          (the bytes of the folder's log line, without the newline), record, type
    flowdoc.blobs         blobs by their sha256
    flowdoc.checkpoints   every signed checkpoint, as its canonical bytes, in commit order (the
                          last is the head), with the Merkle frontier (derived, checked against
                          the signed root before use)
    flowdoc.private_keys  people's private keys, each encrypted with its owner's passphrase
    flowdoc.cosignatures  witnesses' co-signatures, newest last

Serialisation: a writer takes a transaction-level advisory lock (``pg_advisory_xact_lock``)
first thing in its transaction, and every read its state check makes (the record's entries,
the key table, the numbering) runs in that same transaction after the lock, under READ
COMMITTED: each statement sees every commit made before the lock was granted. The entries and
their checkpoint are inserted and committed together; the commit releases the lock. So two
people signing the same step at once give one success and one refusal from the rule book (the
second sees the first's signature), with no retry loop: a ``SERIALIZABLE`` transaction would
instead abort the loser at commit, after it had unlocked keys and signed an event numbered
for a head that moved, and the whole operation would have to run again. The lock needs no
UPDATE privilege (a ``SELECT … FOR UPDATE`` on a head row would), so the application role
keeps INSERT and SELECT only; it is released by the server when a writer's connection dies
(a killed process leaves no lock and no half transaction). ``entries.position`` is the
primary key besides: a writer that somehow skipped the lock could not commit a second entry
at a position. Durability: ``synchronous_commit = on``; concurrent commits share WAL flushes.

Rows are append-only: triggers refuse UPDATE, DELETE and TRUNCATE, even for the owner,
unless the session sets ``flowdoc.maintenance = 'on'``; a row changed anyway is found by
``flowdoc verify``, which reads the lines back in position order through a server-side cursor.

The password (in the URL, ``PGPASSFILE`` or ``PGPASSWORD``, as libpq reads them) is never
printed: :attr:`PgArchive.name` is the URL without it, and every error is reworded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..seal import keys
from ..seal.canonical import canonical
from ..trust import now
from . import merkle
from .store import (
    KEY_TYPES,
    ArchiveError,
    Checkpoint,
    check_import,
    checkpoint_message,
    key_table,
    parse_checkpoint,
    stored_checkpoint,
)

if TYPE_CHECKING:
    import psycopg

    from ..seal.signoff import Signer
    from ..trust import TrustRoot

SCHEMA_VERSION = 1
LOCK_KEY = 0x666C6F77646F63  # "flowdoc": the one advisory lock of the writers
LOCK_TIMEOUT = "10s"
APP_ROLE = "flowdoc_app"
CHUNK = 2000  # rows a round trip when streaming the log

_TABLES = ("entries", "blobs", "checkpoints", "private_keys", "cosignatures")

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS flowdoc;
CREATE TABLE IF NOT EXISTS flowdoc.meta (id int PRIMARY KEY CHECK (id = 0), version int NOT NULL);
CREATE TABLE IF NOT EXISTS flowdoc.entries (
    position bigint PRIMARY KEY CHECK (position >= 0),
    byte_offset bigint NOT NULL UNIQUE,
    line bytea NOT NULL,
    record text,
    kind text NOT NULL);
CREATE INDEX IF NOT EXISTS entries_record ON flowdoc.entries (record, position)
    WHERE record IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_kind ON flowdoc.entries (kind, position);
CREATE TABLE IF NOT EXISTS flowdoc.blobs (digest text PRIMARY KEY, data bytea NOT NULL);
CREATE TABLE IF NOT EXISTS flowdoc.checkpoints (
    n bigserial PRIMARY KEY, size bigint NOT NULL, raw bytea NOT NULL, frontier bytea,
    committed_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS flowdoc.private_keys (key_id text PRIMARY KEY, data bytea NOT NULL);
CREATE TABLE IF NOT EXISTS flowdoc.cosignatures (
    n bigserial PRIMARY KEY, witness text NOT NULL, raw bytea NOT NULL);
CREATE OR REPLACE FUNCTION flowdoc.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('flowdoc.maintenance', true), '') <> 'on' THEN
        RAISE EXCEPTION 'flowdoc: % on %.% refused: the archive is append-only',
            TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
"""


def _triggers() -> str:
    out = []
    for t in _TABLES:
        out.append(f"DROP TRIGGER IF EXISTS {t}_append_only ON flowdoc.{t};"
                   f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON flowdoc.{t} "
                   "FOR EACH ROW EXECUTE FUNCTION flowdoc.append_only();"
                   f"DROP TRIGGER IF EXISTS {t}_no_truncate ON flowdoc.{t};"
                   f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON flowdoc.{t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION flowdoc.append_only();")
    return "\n".join(out)


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise ArchiveError("a postgresql:// archive needs psycopg: pip install "
                           "'flowdoc[postgresql]'") from None
    return psycopg


def public_url(url: str) -> str:
    """``url`` without its password (in the user part or a ``password=`` option)."""
    m = re.match(r"^(postgres(?:ql)?://)([^@/]*@)?([^?]*)(\?.*)?$", url)
    if not m:
        return "postgresql://…"
    user = (m.group(2) or "").split(":", 1)[0].rstrip("@")
    query = "&".join(p for p in (m.group(4) or "")[1:].split("&")
                     if p and not p.lower().startswith("password="))
    return f"{m.group(1)}{user + '@' if user else ''}{m.group(3)}{'?' + query if query else ''}"


class PgArchive:
    """An archive in a PostgreSQL database (``url``: a libpq URL). ``operator`` as for the
    folder store. Connections are opened when first needed, one a process (a verify worker
    forked from this one opens its own)."""

    def __init__(self, url: str, operator: Signer | None = None) -> None:
        self.url = url
        self.operator = operator
        self._conn: psycopg.Connection | None = None
        self._pid = 0
        self._wconn: psycopg.Connection | None = None
        self._wpid = 0
        self._name: str | None = None

    def __repr__(self) -> str:
        return f"PgArchive({self.name!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}  # never a live connection, never the operator key

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = public_url(self.url)
        return self._name

    @property
    def local_dir(self) -> Path:
        """``FLOWDOC_STATE_DIR``, else a folder of the user's cache named after the database."""
        env = os.environ.get("FLOWDOC_STATE_DIR")
        if env:
            return Path(env)
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base / "flowdoc" / hashlib.sha256(self.name.encode()).hexdigest()[:16]

    def with_operator(self, operator: Signer | None) -> PgArchive:
        return PgArchive(self.url, operator)

    # -- connections ----------------------------------------------------------------------
    def connect(self, autocommit: bool = True) -> psycopg.Connection:
        """A new connection (errors reworded: never the URL's password)."""
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(self.url, autocommit=autocommit, connect_timeout=10)
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.name}: cannot connect ({self._why(exc)})") from None
        conn.execute("SET synchronous_commit = on")
        return conn

    def _why(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        password = _password(self.url)
        return text.replace(password, "***") if password else text

    def _reader(self) -> psycopg.Connection:
        if self._conn is None or self._pid != os.getpid() or self._conn.closed:
            self._conn = self.connect()  # a forked child never uses its parent's socket
            self._pid = os.getpid()
        return self._conn

    @contextlib.contextmanager
    def _db(self) -> Iterator[psycopg.Connection]:
        psycopg = _psycopg()
        try:
            yield self._reader()
        except psycopg.errors.UndefinedTable:
            raise ArchiveError(f"{self.name}: no flowdoc archive in this database (run "
                               "flowdoc archive init)") from None
        except psycopg.Error as exc:
            if self._conn is not None and self._conn.broken:
                self._conn = None
            raise ArchiveError(f"{self.name}: {self._why(exc)}") from None

    def _one(self, sql: str, args: tuple = ()) -> Any:
        with self._db() as db:
            row = db.execute(sql, args).fetchone()
        return row

    # -- reading ----------------------------------------------------------------------------
    def exists(self) -> bool:
        with self._db() as db:
            return db.execute("SELECT to_regclass('flowdoc.entries')").fetchone()[0] is not None

    def raw_checkpoint(self) -> bytes | None:
        row = self._one("SELECT raw FROM flowdoc.checkpoints ORDER BY n DESC LIMIT 1")
        return bytes(row[0]) if row else None

    def checkpoint(self) -> Checkpoint | None:
        return stored_checkpoint(self.raw_checkpoint(), f"{self.name} (its last checkpoint)")

    def log_length(self) -> int:
        row = self._one("SELECT byte_offset + octet_length(line) + 1 FROM flowdoc.entries "
                        "ORDER BY position DESC LIMIT 1")
        return int(row[0]) if row else 0

    def lines(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """Streamed through a server-side cursor in position order (memory flat)."""
        if end <= start:
            return
        psycopg = _psycopg()
        conn = self.connect(autocommit=False)  # a named cursor lives in a transaction
        try:
            with conn.cursor(name="flowdoc_lines") as cur:
                cur.itersize = CHUNK
                cur.execute("SELECT byte_offset, line FROM flowdoc.entries WHERE "
                            "byte_offset >= %s AND byte_offset < %s ORDER BY position",
                            (start, end))
                for offset, line in cur:
                    yield offset, bytes(line)
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.name}: {self._why(exc)}") from None
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def lines_at(self, offsets: list[int]) -> Iterator[bytes]:
        if not offsets:
            return
        with self._db() as db:
            found = {o: bytes(line) for o, line in db.execute(
                "SELECT byte_offset, line FROM flowdoc.entries WHERE byte_offset = ANY(%s)",
                (list(offsets),))}
        for o in offsets:
            if o in found:
                yield found[o]

    def record_lines(self, number: str, end: int) -> Iterator[bytes]:
        """By the record column (derived: the caller checks each line's own number)."""
        with self._db() as db:
            found = [bytes(r[0]) for r in db.execute(
                "SELECT line FROM flowdoc.entries WHERE record = %s AND byte_offset < %s "
                "ORDER BY position", (number, end))]
        yield from found

    def ends_whole(self, end: int) -> bool:
        if end <= 0:
            return True
        row = self._one("SELECT 1 FROM flowdoc.entries WHERE byte_offset + octet_length(line) "
                        "+ 1 = %s", (end,))
        return row is not None

    def entries(self) -> list[dict[str, Any]]:
        cp = self.checkpoint()
        if cp is None:
            return []
        return [json.loads(line) for _, line in self.lines(0, cp.bytes)]

    def key_entries(self) -> list[dict[str, Any]]:
        cp = self.checkpoint()
        if cp is None:
            return []
        with self._db() as db:
            return _key_entries(db, cp.size)

    def blob(self, digest: str) -> bytes:
        row = self._one("SELECT data FROM flowdoc.blobs WHERE digest = %s", (digest,))
        if row is None:
            raise ArchiveError(f"blob {digest[:12]}… is missing from the archive")
        return bytes(row[0])

    def blob_problem(self, digest: str) -> str | None:
        row = self._one("SELECT data FROM flowdoc.blobs WHERE digest = %s", (digest,))
        if row is None:
            return "is missing"
        return None if hashlib.sha256(row[0]).hexdigest() == digest else "was altered"

    def blob_problems(self, digests: list[str]) -> dict[str, str]:
        """One query for them all; the hashes are computed by the server (32 bytes a blob
        come back, never the blob)."""
        with self._db() as db:
            hashes = {d: bytes(h).hex() for d, h in db.execute(
                "SELECT digest, sha256(data) FROM flowdoc.blobs WHERE digest = ANY(%s)",
                (list(digests),))}
        return {d: "is missing" if d not in hashes else "was altered"
                for d in digests if hashes.get(d) != d}

    def blob_digests(self) -> Iterator[str]:
        with self._db() as db:
            names = [r[0] for r in db.execute("SELECT digest FROM flowdoc.blobs ORDER BY digest")]
        yield from names

    def private_key(self, key_id_: str) -> bytes:
        row = self._one("SELECT data FROM flowdoc.private_keys WHERE key_id = %s", (key_id_,))
        if row is None:
            raise ArchiveError(f"the private key {key_id_} is not in {self.name}")
        return bytes(row[0])

    def private_key_problems(self, key_id_: str) -> list[str]:
        row = self._one("SELECT data FROM flowdoc.private_keys WHERE key_id = %s", (key_id_,))
        weak = keys.wrap_problem(bytes(row[0])) if row is not None else None
        # who may read it is the database's grants, not a file mode
        return [f"private key {key_id_} is {weak}"] if weak else []

    def private_key_ids(self) -> list[str]:
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT key_id FROM flowdoc.private_keys "
                                             "ORDER BY key_id")]

    def cosignature(self, key_id_: str) -> bytes | None:
        row = self._one("SELECT raw FROM flowdoc.cosignatures WHERE witness = %s "
                        "ORDER BY n DESC LIMIT 1", (key_id_,))
        return bytes(row[0]) if row else None

    def put_cosignature(self, key_id_: str, data: bytes) -> None:
        with self._db() as db:
            db.execute("INSERT INTO flowdoc.cosignatures (witness, raw) VALUES (%s, %s)",
                       (key_id_, data))

    def checkpoints(self) -> list[bytes]:
        """Every checkpoint committed, oldest first (the history a folder does not keep)."""
        with self._db() as db:
            return [bytes(r[0]) for r in db.execute("SELECT raw FROM flowdoc.checkpoints "
                                                    "ORDER BY n")]

    # -- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _turn(self) -> Iterator[psycopg.Connection]:
        """A transaction holding the writers' lock; rolled back unless committed inside."""
        psycopg = _psycopg()
        conn = self._writer_connection()
        try:
            try:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            except psycopg.errors.LockNotAvailable:
                raise ArchiveError("another writer holds the archive lock; try again") from None
            except psycopg.errors.UndefinedTable:
                raise ArchiveError(f"{self.name}: no flowdoc archive in this database (run "
                                   "flowdoc archive init)") from None
            yield conn
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.name}: {self._why(exc)}; nothing was written") from None
        finally:
            try:
                conn.rollback()  # what was not committed, and the lock with it
            except Exception:
                self._wconn = None
                with contextlib.suppress(Exception):
                    conn.close()

    def _writer_connection(self) -> psycopg.Connection:
        """This process's writing connection, kept between turns: a new one costs more than
        the commit it would serve."""
        if self._wconn is None or self._wpid != os.getpid() or self._wconn.broken \
                or self._wconn.closed:
            self._wconn = self.connect(autocommit=False)
            self._wconn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            self._wconn.commit()
            self._wpid = os.getpid()
        return self._wconn

    @contextlib.contextmanager
    def writing(self) -> Iterator[PgWriter]:
        """The writers' turn: a transaction holding the lock, its state read after it."""
        if self.operator is None:
            raise ArchiveError("the archive's operator key is not unlocked, so nothing can be "
                               "committed (set FLOWDOC_OPERATOR_PASSPHRASE; see flowdoc trust)")
        with self._turn() as conn:
            yield PgWriter(self, conn)

    def import_log(self, new_lines: list[bytes], raw_checkpoint: bytes) -> None:
        with self._turn() as conn:
            head = _head(conn)
            frontier = head.frontier if head else merkle.Frontier()
            size, nbytes = (head.cp.size, head.cp.bytes) if head else (0, 0)
            if head is not None and frontier.root().hex() != head.cp.root:
                frontier = _rebuild_frontier(conn, head.cp)
            check_import(frontier.copy(), size, nbytes, new_lines, raw_checkpoint)
            for line in new_lines:
                frontier.append(merkle.leaf_hash(line))
            _insert(conn, size, nbytes, new_lines, [json.loads(line) for line in new_lines])
            conn.execute("INSERT INTO flowdoc.checkpoints (size, raw, frontier) VALUES "
                         "(%s, %s, %s)", (frontier.size, raw_checkpoint,
                                          b"".join(frontier.hashes)))
            conn.commit()

    def put_copied(self, kind: str, name: str, data: bytes) -> None:
        table, column = (("blobs", "digest") if kind == "blob" else ("private_keys", "key_id"))
        with self._db() as db:
            db.execute(f"INSERT INTO flowdoc.{table} ({column}, data) VALUES (%s, %s) "
                       "ON CONFLICT DO NOTHING", (name, data))


def _password(url: str) -> str | None:
    m = re.match(r"^postgres(?:ql)?://[^:@/]*:([^@/]*)@", url)
    if m and m.group(1):
        from urllib.parse import unquote

        return unquote(m.group(1))
    return None


class _Head:
    def __init__(self, cp: Checkpoint, frontier: merkle.Frontier) -> None:
        self.cp, self.frontier = cp, frontier


def _head(conn: psycopg.Connection) -> _Head | None:
    row = conn.execute("SELECT raw, frontier FROM flowdoc.checkpoints ORDER BY n DESC "
                       "LIMIT 1").fetchone()
    if row is None:
        return None
    try:
        cp = parse_checkpoint(bytes(row[0]))
    except ValueError as exc:
        raise ArchiveError(f"the last checkpoint is not one ({exc}); run flowdoc verify; "
                           "nothing was written") from None
    blob = bytes(row[1] or b"")
    try:
        frontier = merkle.Frontier(cp.size, [blob[i:i + 32] for i in range(0, len(blob), 32)])
    except ValueError:
        frontier = merkle.Frontier()  # derived and broken: rebuilt by the caller
    return _Head(cp, frontier)


def _rebuild_frontier(conn: psycopg.Connection, cp: Checkpoint) -> merkle.Frontier:
    """The frontier from the lines themselves (the stored one is derived, never trusted)."""
    frontier = merkle.Frontier()
    cur = conn.execute("SELECT position, line FROM flowdoc.entries WHERE position < %s "
                       "ORDER BY position", (cp.size,))
    for i, (position, line) in enumerate(cur):
        if position != i:
            break
        frontier.append(merkle.leaf_hash(bytes(line)))
    if frontier.size != cp.size or frontier.root().hex() != cp.root:
        raise ArchiveError("the log does not give the root its signed checkpoint names: it "
                           "was altered (run flowdoc verify); nothing was written")
    return frontier


def _key_entries(db: psycopg.Connection, size: int) -> list[dict[str, Any]]:
    out = []
    for (line,) in db.execute("SELECT line FROM flowdoc.entries WHERE kind = ANY(%s) AND "
                              "position < %s ORDER BY position", (list(KEY_TYPES), size)):
        e = json.loads(bytes(line))
        if e.get("type") in KEY_TYPES:
            out.append(e)
    return out


def _insert(conn: psycopg.Connection, size: int, nbytes: int, lines: list[bytes],
            entries: list[dict[str, Any]]) -> None:
    """The rows of ``lines`` after ``size`` entries / ``nbytes`` bytes, by COPY (one round
    trip for a whole import)."""
    with conn.cursor() as cur, cur.copy("COPY flowdoc.entries (position, byte_offset, line, "
                                        "record, kind) FROM STDIN") as copy:
        for line, e in zip(lines, entries, strict=True):
            record = e.get("record") if isinstance(e.get("record"), str) else None
            copy.write_row((size, nbytes, line, record, str(e.get("type"))))
            size += 1
            nbytes += len(line) + 1


class PgWriter:
    """The folder :class:`~generator.archive.store.Writer`'s operations on one transaction
    that holds the writers' lock: what it reads is the state as committed when the lock was
    granted, and :meth:`commit` inserts the entries, blobs and the signed checkpoint and
    commits them as one; the next turn starts at once (the lock is taken again)."""

    def __init__(self, archive: PgArchive, conn: psycopg.Connection) -> None:
        self.archive = archive
        self.conn = conn
        self.flows: dict[str, Any] = {}
        self.pending: list[dict[str, Any]] = []
        self._start()

    def _start(self) -> None:
        head = _head(self.conn)
        if head is None:
            self.size, self.bytes, self.last_time = 0, 0, ""
            self.frontier = merkle.Frontier()
        else:
            self.size, self.bytes, self.last_time = head.cp.size, head.cp.bytes, head.cp.time
            self.frontier = head.frontier
            if self.frontier.root().hex() != head.cp.root:
                self.frontier = _rebuild_frontier(self.conn, head.cp)
        self._key_entries: list[dict[str, Any]] | None = None
        self._counts: dict[str, int] = {}

    @property
    def next_seq(self) -> int:
        return self.size + len(self.pending)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(bytes(r[0])) for r in self.conn.execute(
            "SELECT line FROM flowdoc.entries WHERE position < %s ORDER BY position",
            (self.size,))]

    def _keys(self) -> list[dict[str, Any]]:
        if self._key_entries is None:
            self._key_entries = _key_entries(self.conn, self.size)
        return self._key_entries

    def key_table(self, trust: TrustRoot) -> dict[str, dict[str, Any]]:
        return key_table([*self._keys(), *self.pending], trust)

    def delegations(self) -> list[dict[str, Any]]:
        return [e for e in [*self._keys(), *self.pending] if e["type"] == "delegate"]

    def org_blob(self) -> str | None:
        pending = [e["blob"] for e in self.pending if e["type"] == "org"]
        if pending:
            return pending[-1]
        row = self.conn.execute("SELECT line FROM flowdoc.entries WHERE kind = 'org' AND "
                                "position < %s ORDER BY position DESC LIMIT 1",
                                (self.size,)).fetchone()
        return json.loads(bytes(row[0]))["blob"] if row else None

    def submitted(self, prefix: str) -> int:
        """Records numbered ``prefix-NNNN`` so far: the highest number in the log (numbers
        have no gaps; verify proves it), pending ones included."""
        pending = sum(1 for e in self.pending
                      if e["type"] == "submit" and e["record"].rsplit("-", 1)[0] == prefix)
        if prefix not in self._counts:
            pattern = re.compile(re.escape(prefix) + r"-(\d{4,})")
            rows = self.conn.execute(
                "SELECT record FROM flowdoc.entries WHERE kind = 'submit' AND "
                "left(record, %s) = %s AND position < %s",
                (len(prefix) + 1, prefix + "-", self.size))
            self._counts[prefix] = max((int(m.group(1)) for (r,) in rows
                                        if (m := pattern.fullmatch(r))), default=0)
        return self._counts[prefix] + pending

    def record_entries(self, number: str) -> list[dict[str, Any]]:
        found = []
        for (line,) in self.conn.execute(
                "SELECT line FROM flowdoc.entries WHERE record = %s AND position < %s "
                "ORDER BY position", (number, self.size)):
            e = json.loads(bytes(line))
            if e.get("record") == number:  # the column is derived: the line says
                found.append(e)
        return [*found, *(e for e in self.pending if e.get("record") == number)]

    def put_blob(self, data: bytes, durable: bool = True) -> str:
        """In this transaction: durable at :meth:`commit`, gone with a refused event."""
        digest = hashlib.sha256(data).hexdigest()
        self.conn.execute("INSERT INTO flowdoc.blobs (digest, data) VALUES (%s, %s) "
                          "ON CONFLICT DO NOTHING", (digest, data))
        return digest

    def put_key(self, key_id_: str, pem: bytes) -> None:
        if self.conn.execute("SELECT 1 FROM flowdoc.private_keys WHERE key_id = %s",
                             (key_id_,)).fetchone():
            raise ArchiveError(f"key {key_id_} exists already")
        self.conn.execute("INSERT INTO flowdoc.private_keys (key_id, data) VALUES (%s, %s)",
                          (key_id_, pem))

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        if entry.get("seq") != self.next_seq:
            raise ArchiveError(f"entry numbered {entry.get('seq')}, expected {self.next_seq}")
        self.pending.append(entry)
        return entry

    def commit(self) -> Checkpoint:
        """Insert the pending entries and a checkpoint signed by the operator key, and commit
        (durable when this returns: synchronous_commit is on)."""
        operator = self.archive.operator
        assert operator is not None  # writing() refuses an archive without one
        lines = [canonical(e) for e in self.pending]
        frontier = self.frontier.copy()
        for line in lines:
            frontier.append(merkle.leaf_hash(line))
        nbytes = self.bytes + sum(len(line) + 1 for line in lines)
        time = max(self.last_time, now())  # checkpoint times never go back
        cp = Checkpoint(frontier.size, nbytes, frontier.root().hex(), time, operator.key.id, "")
        cp = Checkpoint(**{**cp.body(), "signature": operator.sign(checkpoint_message(cp))})
        _insert(self.conn, self.size, self.bytes, lines, self.pending)
        self.conn.execute("INSERT INTO flowdoc.checkpoints (size, raw, frontier) VALUES "
                          "(%s, %s, %s)", (cp.size, canonical(cp.as_dict()),
                                           b"".join(frontier.hashes)))
        self.conn.commit()  # the commit point
        if self._key_entries is not None:
            self._key_entries += [e for e in self.pending if e["type"] in KEY_TYPES]
        self.size, self.bytes, self.pending = frontier.size, nbytes, []
        self.frontier, self.last_time = frontier, time
        # the next turn, at once: another writer may have committed in between
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        head = _head(self.conn)
        if head is not None and head.cp.size != self.size:
            self._start()
        return cp


# -- the schema -------------------------------------------------------------------------------

def init(url: str, app_role: str = APP_ROLE) -> str:
    """Create or migrate the schema at ``url`` (connecting as its owner) and the role
    ``app_role`` (NOLOGIN; grant it to the servers' login roles) with INSERT and SELECT
    only. What was done, one line."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", app_role):
        raise ArchiveError(f"role name '{app_role}': lower-case letters, digits and _ only")
    store = PgArchive(url)
    psycopg = _psycopg()
    conn = store.connect(autocommit=False)
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        had = conn.execute("SELECT to_regclass('flowdoc.meta')").fetchone()[0] is not None
        version = conn.execute("SELECT version FROM flowdoc.meta").fetchone()[0] if had else 0
        if version > SCHEMA_VERSION:
            raise ArchiveError(f"{store.name}: the schema is version {version}; this flowdoc "
                               f"knows {SCHEMA_VERSION}: upgrade flowdoc")
        conn.execute(_SCHEMA)
        conn.execute(_triggers())
        conn.execute("INSERT INTO flowdoc.meta VALUES (0, %s) ON CONFLICT (id) DO NOTHING",
                     (SCHEMA_VERSION,))
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                            (app_role,)).fetchone():
            conn.execute(f"CREATE ROLE {app_role} NOLOGIN")
        tables = ", ".join(f"flowdoc.{t}" for t in _TABLES)
        conn.execute(f"REVOKE ALL ON {tables}, flowdoc.meta FROM PUBLIC")
        conn.execute(f"GRANT USAGE ON SCHEMA flowdoc TO {app_role}")
        conn.execute(f"GRANT SELECT, INSERT ON {tables} TO {app_role}")
        conn.execute(f"GRANT SELECT ON flowdoc.meta TO {app_role}")
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA flowdoc TO {app_role}")
        conn.commit()
    except psycopg.Error as exc:
        raise ArchiveError(f"{store.name}: {store._why(exc)}; nothing was changed") from None
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    what = "migrated to" if had and version < SCHEMA_VERSION else (
        "already at" if had else "created at")
    return f"{store.name}: schema {what} version {SCHEMA_VERSION}; role {app_role} may " \
           "INSERT and SELECT only"

