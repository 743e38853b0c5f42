"""What readers meet before a link's target, per its controls (balise.links.controls): the
password page, the "not yet available" page, the fallback redirect, and the request facts that
targeting rules read.

A password-protected link is never served by the lean path: its reader page and target reach
only a reader who posted the right password, and the click is counted then. Wrong passwords
are counted per client address before they are checked (limits.attempts), shared through the
rate-limit storage (Redis when configured).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from flask import Response, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from balise.analytics import classify
from balise.analytics.geoip import CountryLookup
from balise.errors import Forbidden, TooManyRequests
from balise.links.controls import Facts, verify_password
from balise.links.store import Link
from balise.web.errors import problem_response, wants_json
from balise.web.i18n import negotiate
from balise.web.limits.attempts import Attempts
from balise.web.reader.assets import page_csp
from balise.web.reader.page import READER_HEADERS, ReaderEntry

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

PASSWORD_ATTEMPTS = Attempts("link-password", "RATELIMIT_LINK_PASSWORD")
# The password form posts to the short URL itself; nothing else may be a form target.
FORM_CSP = page_csp().replace("form-action 'none'", "form-action 'self'")


class Reader(Protocol):
    """fastpath.Reader: serves the reader page (or a direct link's redirect), counting it."""

    def serve(
        self, entry: ReaderEntry, environ: WSGIEnvironment
    ) -> tuple[list[tuple[str, str]], bytes]: ...


def request_facts(environ: WSGIEnvironment, countries: CountryLookup) -> Facts:
    """What targeting rules read of a request, each worked out only if a rule asks."""

    def agent() -> tuple[str | None, str | None]:
        facts = classify.agent_facts(environ.get("HTTP_USER_AGENT", ""))
        return facts.device, facts.os

    return Facts(
        query=environ.get("QUERY_STRING", ""),
        accept_language=environ.get("HTTP_ACCEPT_LANGUAGE", ""),
        agent=agent,
        country=lambda: countries.country(environ.get("REMOTE_ADDR") or ""),
    )


def fallback(link: Link) -> Response | None:
    """A 302 to the link's fallback URL (disabled, expired or used up), when it has one.

    Not a click of the link: nothing is recorded."""
    if link.fallback_url is None:
        return None
    headers = {"Location": link.fallback_url, "Cache-Control": "no-store"}
    return Response(status=302, headers={**headers, "Referrer-Policy": "strict-origin"})


def not_yet(entry: ReaderEntry) -> Response:
    """403 before the link's valid_from: a localised page (problem+json to JSON clients)."""
    problem = Forbidden(f"The link '{entry.link.slug}' is not available yet.", reason="scheduled")
    if wants_json():
        return problem_response(problem)
    lang = negotiate(request, entry.lang)
    with force_locale(lang):
        html = render_template(
            "error.html",
            lang=lang,
            status=403,
            title=_("Not available yet"),
            body=_("This link is not available yet. Please come back later."),
        )
    return _page(html, 403, lang, page_csp())


def password_gate(entry: ReaderEntry, reader: Reader) -> Response:
    """The password page (GET, HEAD); a POST with the right password gets the reader page, or
    a direct link's 303, and counts the click; a wrong one the page again with an error."""
    lang = negotiate(request, entry.lang)
    if request.method != "POST":
        return _password_page(entry, lang, error=None, status=200)
    ident = get_remote_address()
    wait = PASSWORD_ATTEMPTS.take(ident)
    if wait is not None:
        problem = TooManyRequests("Too many wrong passwords from this address.")
        response = problem_response(problem)
        response.headers["Retry-After"] = str(wait)
        return response
    candidate = request.form.get("password", "")
    if not verify_password(entry.link.password_hash, candidate):
        return _password_page(entry, lang, error=_("Wrong password. Try again."), status=403)
    PASSWORD_ATTEMPTS.give_back(ident)
    # Served as the GET it stands for: classified, counted once, the page given its token.
    environ = {**request.environ, "REQUEST_METHOD": "GET"}
    headers, body = reader.serve(entry, environ)
    if entry.link.direct:  # after a POST: 303, so the browser GETs the target with no body
        return Response(status=303, headers=headers)
    return Response(body, status=200, headers=headers)


def _password_page(entry: ReaderEntry, lang: str, *, error: str | None, status: int) -> Response:
    """Asks for the password; says nothing of the target or the summary, carries no card."""
    with force_locale(lang):
        query = request.query_string.decode("latin-1")
        action = f"{request.script_root}/{entry.link.slug}" + (f"?{query}" if query else "")
        html = render_template("reader/password.html", lang=lang, error=error, action=action)
    return _page(html, status, lang, FORM_CSP)


def _page(html: str, status: int, lang: str, csp: str) -> Response:
    response = Response(html, status=status, headers=READER_HEADERS)
    response.headers["Content-Security-Policy"] = csp
    response.headers["Content-Language"] = lang
    return response
