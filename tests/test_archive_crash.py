"""The archive under killed writers, a derived index that is lost or wrong, and secrets."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import KEY_COST, OPERATOR_SECRET, ROOT, UNBOUND, secret

from generator.archive import events as R
from generator.archive import verify as V
from generator.archive.store import Archive, ArchiveError
from generator.records import RecordInput

LIBRARY = UNBOUND  # the flows under the tests' trust root (conftest.trusted)
TRUSTED = UNBOUND
FLOWS = UNBOUND


T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)




def leave(reason: str = "感冒发烧") -> RecordInput:
    return RecordInput("EC-HR-015", {"leave_type": "病假", "start": "2026-11-02",
                                     "end": "2026-11-03", "reason": reason}, "leave.yaml")


def make(root: Path, people=("赵敏", "李强")) -> Archive:
    return TRUSTED.fresh(root, people)


def _write_on(root: Path, n: str, fd: int) -> None:
    """A writer, in a process forked from the test's (the library already loaded, so it
    starts in a moment instead of the second a new interpreter takes): it unlocks the archive
    and says ``ready``, then submits in a loop, signing or withdrawing some, and writes each
    number to ``fd`` once submit has returned (acknowledged: committed). Never returns."""
    from generator.archive.trusting import unlock_operator

    archive = Archive(root, unlock_operator(root, OPERATOR_SECRET))
    t0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    os.write(fd, b"ready\n")
    i = 0
    while True:
        i += 1
        rec = RecordInput("EC-HR-015", {"leave_type": "事假", "start": "2026-11-02",
                                        "end": "2026-11-03", "reason": f"writer {n} record {i}"},
                          "w")
        number = R.submit(archive, LIBRARY, rec, f"w{n}-{i}".encode(), "赵敏", secret("赵敏"),
                          t0)
        if i % 3 == 0:
            R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "不同意",
                        "", t0)
        elif i % 3 == 1:
            R.withdraw(archive, LIBRARY, number, "赵敏", secret("赵敏"), "不需要了")
        os.write(fd, f"{number}\n".encode())  # one write, whole: a kill never cuts a line


def _collect(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line.strip())


def test_writers_killed_at_random_moments_lose_no_acknowledged_record(tmp_path):
    """Two writers submit and sign in a loop and are SIGKILLed at random moments, round after
    round: every number a writer printed is in the archive, which verifies once the next
    writer has dropped the killed one's uncommitted tail."""
    import multiprocessing

    archive = make(tmp_path / "records")
    rng = random.Random(6)
    acknowledged: list[str] = []
    fork = multiprocessing.get_context("fork")
    for rnd in range(6):
        procs, outputs, readers = [], [], []
        for n in range(2):
            r, w = os.pipe()
            proc = fork.Process(target=_write_on, args=(archive.root, f"{rnd}.{n}", w))
            proc.start()
            os.close(w)  # the writer's is the only write end: its death ends the stream
            stream = os.fdopen(r, encoding="utf-8")
            assert stream.readline().strip() == "ready"
            out: list[str] = []
            reader = threading.Thread(target=_collect, args=(stream, out), daemon=True)
            reader.start()
            procs.append(proc)
            outputs.append(out)
            readers.append(reader)
        # at random moments: mid-append, mid-checkpoint, mid-index … Six rounds of short
        # lives give twelve kills in the time eight long ones took: a longer life only
        # grows the archive, it does not make the moment of a kill any more varied
        for proc in procs:
            time.sleep(rng.uniform(0.05, 0.5))
            os.kill(proc.pid, signal.SIGKILL)
        for proc, reader in zip(procs, readers, strict=True):
            proc.join()
            reader.join(timeout=10)
        for out in outputs:
            acknowledged += [line for line in out if line.startswith("EC-HR-015-")]
        findings = V.verify(archive, LIBRARY).findings  # before anyone writes again
        # the killed writer's uncommitted tail: lines past the checkpoint, and when it was
        # killed between appending its checkpoint to the history and replacing the head,
        # a history line past the head
        assert all("follow the last checkpoint" in m or "of the history follow the head" in m
                   for _, m in findings), findings
        R.submit(archive, LIBRARY, leave(f"after round {rnd}"), f"r{rnd}".encode(), "赵敏",
                 secret("赵敏"), T0)
        report = V.verify(archive, LIBRARY)
        assert report.ok, report.findings
        states = R.states(archive.entries())
        assert not [n for n in acknowledged if n not in states]
    assert len(acknowledged) >= 4, "the writers were killed before they wrote anything"


