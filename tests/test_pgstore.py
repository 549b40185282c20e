"""The archive on PostgreSQL: the same records, refusals, bytes and verify as the folder store,
against a real server the tests start (conftest.pg_server), never a mock."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import shutil
from pathlib import Path

import pytest
from conftest import OPERATOR_SECRET, UNBOUND, cli, secret, store_snapshot

from generator.archive import events as R
from generator.archive.copying import copy_archive
from generator.archive.store import Archive, ArchiveError
from generator.archive.trusting import unlock_operator
from generator.archive.verify import inclusion, verify
from generator.errors import FlowdocError
from generator.records import RecordInput

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed "
                                                "(pip install '.[postgresql]')")

from generator.archive.pgstore import PgArchive, init  # noqa: E402

LIBRARY = UNBOUND
TRUSTED = UNBOUND
FLOWS = UNBOUND
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def leave(days: int = 3) -> RecordInput:
    end = dt.date(2026, 11, 2) + dt.timedelta(days=days - 1)
    return RecordInput("EC-HR-015", {"leave_type": "病假", "start": "2026-11-02",
                                     "end": end.isoformat(), "reason": "感冒发烧"}, "leave.yaml")


def new_database(pg) -> str:
    """A new database with the archive's schema; its owner's URL."""
    url = pg.url(pg.database())
    init(url)
    return url


def snapshot(store) -> tuple:
    return store_snapshot(store)


# -- the shared contract: the same record tests against both stores ----------------------------

def test_a_closed_record_verifies_with_its_rendition(store_of):
    archive = store_of()
    number = R.submit(archive, LIBRARY, leave(3), b"leave: 3 days", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意", "同意",
                T0 + dt.timedelta(hours=1))
    R.sign_step(archive, LIBRARY, number, "hr_approve", "周婷", secret("周婷"), "同意", "",
                T0 + dt.timedelta(hours=2))
    report = verify(archive, LIBRARY)
    assert report.ok, report.findings
    state = R.record_state(archive, number)
    assert state.status == "complete" and archive.blob(state.rendition).startswith(b"%PDF")
    assert [e["type"] for e in archive.entries()][-5:] == ["org", "submit", "sign", "sign",
                                                             "rendition"]
    proof = inclusion(report, archive, number)
    assert proof["root"] == archive.checkpoint().root


@pytest.mark.parametrize("step,person,message", [
    ("hr_approve", "周婷", "waits for step 'head_approve', not 'hr_approve'"),
    ("head_approve", "赵敏", "may not approve their own request"),
])
def test_a_refused_event_writes_nothing(store_of, step, person, message):
    archive = store_of()
    number = R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    before = snapshot(archive)
    with pytest.raises(ArchiveError, match=message):
        R.sign_step(archive, LIBRARY, number, step, person, secret(person), "同意")
    with pytest.raises(ArchiveError, match="李强: no signing key of theirs unlocks"):
        R.sign_step(archive, LIBRARY, number, "head_approve", "李强", "wrong-passphrase", "同意")
    assert snapshot(archive) == before


def test_numbers_run_per_flow_and_year_and_revoked_keys_sign_no_more(store_of):
    archive = store_of(("赵敏", "李强"))
    numbers = [R.submit(archive, LIBRARY, leave(d), b"x", "赵敏", secret("赵敏"), T0)
               for d in (1, 2)]
    numbers.append(R.submit(archive, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"),
                            T0.replace(year=2027)))
    assert numbers == ["EC-HR-015-2026-0001", "EC-HR-015-2026-0002", "EC-HR-015-2027-0001"]
    R.revoke_key(archive, LIBRARY, "赵敏", secret("赵敏"))
    with pytest.raises(ArchiveError, match="赵敏: no signing key of theirs unlocks"):
        R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, LIBRARY, numbers[0], "head_approve", "李强", secret("李强"), "同意")
    assert verify(archive, LIBRARY).ok


def test_an_import_is_all_or_nothing_and_the_search_index_catches_up(store_of):
    from generator.search import RecordIndex, parse

    archive = store_of(("赵敏",))
    bad = RecordInput("EC-HR-015", {"leave_type": "病假"}, "bad.yaml")
    before = snapshot(archive)
    with pytest.raises(FlowdocError, match=r"bad\.yaml"):
        R.import_records(archive, LIBRARY, [(leave(1), b"a"), (bad, b"b")], "赵敏",
                         secret("赵敏"), T0)
    assert snapshot(archive) == before
    numbers = R.import_records(archive, LIBRARY, [(leave(1), b"a"), (leave(2), b"b")], "赵敏",
                               secret("赵敏"), T0)
    assert len(numbers) == 2
    index = RecordIndex(archive, LIBRARY)
    try:
        assert index.catch_up() > 0
        found = index.search(parse("感冒发烧"), limit=10)
        assert {h.number for h in found.hits} == set(numbers)
        R.submit(archive, LIBRARY, leave(3), b"c", "赵敏", secret("赵敏"), T0)
        assert index.catch_up() == 1  # by position, from the shared log
    finally:
        index.close()


def test_an_audit_package_of_a_record_verifies(store_of, tmp_path):
    from generator.search.package import export_package, verify_package

    archive = store_of(("赵敏", "李强"))
    number = R.submit(archive, LIBRARY, leave(2), b"leave", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    assert export_package(archive, [number], tmp_path / "p.zip", "", FLOWS) == 1
    assert verify_package(tmp_path / "p.zip").problems == []


# -- the same bytes ------------------------------------------------------------------------------

def folder_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.parts[len(root.parts)] in ("log.jsonl", "checkpoint.json",
                                                            "checkpoints.jsonl", "blobs",
                                                            "keys", "witness")}


def test_folder_to_postgresql_to_folder_gives_the_same_bytes(pg_server, tmp_path):
    source = TRUSTED.fresh(tmp_path / "a", ("赵敏", "李强", "周婷"))
    number = R.submit(source, LIBRARY, leave(3), b"leave", "赵敏", secret("赵敏"), T0)
    R.sign_step(source, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    R.sign_step(source, LIBRARY, number, "hr_approve", "周婷", secret("周婷"), "同意")
    url = new_database(pg_server)
    out = cli(["archive", "copy", "--from", tmp_path / "a", "--to", url], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "copied" in out.stdout
    out = cli(["archive", "copy", "--from", url, "--to", tmp_path / "b"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert folder_bytes(tmp_path / "b") == folder_bytes(tmp_path / "a")
    assert PgArchive(url).raw_checkpoint() == (tmp_path / "a" / "checkpoint.json").read_bytes()
    # the same findings and root from the database as from the folder
    assert verify(PgArchive(url), LIBRARY).ok and verify(Archive(tmp_path / "b"), LIBRARY).ok
    two = verify(PgArchive(url), LIBRARY, workers=2)  # worker processes, each its own connection
    assert two.ok and two.entries == source.checkpoint().size
    # a copy is an archive like any other: written to, it verifies
    for store in (PgArchive(url, source.operator), Archive(tmp_path / "b", source.operator)):
        R.submit(store, LIBRARY, leave(1), b"after", "赵敏", secret("赵敏"), T0)
        assert verify(store, LIBRARY).ok


def cosigned(witness: str, archive) -> bytes:
    """A co-signature as a witness leaves it in the store (what the copy carries; trusting's
    own tests check how one is made and checked)."""
    from generator.seal.canonical import canonical

    return canonical({"checkpoint": archive.checkpoint().as_dict(), "witness": witness,
                      "signature": "ab" * 64})


def test_a_copy_carries_every_checkpoint_and_cosignature_there_and_back(pg_server, tmp_path):
    source = TRUSTED.fresh(tmp_path / "a", ("赵敏", "李强", "周婷"))
    number = R.submit(source, LIBRARY, leave(2), b"leave", "赵敏", secret("赵敏"), T0)
    source.put_cosignature("w" * 32, cosigned("w" * 32, source))
    R.sign_step(source, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    source.put_cosignature("v" * 32, cosigned("v" * 32, source))
    source.put_cosignature("w" * 32, cosigned("w" * 32, source))
    history = source.checkpoint_history()
    assert len(history) >= 5 and history[-1] == source.raw_checkpoint()
    url = new_database(pg_server)
    out = cli(["archive", "copy", "--from", tmp_path / "a", "--to", url], tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"{len(history)} checkpoints, 3 co-signatures" in out.stdout
    pg = PgArchive(url)
    assert pg.checkpoint_history() == history
    assert pg.cosignatures() == source.cosignatures()
    assert pg.cosignature("w" * 32) == source.cosignature("w" * 32)
    out = cli(["archive", "copy", "--from", url, "--to", tmp_path / "b"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert folder_bytes(tmp_path / "b") == folder_bytes(tmp_path / "a")
    assert "checkpoints.jsonl" in folder_bytes(tmp_path / "b")
    # resumed: only what the source committed and co-signed since
    R.sign_step(source, LIBRARY, number, "hr_approve", "周婷", secret("周婷"), "同意")
    source.put_cosignature("v" * 32, cosigned("v" * 32, source))
    done = copy_archive(source, PgArchive(url))
    assert (done.checkpoints, done.cosignatures) == (1, 1)
    assert done.entries == 2  # the sign and the rendition of the record it closed
    assert pg.checkpoint_history() == source.checkpoint_history()
    assert copy_archive(source, PgArchive(url)).checkpoints == 0  # again: nothing to do
    # a destination with another history, or a co-signature the source lacks: refused, as is
    other = TRUSTED.fresh(tmp_path / "o", ("赵敏",))
    R.submit(other, LIBRARY, leave(1), b"o", "赵敏", secret("赵敏"), T0)
    before = (pg.checkpoint_history(), pg.cosignatures(), snapshot(pg))
    out = cli(["archive", "copy", "--from", tmp_path / "o", "--to", url], tmp_path)
    assert out.returncode == 1 and "holds a different history" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert (pg.checkpoint_history(), pg.cosignatures(), snapshot(pg)) == before
    Archive(tmp_path / "b").put_cosignature("x" * 32, cosigned("x" * 32, source))
    kept = folder_bytes(tmp_path / "b")
    with pytest.raises(ArchiveError, match=r"co-signature by witness x+ that .* does not"):
        copy_archive(source, Archive(tmp_path / "b"))
    assert folder_bytes(tmp_path / "b") == kept


def test_a_folder_from_before_the_histories_copies_and_keeps_them_from_then_on(pg_server,
                                                                              tmp_path):
    source = TRUSTED.fresh(tmp_path / "a", ("赵敏",))
    R.submit(source, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"), T0)
    source.put_cosignature("w" * 32, cosigned("w" * 32, source))
    (tmp_path / "a" / "checkpoints.jsonl").unlink()  # as a folder made before they were kept
    (tmp_path / "a" / "witness" / "cosignatures.jsonl").unlink()
    head = source.raw_checkpoint()
    assert source.checkpoint_history() == [head]
    assert source.cosignatures() == [("w" * 32, cosigned("w" * 32, source))]
    pg = PgArchive(new_database(pg_server))
    copy_archive(source, pg)
    assert pg.checkpoint_history() == [head] and pg.cosignatures() == source.cosignatures()
    R.submit(source, LIBRARY, leave(2), b"y", "赵敏", secret("赵敏"), T0)
    source.put_cosignature("v" * 32, cosigned("v" * 32, source))
    assert source.checkpoint_history() == [head, source.raw_checkpoint()]
    assert [w for w, _ in source.cosignatures()] == ["w" * 32, "v" * 32]
    assert copy_archive(source, pg).checkpoints == 1
    assert pg.checkpoint_history() == source.checkpoint_history()
    assert pg.cosignatures() == source.cosignatures()


def test_a_folder_history_cut_by_a_crash_ends_at_the_head(tmp_path):
    """A writer killed after it appended its checkpoint to the history, before the head was
    replaced (the commit point): the history is read, and cut by the next writer, up to the
    head."""
    archive = TRUSTED.fresh(tmp_path / "a", ("赵敏",))
    history = archive.checkpoint_history()
    with open(tmp_path / "a" / "checkpoints.jsonl", "ab") as f:
        f.write(b'{"bytes":1,"key":"k","root":"r","signature":"s","size":99,"time":"t"}\n')
    assert archive.checkpoint_history() == history
    R.submit(archive, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"), T0)
    lines = (tmp_path / "a" / "checkpoints.jsonl").read_bytes().splitlines()
    assert lines[:len(history)] == history and b'"size":99' not in b"".join(lines)
    assert lines[-1] == archive.raw_checkpoint() and verify(archive, LIBRARY).ok


def test_both_stores_answer_every_read_of_the_interface_alike(pg_server, tmp_path):
    folder = TRUSTED.fresh(tmp_path / "a", ("赵敏", "李强"))
    number = R.submit(folder, LIBRARY, leave(2), b"leave", "赵敏", secret("赵敏"), T0)
    R.sign_step(folder, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    pg = PgArchive(new_database(pg_server))
    copy_archive(folder, pg)
    end = folder.checkpoint().bytes
    lines = list(folder.lines(0, end))
    offsets = [o for o, _ in lines]
    missing = "ab" * 32
    for store in (folder, pg):
        assert store.raw_checkpoint() == (tmp_path / "a" / "checkpoint.json").read_bytes()
        assert store.log_length() == end
        assert list(store.lines(0, end)) == lines
        assert list(store.lines(offsets[3], offsets[6])) == lines[3:6]
        assert list(store.lines_at([offsets[5], offsets[2]])) == [lines[5][1], lines[2][1]]
        assert store.ends_whole(end) and not store.ends_whole(end - 1)
        assert store.key_entries() == folder.key_entries()
        assert store.entries() == folder.entries()
        assert [json.loads(x)["seq"] for x in store.record_lines(number, end)] == \
            [e["seq"] for e in folder.entries() if e.get("record") == number]
        assert list(store.blob_digests()) == list(folder.blob_digests())
        assert store.private_key_ids() == folder.private_key_ids()
        digest = next(iter(folder.blob_digests()))
        assert store.blob(digest) == folder.blob(digest)
        assert store.blob_problems([digest, missing]) == {missing: "is missing"}
        assert store.blob_problem(missing) == "is missing"


def test_a_password_is_never_in_a_stores_name_or_repr():
    from generator.archive.pgstore import public_url

    url = "postgresql://app:Top-Secret-9@db.example:5432/flowdoc?sslmode=require&password=Top-Secret-9"
    for text in (public_url(url), repr(PgArchive(url)), PgArchive(url).name):
        assert "Top-Secret-9" not in text
        assert "app@db.example:5432/flowdoc" in text


def test_a_copy_resumes_and_refuses_a_different_history(pg_server, tmp_path):
    source = TRUSTED.fresh(tmp_path / "a", ("赵敏",))
    url = new_database(pg_server)
    copy_archive(source, PgArchive(url))
    n = R.submit(source, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"), T0)
    done = copy_archive(source, PgArchive(url))
    assert done.entries == 2 and done.size == source.checkpoint().size  # the org and the submit
    assert R.record_state(PgArchive(url), n).number == n
    other = TRUSTED.fresh(tmp_path / "other", ("李强",))
    R.submit(other, LIBRARY, leave(2), b"y", "李强", secret("李强"), T0)
    # into a folder too: a copy of the first entries, written to, then resumed, is refused
    # once it has a history of its own; resumed before, it takes the rest
    partial = tmp_path / "partial"
    copy_archive(PgArchive(url), Archive(partial))
    R.submit(source, LIBRARY, leave(2), b"z", "赵敏", secret("赵敏"), T0)
    assert copy_archive(source, Archive(partial)).entries == 1
    assert (partial / "log.jsonl").read_bytes() == (tmp_path / "a" / "log.jsonl").read_bytes()
    copy_archive(source, PgArchive(url))
    before = PgArchive(url).raw_checkpoint()
    out = cli(["archive", "copy", "--from", tmp_path / "other", "--to", url], tmp_path)
    assert out.returncode == 1
    assert "holds a different history" in out.stderr and "nothing was written" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert PgArchive(url).raw_checkpoint() == before


# -- writers on many machines --------------------------------------------------------------------

def _sign(url: str, number: str, person: str, barrier, results) -> None:
    archive = PgArchive(url, unlock_operator(TRUSTED.root / "seed-records", OPERATOR_SECRET))
    barrier.wait()
    try:
        R.sign_step(archive, LIBRARY, number, "head_approve", person, secret(person), "同意")
        results.put((person, "ok"))
    except ArchiveError as exc:
        results.put((person, str(exc)))


def test_two_holders_signing_the_same_step_at_once_give_one_success_and_one_refusal(
        pg_server, tmp_path):
    """李强 and his deputy 吴刚 (a 代理 grant) both sign head_approve at the same moment, from
    two processes with their own connections: the database serialises them, the rule book
    inside the second's transaction sees the first's signature."""
    folder = TRUSTED.fresh(tmp_path / "a", ("赵敏", "李强", "吴刚", "周婷"))
    url = new_database(pg_server)
    store = PgArchive(url, folder.operator)
    copy_archive(folder, store)
    number = R.submit(store, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"), T0)
    today = dt.datetime.now(dt.UTC).date()
    R.delegate(store, LIBRARY, "李强", "吴刚", today, today, secret("李强"), "出差")
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_sign, args=(url, number, p, barrier, results))
             for p in ("李强", "吴刚")]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    assert sorted(v == "ok" for v in outcomes.values()) == [False, True], outcomes
    refusal = next(v for v in outcomes.values() if v != "ok")
    assert "lock" not in refusal and "\n" not in refusal  # the rule book's refusal, one line
    state = R.record_state(store, number)
    assert state.decisions["head_approve"] == ["同意"]
    assert verify(store, LIBRARY).ok


# -- append-only in the database too -----------------------------------------------------------

def test_the_application_role_may_insert_and_select_but_not_update_or_delete(pg_server, tmp_path):
    folder = TRUSTED.fresh(tmp_path / "a", ("赵敏",))
    url = new_database(pg_server)
    copy_archive(folder, PgArchive(url))
    database = url.split("/")[3].split("?")[0]
    pg_server.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') "
                  "THEN CREATE ROLE app LOGIN PASSWORD 'app-pw-1' IN ROLE flowdoc_app; "
                  "END IF; END $$")
    app = pg_server.tcp_url(database, "app", "app-pw-1")
    writer = PgArchive(app, folder.operator)
    R.submit(writer, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"), T0)  # INSERT, SELECT
    assert verify(writer, LIBRARY).ok
    with psycopg.connect(app, autocommit=True) as conn:
        for statement in ("UPDATE flowdoc.entries SET line = line",
                          "DELETE FROM flowdoc.entries",
                          "DELETE FROM flowdoc.checkpoints",
                          "UPDATE flowdoc.blobs SET data = ''::bytea",
                          "TRUNCATE flowdoc.entries",
                          "DELETE FROM flowdoc.private_keys",
                          "UPDATE flowdoc.private_keys SET key_id = 'another'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        # a private key's wrapping may be replaced (a new passphrase): its owner's secret,
        # not evidence
        conn.execute("UPDATE flowdoc.private_keys SET data = data")
    # the owner is refused too, unless the named maintenance switch is set
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM flowdoc.entries WHERE position = 0")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("TRUNCATE flowdoc.blobs")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM flowdoc.private_keys")
    assert verify(PgArchive(url), LIBRARY).ok


def test_a_key_in_the_database_is_rewrapped_and_its_passphrase_changed(pg_server, tmp_path):
    from cryptography.hazmat.primitives import serialization

    from generator.archive import keyring
    from generator.archive.store import active_key, key_table
    from generator.seal import keys

    folder = TRUSTED.fresh(tmp_path / "a", ("赵敏",))
    url = new_database(pg_server)
    copy_archive(folder, PgArchive(url, folder.operator))
    store = PgArchive(url, folder.operator)
    kid = active_key(key_table(store.key_entries(), LIBRARY.trust), "赵敏")
    private = keys.unlock(store.private_key(kid), secret("赵敏"))
    legacy = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.BestAvailableEncryption(secret("赵敏").encode()))
    store.replace_private_key(kid, legacy)  # as a key an older flowdoc wrapped
    assert any("wrapped with PBKDF2" in m for _, m in verify(store, LIBRARY).findings)
    R.submit(store, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"), T0)
    data = store.private_key(kid)
    assert json.loads(data)["kdf"]["name"] == "argon2id"  # re-wrapped when she signed
    assert verify(store, LIBRARY).ok
    keyring.change_passphrase(store, kid, secret("赵敏"), "a brand new passphrase 2027")
    with pytest.raises(keys.KeyError_):
        keys.unlock(store.private_key(kid), secret("赵敏"))
    R.submit(store, LIBRARY, leave(2), b"y", "赵敏", "a brand new passphrase 2027", T0)
    assert verify(store, LIBRARY).ok


TAMPERING = {
    "a changed line": ("UPDATE flowdoc.entries SET line = convert_to(replace(convert_from(line, "
                       "'UTF8'), '感冒', '骨折'), 'UTF8') WHERE kind = 'submit'", "完整性"),
    "a deleted row": ("DELETE FROM flowdoc.entries WHERE position = 3", "完整性"),
    "a swapped order": ("UPDATE flowdoc.entries SET position = 999999 WHERE position = 1; "
                        "UPDATE flowdoc.entries SET position = 1 WHERE position = 2; "
                        "UPDATE flowdoc.entries SET position = 2 WHERE position = 999999",
                        "完整性"),
    "an altered blob": ("UPDATE flowdoc.blobs SET data = data || 'x'::bytea", "完整性"),
    "a checkpoint row changed": ("UPDATE flowdoc.checkpoints SET raw = convert_to(replace("
                                 "convert_from(raw, 'UTF8'), '\"size\":', '\"size\":1'), "
                                 "'UTF8') WHERE n = (SELECT max(n) FROM flowdoc.checkpoints)",
                                 "完整性"),
    "the last checkpoint deleted": ("DELETE FROM flowdoc.checkpoints WHERE n = (SELECT max(n) "
                                    "FROM flowdoc.checkpoints)", "完整性"),
}


@pytest.mark.parametrize("what", sorted(TAMPERING))
def test_tampering_as_superuser_is_reported_by_verify(pg_server, tmp_path, what):
    folder = TRUSTED.fresh(tmp_path / "a", ("赵敏", "李强"))
    url = new_database(pg_server)
    store = PgArchive(url, folder.operator)
    copy_archive(folder, store)
    number = R.submit(store, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"), T0)
    R.sign_step(store, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    assert verify(store, LIBRARY).ok
    statement, prop = TAMPERING[what]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET flowdoc.maintenance = 'on'")
        conn.execute(statement)
    report = verify(PgArchive(url), LIBRARY)
    assert not report.ok
    assert prop in {p for p, _ in report.findings}, report.findings
    with pytest.raises(FlowdocError):  # and no writer signs over the altered history
        R.sign_step(store, LIBRARY, number, "hr_approve", "李强", secret("李强"), "同意")


# -- the command line: selected by --archive / FLOWDOC_ARCHIVE, the password never shown ----

def test_the_command_line_works_on_a_database_and_never_shows_its_password(pg_server, tmp_path):
    TRUSTED.fresh(tmp_path / "a", ("赵敏",))
    url = new_database(pg_server)
    database = url.split("/")[3].split("?")[0]
    password = "pw-Very-Secret-42"
    pg_server.sql(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'owner2') "
                  f"THEN CREATE ROLE owner2 LOGIN SUPERUSER PASSWORD '{password}'; END IF; END $$")
    good = pg_server.tcp_url(database, "owner2", password)
    out = cli(["archive", "init", good], tmp_path)
    assert out.returncode == 0 and "schema already at version 3" in out.stdout, out.stderr
    assert cli(["archive", "copy", "--from", tmp_path / "a", "--to", good],
               tmp_path).returncode == 0
    shutil.copytree(FLOWS, tmp_path / "flows")
    env = {"FLOWDOC_ARCHIVE": good}
    out = cli(["verify", "--flows", tmp_path / "flows"], tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert password not in out.stdout + out.stderr
    wrong = pg_server.tcp_url(database, "owner2", "Wrong-" + password)
    for args in (["verify", "--flows", tmp_path / "flows", "--archive", wrong],
                 ["archive", "init", wrong], ["checkpoint", "--archive", wrong],
                 ["archive", "copy", "--from", wrong, "--to", tmp_path / "c"]):
        out = cli(args, tmp_path)
        assert out.returncode != 0, args
        assert password not in out.stdout + out.stderr, args
        assert "cannot connect" in out.stderr and len(out.stderr.strip().splitlines()) == 1, \
            out.stderr
    assert not (tmp_path / "c").exists()  # nothing half-written


# -- writers killed, the server crashed: nothing acknowledged is lost -------------------------

def _keep_submitting(url: str, person: str, acked, errors, stop_at) -> None:
    """Submit records until ``stop_at`` (a shared value the test may move), reporting each
    number once it is acknowledged (the call returned: committed) and each refusal's message."""
    import time

    archive = PgArchive(url, unlock_operator(TRUSTED.root / "seed-records", OPERATOR_SECRET))
    i = 0
    while time.time() < stop_at.value:
        i += 1
        try:
            acked.put((R.submit(archive, LIBRARY, leave(1 + i % 5), f"{person}{i}".encode(),
                                person, secret(person), T0), time.time()))
        except ArchiveError as exc:
            errors.put(str(exc))
            time.sleep(0.05)


