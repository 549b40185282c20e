"""The publication: every output of ``flowdoc build``, written from one checked library.

Charts are independent of each other, so they are laid out and drawn in worker processes (two
on the two-core machines this runs on); each file is written atomically, so an interrupted
build leaves earlier files whole and no file half-written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .diagram import FORMATS, layout, outputs
from .fileio import write_atomic
from .model import Flow, Library

Progress = Callable[[int, int, str], None]


def chart_files(flow: Flow) -> list[tuple[str, bytes]]:
    """Every chart file of one flow: SVG and PNG per page, one PDF."""
    chart = layout(flow)
    files: list[tuple[str, bytes]] = []
    for fmt in FORMATS:
        files += outputs(chart, fmt, flow.code)
    return files


def build_diagrams(library: Library, out: Path, progress: Progress | None = None,
                   workers: int | None = None) -> list[Path]:
    """Write the charts of every flow into ``out``; returns the paths written, in order."""
    flows = list(library.flows)
    workers = workers or min(2, os.cpu_count() or 1)
    written: list[Path] = []
    if workers > 1 and len(flows) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(chart_files, flows, chunksize=2)
            for done, (flow, files) in enumerate(zip(flows, results, strict=True), start=1):
                written += _write(out, files)
                if progress:
                    progress(done, len(flows), flow.code)
    else:
        for done, flow in enumerate(flows, start=1):
            written += _write(out, chart_files(flow))
            if progress:
                progress(done, len(flows), flow.code)
    return written


def _write(out: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    paths = []
    for name, data in files:
        write_atomic(out / name, data)
        paths.append(out / name)
    return paths
