"""The signed archive: events checked before writing, tamper-evident on disk, verified."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tamper
from conftest import OPERATOR_SECRET, ROOT, UNBOUND, as_store, location, secret, store_snapshot

from generator.archive import events as R
from generator.archive.store import Archive, ArchiveError
from generator.archive.trusting import unlock_operator
from generator.archive.verify import verify
from generator.checks import check_paths
from generator.records import RecordInput

LIBRARY = UNBOUND  # the flows under the tests' trust root (conftest.trusted)
TRUSTED = UNBOUND
FLOWS = UNBOUND
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
PEOPLE = ("赵敏", "李强", "张伟", "周婷")




def writable(root: Path) -> Archive:
    return Archive(root, unlock_operator(root, OPERATOR_SECRET))


def leave(days: int = 3) -> RecordInput:
    end = dt.date(2026, 11, 2) + dt.timedelta(days=days - 1)
    return RecordInput("EC-HR-015", {"leave_type": "病假", "start": "2026-11-02",
                                     "end": end.isoformat(), "reason": "感冒发烧"}, "leave.yaml")


def make(root: Path, people=PEOPLE) -> Archive:
    return TRUSTED.fresh(root, people)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A small closed record: keys of two people, a 3-day leave submitted and approved …;
    then one of every other kind of event: a 代理 grant, a 转交, a 退回 to the applicant, a
    resubmission, a deputy's signature, and a record withdrawn (撤销)."""
    root = tmp_path_factory.mktemp("archive") / "records"
    archive = make(root, ("赵敏", "李强", "周婷", "吴刚"))
    number = R.submit(archive, LIBRARY, leave(3), b"leave: 3 days", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意", "同意",
                T0 + dt.timedelta(hours=1))
    R.sign_step(archive, LIBRARY, number, "hr_approve", "周婷", secret("周婷"), "同意", "",
                T0 + dt.timedelta(hours=2))
    day = (T0 + dt.timedelta(hours=8)).date()
    R.delegate(archive, LIBRARY, "李强", "吴刚", day, day, secret("李强"), "出差")
    second = R.submit(archive, LIBRARY, leave(2), b"leave: 2 days", "赵敏", secret("赵敏"), T0)
    R.transfer(archive, LIBRARY, second, "head_approve", "吴刚", "李强", secret("李强"), "出差")
    R.return_step(archive, LIBRARY, second, "head_approve", "fill", "吴刚", secret("吴刚"),
                  "请写明事由")
    R.resubmit(archive, LIBRARY, second, "赵敏", secret("赵敏"), {"reason": "家中老人住院"},
               "补事由")
    R.sign_step(archive, LIBRARY, second, "head_approve", "吴刚", secret("吴刚"), "同意", "",
                T0 + dt.timedelta(hours=3))  # as 李强's deputy: the 转交 ended with the 退回
    third = R.submit(archive, LIBRARY, leave(1), b"leave: 1 day", "赵敏", secret("赵敏"), T0)
    R.withdraw(archive, LIBRARY, third, "赵敏", secret("赵敏"), "不需要了")
    return root


def copy(small: Path, tmp_path: Path) -> Archive:
    target = tmp_path / "records"
    shutil.copytree(small, target)
    return writable(target)


def test_a_closed_record_verifies_and_has_its_rendition(small):
    archive = Archive(small)
    report = verify(archive, LIBRARY)
    assert report.ok, report.findings
    state = R.states(archive.entries())["EC-HR-015-2026-0001"]
    assert state.status == "complete" and state.rendition
    assert archive.blob(state.rendition).startswith(b"%PDF")
    # the registrar's key, each person's key vouched for by her, then the org.yaml in force
    # registered once, by the first to act on a record
    assert [e["type"] for e in archive.entries()] == [
        "key", "key", "approve", "key", "approve", "key", "approve", "key", "approve", "org",
        "submit", "sign", "sign", "rendition", "delegate", "submit", "transfer", "return",
        "resubmit", "sign", "submit", "withdraw"]
    states = R.states(archive.entries())
    assert states["EC-HR-015-2026-0002"].signatures[-1]["on_behalf"] == "李强"
    assert states["EC-HR-015-2026-0003"].status == "withdrawn"


def _poke(path: Path, at: int, value: int) -> None:
    """Byte ``at`` of ``path`` set to ``value``, the rest of the file untouched."""
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(bytes([value]))


