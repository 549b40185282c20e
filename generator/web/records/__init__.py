"""新建、签名与记录页 (a new record from a flow's form, the signature dialog, the record).

The views translate: form fields into the values a record file would hold, a decision and a
passphrase into one service call, a service error into a one-line message on the page. The
rules (values, route, who may sign) are the service's.
"""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from ...errors import FlowdocError
from ...model import Flow
from ...service import audit, documents, inbox, records, words
from ...service.words import value_text
from ..security import login_required, workspace

bp = Blueprint("records", __name__, template_folder="templates")

def _controlled(flow: Flow) -> bool:
    return flow.effective_status == "受控"


@bp.route("/new")
@login_required
def new():
    groups: dict[str, list[Flow]] = {}
    for flow in workspace().library.flows:
        if _controlled(flow):
            groups.setdefault(flow.owner_department, []).append(flow)
    return render_template("records/new.html", groups=groups)


def _values(flow: Flow, form: Any) -> dict[str, Any]:
    """The form's fields as a record file would hold them (derived ones are computed)."""
    out: dict[str, Any] = {}
    for f in flow.fields:
        if f.derive is not None:
            continue
        if f.type == "bool":
            out[f.id] = form.get(f.id) == "on"
        elif f.type == "choice" and f.multiple:
            chosen = [v for v in form.getlist(f.id) if v]
            if chosen:
                out[f.id] = chosen
        elif f.type == "table":
            rows = []
            for r in range(f.rows):
                row = {c.id: form.get(f"{f.id}.{r}.{c.id}", "").strip() for c in f.columns}
                if any(row.values()):
                    rows.append({k: v for k, v in row.items() if v})
            if rows:
                out[f.id] = rows
        else:
            value = form.get(f.id, "").strip()
            if value:
                out[f.id] = value
    return out


def _route_text(result) -> str:
    steps = [s for s in result.signers if s.kind != "start"]
    return " → ".join(f"{s.lane}（{s.shown() or s.rule}）" for s in steps) or "—"


def _problems(result) -> dict[str, str]:
    """Problems by field id (``fields.days`` → ``days``), the rest under ``""``."""
    out: dict[str, str] = {}
    for where, message in result.problems:
        key = where.split(".", 1)[1] if where.startswith("fields.") else where
        for f in result.flow.fields:
            if message.startswith(f"{f.label}（{f.id}）") or where == f.id:
                key = f.id
        out.setdefault(key, message)
    return out


def _flow(code: str) -> Flow:
    try:
        flow = documents.flow_of(workspace(), code)
    except FlowdocError:
        abort(404)
    if not _controlled(flow):
        abort(404)
    return flow


@bp.route("/new/<code>", methods=["GET", "POST"])
@login_required
def fill(code: str):
    flow = _flow(code)
    ws = workspace()
    values = _values(flow, request.form) if request.method == "POST" else {}
    result = records.preview(ws, code, values, g.person.name)
    problems = _problems(result) if request.method == "POST" else {}
    if request.method == "POST" and result.ok:
        return render_template("records/confirm.html", flow=flow, result=result,
                               route=_route_text(result), payload=json.dumps(values,
                                                                            ensure_ascii=False),
                               shown=_shown(flow, result.values))
    return render_template("records/fill.html", flow=flow, form=request.form,
                           problems=problems, route=_route_text(result),
                           derived={f.id: value_text(result.values.get(f.id))
                                    for f in flow.fields if f.derive is not None
                                    and result.values.get(f.id) is not None}), \
        422 if problems else 200


@bp.route("/new/<code>/upload", methods=["POST"])
@login_required
def upload(code: str):
    """A form filled in a PDF reader, uploaded instead of typed: read by the same reader as
    ``record submit`` (hostile PDFs refused in one line), then the same signature dialog."""
    import tempfile
    from pathlib import Path

    flow = _flow(code)
    ws = workspace()
    sent = request.files.get("pdf")
    error = None
    if sent is None or not sent.filename:
        error = "请选择已填写的 PDF 表单"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "form.pdf"
            sent.save(path)
            try:
                data = records.read(ws, path)
            except FlowdocError as exc:
                error = str(exc).replace(str(path), sent.filename)
            else:
                if data.flow != code:
                    error = f"这是 {data.flow} 的表单，不是 {code}"
    if error is None:
        values = dict(data.fields)
        result = records.preview(ws, code, values, g.person.name)
        if result.ok:
            return render_template("records/confirm.html", flow=flow, result=result,
                                   route=_route_text(result), payload=json.dumps(
                                       values, ensure_ascii=False, default=str),
                                   shown=_shown(flow, result.values))
        error = "；".join(m for _, m in result.problems)
    result = records.preview(ws, code, {}, g.person.name)
    return render_template("records/fill.html", flow=flow, form={}, problems={"": error},
                           route=_route_text(result), derived={}), 422


