"""The dashboard under /dashboard: server-rendered pages for links, summaries, statistics, keys,
webhooks."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from balise.links.states import current_state
from balise.web.dashboard.blueprint import bp, csrf
from balise.web.dashboard.labels import label
from balise.web.i18n import AUTONYMS


def init_app(app: Flask) -> None:
    """Session cookie rules, CSRF, and the dashboard and share blueprints."""
    from balise.web.dashboard import (  # noqa: F401 - register their pages on bp
        account,
        auth,
        campaigns,
        links,
        live,
        share,
        stats,
        summary,
        upload,
        webhooks,
    )

    settings = app.config["BALISE"]
    app.config.update(
        SESSION_COOKIE_NAME="balise_session",
        SESSION_COOKIE_PATH="/dashboard",  # reader pages never receive (or parse) it
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["BASE_URL"].startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings["SESSION_DAYS"]),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in the dashboard's own guard only
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session it belongs to
    )
    # Names of values, for the pages and for the macros they import (which see no page context).
    app.jinja_env.globals.update(label=label, autonyms=AUTONYMS, link_state=current_state)
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(share.bp)
