"""The test suite's time (target: ./tools/test's pytest run <= 100 s on a two-core machine),
and where it goes: wall and CPU time per test file, the longest tests.

    python bench/bench_suite.py [PYTEST ARGS]

Runs ./tools/test as a newcomer does (it installs what the tests need, then runs the suite),
with this file loaded into every pytest process as a plugin that writes, for each test, its
wall time and the CPU time of its process and of the children it waited for (builds' worker
processes, LibreOffice, flowdoc commands, the browser and servers at their fixture's end;
not the PostgreSQL server, which is nobody's child). Prints the run's wall and CPU time, the
files by wall time (a worker runs a file from start to end) and the ten longest tests.

The machine's speed varies by up to 1.4x over a quarter of an hour here: compare two commits
by running them one after the other, twice, in alternate order.
"""

from __future__ import annotations

import collections
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = "BENCH_SUITE_OUT"  # the folder the plugin writes its lines into, one file a process


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


# -- the plugin (pytest -p bench_suite), in each worker -------------------------------------

_started: dict[str, tuple[float, float, float]] = {}


def pytest_runtest_logstart(nodeid: str, location) -> None:
    if os.environ.get(OUT):
        _started[nodeid] = (time.perf_counter(), *_cpu())


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    if not os.environ.get(OUT) or nodeid not in _started:
        return
    wall0, own0, children0 = _started.pop(nodeid)
    own, children = _cpu()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(Path(os.environ[OUT]) / f"{worker}.tsv", "a", encoding="utf-8") as f:
        f.write(f"{nodeid}\t{time.perf_counter() - wall0:.3f}\t{own - own0:.3f}\t"
                f"{children - children0:.3f}\n")


# -- the script ---------------------------------------------------------------------------

def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, OUT: out,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "bench"),
                                                           os.environ.get("PYTHONPATH")]))}
        started, cpu0 = time.perf_counter(), _cpu()
        proc = subprocess.run([str(ROOT / "tools" / "test"), "-p", "bench_suite", *sys.argv[1:]],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - started, sum(_cpu()) - sum(cpu0)
        summary = [line for line in proc.stdout.splitlines()
                   if re.search(r"\d+ (passed|failed).* in [\d.]+s", line)]
        tests = {}
        for path in Path(out).glob("*.tsv"):
            for line in path.read_text(encoding="utf-8").splitlines():
                nodeid, *figures = line.split("\t")
                tests[nodeid] = tuple(float(x) for x in figures)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
    print(f"./tools/test (pip and compileall included): {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"(user + system, every process waited for); pytest: {summary[-1] if summary else '?'}")
    files: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
    for nodeid, figures in tests.items():
        for i, value in enumerate(figures):
            files[nodeid.split("::")[0]][i] += value
    print(f"\n{'wall s':>7} {'CPU s':>7} {'of it children':>14}  test file")
    for name, (w, own, children) in sorted(files.items(), key=lambda kv: -kv[1][0])[:15]:
        print(f"{w:7.1f} {own + children:7.1f} {children:14.1f}  {name}")
    print(f"\n{'wall s':>7} {'CPU s':>7}  test")
    for nodeid, (w, own, children) in sorted(tests.items(), key=lambda kv: -kv[1][0])[:10]:
        print(f"{w:7.1f} {own + children:7.1f}  {nodeid[:100]}")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