def test_the_passphrase_is_never_an_argument_and_never_in_the_archive(tmp_path):
    from generator.cli import main

    for command in ("keys", "record"):  # no option of any command takes the secret itself
        group = main.commands[command]
        for sub in group.commands.values():
            for param in sub.params:
                # a file that holds one (keys passphrase takes the new one's too), never it
                assert "passphrase" not in param.name or param.name in (
                    "passphrase_file", "new_passphrase_file"), (command, sub.name, param.name)
    pw = tmp_path / "pw"
    passphrase = "correct horse battery staple"
    pw.write_text(passphrase + "\n", encoding="utf-8")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **KEY_COST,
           "FLOWDOC_OPERATOR_PASSPHRASE": OPERATOR_SECRET}
    base = [sys.executable, "-m", "generator"]
    flows = ["--flows", str(FLOWS)]
    seen: list[bytes] = []

    def run(args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = subprocess.Popen([*base, *args, *flows], cwd=tmp_path, env={**env, **(extra_env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        while proc.poll() is None:  # what `ps` would show, for as long as it runs
            try:
                seen.append(Path(f"/proc/{proc.pid}/cmdline").read_bytes())
            except OSError:
                break
            time.sleep(0.005)
        out, err = proc.communicate(timeout=120)
        proc.out, proc.err = out.decode(), err.decode()  # type: ignore[attr-defined]
        return proc

    make(tmp_path / "records", ())
    for person in ("赵敏", "李强"):
        assert run(["keys", "new", person, "--passphrase-file", str(pw)]).returncode == 0
        assert run(["keys", "approve", person, "--as", "王芳"],
                   {"FLOWDOC_PASSPHRASE": secret("王芳")}).returncode == 0
    submit = run(["record", "submit", str(ROOT / "examples/leave.yaml"), "--as", "赵敏",
                  "--passphrase-file", str(pw)])
    assert submit.returncode == 0, submit.err
    number = submit.out.strip()
    wrong = run(["record", "sign", number, "--step", "head_approve", "--as", "李强",
                 "--decision", "同意"], {"FLOWDOC_PASSPHRASE": "not " + passphrase})
    assert wrong.returncode == 1
    assert wrong.err.strip() == "flowdoc: 李强: no signing key of theirs unlocks with that passphrase"
    signed = run(["record", "sign", number, "--step", "head_approve", "--as", "李强",
                  "--decision", "同意"], {"FLOWDOC_PASSPHRASE": passphrase})
    assert signed.returncode == 0, signed.err
    assert seen, "no process list was read"
    assert not [c for c in seen if passphrase.encode() in c]
    for path in (tmp_path / "records").rglob("*"):  # log, checkpoint, keys, blobs, index
        if path.is_file():
            assert passphrase.encode() not in path.read_bytes(), path


# -- the derived index -----------------------------------------------------------------------

def _numbers(archive: Archive) -> list[str]:
    return [e["record"] for e in archive.entries() if e["type"] == "submit"]


@pytest.mark.parametrize("damage", ["deleted", "garbage", "behind", "ahead"])
def test_a_lost_or_wrong_index_is_rebuilt_from_the_log(tmp_path, damage):
    archive = make(tmp_path / "records")
    R.submit(archive, LIBRARY, leave("1"), b"1", "赵敏", secret("赵敏"), T0)
    index = archive.root / "index.sqlite"
    old = tmp_path / "old-index"
    old.mkdir()
    for f in archive.root.glob("index.sqlite*"):
        shutil.copy(f, old / f.name)
    second = R.submit(archive, LIBRARY, leave("2"), b"2", "赵敏", secret("赵敏"), T0)
    if damage == "ahead":  # the index of a longer history, the checkpoint rolled back
        R.submit(archive, LIBRARY, leave("3"), b"3", "赵敏", secret("赵敏"), T0)
        kept = [(f.name, f.read_bytes()) for f in archive.root.glob("index.sqlite*")]
        log = archive.raw_log()
        shutil.rmtree(archive.root)
        archive = make(tmp_path / "records")
        R.submit(archive, LIBRARY, leave("other"), b"o", "赵敏", secret("赵敏"), T0)
        for name, data in kept:
            (archive.root / name).write_bytes(data)
        assert archive.raw_log() != log
    for f in archive.root.glob("index.sqlite-*"):
        f.unlink()
    if damage == "deleted":
        index.unlink()
    elif damage == "garbage":
        index.write_bytes(b"not a database at all" * 100)
    elif damage == "behind":  # a writer killed after its commit, before the index caught up
        shutil.copy(old / "index.sqlite", index)
    before = _numbers(archive)
    number = R.submit(archive, LIBRARY, leave("next"), b"n", "赵敏", secret("赵敏"), T0)
    assert number == f"EC-HR-015-2026-{len(before) + 1:04d}"
    state = R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")
    assert state.number == number and len(state.history) == 2
    if damage != "ahead":
        assert R.states(archive.entries())[second].status == "in progress"
    report = V.verify(archive, LIBRARY)
    assert report.ok, report.findings


def test_no_writer_signs_a_checkpoint_over_an_altered_log(tmp_path):
    archive = make(tmp_path / "records")
    R.submit(archive, LIBRARY, leave("真的"), b"1", "赵敏", secret("赵敏"), T0)
    log = archive.root / "log.jsonl"
    log.write_bytes(log.read_bytes().replace("真的".encode(), "假的".encode()))
    (archive.root / "index.sqlite").unlink()  # the writer must read the log again
    before = log.read_bytes(), (archive.root / "checkpoint.json").read_bytes()
    with pytest.raises(ArchiveError, match="altered"):
        R.submit(archive, LIBRARY, leave("2"), b"2", "赵敏", secret("赵敏"), T0)
    assert (log.read_bytes(), (archive.root / "checkpoint.json").read_bytes()) == before


def test_verify_on_several_cores_and_with_states_on_disk_finds_what_one_core_finds(
        tmp_path, monkeypatch):
    archive = make(tmp_path / "records", ("赵敏", "李强", "周婷"))
    numbers = [R.submit(archive, LIBRARY, leave(str(i)), str(i).encode(), "赵敏", secret("赵敏"),
                        T0) for i in range(4)]
    for number in numbers:  # each record's state is needed again after the others'
        R.sign_step(archive, LIBRARY, number, "head_approve", "李强", secret("李强"), "同意")

    def verified() -> list:
        """Verify on one core and on two, with every record state in memory and with one
        (the others written out two at a time and read back when their record signs)."""
        reports = [V.verify(archive, LIBRARY, workers=1), V.verify(archive, LIBRARY, workers=2)]
        with monkeypatch.context() as m:
            m.setattr(V, "IN_MEMORY", 1)
            m.setattr(V._States, "FLUSH", 2)
            reports += [V.verify(archive, LIBRARY, workers=1),
                        V.verify(archive, LIBRARY, workers=2)]
        return reports

    reports = verified()
    assert all(r.ok for r in reports)
    # the registrar's and three keys, three approvals, the org, four submits and four signs
    assert {(r.entries, r.records) for r in reports} == {(4 + 3 + 1 + 4 * 2, 4)}
    log = archive.root / "log.jsonl"
    lines = log.read_bytes().split(b"\n")
    assert b'"reason":"1"' in lines[9]
    lines[9] = lines[9].replace(b'"reason":"1"', b'"reason":"9"')  # a signature now wrong
    lines[12], lines[13] = lines[13], lines[12]
    log.write_bytes(b"\n".join(lines))
    blob = next((archive.root / "blobs").rglob("*"), None)
    while blob is not None and blob.is_dir():
        blob = next(blob.iterdir())
    blob.write_bytes(b"altered")
    reports = verified()
    assert len(reports[0].findings) > 3
    assert all(r.findings == reports[0].findings for r in reports)
    assert len({(r.entries, r.records) for r in reports}) == 1


def _named_blobs(archive: Archive) -> set[str]:
    named = set()
    for e in archive.entries():
        named |= {e[k] for k in ("flow_blob", "original_blob", "blob") if k in e}
    return named


def test_ctrl_c_during_an_import_aborts_cleanly_and_leaves_no_orphan_blobs(tmp_path):
    """SIGINT while the batch writes its blobs: the command ends at once, the lock is free,
    nothing is committed and every blob on disk is one the log names."""
    archive = make(tmp_path / "records", ("赵敏",))
    R.submit(archive, LIBRARY, leave("before"), b"before", "赵敏", secret("赵敏"), T0)
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(3000):  # checked, signed and written one by one: still going at Ctrl-C
        (folder / f"r{i:05d}.yaml").write_text(
            "flow: EC-HR-015\nfields: {leave_type: 事假, start: 2026-11-02, end: 2026-11-03, "
            f"reason: 批量导入第{i}条}}\n", encoding="utf-8")
    before = (archive.raw_log(), sorted(p.name for p in (archive.root / "blobs").rglob("*")))
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **KEY_COST,
           "FLOWDOC_PASSPHRASE": secret("赵敏"),
           "FLOWDOC_OPERATOR_PASSPHRASE": OPERATOR_SECRET}
    # Ctrl-C at a terminal: the command runs with SIGINT's default action even when this
    # test runs as a background job (whose SIGINT is ignored and would be inherited)
    proc = subprocess.Popen([sys.executable, "-m", "generator", "record", "import", str(folder),
                             "--as", "赵敏", "--archive", str(archive.root), "--flows",
                             str(FLOWS)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    blobs = archive.root / "blobs"
    count = sum(1 for p in blobs.rglob("*") if p.is_file())  # files, as counted below
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(1 for p in blobs.rglob("*") if p.is_file()) > count + 20:
            break  # into the blob phase, far from the commit on a fast machine
        time.sleep(0.02)
    assert proc.poll() is None, "the import ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)  # it ends by itself, no second Ctrl-C needed
    assert proc.returncode != 0
    assert archive.raw_log() == before[0]
    on_disk = {p.parent.name + p.name for p in blobs.rglob("*") if p.is_file()}
    assert on_disk == _named_blobs(archive), "orphan blobs were left behind"
    started = time.monotonic()  # the lock was released
    R.submit(archive, LIBRARY, leave("after"), b"after", "赵敏", secret("赵敏"), T0)
    assert time.monotonic() - started < 5
    assert V.verify(archive, LIBRARY).ok