class _Fanin:
    """One queue per writer process, read as one. A process killed while it puts holds its
    queue's lock for ever (multiprocessing's warning on killing a process that uses a queue):
    with a queue shared by all, the other writers would then wait on it until the test's
    deadline, and the test took a minute instead of ten seconds."""

    def __init__(self, ctx, n: int) -> None:
        self.queues = [ctx.Queue() for _ in range(n)]
        self.taken: list[list] = [[] for _ in range(n)]  # what was read, by writer

    def get(self, timeout: float):
        import queue as queues
        import time

        deadline = time.monotonic() + timeout
        while True:
            for q, taken in zip(self.queues, self.taken, strict=True):
                try:
                    item = q.get_nowait()
                except queues.Empty:
                    continue
                taken.append(item)
                return item
            if time.monotonic() >= deadline:
                raise queues.Empty
            time.sleep(0.01)


def _writers(url: str, people, seconds: float):
    import time

    ctx = multiprocessing.get_context("fork")
    acked, errors = _Fanin(ctx, len(people)), _Fanin(ctx, len(people))
    # no lock: a writer killed while reading it would leave a lock held
    stop_at = ctx.Value("d", time.time() + seconds, lock=False)
    procs = [ctx.Process(target=_keep_submitting,
                         args=(url, p, acked.queues[k], errors.queues[k], stop_at))
             for k, p in enumerate(people)]
    for p in procs:
        p.start()
    return procs, acked, errors, stop_at


