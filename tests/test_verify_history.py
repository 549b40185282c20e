"""verify checks every checkpoint the archive committed, not only the head: each line of the
checkpoint history (a folder's checkpoints.jsonl, the database's checkpoint table) parses, is
signed by an operator key of the trust root, never counts fewer entries than the one before,
and names the root and length of the log's prefix of its size. Tampered as an insider would
(the folder's file edited, the table changed as superuser), on both stores, through
``flowdoc verify``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import UNBOUND, cli, location, secret

from generator.archive import events as R
from generator.archive.store import Checkpoint, checkpoint_message, parse_checkpoint
from generator.archive.verify import verify
from generator.records import RecordInput
from generator.seal import keys
from generator.seal.canonical import canonical

LIBRARY = UNBOUND
TRUSTED = UNBOUND
FLOWS = UNBOUND
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def leave(days: int) -> RecordInput:
    end = dt.date(2026, 11, 2) + dt.timedelta(days=days - 1)
    return RecordInput("EC-HR-015", {"leave_type": "病假", "start": "2026-11-02",
                                     "end": end.isoformat(), "reason": "感冒发烧"}, "leave.yaml")


def history(store) -> list[bytes]:
    lines = store.history_lines()
    return [line.rstrip(b"\n") for line in lines]


def rewrite(store, lines: list[bytes]) -> None:
    """Replace the whole checkpoint history with ``lines`` as an insider would: the folder's
    file written, the table emptied and filled again as superuser (maintenance switch on)."""
    if not hasattr(store, "url"):
        (store.root / "checkpoints.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
        return
    import psycopg

    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute("SET flowdoc.maintenance = 'on'")
        conn.execute("DELETE FROM flowdoc.checkpoints")
        for line in lines:
            conn.execute("INSERT INTO flowdoc.checkpoints (size, raw) VALUES (%s, %s)",
                         (json.loads(line)["size"], line))


def signed(body: dict, private) -> bytes:
    """A checkpoint of ``body`` signed with ``private`` (whose key id it names)."""
    kid = keys.key_id(keys.public_of(private))
    cp = Checkpoint(**{**body, "key": kid, "signature": ""})
    return canonical({**cp.body(), "signature": keys.sign(private, checkpoint_message(cp))})


@pytest.fixture
def archive(store_of):
    """An archive of several commits (keys, two records, a few signatures) on the store under
    test; its history verifies."""
    store = store_of(("赵敏", "李强", "周婷"))
    first = R.submit(store, LIBRARY, leave(3), b"one", "赵敏", secret("赵敏"), T0)
    R.sign_step(store, LIBRARY, first, "head_approve", "李强", secret("李强"), "同意")
    R.submit(store, LIBRARY, leave(2), b"two", "赵敏", secret("赵敏"), T0)
    R.sign_step(store, LIBRARY, first, "hr_approve", "周婷", secret("周婷"), "同意")
    lines = history(store)
    assert len(lines) >= 8 and lines[-1] == store.raw_checkpoint()
    assert [parse_checkpoint(line).size for line in lines] == \
        sorted(parse_checkpoint(line).size for line in lines)
    report = verify(store, LIBRARY)
    assert report.ok, report.findings
    return store


def verify_cli(store, tmp_path):
    out = cli(["verify", "--archive", location(store), "--flows", FLOWS], tmp_path)
    assert out.returncode == 1, out.stdout
    return [line.strip()[2:] for line in out.stdout.splitlines() if line.startswith("  - ")]


def test_a_history_checkpoint_with_another_root_is_found(archive, tmp_path):
    lines = history(archive)
    k = len(lines) // 2
    cp = parse_checkpoint(lines[k])
    other = (bytes.fromhex(cp.root)[::-1]).hex()
    # re-signed with the operator key itself (an insider who knows its passphrase): only the
    # root is wrong
    lines[k] = signed({**cp.body(), "root": other}, archive.operator.private)
    rewrite(archive, lines)
    found = verify_cli(archive, tmp_path)
    assert found == [f"checkpoint {k + 1} of the history: its length or root is not that of "
                     f"the log's first {cp.size} entries"], found


def test_a_history_checkpoint_signed_by_a_key_no_operator_holds_is_found(archive, tmp_path):
    lines = history(archive)
    k = 2
    cp = parse_checkpoint(lines[k])
    forged = signed(cp.body(), keys.generate())
    lines[k] = forged
    rewrite(archive, lines)
    found = verify_cli(archive, tmp_path)
    kid = parse_checkpoint(forged).key
    assert found == [f"checkpoint {k + 1} of the history: the checkpoint is signed with key "
                     f"{kid}, which is not an operator key of the trust root"], found


def test_a_history_out_of_order_is_found(archive, tmp_path):
    lines = history(archive)
    k = len(lines) - 3
    assert parse_checkpoint(lines[k]).size < parse_checkpoint(lines[k + 1]).size
    lines[k], lines[k + 1] = lines[k + 1], lines[k]
    rewrite(archive, lines)
    found = verify_cli(archive, tmp_path)
    assert len(found) == 1 and found[0].startswith(f"checkpoint {k + 2} of the history: out of "
                                                   "order: "), found


def test_the_heads_line_removed_from_the_history_is_found(archive, tmp_path):
    """In a folder the head (checkpoint.json) is then missing from the history; in the
    database the head is the history's last row, so removing it rolls the head back and the
    entries it covered follow the new head uncommitted."""
    lines = history(archive)
    rewrite(archive, lines[:-1])
    found = verify_cli(archive, tmp_path)
    if hasattr(archive, "url"):
        assert any("follow the last checkpoint" in m for m in found), found
    else:
        assert found == ["the checkpoint history does not hold the head checkpoint (its last "
                         "line was removed or altered)"], found


def test_a_history_line_past_the_head_is_found_until_the_next_writer_cuts_it(archive, tmp_path):
    """The head rolled back to an earlier checkpoint of the history (the folder's
    checkpoint.json replaced by an earlier line) leaves the later checkpoints after it."""
    if hasattr(archive, "url"):
        pytest.skip("the database's head is the last row of its history")
    lines = history(archive)
    (archive.root / "checkpoint.json").write_bytes(lines[-2])
    found = verify_cli(archive, tmp_path)
    assert "1 checkpoint(s) of the history follow the head (line " \
           f"{len(lines) - 1}): a commit that did not finish, or the head was rolled back" \
           in found, found


def test_a_history_of_more_entries_than_the_log_is_found(archive, tmp_path):
    lines = history(archive)
    cp = parse_checkpoint(lines[-2])
    lines.insert(-1, signed({**cp.body(), "size": cp.size + 100}, archive.operator.private))
    rewrite(archive, lines)
    found = verify_cli(archive, tmp_path)
    assert any(m.startswith(f"checkpoint {len(lines) - 1} of the history: ") for m in found), found


def test_a_history_verifies_in_worker_processes_too(archive):
    lines = history(archive)
    lines[1] = signed(parse_checkpoint(lines[1]).body(), keys.generate())
    lines[4] = lines[4].replace(b'"size"', b'"size" ', 1)
    rewrite(archive, lines)
    one = verify(archive, LIBRARY, workers=1).findings
    two = verify(archive, LIBRARY, workers=2).findings
    assert one == two and [m.split(":")[0] for _, m in one] == [
        "checkpoint 2 of the history", "checkpoint 5 of the history"], one


def test_a_line_a_witness_cosigned_removed_from_the_history_is_found(trusted, tmp_path):
    """A line removed from the middle of the history says nothing by itself (the lines
    around it still give their roots); when a witness of the trust root co-signed the
    checkpoint it held, the co-signature names a checkpoint the history no longer has."""
    import shutil

    from generator.archive.trusting import add_key, unlock_key_file, witness
    from generator.checks import check_paths
    from generator.trust import TRUST_FILE

    shutil.copytree(trusted.flows, tmp_path / "flows")
    store = trusted.fresh(tmp_path / "records", ("赵敏",))
    add_key(tmp_path / "flows" / TRUST_FILE, store, LIBRARY, "王芳", secret("王芳"), "witness",
            "审计部见证机", "witness-pass-2026", tmp_path / "witness.key")
    lib = check_paths([tmp_path / "flows"], base=tmp_path).library
    R.submit(store, lib, leave(1), b"x", "赵敏", secret("赵敏"), T0)
    signer = unlock_key_file(tmp_path / "witness.key", "witness-pass-2026", "witness")
    witness(store, lib.trust, signer, tmp_path / "witness-state.json")
    R.submit(store, lib, leave(2), b"y", "赵敏", secret("赵敏"), T0)
    witness(store, lib.trust, signer, tmp_path / "witness-state.json")
    assert verify(store, lib).ok
    lines = history(store)
    cosigned = lines[-2]  # the checkpoint the witness co-signed first
    rewrite(store, [line for line in lines if line != cosigned])
    found = [m for _, m in verify(store, lib).findings]
    assert found == ["witness 审计部见证机 co-signed a checkpoint the checkpoint history does not "
                     "hold (a line of it was removed or altered)"], found
