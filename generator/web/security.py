"""What every request passes through: the session (idle timeout, rotation at login, Secure
over HTTPS), the CSRF token of every state-changing request, login throttling, the headers
that keep pages out of frames, caches and inline script, and the role checks of views.

The passphrase is never kept: it unlocks a key for one request and is dropped; the session
holds the person's name, when they were last seen and the CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from ..service import people
from ..service.workspace import Workspace

IDLE_SECONDS = 15 * 60
MAX_FAILURES, LOCKOUT_SECONDS = 5, 15 * 60
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure when the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def workspace() -> Workspace:
    return current_app.config["FLOWDOC_WORKSPACE"]


def install(app: Flask) -> None:
    app.before_request(_refresh_flows)
    app.before_request(_load_person)
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token


def _refresh_flows() -> None:
    """Serve the flows as they are on disk (a sign-off just written, a pull of the folder)."""
    workspace().refresh()


def _load_person() -> None:
    g.person = None
    name = session.get("person")
    if name is None:
        return
    if time.time() - session.get("seen", 0) > IDLE_SECONDS:
        session.clear()  # idle too long: log in again
        return
    g.person = people.person(workspace(), name)
    session["seen"] = time.time()


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    if not hmac.compare_digest(sent, session.get("csrf", "\0")):
        abort(400, "表单已过期或来源不明（CSRF），请刷新页面后重试")


def _headers(response: Any) -> Any:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    # pages may show records: never kept; the stylesheet, script and the 2 MB web font are
    # not, and keep the caching their routes ask for (the font a day), or every page would
    # fetch and parse the font again
    if not request.path.startswith(("/static/", "/fonts/")):
        response.headers["Cache-Control"] = "no-store"
    return response


def start_session(name: str) -> None:
    """A new session for ``name``: the old one (and its CSRF token) is dropped, so a session
    fixed before login is worth nothing after it."""
    session.clear()
    session["person"] = name
    session["seen"] = time.time()
    session["csrf"] = secrets.token_urlsafe(24)


class Throttle:
    """Failed logins per name and per client address: after five in fifteen minutes, the
    sixth is refused without trying the passphrase (which costs a key derivation)."""

    def __init__(self) -> None:
        self.failures: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        now = time.time()
        with self.lock:
            for key in keys:
                recent = [t for t in self.failures.get(key, []) if now - t < LOCKOUT_SECONDS]
                self.failures[key] = recent
                if len(recent) >= MAX_FAILURES:
                    return True
        return False

    def failed(self, *keys: str) -> None:
        with self.lock:
            for key in keys:
                self.failures.setdefault(key, []).append(time.time())

    def succeeded(self, name: str) -> None:
        with self.lock:
            self.failures.pop(f"name:{name}", None)


THROTTLE = Throttle()


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.person is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)
    return wrapped


def role_required(*roles: str) -> Callable:
    """Only people holding one of ``roles`` (``auditor``, ``doc_control``, ``registrar``)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not any(getattr(g.person, role) for role in roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate
