"""The controlled-document manual: one plan, two writers (DOCX and PDF), a generated history.

    files = build_manual(library, templates, out, copy, charts, pictures)
"""

from __future__ import annotations

import gc
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..diagram import Chart
from ..model import Library
from .draft import Draft, fill_toc
from .history import manifest_of, manifest_text, next_history, read_manifest
from .plan import (
    LEGEND,
    MARGIN_X,
    TEMPLATES,
    Copy,
    Plan,
    check_copy,
    make_plan,
    split_reasons,
    watermark,
)

if TYPE_CHECKING:
    from .docx import render_manual_docx
    from .pdf import render_manual_pdf

__all__ = [
    "LEGEND",
    "TEMPLATES",
    "Copy",
    "Plan",
    "build_manual",
    "check_copy",
    "legend_pictures",
    "make_plan",
    "render_manual_docx",
    "render_manual_pdf",
    "watermark",
]


def __getattr__(name: str) -> Any:
    # the writers (python-docx, reportlab's platypus) are imported when first used: a build
    # imports them after its chart workers have started, not before, while they wait
    if name == "render_manual_docx":
        from .docx import render_manual_docx

        return render_manual_docx
    if name == "render_manual_pdf":
        from .pdf import render_manual_pdf

        return render_manual_pdf
    raise AttributeError(name)


def build_manual(library: Library, templates: Path, out: Path, copy: Copy | None,
                 charts: dict[str, Chart] | None = None,
                 pictures: dict[str, list[tuple[bytes, bytes]]] | None = None, pool=None,
                 meanwhile=None, notes: list[str] | None = None) -> list[tuple[str, bytes]]:
    """``manual.pdf``, ``manual.docx`` and the ``manifest.json`` the next build compares with.

    With a process ``pool``, the PDF and the DOCX are made in two workers at once, and
    ``meanwhile`` is called here while they are; the DOCX's contents get the PDF's page
    numbers afterwards. ``notes`` receives a line for each chart printed on more than one
    page, saying why."""
    current = manifest_of(library)
    history = next_history(read_manifest(out), current)
    plan = make_plan(library, templates, copy or Copy(), history, charts)
    if notes is not None:
        notes += split_reasons(plan)
    # the pictures drawn of exactly the charts the plan prints (PNG and SVG of each page),
    # and the legend's
    given = pictures or {}
    pictures = {s.flow.code: given[s.flow.code] for s in plan.sections
                if len(given.get(s.flow.code, ())) == len(s.charts.pages)}
    if LEGEND in given:
        pictures[LEGEND] = given[LEGEND]
    if pool is not None:
        # pickled once for both workers, not once a submit
        sent = pickle.dumps(plan, pickle.HIGHEST_PROTOCOL)
        pdf_made = pool.submit(_pdf, sent)
        draft = pool.submit(_docx_draft, sent, pictures)
        if meanwhile is not None:
            meanwhile()
        pdf, pages = pdf_made.result()
        docx = fill_toc(draft.result(), pages)
    else:
        pdf, pages = _pdf(plan)
        docx = fill_toc(_docx_draft(plan, pictures), pages)
    return [("manual.pdf", pdf), ("manual.docx", docx),
            ("manifest.json", manifest_text(current, history).encode("utf-8"))]


# The writers are imported where they run: in a build, the two workers, each one of them;
# this process, which only fills the DOCX's page numbers in, imports neither (python-docx and
# platypus took it 0.3 s while both workers waited for their work).

def legend_pictures() -> list[tuple[bytes, bytes]]:
    """The legend's picture for the DOCX (PNG, SVG), given to :func:`build_manual` among the
    charts' under ``LEGEND``: a build draws it in a chart worker, not in the DOCX's task, the
    build's last (its PNG, with every glyph rasterised afresh there, took 0.08 s)."""
    from ..diagram import A4, render_png, render_svg
    from ..diagram.legend import legend_chart

    chart = legend_chart(A4[0] - 2 * MARGIN_X)
    return [(render_png(chart, 1), render_svg(chart, 1).encode("utf-8"))]


def _pdf(plan: Plan | bytes) -> tuple[bytes, dict[str, int]]:
    from .pdf import render_manual_pdf

    return render_manual_pdf(_received(plan))


def _docx_draft(plan: Plan | bytes, pictures: dict[str, list[tuple[bytes, bytes]]]) -> Draft:
    from .docx import draft_manual_docx

    return draft_manual_docx(_received(plan), pictures)


def _received(plan: Plan | bytes) -> Plan:
    """The plan, unpickled with the garbage collector off: its twenty thousand objects (the
    charts' geometry, the flows) set off collection after collection, which took up to as
    long again as the unpickling itself, over objects that all live on."""
    if not isinstance(plan, bytes):
        return plan
    gc.disable()
    try:
        return pickle.loads(plan)
    finally:
        gc.enable()
