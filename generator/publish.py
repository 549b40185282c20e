"""The publication: every output of ``flowdoc build``, written from one checked library.

Charts are independent of each other, so they are laid out and drawn in worker processes (two
on the two-core machines this runs on) and their geometry comes back for the manual, which
draws the same charts. This process, which would only wait for them, makes the forms
meanwhile, and the rest of them while the workers write the manual's PDF and DOCX. Each file
is written atomically, and only when its bytes change; a build whose inputs (flows,
templates, the generator itself, the options) hash the same as the last one's writes nothing
at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .buildstamp import STAMP, inputs_digest, options_text, up_to_date
from .diagram import FORMATS, Chart, layout, outputs
from .errors import FlowdocError
from .fileio import stage, write_atomic
from .model import Flow, Library

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class BuildResult:
    written: list[Path]  # files whose bytes changed
    unchanged: int  # files already up to date
    skipped: bool  # nothing to do: the inputs are those of the last build
    notes: tuple[str, ...] = ()  # what the user should know: charts the manual splits, and why


Pictures = list[tuple[bytes, bytes]]  # (PNG, SVG) of each page of the manual's chart


def chart_files(flow: Flow, manual: bool = True) -> tuple[list[tuple[str, bytes]], Chart, Pictures]:
    """Every chart file of one flow (SVG and PNG per page, one PDF, under ``diagrams/``), the
    chart's geometry as the manual prints it (under the flow's header table: laid out again,
    here in the worker, where it must continue on a second page) and that chart's pictures for
    the DOCX (the files' own where the chart is the same)."""
    from .diagram import render_png, render_svg
    from .manual.plan import under_header

    chart = layout(flow)
    files: list[tuple[str, bytes]] = []
    for fmt in FORMATS:
        files += [(f"diagrams/{name}", data) for name, data in outputs(chart, fmt, flow.code)]
    printed = under_header(flow, chart) if manual else chart
    if not manual:
        pictures: Pictures = []
    elif printed is chart:
        by_ext = {ext: [d for n, d in files if n.endswith(ext)] for ext in (".png", ".svg")}
        pictures = list(zip(by_ext[".png"], by_ext[".svg"], strict=True))
    else:
        pictures = [(render_png(printed, n), render_svg(printed, n).encode("utf-8"))
                    for n in range(1, len(printed.pages) + 1)]
    return files, printed, pictures


def _charts(flows: list[Flow], pool: ProcessPoolExecutor, progress: Progress | None,
            manual: bool = True, meanwhile: Callable[[], bool] | None = None):
    """Each flow with its chart files and geometry, made in ``pool``, reporting progress;
    with ``manual``, also the chart as the manual prints it and its pictures. While charts are
    still being made, ``meanwhile`` is called (one small piece of other work a call) until it
    says there is no more."""
    make = partial(chart_files, manual=manual)
    # the largest flows first (the most steps; laid out, and some laid out again under their
    # header table, they take up to ten times a small one's time): the last to finish are
    # small, and the two workers finish nearly together
    largest_first = sorted(range(len(flows)), key=lambda i: -len(flows[i].steps))
    submitted = {i: pool.submit(make, flows[i]) for i in largest_first}
    futures = [submitted[i] for i in range(len(flows))]
    done = 0

    def report() -> None:
        nonlocal done
        while done < len(flows) and futures[done].done():
            done += 1
            if progress:
                progress(done, len(flows), flows[done - 1].code)

    while meanwhile is not None and not all(f.done() for f in futures) and meanwhile():
        report()
    for flow, future in zip(flows, futures, strict=True):
        result = future.result()
        report()
        yield flow, result


def _warm() -> None:
    """Import the chart writers and read the font once, here, before the workers are forked:
    each worker would otherwise spend 0.5-1 s of the two cores doing the same (reportlab,
    Pillow, the font registered with reportlab). The forms' font is read by this process
    after the fork, while the workers draw: only this process makes forms. (Workers started
    by :func:`start_workers` run this themselves, while this process checks the flows.)"""
    from . import fonts
    from .diagram import pdf, png, svg  # noqa: F401

    fonts.register()
    fonts.text_width("", 10)


@dataclass
class Workers:
    """The build's worker processes, started before the flows are checked
    (:func:`start_workers`), and what they make meanwhile that needs no flow: the forms'
    font tables and the legend's picture."""

    pool: ProcessPoolExecutor
    form_font: Future
    legend: Future

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown()


def start_workers(count: int | None = None) -> Workers:
    """The build's worker processes, started now, each readying the chart writers, and
    between them reading the forms' font tables for this process and drawing the legend: a
    build that starts them before its flows are checked (``flowdoc build``) has all that done
    on the core the check leaves idle (0.1-0.3 s of the build). Give them to :func:`build`;
    shut them down (``with``)."""
    pool = _pool(count, initializer=_warm)
    # the first task starts the processes
    return Workers(pool, pool.submit(_form_font), pool.submit(_legend))


# imported in the worker: this process starts its workers before it imports either

def _form_font():
    from .forms import cjkfont

    return cjkfont.tables()


def _legend():
    from .manual import legend_pictures

    return legend_pictures()


def _pool(count: int | None, initializer: Callable[[], None] | None = None
          ) -> ProcessPoolExecutor:
    """``count`` worker processes; by default two, one a core on the two-core machines this
    runs on (the build's own process makes the forms beside them)."""
    return ProcessPoolExecutor(max_workers=count or min(2, os.cpu_count() or 1),
                               mp_context=_context(), initializer=initializer)


def _context():
    """Fork where the system has it (what is imported and read above is then shared), else
    the platform's default."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def form_file(flow: Flow, templates: Path, company: str | None = None,
              limits: dict | None = None) -> tuple[str, bytes]:
    from .forms import make_form

    return f"forms/{flow.code}.pdf", make_form(flow, templates, company, limits)


def build(library: Library, out: Path, templates: Path, flows_dir: Path, copy=None,
          progress: Progress | None = None, workers: int | None = None,
          manual: bool = True, started: Workers | None = None) -> BuildResult:
    """Write charts, forms, manual and manifest into ``out``.

    Charts first, in worker processes (``started`` by :func:`start_workers`, or ``workers``
    of them started here), while this process makes the forms; then the workers write the
    manual's PDF and DOCX, which need every chart."""
    from .manual import LEGEND, build_manual, legend_pictures

    options = options_text(getattr(copy, "number", None), getattr(copy, "holder", None), manual)
    digest = inputs_digest([flows_dir, templates], options)
    stamp = out / STAMP
    if up_to_date(out, digest):
        return BuildResult([], 0, True)
    if manual:  # what would refuse the manual, asked before anything is drawn
        from .manual import Copy, check_copy

        check_copy(library, copy or Copy())
        _templates_present(templates)
    flows = list(library.flows)
    charts: dict[str, Chart] = {}
    pictures: dict[str, Pictures] = {}
    notes: list[str] = []
    if started is None:
        _warm()
    # Each file is staged (written beside its place and fsynced, by a few threads: one after
    # the other the hundred fsyncs of the bundled flows took half a second) as soon as it is
    # made, while the rest is still being made; only once everything is made are they renamed
    # into place (a build that fails writes nothing). The stamp comes last.
    staged: list[tuple[Path, Future]] = []
    new_dirs = [] if out.exists() else [out]  # made by this build: removed if it fails
    with ThreadPoolExecutor(max_workers=4) as writers:

        def put(items) -> None:
            for name, data in items:
                path = out / name
                if path.parent not in new_dirs and not path.parent.exists():
                    new_dirs.append(path.parent)
                staged.append((path, writers.submit(_stage_changed, path, data)))

        company = library.manual.company if library.manual else None
        limits = library.org.limits if library.org else None  # for the route sentence
        make_form = partial(form_file, templates=templates, company=company, limits=limits)
        forms = 0  # made here while the workers draw, each staged as soon as it is made

        def one_form() -> bool:
            nonlocal forms
            if forms == 0 and started is not None:  # read by a worker while flows were checked
                from .forms import cjkfont

                cjkfont.adopt(started.form_font.result())
            put([make_form(flows[forms])])
            forms += 1
            return forms < len(flows)

        try:
            with nullcontext(started.pool) if started is not None else _pool(workers) as running:
                legend = None
                if manual:
                    legend = started.legend if started is not None else running.submit(
                        legend_pictures)
                for flow, (flow_outputs, chart, drawn) in _charts(
                        flows, running, progress, manual, one_form if manual else None):
                    charts[flow.code] = chart
                    pictures[flow.code] = drawn
                    put(flow_outputs)
                if legend is not None:
                    pictures[LEGEND] = legend.result()
                if manual:

                    def other_forms() -> None:  # while the workers write the manual
                        while forms < len(flows):
                            one_form()

                    put(build_manual(library, templates, out, copy, charts, pictures, running,
                                     other_forms, notes))
            temps = [(path, future.result()) for path, future in staged]
        except BaseException:
            for _, future in staged:
                with suppress(BaseException):
                    if (tmp := future.result()) is not None:
                        tmp.unlink(missing_ok=True)
            for folder in sorted(new_dirs, key=lambda d: len(d.parts), reverse=True):
                with suppress(OSError):
                    folder.rmdir()  # only if empty: nothing of anyone else's goes
            raise
    for path, tmp in temps:
        if tmp is not None:
            os.replace(tmp, path)
    written = [path for path, tmp in temps if tmp is not None]
    write_atomic(stamp, digest)
    return BuildResult(written, len(temps) - len(written), False, tuple(notes))


def _templates_present(templates: Path) -> None:
    """Refuse a build whose templates folder lacks one the manual or the forms read, before
    anything is made: the forms are made first, and the manual's would otherwise be found
    missing only seconds later, after them."""
    from .forms import TEMPLATE
    from .manual import TEMPLATES

    for name in (*TEMPLATES, TEMPLATE):
        if not (templates / name).is_file():
            raise FlowdocError(f"{templates}/{name}: template not found")


def _stage_changed(path: Path, data: bytes) -> Path | None:
    """``data`` staged for ``path`` (see :func:`fileio.stage`), or None if the file holds
    those bytes already."""
    if path.exists() and path.read_bytes() == data:
        return None
    return stage(path, data)


def build_diagrams(library: Library, out: Path, progress: Progress | None = None,
                   workers: int | None = None) -> list[Path]:
    """Only the charts (bench and tests): every file, written."""
    written = []
    _warm()
    with _pool(workers) as pool:
        for _, (chart_outputs, _chart, _pictures) in _charts(list(library.flows), pool,
                                                              progress, manual=False):
            for name, data in chart_outputs:
                path = out / name.removeprefix("diagrams/")
                write_atomic(path, data)
                written.append(path)
    return written
