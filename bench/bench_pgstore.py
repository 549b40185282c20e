"""The two stores side by side: durable events/s with 1 and 8 concurrent writers, bulk import,
verify entries/s, on the folder store and on PostgreSQL, and a second server's search index
caught up from PostgreSQL beside one rebuilt from the local folder.

    python bench/bench_pgstore.py [--events 400] [--records 3000] [--url postgresql://…]

Each writer process makes one event before the clock starts (a server's writer is a
long-running process: its first event opens connections and reads the key table); the writers'
CPU time per event and, for PostgreSQL, how long a turn holds the writers' lock are printed
beside each rate, with the reference loop's time again (other work on the machine shows there).

Without ``--url`` a throwaway PostgreSQL cluster is started (tests/pgserver.py: initdb into a
temporary folder, fsync and synchronous_commit on) and stopped at the end. Each event is a
record's submission as a user makes it: key unlocked, rule book, signature, and a commit
(fsync + signed checkpoint for the folder; a transaction with synchronous_commit for
PostgreSQL). The 8 writers are 8 processes, each with its own connection. A reference loop's
time is printed first, since this machine's speed varies with its load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from generator.archive import events as R  # noqa: E402
from generator.archive.copying import copy_archive  # noqa: E402
from generator.archive.verify import verify  # noqa: E402
from generator.checks import check_paths  # noqa: E402
from generator.records import RecordInput  # noqa: E402
from generator.service.bootstrap import sign_folder  # noqa: E402

OPERATOR = "pass-operator-bench"
T0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def reference() -> float:
    t = time.perf_counter()
    sum(range(10**7))
    return time.perf_counter() - t


def _hold_times(store, holds: list[float]) -> None:
    """Record in ``holds`` how long each PostgreSQL turn holds the writers' lock on the
    writer's side: from the reply to the round trip that takes it to the moment its COMMIT
    is sent (the commit and the flush are one more round trip, the lock released by the
    server at the COMMIT, before the flush)."""
    from generator.archive import pgstore

    take = pgstore._take_turn
    began: list[float] = []

    def timed_take(*args, **kwargs):
        row = take(*args, **kwargs)
        began.append(time.perf_counter())
        return row

    pgstore._take_turn = timed_take
    sent = getattr(pgstore.PgWriter, "_commit_event", None)
    if sent is not None:
        def timed_sent(self, *args, **kwargs):
            if began:
                holds.append(time.perf_counter() - began.pop())
            return sent(self, *args, **kwargs)

        pgstore.PgWriter._commit_event = timed_sent
    else:  # a tree before it: until the commit's round trip returned
        durable = pgstore.PgArchive._durable

        def timed_durable(self, conn):
            if began:
                holds.append(time.perf_counter() - began.pop())
            return durable(self, conn)

        pgstore.PgArchive._durable = timed_durable


def _writer(store, library, n: int, tag: str, start, done) -> None:
    from generator.archive import pgstore

    holds: list[float] = []
    if hasattr(store, "url") and hasattr(pgstore, "_take_turn"):  # (not in older trees)
        _hold_times(store, holds)

    def submit(i):
        rec = RecordInput("EC-HR-015", {"leave_type": "事假", "start": "2026-11-02",
                                        "end": "2026-11-03", "reason": f"{tag}第{i}次"}, "b")
        R.submit(store, library, rec, b"b", "赵敏", "pass-赵敏-bench", T0)

    submit(-1)  # a server's writer is a long-running process: its first event is not timed
    holds.clear()
    start.wait()
    cpu = time.process_time()
    for i in range(n):
        submit(i)
    done.put((n, time.process_time() - cpu, holds))


def durable(store, library, writers: int, events: int) -> tuple[float, float, float]:
    """Events/s of ``events`` submissions by ``writers`` processes at once, the writers' CPU
    time per event (ms) and the mean time a turn holds the lock (ms; PostgreSQL only)."""
    ctx = multiprocessing.get_context("fork")
    start, done = ctx.Barrier(writers + 1), ctx.Queue()
    each = max(1, events // writers)
    procs = [ctx.Process(target=_writer, args=(store, library, each, f"w{writers}-{k}", start,
                                               done)) for k in range(writers)]
    for p in procs:
        p.start()
    start.wait()
    began = time.perf_counter()
    results = [done.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    total = sum(r[0] for r in results)
    holds = [h for r in results for h in r[2]]
    return (total / elapsed, 1000 * sum(r[1] for r in results) / total,
            1000 * sum(holds) / len(holds) if holds else float("nan"))


def bulk_import(store, library, n: int, tag: str) -> float:
    """Records/s of one import of ``n`` records (one commit)."""
    batch = [(RecordInput("EC-HR-015", {"leave_type": "年假", "start": "2026-11-02",
                                        "end": "2026-11-06", "reason": f"{tag}批量{i}"},
                          f"{i}.yaml"), f"record {tag} {i}".encode()) for i in range(n)]
    began = time.perf_counter()
    R.import_records(store, library, batch, "赵敏", "pass-赵敏-bench", T0)
    return n / (time.perf_counter() - began)


def verify_rate(store, library, workers: int | None) -> tuple[int, float]:
    began = time.perf_counter()
    report = verify(store, library, workers=workers)
    elapsed = time.perf_counter() - began
    assert report.ok, report.findings[:3]
    return report.entries, report.entries / elapsed


def index_rates(folder, pg, library, tmp: Path) -> tuple[float, float]:
    """Entries/s of a search index rebuilt from the folder's log on this machine, and of a
    new server's index (its own machine folder) caught up from nothing from PostgreSQL."""
    import os

    from generator.archive.pgstore import PgArchive
    from generator.search import RecordIndex

    entries = folder.checkpoint().size
    began = time.perf_counter()
    RecordIndex(folder, library).reindex()
    local = entries / (time.perf_counter() - began)
    os.environ["FLOWDOC_STATE_DIR"] = str(tmp / "second-server")
    began = time.perf_counter()
    RecordIndex(PgArchive(pg.url), library).catch_up()
    remote = entries / (time.perf_counter() - began)
    return local, remote


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=400, help="events per measurement")
    parser.add_argument("--records", type=int, default=3000,
                        help="records of one bulk import, before the verify figures")
    parser.add_argument("--url", help="an initialised PostgreSQL archive to use (emptied "
                                      "databases only); default: a throwaway cluster")
    parser.add_argument("--stores", default="folder,postgresql",
                        help="which stores to measure (comma-separated)")
    parser.add_argument("--skip", default="",
                        help="figures to leave out: durable, import, verify (comma-separated)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"reference loop sum(range(10**7)): {reference():.3f} s")
    server = None
    url = args.url
    if url is None:
        import pgserver

        server = pgserver.Server()
        url = server.url(server.database())
    from generator.archive.pgstore import PgArchive, init

    init(url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(ROOT / "flows", Path(tmp) / "flows")
            folder = sign_folder(Path(tmp) / "flows", Path(tmp) / "records",
                                 lambda person: f"pass-{person}-bench", OPERATOR)
            library = check_paths([Path(tmp) / "flows"], base=Path(tmp)).library
            R.new_person_key(folder, library, "赵敏", "pass-赵敏-bench")
            R.approve_key(folder, library, "赵敏", "王芳", "pass-王芳-bench")
            pg = PgArchive(url, folder.operator)
            copy_archive(folder, pg)
            chosen = [(n, st) for n, st in (("folder", folder), ("postgresql", pg))
                      if n in args.stores.split(",")]
            for name, store in chosen if "durable" not in skip else ():
                for writers in (1, 8):
                    rate, cpu, hold = durable(store, library, writers, args.events)
                    print(f"{name:10} {writers} writer{'s' if writers > 1 else ' '}: "
                          f"{rate:6.0f} durable events/s (writers' CPU {cpu:.1f} ms/event"
                          + (f", lock held {hold:.1f} ms/turn)" if hold == hold else ")"))
                    print(f"{'':10} reference loop now: {reference():.3f} s")
            for name, store in chosen if "import" not in skip else ():
                rate = bulk_import(store, library, args.records, name)
                print(f"{name:10} bulk import: {args.records} records at {rate:.0f} records/s")
            if "verify" in skip:
                return
            if server is not None:  # verify the same archive from both stores
                pg = PgArchive(server.url(server.database()))
                init(pg.url)
                copy_archive(folder, pg)
            for name, store in [(n, st) for n, st in (("folder", folder), ("postgresql", pg))
                                if n in args.stores.split(",")]:
                for workers, how in ((1, "one process"), (None, "all cores")):
                    entries, rate = verify_rate(store, library, workers)
                    print(f"{name:10} verify ({how}): {entries} entries at {rate:.0f} "
                          "entries/s")
            if {"folder", "postgresql"} <= {n for n, _ in chosen}:
                local, remote = index_rates(folder, pg, library, Path(tmp))
                print(f"search index: rebuilt from the local folder at {local:.0f} entries/s; "
                      f"a second server's, caught up from PostgreSQL, at {remote:.0f} entries/s")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
