"""Chart timings (targets: layout <= 20 ms a chart; all 24 charts to SVG + PDF + PNG <= 2 s).

    python bench/bench_diagrams.py

Prints layout time per chart (best of 5 rounds over all charts, in process: the machine may
be busy, and the best run is the one least disturbed), render time per format, the wall time
of writing every chart file the way `flowdoc build` does (worker processes included), and how
fast the machine ran a fixed loop before and after.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.checks import check_paths  # noqa: E402
from generator.diagram import layout, measure, render_pdf, render_png, render_svg  # noqa: E402
from generator.publish import build_diagrams  # noqa: E402


def main() -> None:
    library = check_paths([ROOT / "flows"], base=ROOT).library
    speed_before = reference()
    layout(library.flows[0])  # load the font metrics once, as a build does
    per_chart: dict[str, float] = {}
    charts = {}
    # five rounds over all charts, not five runs of one chart after another: a chart's runs
    # are then a second apart, so one slow spell of this virtual machine (it has them, see the
    # speed printed last) does not spoil all five
    for _ in range(5):
        for flow in library.flows:
            started = time.perf_counter()
            charts[flow.code] = layout(flow)
            elapsed = time.perf_counter() - started
            per_chart[flow.code] = min(per_chart.get(flow.code, elapsed), elapsed)
    render = {"svg": 0.0, "pdf": 0.0, "png": 0.0}
    for chart in charts.values():
        for fmt, fn in (("svg", render_svg), ("png", render_png)):
            started = time.perf_counter()
            for n in range(1, len(chart.pages) + 1):
                fn(chart, n)
            render[fmt] += time.perf_counter() - started
        started = time.perf_counter()
        render_pdf(chart)
        render["pdf"] += time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        written = build_diagrams(library, Path(tmp))
        wall = time.perf_counter() - started
    print(f"{'flow':<12} {'steps':>5} {'pages':>5} {'orient':<9} {'layout ms':>9} {'crossings':>9}")
    for flow in library.flows:
        chart = charts[flow.code]
        report = measure(chart, flow)
        print(f"{flow.code:<12} {len(flow.steps):>5} {len(chart.pages):>5} {chart.orientation:<9} "
              f"{per_chart[flow.code] * 1000:>9.1f} {report.crossings:>9}")
    values = list(per_chart.values())
    over = [code for code, v in per_chart.items() if v > 0.020]
    print(f"layout: median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms,"
          f" total {sum(values) * 1000:.0f} ms for {len(values)} charts;"
          f" over 20 ms: {', '.join(over) or 'none'}")
    print("render (one process): " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in render.items()))
    print(f"all charts to SVG + PDF + PNG as `flowdoc build` writes them: {wall:.2f} s wall, "
          f"{len(written)} files")
    print(f"machine speed: sum(range(10**7)) took {speed_before * 1000:.0f} ms before and "
          f"{reference() * 1000:.0f} ms after (best of 3)")


def reference() -> float:
    """A fixed piece of pure Python, timed beside the figures: this virtual machine runs the
    same code at speeds up to 1.7x apart from one minute to the next (steal time), so a
    figure means something only next to how fast the machine was when it was taken."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        sum(range(10**7))
        best = min(best, time.perf_counter() - started)
    return best


if __name__ == "__main__":
    main()
