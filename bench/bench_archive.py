"""Archive timings (targets: durable sign + append >= 100 events/s in one process; verify >=
20,000 entries/s with memory flat in archive size).

    python bench/bench_archive.py [--records N]

Builds a fresh archive in a temporary folder: keys for two people, N leave records each
submitted and approved (every event fsynced and committed under a new signed checkpoint),
then verifies it, printing events/s, entries/s and the peak memory of verify.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.archive import records as R  # noqa: E402
from generator.archive.store import Archive  # noqa: E402
from generator.archive.verify import verify  # noqa: E402
from generator.check import check_paths  # noqa: E402
from generator.records import RecordInput  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    library = check_paths([ROOT / "flows"], base=ROOT).library
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(Path(tmp) / "records")
        for person in ("赵敏", "李强"):
            R.new_person_key(archive, library, person, f"pass-{person}-bench")
        t0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
        started = time.perf_counter()
        events = 0
        for i in range(args.records):
            rec = RecordInput("EC-HR-015", {"leave_type": "事假", "start": "2026-11-02",
                                            "end": "2026-11-03", "reason": f"第{i}次请假"}, "b")
            number = R.submit(archive, library, rec, b"b", "赵敏", "pass-赵敏-bench", t0)
            R.sign_step(archive, library, number, "head_approve", "李强", "pass-李强-bench",
                        "不同意", "", t0)
            events += 3  # submit, sign, and the rendition of the closed record
        elapsed = time.perf_counter() - started
        print(f"durable submit + sign: {events} events in {elapsed:.2f} s = "
              f"{events / elapsed:.0f} events/s (each committed: fsync + signed checkpoint)")
        batch = [(RecordInput("EC-HR-015", {"leave_type": "年假", "start": "2026-11-02",
                                            "end": "2026-11-06", "reason": f"批量{i}"}, f"{i}.yaml"),
                  f"record {i}".encode()) for i in range(args.batch)]
        started = time.perf_counter()
        R.import_records(archive, library, batch, "赵敏", "pass-赵敏-bench", t0)
        elapsed = time.perf_counter() - started
        print(f"import: {len(batch)} records in {elapsed:.2f} s = {len(batch) / elapsed:.0f} "
              "records/s (one commit)")
        started = time.perf_counter()
        report = verify(archive, library)
        elapsed = time.perf_counter() - started
        tracemalloc.start()  # a second run for memory: tracing slows Python several times over
        verify(archive, library)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert report.ok, report.findings[:3]
        print(f"verify: {report.entries} entries in {elapsed:.2f} s = "
              f"{report.entries / elapsed:.0f} entries/s, peak traced memory {peak / 2**20:.1f} MiB")
        print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