@bp.route("/api/preview/<code>", methods=["POST"])
@login_required
def preview(code: str):
    flow = _flow(code)
    result = records.preview(workspace(), code, _values(flow, request.form), g.person.name)
    return jsonify({
        "values": {f.id: value_text(result.values.get(f.id)) for f in flow.fields
                   if f.derive is not None and result.values.get(f.id) is not None},
        "route": _route_text(result), "problems": _problems(result),
        "touched": [k for k, v in request.form.items() if v and k != "csrf"]})


@bp.route("/new/<code>/submit", methods=["POST"])
@login_required
def submit(code: str):
    flow = _flow(code)
    ws = workspace()
    try:
        values = json.loads(request.form.get("payload", "{}"))
        if not isinstance(values, dict):
            raise ValueError
    except ValueError:
        abort(400)
    try:
        prepared = records.prepare_values(ws, code, values, g.person.name)
        number = records.submit(ws, prepared, g.person.name, request.form.get("passphrase", ""))
    except FlowdocError as exc:
        result = records.preview(ws, code, values, g.person.name)
        return render_template("records/confirm.html", flow=flow, result=result,
                               route=_route_text(result), payload=json.dumps(
                                   values, ensure_ascii=False), error=str(exc),
                               shown=_shown(flow, result.values)), 409
    flash(f"已提交：{number}")
    return redirect(url_for("records.show", number=number))


def _shown(flow: Flow, values: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.label, value_text(values[f.id]) + (f.unit or "")) for f in flow.fields
            if values.get(f.id) not in (None, [], ())]


def _record(number: str) -> records.Waiting:
    """The record as :func:`records.waiting` gives it, if this person may open it."""
    try:
        found = records.waiting(workspace(), number)
    except FlowdocError:
        abort(404)
    if not inbox.may_open(g.person, found):
        abort(403)
    return found


@bp.route("/records/<number>")
@login_required
def show(number: str):
    found = _record(number)
    state, flow, who = found.state, found.flow, found.signers
    step = flow.step(who.step) if who is not None else None
    return render_template(
        "records/show.html", state=state, flow=flow, who=who,
        may_sign=found.may_sign(g.person.name), step=step,
        meaning=words.meaning_of(step.kind) if step else "",
        status=words.status_text(state.status),
        shown=_shown(flow, found.values), events=words.EVENT_TEXT,
        path=[_step_text(flow, s) for s in found.path], copied=found.copied_to,
        withdrawable=found.may_withdraw(g.person.name), error=request.args.get("error"),
        returned=found.may_resubmit(g.person.name),
        transfer_to=records.transfer_candidates(workspace(), found, g.person.name),
        correctable=_correctable(flow, found.values) if found.may_correct(g.person.name) else [],
        changes=_changes(flow, state.history),
        integrity=audit.integrity(workspace(), number),
        chart_pages=range(1, documents.chart_pages(flow) + 1))


def _step_text(flow: Flow, step_id: str) -> str:
    step = flow.step(step_id)
    return f"{step.text}（{flow.lane(step.lane).name}）" if step.signed and step.kind != "start" \
        else step.text


@bp.route("/records/<number>/sign", methods=["POST"])
@login_required
def sign(number: str):
    ws = workspace()
    step = request.form.get("step", "")
    try:
        records.sign(ws, number, step, g.person.name, request.form.get("passphrase", ""),
                     request.form.get("decision", ""), request.form.get("comment", ""))
    except FlowdocError as exc:
        # the rules refused it; if someone signed the step first, say who and when
        message = _signed_first(ws, number, step, g.person.name) or str(exc)
        try:
            visible = inbox.may_open(g.person, records.waiting(ws, number))
        except FlowdocError:
            visible = False
        if visible:
            return redirect(url_for("records.show", number=number, error=message))
        return render_template("records/refused.html", number=number, message=message), 409
    found = records.waiting(ws, number)
    flash(f"已签署：{found.flow.step(step).text}（{request.form.get('decision', '')}）")
    return redirect(url_for("records.show", number=number))


def _signed_first(ws, number: str, step: str, me: str) -> str | None:
    """``审批 已由 周婷 于 10:02 签署`` when another person decided ``step`` already."""
    try:
        state = records.show(ws.archive_dir, number)
    except FlowdocError:
        return None
    done = [e for e in state.signatures if e.get("step") == step and e.get("type") == "sign"
            and e.get("person") != me]
    if not done:
        return None
    last = done[-1]
    return f"该环节已由 {last['person']} 于 {last['time'][11:16]}（UTC）签署（{last['decision']}）"


def _act(number: str, call, done: str):
    """Run one signed action on the record and come back to its page: with the rule's
    one-line refusal, or with ``done``."""
    try:
        call()
    except FlowdocError as exc:
        return redirect(url_for("records.show", number=number, error=str(exc)))
    flash(done)
    return redirect(url_for("records.show", number=number))


