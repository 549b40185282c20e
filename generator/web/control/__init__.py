"""流程、发布与密钥 (document controllers and registrars): every flow with its status,
sign-off and check problems, a flow's own page where a person signs it; the publication
rebuilt with its progress and downloaded; the keys waiting for a registrar's countersignature."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from ...errors import FlowdocError
from ...service import documents, keys, people
from ..jobs import Job
from ..security import login_required, role_required, workspace

bp = Blueprint("control", __name__, template_folder="templates")


@bp.route("/flows")
@role_required("doc_control")
def flows():
    ws = workspace()
    problems: dict[str, list[str]] = {}
    for p in ws.checked.problems:
        problems.setdefault(p.file, []).append(str(p))
    rows = [(f, problems.get(f.origin.file, [])) for f in ws.library.flows]
    return render_template("control/flows.html", rows=rows)


@bp.route("/flows/<code>", methods=["GET", "POST"])
@login_required
def flow(code: str):
    """A flow's sign-off and checks, and the signature dialog: anyone in org.yaml may sign it
    (the sign-off rules, not the page, decide whether that signature may stand)."""
    ws = workspace()
    try:
        found = documents.flow_of(ws, code)
    except FlowdocError:
        abort(404)
    error = None
    chosen = request.form.get("meaning", "")
    if request.method == "POST":
        passphrase = request.form.get("passphrase", "")
        try:
            done = documents.sign_flow(ws, code, g.person.name, chosen, lambda: passphrase)
        except FlowdocError as exc:
            error = str(exc)
        else:  # the next request reads the signed file back (security._refresh_flows)
            flash(f"已签署 {code} 的{chosen}（{_STATE.get(done.state, done.state)}）")
            return redirect(url_for("control.flow", code=code))
    problems = [str(p) for p in ws.checked.problems if p.file == found.origin.file]
    signoff = [(meaning, entry, _entry_state(found, entry))
               for _, meaning, entry in found.signoff.entries()]
    return render_template("control/flow.html", flow=found, signoff=signoff, problems=problems,
                           meanings=[meaning for meaning, _, _ in signoff], chosen=chosen,
                           error=error), 422 if error else 200


_STATE = {"受控": "流程受控", "complete": "签署齐全", "incomplete": "尚缺签署"}


def _entry_state(flow, entry) -> str:
    if entry is None:
        return ""
    if entry.given_to_other(flow.content_hash):
        return "内容已改动，需重新签署"
    return "签名已验证" if entry.valid else "未签名或签名未验证"


BUILD = Job()


def _build_dir() -> Path:
    return Path(current_app.config["FLOWDOC_BUILD_DIR"])


@bp.route("/publication")
@role_required("doc_control")
def publication():
    rows = [(f.name, f"{max(1, round(f.size / 1024)):,} KiB", f.modified)
            for f in documents.published(_build_dir())]
    return render_template("control/publication.html", files=rows, job=BUILD,
                           refused=[str(p) for p in workspace().refused])


@bp.route("/publication/build", methods=["POST"])
@role_required("doc_control")
def build():
    ws, out_dir = workspace(), _build_dir()

    def work(progress):
        result = documents.build(ws, documents.BuildRequest(ws.flows_dir, out_dir),
                                 progress=progress)
        return f"写入 {len(result.written)} 个文件，{result.unchanged} 个未变"

    if not BUILD.start(work):
        flash("已有一次生成正在进行")
    return redirect(url_for("control.publication"))


@bp.route("/publication/progress.json")
@role_required("doc_control")
def build_progress():
    return jsonify(BUILD.as_dict())


@bp.route("/publication/files/<path:name>")
@role_required("doc_control", "auditor")
def download(name: str):
    try:
        path = documents.published_file(_build_dir(), name)
    except FlowdocError:
        abort(404)
    return send_file(path.resolve(), as_attachment=True, download_name=Path(name).name)


@role_required("registrar")
def keys_page():
    ws = workspace()
    error = None
    if request.method == "POST":
        person = request.form.get("person", "")
        try:
            keys.approve(ws, person, g.person.name, request.form.get("passphrase", ""))
        except FlowdocError as exc:
            error = str(exc)
        else:
            flash(f"已批准 {person} 的签名密钥")
            return redirect(url_for("control.keys"))
    return render_template("control/keys.html", waiting=people.waiting_keys(ws), error=error)


bp.add_url_rule("/keys", "keys", keys_page, methods=["GET", "POST"])
