"""Server time of the web application's pages on an archive of N records, and a load of
concurrent clients against the real server.

    python bench/bench_web.py [--records 100000] [--rounds 50] [--keep DIR]
                              [--clients 20] [--seconds 60]

Makes a throwaway trust root and archive (tools/sign_bundled.py's way), imports N leave
records as 赵敏 (``record import``'s one batch), all waiting for 李强 (the worst case of a
待办: every record open for one approver). ``--keep DIR`` makes it there once and reuses it.

Then, in process through Flask's test client (server time, no network): 李强's 待办, a record
page, the search page for a word (another each time; one record in six has it) beside the same
search made in process as ``flowdoc search`` makes it, and a login (the passphrase check: one
key unlock). With ``--clients``, it starts ``flowdoc serve`` (waitress) and runs that many
clients for ``--seconds``, without pauses: 70% page views (待办 and record pages), 20% searches,
10% signatures (李强 approving a record waiting for him), each over HTTP with its own session,
and prints p50/p95 per kind, every error and the server's memory.

Figures print with a reference loop's time, since this machine's speed varies with its load.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import itertools
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-2026"
WORDS = ["感冒发烧", "家中有事", "孩子生病", "外地就医", "搬家", "婚礼"]
QUERIES = ["发烧", "有事", "生病", "就医", "搬家", "婚礼"]  # one record in six has each


def reference() -> float:
    t = time.perf_counter()
    sum(range(10**7))
    return time.perf_counter() - t


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def timed(fn, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return percentiles(times)


def make_archive(base: Path, records: int) -> None:
    """Flows, trust root, keys and ``records`` imported leave records in ``base``."""
    from generator.archive import events
    from generator.archive.store import Archive
    from generator.archive.trusting import unlock_operator
    from generator.checks import check_paths
    from generator.records import RecordInput
    from generator.service.bootstrap import sign_folder

    shutil.copytree(ROOT / "flows", base / "flows")
    shutil.copytree(ROOT / "templates", base / "templates")
    sign_folder(base / "flows", base / "records", lambda _p: SECRET, SECRET)
    library = check_paths([base / "flows"], base=base).library
    archive = Archive(base / "records", unlock_operator(base / "records", SECRET))
    for person in ("赵敏", "李强", "方圆"):
        if events.active_key(archive, library, person) is None:
            events.new_person_key(archive, library, person, SECRET)
            events.approve_key(archive, library, person, "王芳", SECRET)
    t = time.perf_counter()
    done = 0
    while done < records:  # batches of 10,000: one import's memory stays small
        n = min(10000, records - done)
        items = [(RecordInput("EC-HR-015", {"leave_type": "事假", "start": "2026-12-01",
                                            "end": "2026-12-02",
                                            "reason": f"{WORDS[i % len(WORDS)]} {i}"}, "b"),
                  f"r{i}".encode()) for i in range(done, done + n)]
        events.import_records(archive, library, items, "赵敏", SECRET)
        done += n
    print(f"imported {records} records in {time.perf_counter() - t:.1f} s")
    (base / "ready").write_text(str(records))


def in_process(base: Path, rounds: int) -> None:
    """Server time of each page through Flask's test client, and search in process."""
    from generator.service import audit
    from generator.service.workspace import open_workspace
    from generator.web import create_app

    t = time.perf_counter()
    app = create_app(base / "flows", base / "records", operator_passphrase=SECRET)

    def login(name: str):
        client = app.test_client()
        page = client.get("/login").data
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        client.post("/login", data={"csrf": csrf, "name": name, "passphrase": SECRET})
        return client

    li = login("李强")
    auditor = login("方圆")
    first = li.get("/")  # the waiting list is made once (the whole log folded)
    print(f"first 待办 (folds the log once): {time.perf_counter() - t:.1f} s")
    waiting = first.data.split(b'id="waiting"')[1].split(b'id="mine"')[0]
    numbers = re.findall(rb'/records/(EC-HR-015-[0-9-]+)"', waiting)
    target = numbers[len(numbers) // 2].decode()
    t = time.perf_counter()
    auditor.get("/search?q=发烧")
    print(f"first search (catches the index up): {time.perf_counter() - t:.1f} s")
    print(f"reference loop: {reference() * 1000:.0f} ms")
    words = itertools.cycle(QUERIES)  # another word each time: no query's matches kept
    for label, fn in (("待办 (inbox)", lambda: li.get("/")),
                      ("record page", lambda: li.get(f"/records/{target}")),
                      ("search page", lambda: auditor.get(f"/search?q={next(words)}"))):
        p50, p95 = timed(fn, rounds)
        print(f"{label:18} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    ws = open_workspace(base / "flows", base / "records")
    index = audit.open_index(ws)

    def cli_search():
        tree = audit.query_tree(next(words))
        index.catch_up()
        audit.search(index, tree)
    p50, p95 = timed(cli_search, rounds)
    print(f"{'search in process':18} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    p50, p95 = timed(lambda: login("李强"), 10)
    print(f"{'login':18} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    to_sign = iter(numbers[-20:])  # the newest waiting: the oldest stay on the page

    def sign():
        number = next(to_sign).decode()
        page = li.get(f"/records/{number}").data.decode()
        step = re.search(r'name="step" value="([^"]+)"', page).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        after = li.post(f"/records/{number}/sign", data={
            "csrf": csrf, "step": step, "decision": "同意", "passphrase": SECRET},
            follow_redirects=True)
        assert "已签署" in after.data.decode(), number
    p50, p95 = timed(sign, 10)
    print(f"{'sign (page+post)':18} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")


def rss_mib(pid: int) -> float:
    """A process's resident memory (Linux), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Client:
    """One browser: its own cookies, CSRF token and connection."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.get("/login")
        self.post("/login", {"csrf": self.csrf(page), "name": name, "passphrase": SECRET})

    def get(self, path: str) -> str:
        with self.opener.open(self.url + path, timeout=60) as r:
            return r.read().decode()

    def post(self, path: str, data: dict) -> str:
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(self.url + path, body, timeout=60) as r:
            return r.read().decode()

    @staticmethod
    def csrf(page: str) -> str:
        return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def load(base: Path, clients: int, seconds: float) -> None:
    """``clients`` threads against ``flowdoc serve`` for ``seconds``: 70% pages, 20% searches,
    10% signatures; p50/p95 per kind and every error."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, FLOWDOC_OPERATOR_PASSPHRASE=SECRET, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--port", str(port), "--flows",
         str(base / "flows"), "--archive", str(base / "records"), "--build", str(base / "build")],
        cwd=base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/login", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        t = time.perf_counter()
        warm = Client(url, "李强")
        inbox = warm.get("/")
        Client(url, "方圆").get("/search?q=" + urllib.parse.quote("发烧"))
        print(f"server up; first 待办 and search: {time.perf_counter() - t:.1f} s; "
              f"server memory {rss_mib(server.pid):.0f} MiB")
        waiting = re.findall(r'/records/(EC-HR-015-[0-9-]+)"', inbox)
        to_sign = list(reversed(waiting))  # the newest first: the oldest stay on the page
        lock = threading.Lock()
        times: dict[str, list[float]] = {"page": [], "search": [], "sign": []}
        errors: list[str] = []
        sessions = [(Client(url, "李强"), Client(url, "方圆")) for _ in range(clients)]
        print(f"reference loop: {reference() * 1000:.0f} ms; {clients} clients for {seconds:.0f} s")
        stop = time.perf_counter() + seconds

        def run(k: int) -> None:
            rng = random.Random(k)
            li, auditor = sessions[k]
            while time.perf_counter() < stop:
                roll = rng.random()
                t = time.perf_counter()
                try:
                    if roll < 0.7:
                        kind = "page"
                        if rng.random() < 0.5:
                            li.get("/")
                        else:
                            li.get(f"/records/{rng.choice(waiting)}")
                    elif roll < 0.9:
                        kind = "search"
                        auditor.get("/search?q=" + urllib.parse.quote(rng.choice(QUERIES)))
                    else:
                        kind = "sign"
                        with lock:
                            number = to_sign.pop()
                        page = li.get(f"/records/{number}")
                        step = re.search(r'name="step" value="([^"]+)"', page).group(1)
                        after = li.post(f"/records/{number}/sign", {
                            "csrf": Client.csrf(page), "step": step, "decision": "同意",
                            "passphrase": SECRET})
                        if "已签署" not in after:
                            raise RuntimeError(f"{number}: not signed")
                except (OSError, urllib.error.HTTPError, RuntimeError, AttributeError) as exc:
                    with lock:
                        errors.append(f"{kind}: {exc}")
                    continue
                with lock:
                    times[kind].append((time.perf_counter() - t) * 1000)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        total = sum(len(v) for v in times.values())
        print(f"{total} requests, {len(errors)} errors ({total / seconds:.1f}/s)")
        for kind, values in times.items():
            if values:
                p50, p95 = percentiles(values)
                print(f"{kind:8} n {len(values):6}   p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
        for e in errors[:10]:
            print("error:", e)
        print(f"server memory after the load: {rss_mib(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--keep", type=Path, default=None,
                        help="make the archive in this folder once and reuse it")
    parser.add_argument("--clients", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="flowdoc-bench-web-"))
    try:
        if not (base / "ready").exists():
            shutil.rmtree(base, ignore_errors=True)
            base.mkdir(parents=True)
            make_archive(base, args.records)
        if not args.skip_pages:
            in_process(base, args.rounds)
        if args.clients:
            load(base, args.clients, args.seconds)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