def _read_until(fanin: _Fanin, done, timeout: float) -> bool:
    """Read ``fanin`` (into its ``taken``) until ``done(fanin.taken)`` holds: True, or False
    once ``timeout`` seconds have passed without it."""
    import contextlib
    import queue as queues
    import time

    deadline = time.monotonic() + timeout
    while not done(fanin.taken):
        if time.monotonic() >= deadline:
            return False
        with contextlib.suppress(queues.Empty):
            fanin.get(timeout=0.05)
    return True


def _drain(queue) -> list:
    """What is left in ``queue`` once its writers have exited: all of it is in the pipe by
    then (a process that exits flushes what it put first; a killed one's is lost), so a look
    finds it without waiting for more (waiting half a second here was a second a test)."""
    import queue as queues

    out = []
    while True:
        try:
            out.append(queue.get(timeout=0.01))
        except queues.Empty:
            return out


def _join(procs, timeout: float, *queues) -> list[list]:
    """Wait for the writers while reading what they put: a process that has put more than a
    pipe holds does not exit until it is read (multiprocessing's "joining processes that use
    queues"), so reading only after join() waited out every timeout. Each queue's items."""
    import queue as q
    import time

    got: list[list] = [[] for _ in queues]
    deadline = time.monotonic() + timeout
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        for items, queue in zip(got, queues, strict=True):
            try:
                while True:
                    items.append(queue.get(timeout=0.05))
            except q.Empty:
                pass
    for p in procs:
        p.join(1)
    for items, queue in zip(got, queues, strict=True):
        items.extend(_drain(queue))
    for p in procs:  # past the deadline: none is left writing into the next test
        if p.is_alive():
            p.kill()
            p.join(5)
    return got