def test_a_change_to_any_member_or_kind_of_byte_of_log_and_checkpoint_is_detected(small, tmp_path):
    """Every entry, every member's name and value, every kind of byte (tests/tamper.py says
    which); test_every_single_byte_change… tries them all (``-m exhaustive``)."""
    archive = copy(small, tmp_path)
    for name in ("log.jsonl", "checkpoint.json", "checkpoints.jsonl"):
        path = archive.root / name
        original = path.read_bytes()
        chosen = tamper.changes(original)
        # what the choice promises: each value of each entry, each kind of syntax of each entry
        lines = tamper.entries(original)
        assert {(c.what[0], c.what[2]) for c in chosen if c.what[1] not in ("key", "syntax")} \
            == {(n, s.path) for n, line in enumerate(lines) for s in line
                if s.kind not in ("key", "syntax")}
        assert {(c.what[0], c.what[2]) for c in chosen if c.what[1] == "syntax"} \
            >= {(n, chr(original[s.start])) for n, line in enumerate(lines) for s in line
                if s.kind == "syntax"}
        missed = []
        for change in chosen:
            # the one byte changed in place, then put back (rewriting the whole file each
            # time cost more than verifying it)
            _poke(path, change.at, change.value)
            if verify(archive, LIBRARY).ok:
                missed.append((change.at, change.what))
            _poke(path, change.at, original[change.at])
        assert path.read_bytes() == original
        assert not missed, f"{name}: changes {missed[:10]} went unnoticed"
    assert verify(archive, LIBRARY).ok


def test_truncation_inside_and_between_entries_and_appended_bytes_are_detected(small, tmp_path):
    """Cut to nothing, between entries, inside each (tests/tamper.py says where);
    test_truncation_at_every_point… cuts at every byte (``-m exhaustive``)."""
    archive = copy(small, tmp_path)
    path = archive.root / "log.jsonl"
    original = path.read_bytes()
    for cut in tamper.cuts(original):
        path.write_bytes(original[:cut])
        assert not verify(archive, LIBRARY).ok, cut
    path.write_bytes(original + b'{"seq":7,"type":"void"}\n')
    assert any("follow the last checkpoint" in m for _, m in verify(archive, LIBRARY).findings)


@pytest.mark.exhaustive
def test_every_single_byte_change_of_log_and_checkpoint_is_detected(small, tmp_path):
    archive = copy(small, tmp_path)
    for name in ("log.jsonl", "checkpoint.json", "checkpoints.jsonl"):
        path = archive.root / name
        original = path.read_bytes()
        missed = []
        for i in range(len(original)):
            # every byte with its lowest bit flipped, and every fifth one also turned into a
            # space (or a space into "!")
            values = [original[i] ^ 0x01] + ([0x20 if original[i] != 0x20 else 0x21]
                                             if i % 5 == 0 else [])
            for value in values:
                changed = bytearray(original)
                changed[i] = value
                path.write_bytes(bytes(changed))
                if verify(archive, LIBRARY).ok:
                    missed.append(i)
        path.write_bytes(original)
        assert not missed, f"{name}: changes at bytes {missed[:10]} went unnoticed"
    assert verify(archive, LIBRARY).ok


@pytest.mark.exhaustive
def test_truncation_at_every_point_and_appended_bytes_are_detected(small, tmp_path):
    archive = copy(small, tmp_path)
    path = archive.root / "log.jsonl"
    original = path.read_bytes()
    for cut in range(len(original)):
        path.write_bytes(original[:cut])
        assert not verify(archive, LIBRARY).ok, cut
    path.write_bytes(original + b'{"seq":7,"type":"void"}\n')
    assert any("follow the last checkpoint" in m for _, m in verify(archive, LIBRARY).findings)


def test_deleted_or_swapped_blobs_are_detected(small, tmp_path):
    archive = copy(small, tmp_path)
    blobs = sorted(p for p in (archive.root / "blobs").rglob("*") if p.is_file())
    a, b = blobs[0], blobs[1]
    data_a = a.read_bytes()
    a.write_bytes(b.read_bytes())
    assert any("was altered" in m for _, m in verify(archive, LIBRARY).findings)
    a.unlink()
    assert any("is missing" in m for _, m in verify(archive, LIBRARY).findings)
    a.write_bytes(data_a)
    assert verify(archive, LIBRARY).ok


