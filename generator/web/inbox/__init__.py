"""待办、我发起的、已处理与抄送我的 (a person's lists)."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from ...service import inbox as service_inbox
from ..security import login_required, workspace

bp = Blueprint("inbox", __name__, template_folder="templates")


@bp.route("/")
@login_required
def index():
    lists = service_inbox.inbox(workspace(), g.person.name)
    return render_template("inbox/index.html", lists=lists)
