"""Archive timings (targets: durable sign + append >= 100 events/s in one process; verify >=
20,000 entries/s with memory flat in archive size).

    python bench/bench_archive.py [--records N] [--batch M] [--rounds R]

Builds a fresh archive in a temporary folder, under a trust root of its own (a copy of the
bundled flows signed as tools/sign_bundled.py does, with known passphrases): vouched keys for
two people, then R rounds of: N leave
records each submitted and approved (every event fsynced and committed under a new signed
checkpoint), an import of M records in one commit, and a verify of everything so far —
printing events/s, records/s, entries/s and the peak memory of verify at each (growing) size
(verify runs in a fresh process, on one core and on all).
First, what unlocking a key and an Ed25519 signature and check cost per call here; last, the
wall time of the trust commands a person waits for (keys approve, checkpoint, witness), each
a fresh `flowdoc` process as typed at a shell.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.archive import events as R  # noqa: E402
from generator.archive.store import Archive  # noqa: E402
from generator.checks import check_paths  # noqa: E402
from generator.records import RecordInput  # noqa: E402
from generator.service.bootstrap import sign_folder  # noqa: E402

OPERATOR = "pass-operator-bench"


def durable(archive: Archive, library, n: int, tag: str) -> float:
    """Events/s of ``n`` records submitted and approved one commit at a time."""
    t0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    started = time.perf_counter()
    for i in range(n):
        rec = RecordInput("EC-HR-015", {"leave_type": "事假", "start": "2026-11-02",
                                        "end": "2026-11-03", "reason": f"{tag}第{i}次请假"}, "b")
        number = R.submit(archive, library, rec, b"b", "赵敏", "pass-赵敏-bench", t0)
        R.sign_step(archive, library, number, "head_approve", "李强", "pass-李强-bench",
                    "不同意", "", t0)
    return 3 * n / (time.perf_counter() - started)  # submit, sign, rendition of the closed record


def batch_import(archive: Archive, library, n: int, tag: str) -> float:
    t0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    batch = [(RecordInput("EC-HR-015", {"leave_type": "年假", "start": "2026-11-02",
                                        "end": "2026-11-06", "reason": f"{tag}批量{i}"}, f"{i}.yaml"),
              f"record {tag} {i}".encode()) for i in range(n)]
    started = time.perf_counter()
    R.import_records(archive, library, batch, "赵敏", "pass-赵敏-bench", t0)
    return n / (time.perf_counter() - started)


VERIFY = """
import resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from generator.archive.store import Archive
from generator.archive.verify import verify
from generator.checks import check_paths
library = check_paths([Path({flows!r})], base=Path({flows!r}).parent).library
started = time.perf_counter()
report = verify(Archive(Path({archive!r})), library, workers={workers})
elapsed = time.perf_counter() - started
assert report.ok, report.findings[:3]
rss = [resource.getrusage(who).ru_maxrss / 1024
       for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
print(report.entries, elapsed, *rss)
"""


def verify_figures(archive: Archive, workers: int | None) -> str:
    """Verify in a fresh process, so its peak resident memory (C allocations included: the
    SQLite file of waiting record states, libsodium) is its own."""
    import subprocess

    code = VERIFY.format(root=str(ROOT), archive=str(archive.root), workers=workers,
                         flows=str(archive.root.parent / "flows"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    entries, elapsed, rss_self, rss_children = out.stdout.split()
    entries, elapsed = int(entries), float(elapsed)
    return (f"{entries} entries in {elapsed:.2f} s = {entries / elapsed:.0f} entries/s, peak RSS "
            f"{float(rss_self):.0f} MiB" + (f" + {float(rss_children):.0f} MiB a worker"
                                            if workers != 1 else ""))


def primitives() -> None:
    """What the archive's cryptography costs per call on this machine."""
    from generator.seal import keys

    public, pem, private = keys.new_key("pass-bench-primitives")
    message = b"x" * 400
    signature = keys.sign(private, message)
    for name, fn, n in ((f"unlock ({keys.cost_in_force()}: the passphrase check)",
                         lambda: keys.unlock(pem, "pass-bench-primitives"), 10),
                        ("Ed25519 sign", lambda: keys.sign(private, message), 2000),
                        ("Ed25519 verify", lambda: keys.verify(public, message, signature), 2000)):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        print(f"  {name}: {(time.perf_counter() - started) / n * 1e6:.0f} µs a call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200,
                        help="records submitted and approved one commit at a time, per round")
    parser.add_argument("--batch", type=int, default=2000,
                        help="records per import (0: none, for an archive of whole lifecycles)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of durable writes + import: each round the archive is "
                             "larger, so the figures show whether cost grows with its size")
    args = parser.parse_args()
    primitives()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "flows", Path(tmp) / "flows")
        archive = sign_folder(Path(tmp) / "flows", Path(tmp) / "records",
                              lambda person: f"pass-{person}-bench", OPERATOR)
        library = check_paths([Path(tmp) / "flows"], base=Path(tmp)).library
        for person in ("赵敏",):
            R.new_person_key(archive, library, person, f"pass-{person}-bench")
            R.approve_key(archive, library, person, "王芳", "pass-王芳-bench")
        for r in range(args.rounds):
            size = archive.checkpoint().size
            rate = durable(archive, library, args.records, f"r{r}")
            print(f"round {r + 1}, archive of {size} entries:")
            print(f"  durable submit + sign: {3 * args.records} events at {rate:.0f} events/s "
                  "(each committed: fsync + signed checkpoint)")
            if args.batch:
                rate = batch_import(archive, library, args.batch, f"r{r}")
                print(f"  import: {args.batch} records at {rate:.0f} records/s (one commit)")
            for workers in (1, None):
                name = "one process" if workers == 1 else "all cores"
                print(f"  verify ({name}): {verify_figures(archive, workers)}")
        print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        trust_commands(Path(tmp), archive, library)


def trust_commands(home: Path, archive: Archive, library) -> None:
    """Wall time of keys approve, checkpoint and witness as a person runs them (target 0.5 s),
    on the archive the rounds built."""
    import os
    import subprocess

    from generator.archive.trusting import add_key

    add_key(home / "flows" / "trust.yaml", archive, library, "王芳", "pass-王芳-bench", "witness",
            "见证机", "pass-witness-bench", home / "witness.key")
    R.new_person_key(archive, library, "孙磊", "pass-孙磊-bench")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLOWDOC_OPERATOR_PASSPHRASE": OPERATOR,
           "FLOWDOC_WITNESS_PASSPHRASE": "pass-witness-bench",
           "FLOWDOC_PASSPHRASE": "pass-王芳-bench"}
    common = ["--archive", str(archive.root)]
    flows = ["--flows", str(home / "flows")]
    size = archive.checkpoint().size
    for name, args in (("keys approve", ["keys", "approve", "孙磊", "--as", "王芳", *flows]),
                       ("checkpoint", ["checkpoint"]),
                       ("witness (first co-signature)", ["witness", "--key", str(home / "witness.key"),
                                                         "--state", str(home / "w.json"), *flows]),
                       ("witness (next, consistency checked)",
                        ["witness", "--key", str(home / "witness.key"), "--state",
                         str(home / "w.json"), *flows])):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "generator", *args, *common], env=env, check=True,
                       capture_output=True)
        print(f"{name}: {time.perf_counter() - started:.2f} s (archive of {size} entries)")


if __name__ == "__main__":
    main()