def test_rollback_to_an_older_signed_checkpoint_is_detected(tmp_path):
    archive = make(tmp_path / "records", ("赵敏", "李强"))
    number = R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    kept = (archive.root / "checkpoint.json").read_bytes()
    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    (archive.root / "checkpoint.json").write_bytes(kept)  # validly signed, but older
    assert any("rolled back" in m for _, m in verify(archive, LIBRARY).findings)


def forge_approval(archive: Archive, number: str, by: str) -> None:
    """李强's head approval of ``number``, signed with ``by``'s key and appended past every
    check the writer makes before it writes."""
    from generator.seal import keys

    with archive.writing() as w:
        state = R.states(w.entries)[number]
        kid = R.active_key(archive, LIBRARY, by)
        private = keys.unlock(archive.private_key(kid), secret(by))
        entry = {"type": "sign", "record": number, "step": "head_approve", "decision": "同意",
                 "comment": "", "person": "李强", "role": "部门负责人", "meaning": "审批",
                 "time": T0.isoformat(), "status": "in progress", "state": R.state_digest(state)}
        w.append(R.signed(entry, private, kid, w.next_seq))
        w.commit()


def test_an_entry_signed_with_someone_elses_key_is_detected(store_of):
    archive = store_of(("赵敏", "李强"))
    number = R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    forge_approval(archive, number, by="赵敏")  # 赵敏 forges 李强's approval with her own key
    findings = verify(archive, LIBRARY).findings
    seq = archive.checkpoint().size - 1
    assert ("真实性", f"entry {seq}: signed by 赵敏's key on behalf of 李强") in findings


@pytest.mark.parametrize(("step", "person", "decision", "message"), [
    ("head_approve", "周婷", "同意", "周婷 may not sign step 'head_approve'.*who may: 李强"),
    ("hr_approve", "周婷", "同意", "waits for step 'head_approve', not 'hr_approve'"),
    ("head_approve", "李强", "也许", "decision must be one of 同意/不同意"),
])
def test_authority_sequence_and_decisions_are_checked_before_writing(store_of, step, person,
                                                                     decision, message):
    archive = store_of(PEOPLE)
    number = R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    before = store_snapshot(archive)
    with pytest.raises(ArchiveError, match=message):
        R.sign_step(archive, LIBRARY, number, step, person, secret(person), decision)
    assert store_snapshot(archive) == before


def test_the_applicant_may_not_approve_and_a_wrong_passphrase_writes_nothing(store_of):
    archive = store_of(("李强", "吴刚"))
    number = R.submit(archive, LIBRARY, leave(), b"x", "李强", secret("李强"), T0)
    with pytest.raises(ArchiveError, match="may not approve their own request"):
        R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    before = store_snapshot(archive)
    with pytest.raises(ArchiveError, match="吴刚: no signing key of theirs unlocks") as info:
        R.sign_step(archive, LIBRARY, number, "head_approve", "吴刚", "wrong-passphrase", "同意")
    assert "wrong-passphrase" not in str(info.value)
    assert store_snapshot(archive) == before


def test_revoked_keys_sign_no_more_and_earlier_signatures_still_verify(store_of):
    archive = store_of(("赵敏", "李强"))
    number = R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    R.revoke_key(archive, LIBRARY, "赵敏", secret("赵敏"))
    with pytest.raises(ArchiveError, match="赵敏: no signing key of theirs unlocks"):
        R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    assert verify(archive, LIBRARY).ok
    with pytest.raises(ArchiveError, match=r"has key \w+ already; revoke it"):
        R.new_person_key(archive, LIBRARY, "李强", secret("李强"))


def test_numbers_run_per_flow_and_year_without_gaps(store_of):
    archive = store_of(("赵敏",))
    numbers = [R.submit(archive, LIBRARY, leave(d), b"x", "赵敏", secret("赵敏"), T0)
               for d in (1, 2, 3)]
    numbers.append(R.submit(archive, LIBRARY, leave(1), b"x", "赵敏", secret("赵敏"),
                            T0.replace(year=2027)))
    assert numbers == ["EC-HR-015-2026-0001", "EC-HR-015-2026-0002", "EC-HR-015-2026-0003",
                       "EC-HR-015-2027-0001"]


def test_no_passphrase_is_ever_written(small):
    for path in small.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for p in PEOPLE:
                assert secret(p).encode() not in data, path