def _contiguous_and_verified(url: str, acknowledged: list[str]) -> None:
    store = PgArchive(url)
    positions = [r[0] for r in psycopg.connect(url).execute(
        "SELECT position FROM flowdoc.entries ORDER BY position").fetchall()]
    assert positions == list(range(len(positions)))
    assert store.checkpoint().size == len(positions)
    submitted = {e["record"] for e in store.entries() if e["type"] == "submit"}
    assert set(acknowledged) <= submitted  # no acknowledged entry lost
    report = verify(store, LIBRARY)
    assert report.ok, report.findings


def _kill_two_of_four_writers(pg_server, tmp_path, seconds: float | None,
                              pause: tuple[float, float]) -> None:
    """Four writers; two SIGKILLed one after the other, each after a random ``pause``: in
    the middle of a transaction or waiting for the lock, whichever it was then. The two
    others write on: for ``seconds`` from the start, or (None) until each has had two more
    records acknowledged after the second kill (a killed writer's open transaction holds up
    nobody). Nothing half-written, every acknowledged record there, positions contiguous."""
    import os
    import random
    import signal
    import time

    folder = TRUSTED.fresh(tmp_path / "a", ("赵敏", "李强", "周婷", "张伟"))
    url = new_database(pg_server)
    copy_archive(folder, PgArchive(url, folder.operator))
    procs, acked, _, stop_at = _writers(url, ("赵敏", "李强", "周婷", "张伟"),
                                        seconds if seconds is not None else 120)
    rng = random.Random(7)
    for victim in procs[:2]:
        time.sleep(rng.uniform(*pause))
        os.kill(victim.pid, signal.SIGKILL)
    if seconds is None:
        killed = time.time()
        assert _read_until(acked, lambda taken: all(
            sum(t > killed for _, t in items) >= 2 for items in taken[2:]), 60), \
            "the writers left alive did not write on after the kills"
        stop_at.value = time.time()
    _join(procs, 60, acked)
    acknowledged = [n for items in acked.taken for n, _ in items]
    assert len(acknowledged) >= 4
    _contiguous_and_verified(url, acknowledged)


