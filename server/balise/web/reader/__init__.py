"""What readers see: the lean reader path, reader pages, tracking, QR codes."""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup


def init_app(app: Flask) -> None:
    """The click recorder, the beacon, QR codes, the lean path and the Flask reader routes."""
    from balise.web import limits
    from balise.web.reader import fastpath, qr, routes, track
    from balise.web.reader.assets import text

    # Trusted static assets, inlined raw (autoescape would corrupt CSS and JS, and their hashes).
    app.jinja_env.globals.update(
        page_css=Markup(text("page.css")),  # noqa: S704
        redirect_js=Markup(text("redirect.js")),  # noqa: S704
    )
    track.init_app(app)  # click recorder and the beacon route
    fastpath.init_app(app, track.tracker(app))  # GET/HEAD /<slug> before Flask's machinery
    app.register_blueprint(qr.bp)  # /<slug>/qr.svg before the catch-all /<slug> rules
    app.register_blueprint(routes.bp)
    limits.limit_endpoint(
        app,
        "qr.qr_code",
        limits.setting("RATELIMIT_QR"),
        key_func=limits.by_address("qr"),
        error_message="Too many QR codes from this address.",
    )
    # Checked before the view reads anything: the lean path hands over every slug it does
    # not hold, so a flood of unknown slugs stops reading the database at the limit.
    limits.limit_endpoints(
        app,
        ("reader.reader", "qr.qr_code"),
        limits.setting("RATELIMIT_NOT_FOUND"),
        "not-found",
        key_func=limits.by_address("notfound"),
        deduct_when=lambda response: response.status_code == 404,
        error_message="Too many unknown links asked from this address.",
    )
