"""The document controller's operations: build the publication, write one chart or form,
and sign a flow's or org.yaml's 编制/审核/批准.

Each takes an opened workspace (its flows already checked: nothing is written from a broken
definition) and plain arguments, and returns what it wrote or signed; every refusal is a
:class:`~generator.errors.FlowdocError` with a ``code``, as everywhere in the service layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FlowdocError
from ..fileio import write_atomic
from ..model import Flow, Signoff

if TYPE_CHECKING:  # the records service (and the archive under it) is imported where used:
    # `flowdoc build` with nothing to do then answers without loading it (0.2-0.4 s)
    from .records import Waiting
    from .workspace import Workspace


def flow_of(ws: Workspace, code: str) -> Flow:
    """The flow ``code`` of the workspace, or NotFound naming the codes there are."""
    try:
        return ws.library.flow(code)
    except KeyError:
        known = ", ".join(f.code for f in ws.library.flows)
        from .records import NotFound

        raise NotFound(f"no flow with code '{code}' (known: {known})") from None


def templates_of(flows_dir: Path, templates_dir: Path | None) -> Path:
    """The templates a build uses: the ones given, else templates/ beside the flows."""
    return templates_dir or flows_dir.resolve().parent / "templates"


@dataclass(frozen=True)
class BuildRequest:
    """What ``flowdoc build`` was asked for. A controlled copy has a number and a holder."""

    flows_dir: Path
    out_dir: Path
    templates_dir: Path | None = None
    copy_number: int | None = None
    holder: str | None = None

    def __post_init__(self) -> None:
        if (self.copy_number is None) != (self.holder is None):
            from .records import UsageError

            raise UsageError("--copy and --holder go together: a controlled copy has a number "
                             "and a holder")

    @property
    def templates(self) -> Path:
        return templates_of(self.flows_dir, self.templates_dir)


def up_to_date(request: BuildRequest) -> bool:
    """Whether the last build into ``out_dir`` read exactly these inputs: asked before the
    flows are even loaded, so a build with nothing to do takes a fraction of a second."""
    from ..buildstamp import inputs_digest, options_text
    from ..buildstamp import up_to_date as stamped

    digest = inputs_digest([request.flows_dir, request.templates],
                           options_text(request.copy_number, request.holder))
    return stamped(request.out_dir, digest)


def start_workers():
    """The build's worker processes, started before the workspace is checked so that they
    ready the writers and the forms' font meanwhile (a context manager; give it to
    :func:`build`)."""
    from ..publish import start_workers

    return start_workers()


def build(ws: Workspace, request: BuildRequest,
          progress: Callable[[int, int, str], None] | None = None, started=None):
    """Write the publication (manual PDF and DOCX, charts, manifest) into ``out_dir``; the
    publish result (files written, unchanged, notes). ``started``: :func:`start_workers`,
    called earlier, else the build starts its own workers."""
    from ..manual import Copy
    from ..publish import build as publish

    return publish(ws.library, request.out_dir, request.templates, ws.flows_dir,
                   Copy(request.copy_number, request.holder), progress=progress, started=started)


@dataclass(frozen=True)
class Published:
    """A file of the last build that a front door offers for download."""

    name: str  # relative to the build folder: manual.pdf, forms/EC-HR-015.pdf …
    size: int
    modified: str  # YYYY-MM-DD HH:MM:SS, UTC


def published(out_dir: Path) -> list[Published]:
    """The publication as the last build left it in ``out_dir``: the manual (PDF, DOCX), its
    manifest, and each flow's form and chart PDF. Nothing else there is offered."""
    names = [n for n in ("manual.pdf", "manual.docx", "manifest.json") if (out_dir / n).is_file()]
    for sub in ("forms", "diagrams"):
        if (out_dir / sub).is_dir():
            names += sorted(f"{sub}/{p.name}" for p in (out_dir / sub).glob("*.pdf"))
    out = []
    for name in names:
        st = (out_dir / name).stat()
        out.append(Published(name, st.st_size, dt.datetime.fromtimestamp(
            st.st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")))
    return out


def published_file(out_dir: Path, name: str) -> Path:
    """The file ``name`` of :func:`published` (NotFound for any other name: no path a request
    gives reaches a file the build did not offer)."""
    if name not in {p.name for p in published(out_dir)}:
        from .records import NotFound

        raise NotFound(f"no published file '{name}'")
    return out_dir / name


def diagram(ws: Workspace, code: str, fmt: str, target: Path | None = None) -> list[Path]:
    """Write flow ``code``'s chart as ``fmt`` (svg, png or pdf); the files written (a split
    SVG/PNG chart gives -1, -2 …)."""
    from ..diagram import layout, outputs

    flow = flow_of(ws, code)
    target = target or Path(f"{code}.{fmt}")
    written = []
    for name, data in outputs(layout(flow), fmt, target.stem if target.suffix else target.name):
        write_atomic(target.with_name(name), data)
        written.append(target.with_name(name))
    return written


def chart_image(flow: Flow, fmt: str = "png", page: int = 1, marks=None) -> bytes:
    """Page ``page`` of the flow's chart as one picture; with ``marks`` (PNG only: the path of a
    record, :func:`generator.diagram.draw.marks`) drawn over it. A web page shows the PNG: an
    SVG in an <img> cannot reach the page's web font, and a browser without Chinese fonts would
    draw its labels as boxes."""
    from ..diagram import outputs, render_png

    chart = _chart(flow)
    if not 1 <= page <= len(chart.pages):
        from .records import NotFound

        raise NotFound(f"{flow.code}: the chart has {len(chart.pages)} page(s), not {page}")
    if marks is not None:
        return render_png(chart, page, marks=marks)
    return outputs(chart, fmt, flow.code)[page - 1][1]


def record_chart(found: Waiting, page: int = 1) -> bytes:
    """Page ``page`` of the chart of a record (``found``: ``records.waiting``'s answer) as PNG,
    with the way it took drawn over it and the step it waits at marked."""
    from ..diagram.draw import marks

    current = found.signers.step if found.signers is not None else None
    return chart_image(found.flow, page=page, marks=marks(found.path, current))


def chart_pages(flow: Flow) -> int:
    """How many pages the flow's chart is laid out on."""
    return len(_chart(flow).pages)


_CHARTS: dict[tuple[str, str], object] = {}


def _chart(flow: Flow):
    """The flow's laid-out chart, kept per content (a web page asks for it page by page)."""
    from ..diagram import layout

    key = (flow.code, flow.content_hash)
    if key not in _CHARTS:
        if len(_CHARTS) > 64:
            _CHARTS.clear()
        _CHARTS[key] = layout(flow)
    return _CHARTS[key]


def form(ws: Workspace, code: str, output: Path | None = None,
         templates_dir: Path | None = None) -> Path:
    """Write flow ``code``'s fillable PDF form; the file written."""
    from ..forms import make_form

    flow = flow_of(ws, code)
    manual = ws.library.manual
    org = ws.library.org
    data = make_form(flow, templates_of(ws.flows_dir, templates_dir),
                     manual.company if manual else None, org.limits if org else None)
    target = output or Path(f"{code}.pdf")
    write_atomic(target, data)
    return target


@dataclass(frozen=True)
class Signed:
    """A sign-off signature given: the sign-off as it now stands, the key that signed, and
    what it means for the document (受控 / complete / incomplete / in force once archived)."""

    signoff: Signoff
    key_id: str
    state: str


def sign_flow(ws: Workspace, code: str, person: str, meaning: str,
              passphrase: Callable[[], str], on: dt.date | None = None) -> Signed:
    """``person`` signs flow ``code``'s ``meaning`` (编制/审核/批准) with their vouched key, bound
    to its content as it is now. The sign-off rules are checked first: a signature that would
    be refused asks for no passphrase (``passphrase`` is called only then)."""
    from ..lifecycle import SignError, sign_file, signed, unlock_signer

    target = flow_of(ws, code)
    org = ws.library.org
    assert org is not None
    try:
        signed(target, org, person, meaning, on or dt.date.today())
        signer = unlock_signer(ws.archive_dir, person, passphrase(), ws.library.trust)
        signoff = sign_file(Path(target.origin.source), target, org, person, meaning, signer, on)
    except SignError as exc:
        raise _prefixed(exc, f"{code}: ") from None
    except FlowdocError as exc:
        raise _prefixed(exc, f"{code}: {person}: ") from None
    state = "受控" if signoff.bound_to(target.content_hash) and target.status == "受控" else (
        "complete" if signoff.complete else "incomplete")
    return Signed(signoff, signer.key.id, state)


def sign_org(ws: Workspace, person: str, meaning: str, passphrase: Callable[[], str],
             on: dt.date | None = None) -> Signed:
    """``person`` signs org.yaml's own 编制/审核/批准: records are archived only under a
    signed-off org.yaml."""
    from ..lifecycle import sign_org_file, unlock_signer

    org = ws.library.org
    assert org is not None
    try:
        signer = unlock_signer(ws.archive_dir, person, passphrase(), ws.library.trust)
        signoff = sign_org_file(org, person, meaning, signer, on)
    except FlowdocError as exc:
        raise _prefixed(exc, "org.yaml: ") from None
    state = "in force once archived" if signoff.bound_to(org.content_hash) else "incomplete"
    return Signed(signoff, signer.key.id, state)


def _prefixed(exc: FlowdocError, prefix: str) -> FlowdocError:
    """``exc``'s message after ``prefix`` (what was being signed), with the same code."""
    out = FlowdocError(prefix + str(exc))
    out.code = exc.code
    return out
