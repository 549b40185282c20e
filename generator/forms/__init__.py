"""Fillable forms: one A4 AcroForm per flow, that types Chinese and reads back as a record.

    pdf = make_form(flow, templates)        # the empty form
    filled = fill_form(pdf, {"fields.days": "3", …})
    record = read_form(filled_bytes, name)  # → RecordInput, checked by records.check_record
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from ..errors import FlowdocError
from ..model import Flow

TEMPLATE = "form_instructions.j2"  # the lines under a form's title


@lru_cache(maxsize=8)
def _environment(templates: Path) -> jinja2.Environment:
    # one a folder: a build makes two dozen forms from the same template, and jinja checks a
    # file's modification time before it uses its compiled template again
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                              undefined=jinja2.StrictUndefined, autoescape=False)


def instructions(templates: Path, flow: Flow) -> list[str]:
    try:
        text = _environment(templates).get_template(TEMPLATE).render(flow=flow)
    except jinja2.TemplateNotFound as exc:
        raise FlowdocError(f"{templates}/{exc.name}: template not found") from None
    except jinja2.TemplateError as exc:
        raise FlowdocError(f"{templates}: {exc}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def make_form(flow: Flow, templates: Path, company: str | None = None,
              limits: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """The fillable form of ``flow``; ``company`` (the manual's) heads it; ``limits`` (the
    org's authority matrix, ``Org.limits``) gives the bounds its route sentence reads there."""
    # the writer (reportlab's document objects, pypdf for filling in) is imported here: a
    # build asks this package for its template's name before its chart workers start
    from .layout import form_layout
    from .pdf import render_form

    return render_form(form_layout(flow, instructions(templates, flow), flow.effective_status,
                                   company, limits))


__all__ = ["TEMPLATE", "instructions", "make_form"]
