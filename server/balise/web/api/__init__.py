"""The JSON API under /api/v1: one module per resource, their schemas in `schemas/`."""

from __future__ import annotations

from flask import Flask
from flask_limiter.util import get_remote_address

from balise.web import limits
from balise.web.api.blueprint import bp, key_or_address


def init_app(app: Flask) -> None:
    # Importing the resource modules registers their routes on bp.
    from balise.web.api import keys, links, lookup, stats, summaries, webhooks  # noqa: F401

    app.register_blueprint(bp)
    # Failed authentications are counted per address on every API route.
    limits.limit_blueprint(
        app,
        bp,
        limits.setting("RATELIMIT_AUTH_FAILURES"),
        deduct_when=lambda response: response.status_code == 401,
        key_func=lambda: "authfail:" + get_remote_address(),
    )
    # Link creation is counted per API key (the key is known: auth ran in before_request).
    limits.limit_endpoint(
        app, "api.create_link", limits.setting("RATELIMIT_CREATE"), key_func=key_or_address
    )
