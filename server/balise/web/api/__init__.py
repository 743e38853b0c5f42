"""The JSON API under /api/v1: one module per resource, their schemas in `schemas/`."""

from __future__ import annotations

from flask import Flask

from balise.web import limits
from balise.web.api.blueprint import bp, key_or_address


def init_app(app: Flask) -> None:
    # Importing the resource modules registers their routes on bp.
    from balise.web.api import (  # noqa: F401
        bulk,
        keys,
        links,
        lookup,
        seen,
        stats,
        summaries,
        transfer,
        webhooks,
    )

    app.register_blueprint(bp)
    # Failed authentications are limited on every API route: see limits._api_auth_failures.
    # Link creation is counted per API key (the key is known: auth ran in before_request),
    # in one budget with duplicates and the items of bulk creations (bulk.py spends it).
    limits.limit_endpoints(
        app,
        ["api.create_link", "api.duplicate_link"],
        limits.setting("RATELIMIT_CREATE"),
        bulk.CREATE_SCOPE,
        key_func=key_or_address,
    )
    # The public look-ups share one budget per client address; preflights are not counted.
    limits.limit_endpoints(
        app,
        lookup.PUBLIC_ENDPOINTS,
        limits.setting("RATELIMIT_LOOKUP"),
        "lookup",
        key_func=limits.by_address("lookup"),
        methods=["GET", "POST"],
        error_message="Too many look-ups from this address.",
    )
