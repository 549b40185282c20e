"""登录、退出与凭邀请登记 (login, logout, enrolment by a one-time invitation)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from ...errors import FlowdocError
from ...service import people
from ..security import THROTTLE, login_required, start_session, workspace

bp = Blueprint("auth", __name__, template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    name = request.form.get("name", "").strip()
    if request.method == "POST":
        keys = (f"name:{name}", f"addr:{request.remote_addr}")
        if THROTTLE.blocked(*keys):
            error = "尝试次数过多，请 15 分钟后再试"
        else:
            try:
                people.login(workspace(), name, request.form.get("passphrase", ""))
            except FlowdocError as exc:
                THROTTLE.failed(*keys)
                error = str(exc)
            else:
                THROTTLE.succeeded(name)
                start_session(name)
                target = request.args.get("next", "")
                # only a path of this site: never an address elsewhere
                if not target.startswith("/") or target.startswith("//"):
                    target = url_for("inbox.index")
                return redirect(target)
    return render_template("auth/login.html", error=error, name=name), 401 if error else 200


@bp.route("/logout", methods=["POST"])
def logout():
    from flask import session

    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/enrol/<token>", methods=["GET", "POST"])
def enrol(token: str):
    ws = workspace()
    try:
        name = people.invited(ws, token)
    except FlowdocError as exc:
        return render_template("auth/enrol.html", error=str(exc), name=None), 404
    error = None
    if request.method == "POST":
        first, again = request.form.get("passphrase", ""), request.form.get("again", "")
        if first != again:
            error = "两次输入的口令不一致"
        else:
            try:
                people.enrol(ws, token, first)
            except FlowdocError as exc:
                error = str(exc)
            else:
                return render_template("auth/enrolled.html", name=name)
    return render_template("auth/enrol.html", error=error, name=name,
                           minimum=10), 422 if error else 200


@bp.route("/passphrase", methods=["GET", "POST"])
@login_required
def passphrase():
    """修改口令: the same key wrapped with a new passphrase (throttled like a login, since the
    old passphrase is tried against the key)."""
    error = None
    if request.method == "POST":
        name = g.person.name
        keys = (f"name:{name}", f"addr:{request.remote_addr}")
        new, again = request.form.get("new", ""), request.form.get("again", "")
        if THROTTLE.blocked(*keys):
            error = "尝试次数过多，请 15 分钟后再试"
        elif new != again:
            error = "两次输入的新口令不一致"
        else:
            try:
                people.change_passphrase(workspace(), name, request.form.get("old", ""), new)
            except FlowdocError as exc:
                THROTTLE.failed(*keys)
                error = str(exc)
            else:
                THROTTLE.succeeded(name)
                start_session(name)  # a fresh session and CSRF token after a credential change
                flash("口令已修改：此后请用新口令登录和签名")
                return redirect(url_for("inbox.index"))
    return render_template("auth/passphrase.html", error=error, minimum=10), \
        422 if error else 200


@bp.app_context_processor
def who() -> dict:
    return {"me": g.get("person")}
