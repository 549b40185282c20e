"""检索与档案 (auditors): search with filters, CSV and audit-package exports, the archive's
checkpoint and a verify run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for

from ...errors import FlowdocError
from ...service import audit, words
from ..jobs import Job
from ..security import role_required, workspace

bp = Blueprint("audit", __name__, template_folder="templates")
PAGE = 20


def _query():
    form = request.args
    filters = audit.Filters(form.get("flow") or None, form.get("signer") or None,
                            form.get("status") or None, form.get("dept") or None,
                            form.get("from") or None, form.get("to") or None)
    text = form.get("q", "")
    return text, audit.query_tree(text, filters)


def _results(limit: int, page: int):
    text, tree = _query()
    ws = workspace()
    index = audit.kept_index(ws)
    index.catch_up()
    return text, tree, index, audit.search(index, tree, limit, page)


@bp.route("/search")
@role_required("auditor", "doc_control")
def search():
    page = max(1, request.args.get("page", 1, type=int))
    error = results = None
    groups: list = []
    flows = [(f.code, f.name) for f in workspace().library.flows]
    try:
        _, tree, index, results = _results(PAGE, page)
        groups = _facets(audit.facets(index, tree), dict(flows))
    except FlowdocError as exc:
        error = str(exc)
    return render_template("audit/search.html", results=results, error=error, page=page,
                           limit=PAGE, args=request.args, flows=flows, facets=groups,
                           statuses=list(words.STATUS_TEXT.values())), 400 if error else 200


FACET_TITLES = (("flow", "流程"), ("status", "状态"), ("department", "部门"),
                ("signer", "签名人"), ("month", "提交月份"))


def _facets(counts: dict[str, list[tuple[str, int]]], flow_names: dict[str, str]) -> list:
    """The facet panel: for each facet its title and rows of (label, count, link, chosen); a
    link narrows the current search by that value (a chosen one widens it again)."""
    args = request.args.to_dict()
    args.pop("page", None)
    arg_of = {"flow": "flow", "status": "status", "department": "dept", "signer": "signer"}
    panel = []
    for facet, title in FACET_TITLES:
        rows = []
        for value, n in counts.get(facet, [])[:12]:
            if facet == "month":
                chosen = args.get("from") == value and args.get("to") == value
                narrowed = {**args, "from": value, "to": value}
                if chosen:
                    narrowed = {k: v for k, v in args.items() if k not in ("from", "to")}
                label = value
            else:
                shown = {"status": words.status_text(value),
                         "flow": flow_names.get(value, value)}.get(facet, value)
                key = arg_of[facet]
                chosen = args.get(key) in (value, shown)
                narrowed = {k: v for k, v in args.items() if k != key} if chosen else \
                    {**args, key: shown if facet == "status" else value}
                label = shown
            rows.append((label, n, url_for("audit.search", **narrowed), chosen))
        if rows:
            panel.append((title, rows))
    return panel


EXPORTS = {"csv": (audit.results_csv, "text/csv; charset=utf-8"),
           "xlsx": (audit.results_xlsx,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}


@bp.route("/search.<any(csv, xlsx):fmt>")
@role_required("auditor", "doc_control")
def search_export(fmt: str):
    """The current search's matches (up to 10,000) as CSV with a BOM or as an Excel workbook."""
    try:
        _, _, _, results = _results(10_000, 1)
    except FlowdocError as exc:
        abort(400, str(exc))
    render, mimetype = EXPORTS[fmt]
    return Response(render(results), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="search.{fmt}"'})


@bp.route("/search/package", methods=["POST"])
@role_required("auditor", "doc_control")
def package():
    try:
        text, tree, index, _ = _results(1, 1)
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "audit-package.zip"
            audit.export(workspace(), index, tree, text, target)
            data = target.read_bytes()
    except FlowdocError as exc:
        abort(400, str(exc))
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="audit-package.zip"'})


VERIFY = Job()  # one verify at a time: it reads the whole log


@bp.route("/archive", methods=["GET", "POST"])
@role_required("auditor", "doc_control")
def archive():
    """The last checkpoint, and 立即校验: a verify of the whole archive in the background (a
    large log takes minutes), its 四性 report shown when it is done."""
    ws = workspace()
    if request.method == "POST":
        if not VERIFY.start(lambda progress: audit.verify(ws).report):
            flash("另一校验正在进行，请稍后再试")
        return redirect(url_for("audit.archive"))
    return render_template("audit/archive.html", cp=ws.archive().checkpoint(), job=VERIFY,
                           report=None if VERIFY.running else VERIFY.result)


@bp.route("/archive/verify.json")
@role_required("auditor", "doc_control")
def verify_progress():
    return jsonify(VERIFY.as_dict())
