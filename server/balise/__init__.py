"""Balise: short links that show readers the article's summary before they leave."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from balise import config
from balise.db import make_engine
from balise.db.outage import DatabaseStatus

__version__ = "0.1.0"


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Application factory: settings, the engine, extensions and blueprints; no data work."""
    from balise.integrations import delivery
    from balise.web import api, dashboard, errors, i18n, limits, meta, metrics, reader
    from balise.web.context import Balise
    from balise.web.jsonio import JSONProvider

    settings = config.load(**(overrides or {}))
    app = Flask(__name__, template_folder="web/templates", static_folder="web/dashboard/static")
    app.config.update(
        SECRET_KEY=config.secret_key(settings),
        MAX_CONTENT_LENGTH=settings["MAX_BODY_BYTES"],
        BALISE=settings,
    )
    app.json = JSONProvider(app)
    engine = make_engine(settings["DATABASE_URL"])
    database = DatabaseStatus(engine, stale_for=settings["CACHE_STALE_IF_ERROR"])
    balise = app.extensions["balise"] = Balise(settings=settings, engine=engine, database=database)

    i18n.init_app(app)
    errors.register(app)
    limits.init_app(app)
    api.init_app(app)
    app.register_blueprint(meta.bp)
    dashboard.init_app(app)
    reader.init_app(app)  # last: its /<slug> rule catches what the others leave
    metrics.init_app(app)  # times every request, the lean reader path included
    worker = delivery.Worker(balise.engine, delivery.options_from(settings, __version__))
    balise.services["webhooks"] = worker.start()  # sends the outbox; stopped by shutdown()
    balise.on_shutdown(worker.close)
    if settings["TRUSTED_PROXIES"]:  # outermost, so every path sees the reader's address
        hops = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    return app
