"""One error shape: problem+json for API clients, a localised page for browsers."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from balise.db.outage import describe
from balise.errors import Problem, type_for_status
from balise.web.context import state
from balise.web.i18n import messages, negotiate
from balise.web.reader.assets import page_csp

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_PAGE_TEXT = {
    404: ("not_found_title", "not_found_text"),
    410: ("gone_title", "gone_text"),
    429: ("rate_limited_title", "rate_limited_text"),
    503: ("unavailable_title", "unavailable_text"),
}


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
    lang = negotiate(request)
    text = messages(lang)
    title_key, body_key = _PAGE_TEXT.get(problem.status, ("error_title", "error_text"))
    if 400 <= problem.status < 500 and problem.status not in _PAGE_TEXT:
        title, body = text["bad_request_title"], problem.detail
    else:
        title, body = text[title_key], text[body_key]
    html = render_template(
        "error.html", lang=lang, t=text, title=title, body=body, status=problem.status
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
