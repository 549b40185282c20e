"""The web application: staff fill and sign, auditors search and export, document controllers
see the flows — a second front door beside the command line.

Like the CLI it holds no rule: each view translates a request into one call of
:mod:`generator.service` and its result (or its error's ``code``) into a page. Flask's
application factory and blueprints, one template folder per blueprint, no logic in templates.

    flowdoc serve --flows flows --archive records     # waitress on 127.0.0.1:8000

Behind nginx or IIS for TLS: the session cookie is marked Secure whenever the request came
over HTTPS (``X-Forwarded-Proto: https`` from a proxy the app is told to trust).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from ..service import open_workspace, people
from . import security


def create_app(flows_dir: Path, archive_dir: Path | str, *, operator_passphrase: str | None = None,
               secret_key: bytes | None = None, behind_proxy: bool = False,
               testing: bool = False, build_dir: Path | None = None, warm: bool = False
               ) -> Flask:
    """The application for the flows of ``flows_dir`` and the archive at ``archive_dir``.

    ``secret_key`` signs session cookies; by default it is kept in the archive folder
    (``web.secret``, 0600) so sessions survive a restart. ``operator_passphrase`` unlocks the
    archive's operator key for the signatures the app commits. ``build_dir``: where a document
    controller's rebuild writes the publication (``build`` beside the flows folder).
    ``warm``: read the archive for 待办 and search in a background thread now (a server)."""
    app = Flask(__name__)
    ws = open_workspace(flows_dir, archive_dir, operator_passphrase=operator_passphrase)
    app.config.update(
        SECRET_KEY=secret_key or people.session_secret(ws),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=20 << 20,  # uploads capped at 20 MiB
        TESTING=testing,
        FLOWDOC_WORKSPACE=ws,
        FLOWDOC_BUILD_DIR=build_dir or Path(flows_dir).parent / "build",
    )
    app.session_interface = security.SessionInterface()
    if behind_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_for=1)  # type: ignore[method-assign]
    security.install(app)
    from .audit import bp as audit
    from .auth import bp as auth
    from .control import bp as control
    from .inbox import bp as inbox
    from .records import bp as records

    for blueprint in (auth, inbox, records, audit, control):
        app.register_blueprint(blueprint)

    @app.route("/fonts/<path:name>")
    def font(name: str):
        """The bundled CJK font (OFL), served as a web font from the package itself."""
        from flask import send_from_directory

        from .. import fonts

        return send_from_directory(Path(fonts.__file__).parent, name, max_age=86400)

    if warm:
        import threading

        from ..service import inbox as inbox_service

        threading.Thread(target=inbox_service.warm, args=(ws,), daemon=True,
                         name="flowdoc-warm").start()
    return app