CHILD = r"""
import sys, time, datetime as dt
sys.path.insert(0, {root!r})
from pathlib import Path
from generator.archive.store import Archive
from generator.seal import keys
from generator.archive import events as R
from generator.seal.canonical import canonical
from generator.archive.trusting import unlock_operator
archive = Archive(Path({archive!r}), unlock_operator(Path({archive!r}), "operator-secret-2026"))
with archive.writing() as w:
    entry = {{"type": "void", "record": "EC-HR-015-2026-0001", "person": "赵敏", "reason": "x",
              "time": "2026-11-02T00:00:00+00:00", "seq": w.next_seq}}
    with open(archive.root / "log.jsonl", "ab") as f:
        f.write(canonical(entry)[:25])  # half an entry on disk, no checkpoint yet
        f.flush()
    print("written", flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_mid_write_loses_nothing_committed(tmp_path):
    archive = make(tmp_path / "records", ("赵敏", "李强"))
    number = R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT),
                                                                 archive=str(archive.root))],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "written"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert any("follow the last checkpoint" in m for _, m in verify(archive, LIBRARY).findings)
    started = time.monotonic()  # the lock died with the process: the next writer goes on
    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    assert time.monotonic() - started < 5
    report = verify(archive, LIBRARY)
    assert report.ok, report.findings
    assert [e["type"] for e in archive.entries()][-1] == "sign"


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_verify_only_reports_on_random_bytes_cut_files_and_shuffled_lines(small, tmp_path, data):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        archive = copy(small, Path(tmp))
        name = data.draw(st.sampled_from(["log.jsonl", "checkpoint.json", "checkpoints.jsonl"]))
        path = archive.root / name
        original = path.read_bytes()
        how = data.draw(st.sampled_from(["random", "cut", "shuffle", "splice"]))
        if how == "random":
            path.write_bytes(data.draw(st.binary(max_size=400)))
        elif how == "cut":
            path.write_bytes(original[: data.draw(st.integers(0, len(original)))])
        elif how == "shuffle":
            lines = original.split(b"\n")
            path.write_bytes(b"\n".join(data.draw(st.permutations(lines))))
        else:
            at = data.draw(st.integers(0, len(original)))
            path.write_bytes(original[:at] + data.draw(st.binary(min_size=1, max_size=40))
                             + original[at:])
        report = verify(archive, LIBRARY)  # never raises
        if path.read_bytes() != original:
            assert not report.ok


def test_a_space_slipped_into_the_checkpoints_signature_is_found(small, tmp_path):
    """Found by the test above: hex with a space still decodes to the same signature bytes
    (``bytes.fromhex`` skips white space), so the edited file verified. Only the one text of a
    signature counts now."""
    archive = copy(small, tmp_path)
    path = archive.root / "checkpoint.json"
    original = path.read_bytes()
    at = original.index(b'"signature":"') + len(b'"signature":"') + 10
    for edit in (original[:at] + b" " + original[at:], original.replace(
            original[at:at + 4], original[at:at + 4].upper(), 1)):
        if edit == original:
            continue
        path.write_bytes(edit)
        assert not verify(archive, LIBRARY).ok, edit[at - 12:at + 8]


def _submit_three(where: str, keys: Path, n: int, ready, go, results) -> None:
    """One of the eight writers, in a process forked from the test's (the library already
    loaded: a new interpreter would spend a second loading it): it opens the store, says
    it is ready, waits for the others, then submits three records and sends their numbers."""
    from generator.archive.location import open_store

    archive = open_store(where, unlock_operator(keys, OPERATOR_SECRET))
    ready.put(n)
    go.wait(60)
    numbers = []
    for i in range(3):
        rec = RecordInput("EC-HR-015", {"leave_type": "事假", "start": "2026-11-02",
                                        "end": "2026-11-03", "reason": f"worker {n} record {i}"},
                          "w")
        numbers.append(R.submit(archive, LIBRARY, rec, b"w", "赵敏", secret("赵敏")))
    results.put(numbers)


def test_eight_processes_at_once_lose_nothing(tmp_path, store_kind, request):
    import multiprocessing

    folder = make(tmp_path / "records", ("赵敏",))
    archive = as_store(folder, store_kind, request)
    fork = multiprocessing.get_context("fork")
    ready, go, results = fork.Queue(), fork.Event(), fork.Queue()
    procs = [fork.Process(target=_submit_three, args=(location(archive), folder.root, n, ready,
                                                      go, results)) for n in range(8)]
    for p in procs:
        p.start()
    assert sorted(ready.get(timeout=60) for _ in procs) == list(range(8))
    go.set()  # all eight submit at once
    numbers = []
    for _ in procs:
        numbers += results.get(timeout=120)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    year = numbers[0].split("-")[3]  # the workers number by the clock's year
    assert sorted(numbers) == [f"EC-HR-015-{year}-{i:04d}" for i in range(1, 25)]
    entries = archive.entries()
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    assert sum(1 for e in entries if e["type"] == "submit") == 24
    assert verify(archive, LIBRARY).ok


def test_a_correction_is_an_event_and_the_earlier_value_stays(store_of):
    archive = store_of(("赵敏", "李强"))
    number = R.submit(archive, LIBRARY, leave(3), b"x", "赵敏", secret("赵敏"), T0)
    state = R.correct(archive, LIBRARY, number, "赵敏", secret("赵敏"),
                      {"end": "2026-11-08"}, "多请三天")
    assert state.fields["days"] == 7 and state.fields["end"] == "2026-11-08"
    correction = state.history[-1]
    assert correction["previous"] == {"end": "2026-11-04", "days": 3}
    with pytest.raises(ArchiveError, match="only the applicant"):
        R.correct(archive, LIBRARY, number, "李强", secret("李强"), {"end": "2026-11-09"}, "x")
    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    R.void(archive, LIBRARY, number, "赵敏", secret("赵敏"), "假期取消")
    assert R.states(archive.entries())[number].status == "void"
    assert verify(archive, LIBRARY).ok


class Crash(Exception):
    pass


def test_a_crash_at_every_write_fsync_and_rename_leaves_the_event_whole_or_absent(
        tmp_path, monkeypatch):
    """The storage calls of a submit and of a sign fail one at a time, as a crash would."""
    import generator.archive.store as store

    real = {"fsync": store.os.fsync, "replace": store.os.replace}
    for operation in ("submit", "sign"):
        k = 0
        while True:
            k += 1
            root = tmp_path / f"{operation}-{k}" / "records"
            archive = make(root, ("赵敏", "李强"))
            number = R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
            before = len(archive.entries())
            calls = {"n": 0}

            def failing(name, *args, _k=k, _calls=calls):
                _calls["n"] += 1
                if _calls["n"] == _k:
                    raise Crash(name)
                return real[name](*args)

            monkeypatch.setattr(store.os, "fsync", lambda fd: failing("fsync", fd))
            monkeypatch.setattr(store.os, "replace", lambda a, b: failing("replace", a, b))
            try:
                if operation == "submit":
                    R.submit(archive, LIBRARY, leave(2), b"y", "赵敏", secret("赵敏"), T0)
                else:
                    R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"),
                                "同意")
                crashed = False
            except Crash:
                crashed = True
            monkeypatch.setattr(store.os, "fsync", real["fsync"])
            monkeypatch.setattr(store.os, "replace", real["replace"])
            after = Archive(root).entries()
            # whole or absent (a sign that closes nothing is one entry)
            assert len(after) in (before, before + 1), (operation, k)
            # the next writer drops any uncommitted tail and succeeds
            R.submit(writable(root), LIBRARY, leave(4), b"z", "赵敏", secret("赵敏"), T0)
            report = verify(Archive(root), LIBRARY)
            assert report.ok, (operation, k, report.findings)
            if not crashed:
                break  # k passed the last storage call of the operation
        assert k > 3, "the operation made too few storage calls for the test to mean anything"


def test_import_is_all_or_nothing_and_numbers_run_on(store_of):
    archive = store_of(("赵敏",))
    first = R.submit(archive, LIBRARY, leave(), b"x", "赵敏", secret("赵敏"), T0)
    items = [(leave(d), f"record {d}".encode()) for d in (1, 2, 3)]
    bad = RecordInput("EC-HR-015", {"leave_type": "探亲假"}, "bad.yaml")
    before = store_snapshot(archive)
    with pytest.raises(ArchiveError, match=r"nothing imported; first: bad\.yaml"):
        R.import_records(archive, LIBRARY, [*items, (bad, b"b")], "赵敏", secret("赵敏"), T0)
    assert store_snapshot(archive) == before
    numbers = R.import_records(archive, LIBRARY, items, "赵敏", secret("赵敏"), T0)
    assert first == "EC-HR-015-2026-0001"
    assert numbers == ["EC-HR-015-2026-0002", "EC-HR-015-2026-0003", "EC-HR-015-2026-0004"]
    assert verify(archive, LIBRARY).ok


def test_an_odd_length_hex_field_is_reported_not_a_crash(small, tmp_path):
    """Found by hypothesis: one digit spliced into a key's public key made verify raise
    (bytes.fromhex) instead of reporting."""
    archive = copy(small, tmp_path)
    log = archive.root / "log.jsonl"
    lines = log.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b'"public_key":"', b'"public_key":"0', 1)
    log.write_bytes(b"\n".join(lines))
    report = verify(archive, LIBRARY)
    assert not report.ok
    assert any("entry 0" in m and "hexadecimal" in m for _, m in report.findings), report.findings


def test_one_record_read_alone_equals_the_full_replay(small):
    """``record show`` and ``export`` read one record's entries only; the state is the one a
    replay of the whole log gives, and a number never archived gives none."""
    archive = Archive(small)
    everything = R.states(archive.entries())
    for number, state in everything.items():
        assert R.record_state(archive, number) == state
    assert R.record_state(archive, "EC-HR-015-2026-9999") is None


def test_one_record_read_alone_ignores_an_uncommitted_tail(small, tmp_path):
    archive = copy(small, tmp_path)
    committed = R.record_state(archive, "EC-HR-015-2026-0001")
    with open(archive.root / "log.jsonl", "ab") as log:  # a writer that died before its commit
        log.write(b'{"record":"EC-HR-015-2026-0001","seq":99,"type":"void","person":"x",'
                  b'"reason":"","time":"2026-11-03T00:00:00Z","state":"00"}\n')
    assert R.record_state(archive, "EC-HR-015-2026-0001") == committed
    assert committed is not None and committed.status == "complete"


def test_a_long_running_reader_reads_what_was_committed_since_and_never_a_stale_index(
        small, tmp_path):
    """The web server keeps one archive object: it remembers how far it read the key
    entries and finds a record's lines through the derived index. What it answers is always
    what a fresh reader of the whole log answers: after new commits, after the folder was
    restored from an older copy under it, and with an index of another, longer log."""
    import sqlite3

    archive = copy(small, tmp_path)
    root = archive.root
    reader = Archive(root)
    number = "EC-HR-015-2026-0002"  # waits for 人力资源部

    def fresh_answers():
        whole = Archive(root)
        return whole.key_entries(), R.states(whole.entries()).get(number)

    before = fresh_answers()
    assert before[1].status == "in progress"
    assert (reader.key_entries(), R.record_state(reader, number)) == before
    old = tmp_path / "old"
    shutil.copytree(root, old)
    day = dt.date(2026, 11, 20)
    R.delegate(archive, LIBRARY, "周婷", "吴刚", day, day, secret("周婷"), "年假")
    R.sign_step(archive, LIBRARY, number, "hr_approve", "周婷", secret("周婷"), "同意", "",
                T0 + dt.timedelta(hours=5))
    fourth = R.submit(archive, LIBRARY, leave(2), b"leave: 2 days", "赵敏", secret("赵敏"), T0)
    after = fresh_answers()
    assert after[0][-1]["type"] == "delegate" and len(after[0]) == len(before[0]) + 1
    assert after[1].status == "complete"
    assert (reader.key_entries(), R.record_state(reader, number)) == after
    assert R.record_state(reader, fourth) == R.states(Archive(root).entries())[fourth]

    with sqlite3.connect(root / "index.sqlite") as db:  # the newer index, whole in one file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    newer_index = (root / "index.sqlite").read_bytes()
    shutil.rmtree(root)
    shutil.copytree(old, root)  # the folder restored from the older copy
    assert (reader.key_entries(), R.record_state(reader, number)) == before == fresh_answers()
    assert R.record_state(reader, fourth) is None

    for suffix in ("-wal", "-shm"):
        Path(f"{root / 'index.sqlite'}{suffix}").unlink(missing_ok=True)
    (root / "index.sqlite").write_bytes(newer_index)  # an index of a longer, other log
    assert R.record_state(reader, number) == before[1]
    assert R.record_state(Archive(root), fourth) is None


def _library_where_李强_left(tmp_path: Path, signed: bool = True):
    """The trusted flows with org.yaml changed: 李强 no longer heads 电子商务部 (吴刚 does),
    and (``signed``) the change signed off again by 周婷, 王芳 and 陈静."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    org = flows / "org.yaml"
    text = org.read_text(encoding="utf-8")
    before = "title: 电子商务部经理, roles: [ec_manager, ec_dept, head]"
    assert before in text
    text = text.replace(before, "title: 电子商务部经理, roles: [ec_manager, ec_dept]")
    org.write_text(text.replace("head: 李强, director: 张伟", "head: 吴刚, director: 张伟"),
                   encoding="utf-8")
    if signed:
        sign_org(flows)
    return check_paths([flows], base=tmp_path).library


def sign_org(flows: Path) -> None:
    """org.yaml in ``flows`` signed off again by its three signers, with their test keys."""
    from generator.lifecycle import sign_org_file, unlock_signer

    for person, meaning in (("周婷", "编制"), ("王芳", "审核"), ("陈静", "批准")):
        library = check_paths([flows], base=flows.parent).library
        signer = unlock_signer(TRUSTED.seed, person, secret(person), library.trust)
        sign_org_file(library.org, person, meaning, signer, dt.date(2026, 11, 20))


def test_authority_is_verified_against_the_org_in_force_when_each_event_was_signed(
        store_of, tmp_path):
    """21 CFR 11.10(g): 李强 approved while he held the lane; after he lost it, his approval
    still verifies, a new one is refused, and one forged past the writer is found."""
    archive = store_of(("赵敏", "李强", "周婷"))
    first = R.submit(archive, LIBRARY, leave(), b"1", "赵敏", secret("赵敏"), T0)
    R.sign_step(archive, LIBRARY, first, "head_approve", "李强", secret("李强"), "同意")
    later = _library_where_李强_left(tmp_path)
    assert verify(archive, later).ok, "an approval made with authority stays valid"

    second = R.submit(archive, later, leave(), b"2", "赵敏", secret("赵敏"), T0)
    kinds = [e["type"] for e in archive.entries()]
    assert kinds.count("org") == 2 and kinds[-2:] == ["org", "submit"]  # registered once
    R.submit(archive, later, leave(), b"3", "赵敏", secret("赵敏"), T0)
    assert [e["type"] for e in archive.entries()].count("org") == 2
    with pytest.raises(ArchiveError, match="李强 may not sign step 'head_approve'"):
        R.sign_step(archive, later, second, "head_approve", "李强", secret("李强"), "同意")

    forge_approval(archive, second, by="李强")  # with his own key, past the writer's checks
    seq = archive.checkpoint().size - 1
    for library in (LIBRARY, later):  # whichever org.yaml the auditor has today
        findings = verify(archive, library).findings
        assert findings == [("安全性", f"{second}: entry {seq}: 李强 may not sign step "
                                        "'head_approve' (部门负责人: 部门负责人（电子商务部）); "
                                        "who may: 吴刚")]


