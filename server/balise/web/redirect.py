"""Reader pages: GET /<slug> (interstitial redirect), HEAD /<slug>, GET /<slug>+ (preview).

The view reads as resolve, respond, track. It never renders anything unescaped: the target
reaches the page only through Jinja's autoescape (href and meta refresh attributes).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, request

from balise import links
from balise.errors import Gone, NotFound
from balise.web import track
from balise.web.assets import page_csp
from balise.web.context import state, transaction
from balise.web.i18n import messages, negotiate

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


def redirect_delay(link: links.Link) -> int:
    if link.redirect_delay is not None:
        return link.redirect_delay
    return int(state().settings["DEFAULT_REDIRECT_DELAY"])


def _page(template: str, link: links.Link, csp: str, **context: object) -> Response:
    lang = negotiate(request, link.lang)
    html = render_template(
        template,
        lang=lang,
        t=messages(lang),
        link=link,
        host=urlsplit(link.url).hostname,
        short_url=state().short_url(link.slug),
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
    response = _page(
        "reader.html",
        link,
        page_csp("beacon.js", "redirect.js"),
        delay=redirect_delay(link),
        beacon_token=track.beacon_token(hit),
    )
    track.record(hit)
    return response


def preview(slug: str) -> Response:
    """The `+` page: where the link leads and its summary, no redirect, no click."""
    link = resolve(slug)
    track.check_limit(link)
    return _page("preview.html", link, page_csp())
