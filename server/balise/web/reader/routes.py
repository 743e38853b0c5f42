"""Reader pages through Flask: GET/HEAD /<slug> when the lean path hands over, GET /<slug>+.

Active links are normally answered by fastpath.py before Flask; this view answers the rest
(unknown, disabled, expired or exhausted links) with the same Reader.serve, so both paths send
the same page and headers. It never renders anything unescaped: the target reaches pages only
through Jinja's autoescape (href and meta refresh attributes).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, request
from flask_babel import force_locale
from werkzeug.exceptions import MethodNotAllowed

from balise.errors import Gone, NotFound
from balise.web.context import state
from balise.web.i18n import negotiate
from balise.web.reader import gate
from balise.web.reader.assets import page_csp
from balise.web.reader.fastpath import Reader
from balise.web.reader.page import READER_HEADERS, ReaderEntry
from balise.web.reader.track import tracker
from balise.web.summary_view import page_context

bp = Blueprint("reader", __name__)


def _reader() -> Reader:
    return state().services["reader"]  # type: ignore[no-any-return]


def find(slug: str) -> ReaderEntry:
    """The entry for `slug`, whatever its state; 404 when unknown."""
    entry = _reader().entry(slug)
    if entry is None:
        raise NotFound(f"No link with the slug '{slug}'.")
    return entry


def check_active(entry: ReaderEntry) -> ReaderEntry:
    """The entry when active; 410 when disabled or expired (scheduled: see gate.not_yet)."""
    if not entry.active():
        state = entry.link.state()
        raise Gone(f"The link '{entry.link.slug}' is {state}.", reason=state)
    return entry


@bp.route("/<slug>", methods=["GET", "HEAD", "POST"])
def reader(slug: str) -> Response:
    if slug.endswith("+") and request.method != "POST":
        return preview(slug[:-1])
    entry = None
    try:
        entry = find(slug)
        if entry.link.state() == "scheduled":
            return gate.not_yet(entry)
        check_active(entry)
        if entry.link.password_protected:  # POST carries the password; never the lean path
            return gate.password_gate(entry, _reader())
        if request.method == "POST":
            raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
        headers, body = _reader().serve(entry, request.environ)
    except (NotFound, Gone) as problem:
        elsewhere = gate.fallback(entry.link) if entry and isinstance(problem, Gone) else None
        tracker().count_refused(request.environ, 302 if elsewhere else problem.status)
        if elsewhere is not None:  # disabled, expired or used up: the fallback, no click
            return elsewhere
        raise
    return Response(body, status=entry.status_line, headers=headers)


def preview(slug: str) -> Response:
    """The `+` page: where the link leads and its summary, no redirect, no click."""
    entry = find(slug)
    if entry.link.state() == "scheduled":
        return gate.not_yet(entry)
    check_active(entry)
    tracker().check_limit(entry.link)
    if entry.link.password_protected:  # the preview would show the target: ask first
        return gate.password_gate(entry, _reader())
    link, summary = entry.link, entry.summary
    lang = negotiate(request, entry.lang)
    short_url = state().short_url(link.slug)
    with force_locale(lang):
        html = render_template(
            "reader/preview.html",
            lang=lang,
            link=link,
            host=urlsplit(link.url).hostname,
            short_url=short_url,
            **page_context(link, summary, short_url=short_url, page_lang=lang, card=entry.card),
        )
    response = Response(html, headers=READER_HEADERS)
    response.headers["Content-Security-Policy"] = page_csp()
    response.headers["Content-Language"] = lang
    return response