def test_an_altered_org_in_force_is_found(tmp_path):
    archive = make(tmp_path / "records", ("赵敏", "李强"))
    R.submit(archive, LIBRARY, leave(), b"1", "赵敏", secret("赵敏"), T0)
    [org] = [e for e in archive.entries() if e["type"] == "org"]
    archive.blob_path(org["blob"]).write_bytes(b"people: [")
    findings = verify(archive, LIBRARY).findings
    assert any(p == "完整性" and f"blob {org['blob'][:12]}… (blob) was altered" in m
               for p, m in findings)
    assert any(p == "安全性" and "the org.yaml it puts in force cannot be read" in m
               for p, m in findings)


def test_an_audit_package_applies_the_archives_signature_rules(store_of, tmp_path):
    """A package of a record with a forged approval proves the entry was in the log, and says
    what verify says of it."""
    from generator.search.package import export_package, verify_package

    archive = store_of(("赵敏", "李强"))
    number = R.submit(archive, LIBRARY, leave(), b"1", "赵敏", secret("赵敏"), T0)
    forge_approval(archive, number, by="赵敏")
    seq = archive.checkpoint().size - 1
    export_package(archive, [number], tmp_path / "package.zip", "", FLOWS)
    problems = verify_package(tmp_path / "package.zip", LIBRARY.trust,
                              {k.id: k for k in LIBRARY.keys}).problems
    assert problems == [f"entry {seq}: signed by 赵敏's key on behalf of 李强"]
    assert ("真实性", problems[0]) in verify(archive, LIBRARY).findings
