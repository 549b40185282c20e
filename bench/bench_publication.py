"""What a document controller sees of the publication, in figures (no pass/fail).

    python bench/bench_publication.py [BUILD_DIR]

Builds the manual of the bundled flows into BUILD_DIR (a temporary folder if none is given;
an existing build there is reused) and prints: the manual's pages; the pages of each flow
section; how many flow-section pages are filled less than a quarter and less than a half
(the lowest inked row of the rendered page, between the running header and the footer); how
many charts are split across pages; and the chart quality measures summed over all charts.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.checks import check_paths  # noqa: E402
from generator.diagram import layout, measure  # noqa: E402

DPI = 36
# the running header ends 36 pt below the top edge, the footer starts 34 pt above the bottom
TOP, BOTTOM = 40.0, 40.0
DARK = 160  # grey level counted as ink: the watermark (16 % grey) stays lighter than this


def section_pages(pdf: Path) -> tuple[int, dict[str, list[int]]]:
    """The manual's page count and the pages (1-based) of each flow's section, read from the
    running header (流程编码：CODE) of every page."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    pages = text.split("\f")[:-1]
    sections: dict[str, list[int]] = {}
    for number, page in enumerate(pages, start=1):
        found = re.search(r"流程编码：(EC-[A-Z]+-[0-9-]+)", page)
        if found:
            sections.setdefault(found.group(1), []).append(number)
    return len(pages), sections


def fill(pdf: Path, page: int) -> float:
    """How far down the page's writing area the lowest ink reaches, 0 to 1."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-gray", "-r", str(DPI), "-f", str(page), "-l", str(page),
                        "-png", str(pdf), f"{tmp}/p"], check=True)
        image = Image.open(next(Path(tmp).glob("p*.png"))).convert("L")
        w, h = image.size
        top, bottom = int(TOP * DPI / 72), h - int(BOTTOM * DPI / 72)
        pixels = image.load()
        lowest = top
        for y in range(bottom - 1, top, -1):
            if any(pixels[x, y] < DARK for x in range(w)):
                lowest = y
                break
        return (lowest - top) / (bottom - top)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "build"
    if not (out / "manual.pdf").exists():
        subprocess.run([sys.executable, "-m", "generator", "build", "--out", str(out)],
                       cwd=ROOT, check=True, capture_output=True)
    pdf = out / "manual.pdf"
    total, sections = section_pages(pdf)
    fills = {p: fill(pdf, p) for pages in sections.values() for p in pages}
    print(f"manual pages: {total}")
    print("pages per flow: " + ", ".join(f"{code} {len(pages)}" for code, pages in sections.items()))
    quarter = sorted(p for p, f in fills.items() if f < 0.25)
    half = sorted(p for p, f in fills.items() if f < 0.5)
    print(f"flow-section pages: {len(fills)}; filled < 1/4: {len(quarter)} {quarter}; "
          f"< 1/2: {len(half)} {half}")
    library = check_paths([ROOT / "flows"], base=ROOT).library
    totals: dict[str, int] = {}
    split = []
    for flow in library.flows:
        chart = layout(flow)
        if len(chart.pages) > 1:
            split.append(f"{flow.code} ({len(chart.pages)} pages)")
        report = measure(chart, flow)
        for name in (*report.VIOLATIONS, *getattr(report, "MEASURES", ("crossings",))):
            totals[name] = totals.get(name, 0) + getattr(report, name)
    print(f"charts split: {len(split)} of {len(library.flows)} {split}")
    try:
        from generator.diagram.wording import words_broken
    except ImportError:  # a build from before breaks were weighed by words
        words_broken = None
    if words_broken is not None:  # boxes and labels whose lines break inside a word
        broken = [f"{flow.code} {'/'.join(lines)}" for flow in library.flows
                  for page in layout(flow).pages
                  for lines in [*(s.text.lines for s in page.shapes if s.kind != "connector"),
                                *(label.text.split("\n") for label in page.labels)]
                  if words_broken(lines)]
        print(f"texts broken inside a word: {len(broken)} {broken}")
    try:
        from generator.manual.plan import under_header
    except ImportError:  # a build from before the manual continued charts under its header
        under_header = None
    if under_header is not None:
        printed = {f.code: under_header(f, layout(f)) for f in library.flows}
        continued = [code for code, chart in printed.items() if len(chart.pages) > 1]
        print(f"charts the manual continues on a second page under the header table: "
              f"{len(continued)} {continued}")
        manual_totals: dict[str, int] = {}
        for flow in library.flows:
            report = measure(printed[flow.code], flow)
            for name in getattr(report, "MEASURES", ()):
                manual_totals[name] = manual_totals.get(name, 0) + getattr(report, name)
        print("the same measures over the charts as the manual prints them: "
              + ", ".join(f"{k} {v}" for k, v in manual_totals.items()))
    print("chart measures over all charts: "
          + ", ".join(f"{k} {v}" for k, v in totals.items()))


if __name__ == "__main__":
    main()
