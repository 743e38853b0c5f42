"""One error shape: problem+json for API clients, a localised page for browsers."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import force_locale, gettext
from werkzeug.exceptions import HTTPException

from balise.db.outage import describe
from balise.errors import Problem, type_for_status
from balise.web.context import state
from balise.web.i18n import N_, negotiate
from balise.web.reader.assets import page_csp

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_PAGE_TEXT = {
    404: (
        N_("Link not found"),
        N_("No link matches this address. Check that it is complete."),
    ),
    410: (N_("Link unavailable"), N_("This link has been disabled or has expired.")),
    429: (
        N_("Too many requests"),
        N_("You sent too many requests. Please wait a little before trying again."),
    ),
    503: (
        N_("Temporarily unavailable"),
        N_("The server cannot answer right now. Please try again in a few seconds."),
    ),
}
_SERVER_ERROR = (
    N_("Something went wrong"),
    N_("The server could not answer. Please try again in a moment."),
)


class HTTPProblem(Problem):
    """A Werkzeug HTTP error (404 route, 405, 413, 429...) in the common problem shape."""

    def __init__(self, exc: HTTPException) -> None:
        super().__init__(exc.description or exc.name)
        self.status = exc.code or 500
        self.title = exc.name
        self.type = type_for_status(self.status) or exc.name.lower().replace(" ", "-")
        self.headers = exc.get_headers()


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_JSON])
    return best in ("application/json", PROBLEM_JSON)


def problem_response(problem: Problem) -> Response:
    if wants_json():
        response = jsonify(problem.to_dict())
        response.mimetype = PROBLEM_JSON
    else:
        response = _page(problem)
    response.status_code = problem.status
    for name, value in getattr(problem, "headers", []):
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    if problem.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="balise"'
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _page(problem: Problem) -> Response:
    """The error page in the browser's language (Accept-Language, else French)."""
    lang = negotiate(request)
    with force_locale(lang):
        if 400 <= problem.status < 500 and problem.status not in _PAGE_TEXT:
            title, body = gettext("Bad request"), problem.detail
        else:
            title, body = map(gettext, _PAGE_TEXT.get(problem.status, _SERVER_ERROR))
        html = render_template(
            "error.html", lang=lang, title=title, body=body, status=problem.status
        )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = page_csp()
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(Problem)
    def handle_problem(problem: Problem) -> Response:
        return problem_response(problem)

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException) -> Response:
        return problem_response(HTTPProblem(exc))

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        database = state().database
        if database.failed(exc):  # a retry may succeed: 503, never a traceback
            if not database.down:  # an outage is logged once, by DatabaseStatus
                log.warning(
                    "database busy on %s %s: %s", request.method, request.path, describe(exc)
                )
            return problem_response(database.error())
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(Problem("The server could not complete the request."))