def test_writers_killed_mid_transaction_leave_no_half_record(pg_server, tmp_path):
    """Killed at random moments while all four write (a submit takes a few hundredths of a
    second, so any pause longer than that lands on a random point of one); the others then
    write on until each has two more records acknowledged."""
    _kill_two_of_four_writers(pg_server, tmp_path, None, (0.15, 0.5))


@pytest.mark.exhaustive
def test_writers_killed_mid_transaction_over_eight_seconds_of_load(pg_server, tmp_path):
    """The same, killed 1-3 s apart under eight seconds of load."""
    _kill_two_of_four_writers(pg_server, tmp_path, 8, (1.0, 3.0))


def test_a_server_crash_under_load_loses_nothing_acknowledged(pg_server, tmp_path):
    """The server crashed (restarted without a clean shutdown) once both writers have had
    records acknowledged; they write on until each has had two acknowledged after it is back."""
    import time

    folder = TRUSTED.fresh(tmp_path / "a", ("赵敏", "李强"))
    url = new_database(pg_server)
    copy_archive(folder, PgArchive(url, folder.operator))
    procs, acked, errors, stop_at = _writers(url, ("赵敏", "李强"), 120)
    assert _read_until(acked, lambda taken: all(len(items) >= 3 for items in taken), 60), \
        "the writers did not get going"
    pg_server.restart()
    restarted = time.time()
    resumed = _read_until(acked, lambda taken: all(
        sum(t > restarted for _, t in items) >= 2 for items in taken), 60)
    stop_at.value = time.time()
    _, refusals = _join(procs, 90, acked, errors)
    acks = [a for items in acked.taken for a in items]
    acknowledged = [n for n, _ in acks]
    assert refusals, "the writers noticed the server was down"
    assert all("\n" not in r for r in refusals), refusals[:3]  # one line each
    assert any("cannot connect" in r or "terminat" in r or "closed" in r for r in refusals), \
        refusals[:3]
    assert resumed and any(t > restarted for _, t in acks), "the writers resumed after the restart"
    _contiguous_and_verified(url, acknowledged)


