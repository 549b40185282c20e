"""Load and check every bundled flow; print wall time (target: <= 0.3 s on the 2-core machine).

    python bench/bench_check.py [--repeat N]

Prints the time of a cold run in a fresh process (imports included, as a user waits for
`flowdoc check`) and the best and median of N warm runs in this process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.checks import check_paths  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "generator", "check"], cwd=ROOT,
                          capture_output=True, text=True)
    cold = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr

    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = check_paths([ROOT / "flows"], base=ROOT)
        times.append(time.perf_counter() - started)
        assert result.ok
    flows = len(result.library.flows)
    steps = sum(len(f.steps) for f in result.library.flows)
    print(f"flows: {flows}, steps: {steps}")
    print(f"cold `flowdoc check` process (with interpreter start and imports): {cold * 1000:.0f} ms")
    print(f"load + check in process: best {min(times) * 1000:.1f} ms, "
          f"median {statistics.median(times) * 1000:.1f} ms over {args.repeat} runs")


if __name__ == "__main__":
    main()
