"""Reader pages: GET /<slug> (interstitial redirect), HEAD /<slug>, GET /<slug>+ (preview).

The view reads as resolve, respond, track. It never renders anything unescaped: the target
reaches the page only through Jinja's autoescape (href and meta refresh attributes).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, request

from balise import links, summaries
from balise.errors import Gone, NotFound
from balise.web import track
from balise.web.assets import page_csp
from balise.web.context import state, transaction
from balise.web.i18n import messages, negotiate
from balise.web.summary_view import page_context

bp = Blueprint("reader", __name__)

READER_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "strict-origin",
    "X-Content-Type-Options": "nosniff",
}


def resolve(slug: str) -> links.Link:
    """The active link for `slug`; 404 when unknown, 410 when disabled or expired."""
    with transaction() as conn:
        link = links.get_link_by_slug(conn, slug)
    if link is None:
        raise NotFound(f"No link with the slug '{slug}'.")
    if link.state() != "active":
        raise Gone(f"The link '{slug}' is {link.state()}.")
    return link


def load_summary(link: links.Link) -> summaries.Summary | None:
    with transaction() as conn:
        return summaries.get_summary(conn, link.id)


def redirect_delay(link: links.Link, summary: summaries.Summary | None = None) -> int:
    """The link's delay (or the default); at least SUMMARY_REDIRECT_DELAY when the link asks
    for reading time and has a summary to read."""
    if link.redirect_delay is not None:
        delay = link.redirect_delay
    else:
        delay = int(state().settings["DEFAULT_REDIRECT_DELAY"])
    if summary is not None and link.reading_delay:
        delay = max(delay, int(state().settings["SUMMARY_REDIRECT_DELAY"]))
    return delay


def _page(
    template: str,
    link: links.Link,
    csp: str,
    summary: summaries.Summary | None = None,
    **context: object,
) -> Response:
    # A summary's language is the link's content language when the link names none.
    lang = negotiate(request, link.lang or (summary.lang if summary else None))
    short_url = state().short_url(link.slug)
    html = render_template(
        template,
        lang=lang,
        t=messages(lang),
        link=link,
        host=urlsplit(link.url).hostname,
        short_url=short_url,
        **page_context(link, summary, short_url=short_url, page_lang=lang),
        **context,
    )
    response = Response(html, mimetype="text/html")
    response.headers.update(READER_HEADERS)
    response.headers["Content-Security-Policy"] = csp
    response.headers["Content-Language"] = lang
    response.vary.add("Accept-Language")
    return response


@bp.route("/<slug>", methods=["GET", "HEAD"])
def reader(slug: str) -> Response:
    if slug.endswith("+"):
        return preview(slug[:-1])
    link = resolve(slug)
    hit = track.observe_request(link)  # classify; 410 once max_clicks are served; None for HEAD
    summary = load_summary(link)
    response = _page(
        "reader.html",
        link,
        page_csp("beacon.js", "redirect.js"),
        summary,
        delay=redirect_delay(link, summary),
        beacon_token=track.beacon_token(hit),
    )
    track.record(hit)
    return response


def preview(slug: str) -> Response:
    """The `+` page: where the link leads and its summary, no redirect, no click."""
    link = resolve(slug)
    track.check_limit(link)
    return _page("preview.html", link, page_csp(), load_summary(link))
