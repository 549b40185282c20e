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
    flowdoc.durable       a sequence holding nothing: its setval is how a session waits for
                          the WAL to be on disk (schema version 2)

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
at a position.

The turn is kept short, since writers on every server wait for it. What does not depend on
the head happens before it: the record's values checked, the signer's key unlocked (the
passphrase's key derivation, checked again under the lock to be the signer's active key), key
tables folded (remembered by the process, extended by the entries appended since). The turn
itself is two round trips: one takes the lock and reads the head, frontier, org.yaml in force
and the key entries and record numbers appended since this process last looked; the other,
after the rule book has checked and the event is signed (its signature covers its position
and the record's state, so it can only be made under the lock), sends blobs, entries and the
signed checkpoint as one statement, COMMIT, and the flush below, in one round trip. The
writer's CPU is what the machine runs out of first with many writers, so statements are
few and their parameters scalar (psycopg dumps an array element by element in Python); a
batch sends its blobs as two texts the server splits, its entries by COPY.

Durability and group commit: the turn's transaction commits with ``synchronous_commit = off``
for itself alone, so the lock is released as soon as the commit record is in the WAL, not
after the fsync; the writer then waits, outside the lock, for the WAL to be on disk (a
synchronous commit of a ``setval`` on ``flowdoc.durable``, which flushes the WAL up to itself
and so over every commit before it; sent in the same round trip, after the COMMIT, and run by
the server once the lock is released) and only then returns: an acknowledged entry is
durable. A connection lost during that round trip leaves the writer not knowing whether its
event was committed: it says so (verify and the log tell), never "nothing was written".
Writers waiting at once share one fsync (PostgreSQL's group commit), where a lock held through
a synchronous commit would make every writer wait for every other's fsync in turn. A crash
before the flush loses the unacknowledged commit and every commit after it (the WAL is
replayed in order), so the log stays a prefix of what was committed, never with a hole.
Readers are kept from showing a head that could still be lost: :meth:`PgArchive.raw_checkpoint`
waits for the same flush when it sees a head it has not seen before. Each commit still signs
its own checkpoint (an Ed25519 signature costs 0.05 ms, not worth batching away): every
acknowledged entry is covered by a checkpoint signed when it was committed. Batching several
writers' entries under one commit (a holder committing entries queued by others) is not done:
an event's signature covers its position and the record's state before it, which only its
own signer under the lock can sign, so a queue would cost a round trip back to each signer —
the database's group commit gives the sharing of fsyncs without it.

Rows are append-only: triggers refuse UPDATE, DELETE and TRUNCATE, even for the owner,
unless the session sets ``flowdoc.maintenance = 'on'``; a row changed anyway is found by
``flowdoc verify``, which reads the lines back in position order through a server-side cursor.

The password (in the URL, ``PGPASSFILE`` or ``PGPASSWORD``, as libpq reads them) is never
printed: :attr:`PgArchive.name` is the URL without it, and every error is reworded.
"""

from __future__ import annotations

import contextlib
import functools
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
    committed_key_table,
    key_table,
    parse_checkpoint,
    stored_checkpoint,
)

if TYPE_CHECKING:
    import psycopg

    from ..seal.signoff import Signer
    from ..trust import TrustRoot

# 2: the flowdoc.durable sequence (a synchronous flush after a turn); 3: a private key's
# wrapping may be replaced (a new passphrase, a stronger cost), never its row deleted
SCHEMA_VERSION = 3
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
CREATE SEQUENCE IF NOT EXISTS flowdoc.durable;
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
    """Every table append-only, but a private key: it is its owner's secret, not evidence
    (verify never reads it but to see how it is kept), and changing the passphrase or moving
    to a stronger wrapping replaces it. Its row is never deleted."""
    out = []
    for t in _TABLES:
        refused = "DELETE" if t == "private_keys" else "UPDATE OR DELETE"
        out.append(f"DROP TRIGGER IF EXISTS {t}_append_only ON flowdoc.{t};"
                   f"CREATE TRIGGER {t}_append_only BEFORE {refused} ON flowdoc.{t} "
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
        """The head, once it is on disk: a writer's commit is visible a moment before its
        WAL is flushed (see the module's docstring), so a head this process has not seen yet
        is waited for (one flush, shared with the writers') before anyone is shown it."""
        row = self._one("SELECT raw FROM flowdoc.checkpoints ORDER BY n DESC LIMIT 1")
        raw = bytes(row[0]) if row else None
        known = _known(self.url)
        if raw is not None and raw != known.durable_raw:
            with self._db() as db:
                _flush(db)
            known.durable_raw = raw
        return raw

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
        for offset, line in self._stream("SELECT byte_offset, line FROM flowdoc.entries "
                                         "WHERE byte_offset >= %s AND byte_offset < %s "
                                         "ORDER BY position", (start, end)):
            yield offset, bytes(line)

    def _stream(self, sql: str, args: tuple) -> Iterator[tuple]:
        """The rows of ``sql`` through a server-side cursor of a connection of its own."""
        psycopg = _psycopg()
        conn = self.connect(autocommit=False)  # a named cursor lives in a transaction
        try:
            # binary rows: bytea as is, half the bytes of hex and no decoding on either side
            with conn.cursor(name="flowdoc_stream", binary=True) as cur:
                cur.itersize = CHUNK
                cur.execute(sql, args)
                yield from cur
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
        """The committed key entries: those this process read before, and the ones appended
        since (one query; rows never change, verify finds one that did)."""
        known = _known(self.url)
        with self._db() as db:
            row = db.execute(_KEYS_SINCE, (list(KEY_TYPES), known.keys_upto)).fetchone()
            if row is None:
                return []
            size, lines = row
            if size < known.keys_upto:  # a smaller log than before (another database restored)
                known.reset()
                size, lines = db.execute(_KEYS_SINCE, (list(KEY_TYPES), 0)).fetchone()
        return known.add_keys(lines, size)

    def blob(self, digest: str) -> bytes:
        """The blob; small ones are kept in this process once their hash was checked (flows
        and the org.yaml are read by every event; a blob never changes its name's bytes)."""
        known = _known(self.url)
        data = known.blob_bytes.get(digest)
        if data is not None:
            return data
        row = self._one("SELECT data FROM flowdoc.blobs WHERE digest = %s", (digest,))
        if row is None:
            raise ArchiveError(f"blob {digest[:12]}… is missing from the archive")
        data = bytes(row[0])
        if len(data) <= BLOB_CACHE_MAX and hashlib.sha256(data).hexdigest() == digest:
            known.keep_blob(digest, data)
        return data

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

    def replace_private_key(self, key_id_: str, data: bytes) -> None:
        with self._db() as db:
            done = db.execute("UPDATE flowdoc.private_keys SET data = %s WHERE key_id = %s",
                              (data, key_id_)).rowcount
        if not done:
            raise ArchiveError(f"the private key {key_id_} is not in {self.name}")

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

    def checkpoint_history(self) -> list[bytes]:
        """Every checkpoint committed, oldest first."""
        with self._db() as db:
            return [bytes(r[0]) for r in db.execute("SELECT raw FROM flowdoc.checkpoints "
                                                    "ORDER BY n")]

    def history_lines(self) -> Iterator[bytes]:
        """Streamed through a server-side cursor in commit order, each with a newline."""
        for (raw,) in self._stream("SELECT raw FROM flowdoc.checkpoints ORDER BY n", ()):
            yield bytes(raw) + b"\n"

    def cosignatures(self) -> list[tuple[str, bytes]]:
        with self._db() as db:
            return [(w, bytes(r)) for w, r in db.execute(
                "SELECT witness, raw FROM flowdoc.cosignatures ORDER BY n")]

    # -- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _turn(self) -> Iterator[psycopg.Connection]:
        """A transaction of this process's writing connection, rolled back unless committed
        inside (the lock with it); the caller takes the lock (:func:`_take_turn`)."""
        psycopg = _psycopg()
        conn = self._writer_connection()
        try:
            yield conn
        except psycopg.errors.LockNotAvailable:
            raise ArchiveError("another writer holds the archive lock; try again") from None
        except psycopg.errors.UndefinedTable:
            raise ArchiveError(f"{self.name}: no flowdoc archive in this database (run "
                               "flowdoc archive init)") from None
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

    def _durable(self, conn: psycopg.Connection) -> None:
        """Return once what ``conn`` committed is on disk; the commit itself was made under the
        lock, so a failure here is not "nothing was written" but "not confirmed"."""
        psycopg = _psycopg()
        try:
            _flush(conn)
        except psycopg.Error as exc:
            raise ArchiveError(f"{self.name}: committed, but the server did not confirm it is "
                               f"on disk ({self._why(exc)}); see flowdoc verify") from None

    @contextlib.contextmanager
    def writing(self) -> Iterator[PgWriter]:
        """The writers' turn: a transaction holding the lock, its state read after it."""
        if self.operator is None:
            raise ArchiveError("the archive's operator key is not unlocked, so nothing can be "
                               "committed (set FLOWDOC_OPERATOR_PASSPHRASE; see flowdoc trust)")
        with self._turn() as conn:
            yield PgWriter(self, conn)

    def import_log(self, new_lines: list[bytes], checkpoints: list[bytes]) -> None:
        with self._turn() as conn:
            _take_turn(conn)
            head = _head(conn)
            frontier = head.frontier if head else merkle.Frontier()
            size, nbytes = (head.cp.size, head.cp.bytes) if head else (0, 0)
            if head is not None and frontier.root().hex() != head.cp.root:
                frontier = _rebuild_frontier(conn, head.cp)
            check_import(frontier.copy(), size, nbytes, new_lines, checkpoints)
            for line in new_lines:
                frontier.append(merkle.leaf_hash(line))
            _insert(conn, size, nbytes, new_lines, [json.loads(line) for line in new_lines])
            # the earlier checkpoints' frontiers are not kept: only the head's is read
            sizes = [parse_checkpoint(raw).size for raw in checkpoints]
            with conn.cursor() as cur:
                cur.executemany(_CHECKPOINT_IN, [
                    (n, raw, b"".join(frontier.hashes) if i == len(checkpoints) - 1 else None)
                    for i, (n, raw) in enumerate(zip(sizes, checkpoints, strict=True))])
            conn.commit()
            self._durable(conn)

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


def _take_turn(conn: psycopg.Connection, query: str | None = None,
               params: tuple = ()) -> tuple | None:
    """Start the writers' turn in ``conn``'s new transaction, in one round trip: its commit
    made asynchronous (the flush is waited for after the lock is released), the lock, and
    ``query`` (read after the lock was granted: its snapshot sees every commit before); the
    query's one row."""
    with conn.pipeline():
        conn.execute("SELECT set_config('synchronous_commit', 'off', true), "
                     "pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        cur = conn.execute(query, params) if query else None
    return cur.fetchone() if cur is not None else None


def _flush(conn: psycopg.Connection) -> None:
    """Wait until the WAL is on disk up to everything ``conn``'s session committed or saw. A
    transaction that writes WAL (``setval`` of the ``flowdoc.durable`` sequence: it holds no
    data) committed synchronously flushes the WAL up to its own commit record, which comes
    after every commit made before it; concurrent flushes share one fsync (the server's group
    commit). A role without UPDATE on the sequence (schema 1, a read-only role) waits for the
    server's WAL writer to pass the insert position instead."""
    import psycopg

    try:
        if conn.autocommit:
            conn.execute(_DURABLE)
        else:
            with conn.pipeline():
                conn.execute(_DURABLE)
                conn.commit()
        return
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable):
        if not conn.autocommit:
            conn.rollback()
    import time

    lsn = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
    deadline = time.monotonic() + 10
    while not conn.execute("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn",
                           (lsn,)).fetchone()[0]:
        if time.monotonic() > deadline:
            raise psycopg.OperationalError("the WAL was not flushed within 10 s")
        time.sleep(0.002)
    if not conn.autocommit:
        conn.rollback()


BLOB_CACHE_MAX = 256 * 1024
_DURABLE = "SELECT setval('flowdoc.durable', 1)"


# many blobs in one statement: their digests and their bytes (in hex, each after an "x", so
# that none is empty) as two comma-separated texts, split by the server — a parameter a blob,
# or an array, costs the client ten times the CPU (psycopg dumps them one by one in Python)
_BLOBS_IN = ("INSERT INTO flowdoc.blobs (digest, data) SELECT d, decode(substr(x, 2), 'hex') "
             "FROM unnest(string_to_array(%s, ','), string_to_array(%s, ',')) AS t(d, x) "
             "ON CONFLICT DO NOTHING")


def _blob_texts(blobs: list[tuple[str, bytes]]) -> tuple[str, str]:
    return ",".join(d for d, _ in blobs), ",".join("x" + b.hex() for _, b in blobs)


@functools.cache
def _event_insert(blobs: int, lines: int) -> str:
    """One statement inserting ``blobs`` blobs, ``lines`` entries and the checkpoint (each
    statement costs the client more than its rows), with scalar parameters: the blobs'
    digests and bytes, the entries' five columns, the checkpoint's size, bytes and frontier
    (an array would be dumped element by element in Python)."""
    def values(rows: int, columns: int) -> str:
        return ", ".join(["(" + ", ".join(["%s"] * columns) + ")"] * rows)

    parts = []
    if blobs:
        parts.append(f"b AS (INSERT INTO flowdoc.blobs (digest, data) VALUES {values(blobs, 2)} "
                     "ON CONFLICT DO NOTHING)")
    if lines:
        parts.append("e AS (INSERT INTO flowdoc.entries (position, byte_offset, line, record, "
                     f"kind) VALUES {values(lines, 5)})")
    return ("WITH " + ", ".join(parts) + " " if parts else "") + _CHECKPOINT_IN
_CHECKPOINT_IN = "INSERT INTO flowdoc.checkpoints (size, raw, frontier) VALUES (%s, %s, %s)"

_KEYS_SINCE = ("SELECT c.size, ARRAY(SELECT line FROM flowdoc.entries WHERE kind = ANY(%s) AND "
               "position >= %s AND position < c.size ORDER BY position) FROM (SELECT size "
               "FROM flowdoc.checkpoints ORDER BY n DESC LIMIT 1) c")

# what a writer reads first, under the lock, in the round trip that takes it: the head, the
# Merkle frontier, the org.yaml in force, and the key entries and record numbers this process
# has not seen yet
_START = ("SELECT c.raw, c.frontier, c.size, (SELECT line FROM flowdoc.entries WHERE kind = "
          "'org' AND position < c.size ORDER BY position DESC LIMIT 1), ARRAY(SELECT line FROM "
          "flowdoc.entries WHERE kind = ANY(%s) AND position >= %s AND position < c.size ORDER "
          "BY position), ARRAY(SELECT record FROM flowdoc.entries WHERE kind = 'submit' AND "
          "position >= %s AND position < c.size) FROM (SELECT raw, frontier, size FROM "
          "flowdoc.checkpoints ORDER BY n DESC LIMIT 1) c")


class _Known:
    """What this process has read of one archive and need not read again, rows being
    append-only: the committed key entries up to a position, the highest record number of
    each prefix up to a position, blobs known to be there, small blobs' bytes, and the last
    head known to be on disk. Derived: a writer reads only what was appended since."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.keys_upto = 0
        self.keys: list[dict[str, Any]] = []
        self.numbers_upto = 0
        self.highest: dict[str, int] = {}  # a record number's prefix: its highest number
        self.blobs_there: set[str] = set()
        self.blob_bytes: dict[str, bytes] = {}
        self.durable_raw: bytes | None = None

    def add_keys(self, lines: list, size: int) -> list[dict[str, Any]]:
        """Fold in the key entries read from ``keys_upto`` to ``size``; the entries before
        ``size``."""
        with self.lock:
            if size > self.keys_upto:
                for line in lines:
                    e = json.loads(bytes(line))
                    if e.get("type") in KEY_TYPES and e.get("seq", -1) >= self.keys_upto:
                        self.keys.append(e)
                self.keys_upto = size
            if self.keys and self.keys[-1].get("seq", -1) >= size:
                return [e for e in self.keys if e.get("seq", -1) < size]
            return list(self.keys)

    def add_numbers(self, records: list, size: int) -> None:
        """Fold in the numbers of the records submitted from ``numbers_upto`` to ``size``."""
        with self.lock:
            if size <= self.numbers_upto:
                return
            for number in records:
                prefix, _, tail = (number or "").rpartition("-")
                if prefix and len(tail) >= 4 and tail.isdigit() and tail.isascii():
                    self.highest[prefix] = max(self.highest.get(prefix, 0), int(tail))
            self.numbers_upto = size

    def keep_blob(self, digest: str, data: bytes) -> None:
        with self.lock:
            if len(self.blob_bytes) >= 32:
                self.blob_bytes.pop(next(iter(self.blob_bytes)))
            self.blob_bytes[digest] = data


_KNOWN: dict[str, _Known] = {}


def _known(url: str) -> _Known:
    known = _KNOWN.get(url)
    if known is None:
        known = _KNOWN.setdefault(url, _Known())
    return known


class _Head:
    def __init__(self, cp: Checkpoint, frontier: merkle.Frontier) -> None:
        self.cp, self.frontier = cp, frontier


def _head(conn: psycopg.Connection) -> _Head | None:
    row = conn.execute("SELECT raw, frontier FROM flowdoc.checkpoints ORDER BY n DESC "
                       "LIMIT 1").fetchone()
    return None if row is None else _parse_head(row[0], row[1])


def _parse_head(raw, stored_frontier) -> _Head:
    try:
        cp = parse_checkpoint(bytes(raw))
    except ValueError as exc:
        raise ArchiveError(f"the last checkpoint is not one ({exc}); run flowdoc verify; "
                           "nothing was written") from None
    blob = bytes(stored_frontier or b"")
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


def _insert(conn: psycopg.Connection, size: int, nbytes: int, lines: list[bytes],
            entries: list[dict[str, Any]]) -> None:
    """The rows of ``lines`` after ``size`` entries / ``nbytes`` bytes, by COPY (one round
    trip for a whole import)."""
    with conn.cursor() as cur, cur.copy("COPY flowdoc.entries (position, byte_offset, line, "
                                        "record, kind) FROM STDIN") as copy:
        for row in _rows(size, nbytes, lines, entries):
            copy.write_row(row)


def _rows(size: int, nbytes: int, lines: list[bytes], entries: list[dict[str, Any]]):
    for line, e in zip(lines, entries, strict=True):
        record = e.get("record") if isinstance(e.get("record"), str) else None
        yield size, nbytes, line, record, str(e.get("type"))
        size += 1
        nbytes += len(line) + 1


class PgWriter:
    """The folder :class:`~generator.archive.store.Writer`'s operations on one transaction
    that holds the writers' lock: what it reads is the state as committed when the lock was
    granted, and :meth:`commit` inserts the entries, blobs and the signed checkpoint and
    commits them as one. The turn is taken in one round trip with the reads every event makes
    (head, frontier, org.yaml, new key entries); blobs wait in memory for the commit, which
    sends blobs, entries, checkpoint and COMMIT in one round trip; after a commit the next
    turn is taken only if the writer appends again."""

    def __init__(self, archive: PgArchive, conn: psycopg.Connection) -> None:
        self.archive = archive
        self.conn = conn
        self.known = _known(archive.url)
        self.flows: dict[str, Any] = {}
        self.pending: list[dict[str, Any]] = []
        self._blobs: dict[str, bytes] = {}
        self._open = False
        self._start()

    def _start(self) -> None:
        upto, numbers_upto = self.known.keys_upto, self.known.numbers_upto
        row = _take_turn(self.conn, _START, (list(KEY_TYPES), upto, numbers_upto))
        self._counts: dict[str, int] = {}
        self._open = True
        if row is None:
            self.size, self.bytes, self.last_time = 0, 0, ""
            self.frontier = merkle.Frontier()
            self._keys, self._org = [], None
            return
        raw, stored, size, org, lines, numbers = row
        head = _parse_head(raw, stored)
        self.size, self.bytes, self.last_time = head.cp.size, head.cp.bytes, head.cp.time
        self.frontier = head.frontier
        if self.frontier.root().hex() != head.cp.root:
            self.frontier = _rebuild_frontier(self.conn, head.cp)
        if size < max(upto, numbers_upto):  # a smaller log than this process saw: afresh
            self.known.reset()
            return self._start()  # the lock is held already: taking it again is a no-op
        self._keys = self.known.add_keys(lines, size)
        self.known.add_numbers(numbers, size)
        self._org = json.loads(bytes(org)).get("blob") if org is not None else None

    def _turn(self) -> None:
        if not self._open:  # appending again after a commit: the next turn
            self._start()

    @property
    def next_seq(self) -> int:
        self._turn()
        return self.size + len(self.pending)

    @property
    def entries(self) -> list[dict[str, Any]]:
        self._turn()
        return [json.loads(bytes(r[0])) for r in self.conn.execute(
            "SELECT line FROM flowdoc.entries WHERE position < %s ORDER BY position",
            (self.size,))]

    def key_table(self, trust: TrustRoot) -> dict[str, dict[str, Any]]:
        self._turn()
        return key_table(self.pending, trust, committed_key_table(self._keys, trust))

    def delegations(self) -> list[dict[str, Any]]:
        self._turn()
        return [e for e in [*self._keys, *self.pending] if e["type"] == "delegate"]

    def org_blob(self) -> str | None:
        self._turn()
        pending = [e["blob"] for e in self.pending if e["type"] == "org"]
        return pending[-1] if pending else self._org

    def submitted(self, prefix: str) -> int:
        """Records numbered ``prefix-NNNN`` so far: the highest number in the log (numbers
        have no gaps; verify proves it), pending ones included. Read with the turn: the
        numbers submitted since this process last looked came with the head."""
        self._turn()
        pending = sum(1 for e in self.pending
                      if e["type"] == "submit" and e["record"].rsplit("-", 1)[0] == prefix)
        if prefix not in self._counts:
            self._counts[prefix] = self.known.highest.get(prefix, 0)
        return self._counts[prefix] + pending

    def record_entries(self, number: str) -> list[dict[str, Any]]:
        self._turn()
        found = []
        for (line,) in self.conn.execute(
                "SELECT line FROM flowdoc.entries WHERE record = %s AND position < %s "
                "ORDER BY position", (number, self.size)):
            e = json.loads(bytes(line))
            if e.get("record") == number:  # the column is derived: the line says
                found.append(e)
        return [*found, *(e for e in self.pending if e.get("record") == number)]

    def put_blob(self, data: bytes, durable: bool = True) -> str:
        """Kept until :meth:`commit` sends it with the entries (gone with a refused event); a
        blob this process knows is there is not sent again."""
        self._turn()
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self.known.blobs_there:
            self._blobs[digest] = data
        return digest

    def put_key(self, key_id_: str, pem: bytes) -> None:
        self._turn()
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
        """Insert the blobs, the pending entries and a checkpoint signed by the operator key,
        and commit, in one round trip; return once the commit is on disk (the lock is released
        before: the module's docstring says why that keeps every guarantee)."""
        self._turn()
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
        head = (cp.size, canonical(cp.as_dict()), b"".join(frontier.hashes))
        flushed = False
        if len(lines) <= 16 and sum(map(len, self._blobs.values())) <= BLOB_CACHE_MAX:
            flushed = self._commit_event(lines, head)
        else:  # a batch: blobs in chunks, the entries by COPY (a pipeline of megabytes stalls)
            chunk: list[tuple[str, bytes]] = []
            held = 0
            for item in [*self._blobs.items(), None]:
                if item is not None:
                    chunk.append(item)
                    held += len(item[1])
                if chunk and (item is None or held > 8 << 20):
                    self.conn.execute(_BLOBS_IN, _blob_texts(chunk))
                    chunk, held = [], 0
            _insert(self.conn, self.size, self.bytes, lines, self.pending)
            self.conn.execute(_CHECKPOINT_IN, head)
            self.conn.commit()  # the commit point; the lock is released
        self._open = False
        self.known.blobs_there.update(self._blobs)
        if self.known.keys_upto == self.size:
            self.known.add_keys([canonical(e) for e in self.pending if e["type"] in KEY_TYPES],
                                frontier.size)
        self.size, self.bytes, self.pending, self._blobs = frontier.size, nbytes, [], {}
        self.frontier, self.last_time = frontier, time
        if not flushed:
            self.archive._durable(self.conn)  # acknowledged once on disk
        return cp

    def _commit_event(self, lines: list[bytes], head: tuple) -> bool:
        """An event's commit and the wait for it to be on disk, in one round trip: its blobs,
        entries and checkpoint, COMMIT (the commit point, asynchronous: the lock is released
        as soon as it is in the WAL), then the flush's ``setval`` (:func:`_flush`) in the
        implicit transaction the pipeline's sync commits, synchronously. Whether the flush was waited for;
        False when the commit was made but the flush must be waited for apart (a role that
        may not use the sequence). A failure before COMMIT raises (nothing was written)."""
        psycopg = _psycopg()
        conn = self.conn
        rows = [v for row in _rows(self.size, self.bytes, lines, self.pending) for v in row]
        try:
            with conn.pipeline():
                conn.execute(_event_insert(len(self._blobs), len(lines)),
                             [*(v for item in self._blobs.items() for v in item), *rows, *head])
                conn.execute("COMMIT")  # the commit point; the lock is released
                # in the implicit transaction the pipeline's sync ends: committed then,
                # synchronously (the session's setting), the sync answered once on disk
                conn.execute(_DURABLE)
            if conn.info.transaction_status == _psycopg().pq.TransactionStatus.IDLE:
                return True
            conn.rollback()  # a transaction was opened around it after all: flushed apart
            return False
        except psycopg.Error as exc:
            if conn.broken:
                raise ArchiveError(f"{self.archive.name}: the connection was lost at the commit "
                                   f"({self.archive._why(exc)}): the event may or may not have "
                                   "been written; see flowdoc verify") from None
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
            row = conn.execute("SELECT raw FROM flowdoc.checkpoints ORDER BY n DESC "
                               "LIMIT 1").fetchone()
            conn.rollback()
            if row is None or bytes(row[0]) != head[1]:
                raise  # nothing was committed: reported by the turn as such
            return False


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
        conn.execute("INSERT INTO flowdoc.meta VALUES (0, %s) ON CONFLICT (id) DO UPDATE "
                     "SET version = excluded.version", (SCHEMA_VERSION,))
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                            (app_role,)).fetchone():
            conn.execute(f"CREATE ROLE {app_role} NOLOGIN")
        tables = ", ".join(f"flowdoc.{t}" for t in _TABLES)
        conn.execute(f"REVOKE ALL ON {tables}, flowdoc.meta FROM PUBLIC")
        conn.execute(f"GRANT USAGE ON SCHEMA flowdoc TO {app_role}")
        conn.execute(f"GRANT SELECT, INSERT ON {tables} TO {app_role}")
        conn.execute(f"GRANT SELECT ON flowdoc.meta TO {app_role}")
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA flowdoc TO {app_role}")
        # setval of this sequence (no data) is how a session waits for the WAL to be flushed
        conn.execute(f"GRANT UPDATE ON SEQUENCE flowdoc.durable TO {app_role}")
        conn.execute(f"GRANT UPDATE (data) ON flowdoc.private_keys TO {app_role}")
        conn.commit()
    except psycopg.Error as exc:
        raise ArchiveError(f"{store.name}: {store._why(exc)}; nothing was changed") from None
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    what = "migrated to" if had and version < SCHEMA_VERSION else (
        "already at" if had else "created at")
    return f"{store.name}: schema {what} version {SCHEMA_VERSION}; role {app_role} may " \
           "INSERT and SELECT only (and re-wrap a private key)"

