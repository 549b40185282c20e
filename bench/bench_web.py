"""Server time of the web application's pages on an archive of N records.

    python bench/bench_web.py [--records 10000] [--rounds 50]

Makes a throwaway trust root and archive (tools/sign_bundled.py's way, in a temp folder),
imports N leave records as 赵敏 (one batch), then times, in process through Flask's test
client (server time, no network): 李强's 待办, a record page, the search page for a word, and
a login (the passphrase check: one key unlock). Prints p50/p95 in ms with a reference loop's
time, since this machine's speed varies with its load.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-2026"


def reference() -> float:
    t = time.perf_counter()
    sum(range(10**7))
    return time.perf_counter() - t


def timed(fn, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()

    from generator.archive import events
    from generator.archive.store import Archive
    from generator.archive.trusting import unlock_operator
    from generator.checks import check_paths
    from generator.records import RecordInput
    from generator.service.bootstrap import sign_folder
    from generator.web import create_app

    tmp = Path(tempfile.mkdtemp(prefix="flowdoc-bench-web-"))
    try:
        shutil.copytree(ROOT / "flows", tmp / "flows")
        shutil.copytree(ROOT / "templates", tmp / "templates")
        sign_folder(tmp / "flows", tmp / "records", lambda _p: SECRET, SECRET)
        library = check_paths([tmp / "flows"], base=tmp).library
        archive = Archive(tmp / "records", unlock_operator(tmp / "records", SECRET))
        for person in ("赵敏", "李强", "方圆"):
            if events.active_key(archive, library, person) is None:
                events.new_person_key(archive, library, person, SECRET)
                events.approve_key(archive, library, person, "王芳", SECRET)
        words = ["感冒发烧", "家中有事", "孩子生病", "外地就医", "搬家", "婚礼"]
        items = [(RecordInput("EC-HR-015", {"leave_type": "事假", "start": "2026-12-01",
                                            "end": "2026-12-02",
                                            "reason": f"{words[i % len(words)]} {i}"}, "b"),
                  f"r{i}".encode()) for i in range(args.records)]
        t = time.perf_counter()
        numbers = events.import_records(archive, library, items, "赵敏", SECRET)
        print(f"imported {len(numbers)} records in {time.perf_counter() - t:.1f} s")
        app = create_app(tmp / "flows", tmp / "records", operator_passphrase=SECRET)

        def login(name: str):
            client = app.test_client()
            page = client.get("/login").data
            csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
            client.post("/login", data={"csrf": csrf, "name": name, "passphrase": SECRET})
            return client

        li = login("李强")
        auditor = login("方圆")
        target = numbers[len(numbers) // 2]
        print(f"reference loop: {reference() * 1000:.0f} ms")
        auditor.get("/search?q=发烧")  # the index is built once
        li.get("/")  # the live states are folded once
        for label, fn in (("待办 (inbox)", lambda: li.get("/")),
                          ("record page", lambda: li.get(f"/records/{target}")),
                          ("search page", lambda: auditor.get("/search?q=就医"))):
            p50, p95 = timed(fn, args.rounds)
            print(f"{label:14} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
        p50, p95 = timed(lambda: login("李强"), 10)
        print(f"{'login':14} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
