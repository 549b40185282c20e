"""流程与密钥 (document controllers and registrars): every flow with its status, sign-off
and check problems; the keys waiting for a registrar's countersignature."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from ...errors import FlowdocError
from ...service import keys, people
from ..security import role_required, workspace

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
