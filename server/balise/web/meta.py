"""Service routes: liveness with a database check, robots.txt."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from balise.db.outage import RETRY_AFTER
from balise.web.context import state

bp = Blueprint("meta", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        with state().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        if not state().database.failed(exc):  # an outage is logged once, not per check
            log.warning("health check: database error: %s", exc.__class__.__name__)
        response = jsonify(status="unavailable", database="unavailable")
        response.headers.update({"Cache-Control": "no-store", "Retry-After": str(RETRY_AFTER)})
        return response, 503
    response = jsonify(status="ok", database="ok")
    response.headers["Cache-Control"] = "no-store"
    return response, 200


@bp.get("/robots.txt")
def robots() -> Response:
    # Reader pages stay crawlable so social networks can unfurl them (they say noindex
    # themselves); only the API and the dashboard are off limits.
    body = "User-agent: *\nDisallow: /api/\nDisallow: /dashboard/\n"
    return Response(body, mimetype="text/plain")


@bp.get("/favicon.ico")
def favicon() -> Response:
    return Response(status=204, headers={"Cache-Control": "public, max-age=86400"})