def _eight_writers(pg_server, tmp_path, seconds: float | None) -> None:
    import time

    people = ("赵敏", "李强", "周婷", "张伟")
    folder = TRUSTED.fresh(tmp_path / "a", people)
    url = new_database(pg_server)
    copy_archive(folder, PgArchive(url, folder.operator))
    procs, acked, errors, stop_at = _writers(url, people * 2,
                                             seconds if seconds is not None else 120)
    if seconds is None:  # until every one of them has had three records acknowledged
        assert _read_until(acked, lambda taken: all(len(items) >= 3 for items in taken), 90), \
            [len(items) for items in acked.taken]
        stop_at.value = time.time()
    _, refusals = _join(procs, 120, acked, errors)
    acknowledged = [n for items in acked.taken for n, _ in items]
    assert len(acknowledged) == len(set(acknowledged)) >= 8
    assert refusals == []  # losing the race is waiting for the lock, never an error
    _contiguous_and_verified(url, acknowledged)


def test_eight_writers_on_two_servers_lose_nothing_and_keep_positions_contiguous(
        pg_server, tmp_path):
    """Eight writer processes, as two servers of four (each process its own connection),
    appending at once until each has had three records acknowledged: every acknowledged
    record is there, positions run without a gap, the signed checkpoint covers them all, and
    verify passes."""
    _eight_writers(pg_server, tmp_path, None)


@pytest.mark.exhaustive
def test_eight_writers_on_two_servers_for_six_seconds(pg_server, tmp_path):
    """The same under six seconds of load."""
    _eight_writers(pg_server, tmp_path, 6)
