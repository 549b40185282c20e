"""Build timings (targets: full build <= 3 s wall; a rebuild with nothing changed <= 0.5 s).

    python bench/bench_build.py [--repeat N]

Runs `flowdoc build` as a user does (a fresh process each time) into an empty folder, then
again into the same folder with nothing changed; prints the best and median wall times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "generator", "build", "--out", str(out)], cwd=ROOT,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    full, again = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "build"
            full.append(run(out))
            again.append(run(out))
    print(f"full build (24 charts in 3 formats, manual.pdf, manual.docx): best {min(full):.2f} s, "
          f"median {statistics.median(full):.2f} s")
    print(f"rebuild, nothing changed: best {min(again):.2f} s, median {statistics.median(again):.2f} s")


if __name__ == "__main__":
    main()