@bp.route("/records/<number>/return", methods=["POST"])
@login_required
def send_back(number: str):
    """退回: whoever may sign the waiting step sends the record back to its applicant."""
    start = _record(number).flow.start.id
    form = request.form
    return _act(number, lambda: records.return_step(
        workspace(), number, form.get("step", ""), start, g.person.name,
        form.get("passphrase", ""), form.get("reason", "")), "已退回申请人")


@bp.route("/records/<number>/transfer", methods=["POST"])
@login_required
def transfer(number: str):
    """转交: whoever may sign the waiting step hands it to another holder of its authority."""
    _record(number)
    form = request.form
    to = form.get("to", "")
    return _act(number, lambda: records.transfer(
        workspace(), number, form.get("step", ""), to, g.person.name,
        form.get("passphrase", ""), form.get("reason", "")), f"已转交 {to}")


@bp.route("/delegate", methods=["GET", "POST"])
@login_required
def delegate():
    """代理: name a deputy who signs in my place for a period (a signed grant in the log)."""
    ws = workspace()
    error = None
    form = request.form
    if request.method == "POST":
        try:
            records.delegate(ws, g.person.name, form.get("deputy", ""), form.get("from", ""),
                             form.get("until", ""), form.get("passphrase", ""),
                             form.get("reason", ""))
        except FlowdocError as exc:
            error = str(exc)
        else:
            flash(f"已设 {form.get('deputy')} 自 {form.get('from')} 至 {form.get('until')} "
                  "代理签署")
            return redirect(url_for("inbox.index"))
    return render_template("records/delegate.html", error=error, form=form,
                           deputies=records.deputy_candidates(ws, g.person.name)), \
        422 if error else 200


@bp.route("/records/<number>/resubmit", methods=["POST"])
@login_required
def resubmit(number: str):
    """The applicant sends a returned record on again (values changed with 更正 first)."""
    _record(number)
    form = request.form
    return _act(number, lambda: records.resubmit(
        workspace(), number, g.person.name, form.get("passphrase", ""), {},
        form.get("reason", "")), "已重新提交")


CORRECTABLE = ("text", "number", "date", "choice")  # a table or several choices: the CLI's


def _correctable(flow: Flow, values: dict[str, Any]) -> list[tuple[Any, str]]:
    """The fields the 更正 form offers, each with its value as text now (derived ones are
    computed again by the rules, never typed)."""
    return [(f, value_text(values.get(f.id))) for f in flow.fields
            if f.derive is None and f.type in CORRECTABLE and not f.multiple]


@bp.route("/records/<number>/correct", methods=["POST"])
@login_required
def correct(number: str):
    """更正: the applicant changes values of an open record (the approvals given so far lapse,
    as the rule book says); only the fields whose text changed are sent."""
    found = _record(number)
    form = request.form
    changes = {f.id: form[f"set-{f.id}"].strip() for f, now in
               _correctable(found.flow, found.values)
               if f"set-{f.id}" in form and form[f"set-{f.id}"].strip() != now}
    if not changes:
        return redirect(url_for("records.show", number=number, error="没有改动任何字段"))
    return _act(number, lambda: records.correct(
        workspace(), number, g.person.name, form.get("passphrase", ""), changes,
        form.get("reason", "") or "申请人更正"), "已更正：" + "、".join(
            f.label for f in found.flow.fields if f.id in changes))


def _changes(flow: Flow, history: list[dict]) -> dict[int, list[tuple[str, str, str]]]:
    """For each event that changed values (更正, 重新提交): (label, before, after) by field."""
    labels = {f.id: f.label for f in flow.fields}
    out = {}
    for e in history:
        if e.get("fields") and "previous" in e:
            out[e["seq"]] = [(labels.get(k, k), value_text(e["previous"].get(k)), value_text(v))
                             for k, v in e["fields"].items()]
    return out


@bp.route("/records/<number>/withdraw", methods=["POST"])
@login_required
def withdraw(number: str):
    """撤销: the applicant withdraws a record nobody has decided on."""
    _record(number)
    form = request.form
    return _act(number, lambda: records.withdraw(
        workspace(), number, g.person.name, form.get("passphrase", ""),
        form.get("reason", "") or "申请人撤销"), "已撤销")


@bp.route("/records/<number>/rendition.pdf")
@login_required
def rendition(number: str):
    _record(number)
    try:
        data = records.rendition(workspace().archive_dir, number)
    except FlowdocError:
        abort(404)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})


@bp.route("/records/<number>/chart-<int:page>.png")
@login_required
def record_chart(number: str, page: int):
    """The record's chart, page by page, with its path drawn over it."""
    try:
        data = documents.record_chart(_record(number), page)
    except FlowdocError:
        abort(404)
    return Response(data, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.route("/flows/<code>/chart.png")
@login_required
def chart(code: str):
    try:
        flow = documents.flow_of(workspace(), code)
    except FlowdocError:
        abort(404)
    return Response(documents.chart_image(flow), mimetype="image/png")
