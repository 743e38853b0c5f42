"""Public summary look-up for the browser extension: no auth, CORS *, cacheable with an ETag.

GET /api/v1/summaries?url=URL answers one URL (404 when unknown); POST /api/v1/summaries/lookup
answers up to 100 in one query. An answered look-up counts a preview view of each link once
per visitor and UTC day (analytics/previews.py), except batches marked `prefetch` (the
extension asking ahead about a page's links): like the reader path's prefetches, those are
not views. Each answer carries a `seen_token` that the extension sends to POST
/summaries/seen (seen.py) when it actually shows the card; that counts the same way.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, cast

from flask import Response, current_app, request
from spectree import Response as Responses
from sqlalchemy.exc import IntegrityError

from balise.analytics.previews import count_preview_views
from balise.errors import NotFound
from balise.summaries import lookup as summary_lookup
from balise.summaries.store import Summary
from balise.web.api.blueprint import bp, max_body, operation
from balise.web.api.schemas import ProblemOut
from balise.web.api.schemas.summaries import (
    LookedUp,
    LookupIn,
    LookupOut,
    SummaryQuery,
)
from balise.web.api.seen import seen_tokens, this_viewer
from balise.web.context import state, transaction
from balise.web.summary_view import page_json, summary_json

TAGS = ["public look-up"]
PUBLIC_ENDPOINTS = ("api.lookup_one", "api.lookup_many", "api.preview_seen")
# 100 ordinary article URLs take 10 to 30 KB; 100 of 4,096 characters (400 KB) cost ten
# times the work of a normal batch, and no extension sends them.
MAX_BATCH_BYTES = 65_536
CACHE_CONTROL = "public, max-age=300"
# Unknown URLs are cached for less time, so a summary written now shows up soon.
NEGATIVE_CACHE_CONTROL = "public, max-age=60"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Cache-Control",
}
PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, If-None-Match",
    "Access-Control-Max-Age": "86400",
}


def _answer(found: summary_lookup.Found) -> dict[str, Any]:
    """The summary, else the target page's own card (LookedUpPage: title and teaser only)."""
    short_url = state().short_url(found.slug)
    if found.page is not None:
        body = page_json(found.slug, short_url, found.target_url, found.page)
    else:  # a look-up answer has its summary when it has no page card
        summary = cast(Summary, found.summary)
        body = summary_json(found.slug, short_url, found.target_url, summary)
    body["seen_token"] = seen_tokens().sign(found.slug, datetime.now(timezone.utc))
    return body


def _lookup(urls: list[str], *, seen: bool = True) -> dict[str, summary_lookup.Found | None]:
    """Answers for `urls`; each answer counts a preview view unless nobody has seen it yet."""
    viewer = this_viewer() if seen else None
    try:
        return _lookup_once(urls, viewer)
    except IntegrityError:
        # A link answered was deleted before its view was counted: answer again without it.
        return _lookup_once(urls, viewer)


def _lookup_once(
    urls: list[str], viewer: tuple[str, datetime] | None
) -> dict[str, summary_lookup.Found | None]:
    with transaction() as conn:
        answers = summary_lookup.lookup(conn, urls, base_url=state().base_url)
        if viewer is not None:
            visitor, now = viewer
            shown = [found.link_id for found in answers.values() if found is not None]
            count_preview_views(conn, shown, visitor, now)
    return answers


def _cacheable(body: Any) -> Response:
    """200 with a strong ETag over the body, or 304 when the client already has it.

    The comparison is weak (RFC 9110 for If-None-Match): nginx's gzip turns the ETag into
    W/"...", and the client sends back what it got."""
    payload = current_app.json.dumps(body).encode("utf-8")
    etag = hashlib.sha256(payload).hexdigest()[:32]
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(payload, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@bp.get("/summaries")
@operation(
    None,
    query=SummaryQuery,
    resp=Responses("HTTP_304", HTTP_200=LookedUp, HTTP_404=ProblemOut),
    tags=TAGS,
)
def lookup_one(query: SummaryQuery) -> Response:
    """The summary for a short URL (any form) or an article URL, else the target page's own
    card (`origin: "page"`: title and teaser only); 404 when neither is known."""
    found = _lookup([query.url])[query.url]
    if found is None:
        raise NotFound("No summary is known for this URL.")
    return _cacheable(_answer(found))


@bp.post("/summaries/lookup")
@operation(
    None,
    json=LookupIn,
    resp=Responses("HTTP_304", HTTP_200=LookupOut, HTTP_413=ProblemOut),
    tags=TAGS,
)
@max_body(MAX_BATCH_BYTES)
def lookup_many(json: LookupIn) -> Response:
    """Up to 100 URLs in one query: {"results": {"<url as sent>": summary, page card or null}}."""
    answers = _lookup(json.urls, seen=not json.prefetch)
    results = {url: (_answer(f) if f else None) for url, f in answers.items()}
    return _cacheable({"results": results})


@bp.after_request
def public_headers(response: Response) -> Response:
    """CORS on every answer of the public endpoints (errors and preflights included)."""
    if request.endpoint not in PUBLIC_ENDPOINTS:
        return response
    response.headers.update(CORS)
    if request.method == "OPTIONS":
        response.headers.update(PREFLIGHT)
    elif response.status_code == 404:
        response.headers["Cache-Control"] = NEGATIVE_CACHE_CONTROL
    return response
