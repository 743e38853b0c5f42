"""The reader page of a link, rendered once per link version and language.

Everything on the page but the beacon token is the same for every reader of a link in a
language, so the page is rendered once, split around the token, and each request only joins
three byte strings. The CSP allows the page's scripts by hash, so no per-request nonce exists.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from balise.db.tables import links as links_table
from balise.links import store as links
from balise.summaries import cards
from balise.summaries import store as summaries
from balise.web.reader.assets import page_csp
from balise.web.summary_view import page_context

READER_HEADERS = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Robots-Tag", "noindex"),
    ("Referrer-Policy", "strict-origin"),
    ("X-Content-Type-Options", "nosniff"),
    ("Vary", "Accept-Language"),
)
# A direct link's answer: never cached (by browsers or proxies), so every click reaches the
# server and is counted, even for 301 and 308, which browsers would otherwise keep for good.
DIRECT_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Robots-Tag", "noindex"),
    ("Referrer-Policy", "strict-origin"),
    ("Content-Length", "0"),
)
# Stands for the token while rendering; random so no summary text can contain it.
_TOKEN_MARK = "balise-token-" + secrets.token_hex(12)


@dataclass(frozen=True)
class Rendered:
    head: bytes
    tail: bytes
    headers: tuple[tuple[str, str], ...]

    def body(self, token: str) -> bytes:
        return self.head + token.encode("ascii") + self.tail


@dataclass
class ReaderEntry:
    """What the reader path knows of one slug: the link, its summary, its rendered pages."""

    link: links.Link
    summary: summaries.Summary | None
    delay: int
    card: cards.Card | None = None  # the target page's own card, when there is no summary
    _pages: dict[str, Rendered] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def active(self, now: datetime | None = None) -> bool:
        return self.link.state(now) == "active"

    @property
    def lang(self) -> str | None:
        """The page language the link imposes (its own, else its summary's)."""
        return self.link.lang or (self.summary.lang if self.summary else None)

    @property
    def status_line(self) -> str:
        """'200 OK' for the reader page; a direct link's redirect status."""
        if not self.link.direct:
            return "200 OK"
        status = HTTPStatus(self.link.redirect_status)
        return f"{status.value} {status.phrase}"

    @cached_property
    def redirect_headers(self) -> list[tuple[str, str]]:
        """A direct link's headers: Location (the cleaned target is ASCII) and no caching."""
        return [("Location", self.link.url), *DIRECT_HEADERS]

    def page(self, app: Flask, lang: str) -> Rendered:
        page = self._pages.get(lang)
        if page is None:
            with self._lock:
                page = self._pages.get(lang) or render(app, self, lang)
                self._pages[lang] = page
        return page


def redirect_delay(link: links.Link, summary: summaries.Summary | None, settings: dict) -> int:
    """Seconds the reader page waits before it redirects.

    The link's own delay, else DEFAULT_REDIRECT_DELAY; a link with a summary and no delay of
    its own waits SUMMARY_REDIRECT_DELAY (the page shows a countdown, a button to stay, and
    the first touch of the summary pauses it; the fallback link goes at once). reading_delay
    asks for at least SUMMARY_REDIRECT_DELAY even over a shorter delay of the link's own.
    """
    default = int(settings["DEFAULT_REDIRECT_DELAY"])
    reading = int(settings["SUMMARY_REDIRECT_DELAY"]) if summary is not None else 0
    if link.redirect_delay is None:
        return max(default, reading)
    if link.reading_delay:
        return max(link.redirect_delay, reading)
    return link.redirect_delay


def load_entry(app: Flask, slug: str) -> ReaderEntry | None:
    """Read a slug's link and summary (one short connection); None when unknown."""
    from balise.web.context import state

    with state(app).engine.connect() as conn:
        link = links.get_link_by_slug(conn, slug)
        if link is None:
            return None
        summary = summaries.get_summary(conn, link.id)
        card = cards.get_card(conn, link.id) if summary is None else None
    delay = redirect_delay(link, summary, app.config["BALISE"])
    return ReaderEntry(link, summary, delay, card if card and card.ok else None)


def unchanged_links(app: Flask, versions: dict[str, int]) -> set[str]:
    """Of these slug keys and link versions, those whose link still has that version (every
    change a reader can see bumps it: the link, its summary, its card). One query."""
    from balise.web.context import state

    query = select(links_table.c.slug_key, links_table.c.version).where(
        links_table.c.slug_key.in_(sorted(versions))
    )
    with state(app).engine.connect() as conn:
        return {key for key, version in conn.execute(query) if versions.get(key) == version}


def render(app: Flask, entry: ReaderEntry, lang: str) -> Rendered:
    from balise.web.context import state

    link, summary = entry.link, entry.summary
    short_url = state(app).short_url(link.slug)
    # Outside any request (the lean path): an app context of its own, in the page's language.
    with app.app_context(), force_locale(lang):
        html = app.jinja_env.get_template("reader/reader.html").render(
            lang=lang,
            link=link,
            host=urlsplit(link.url).hostname,
            short_url=short_url,
            delay=entry.delay,
            beacon_token=_TOKEN_MARK,
            **page_context(link, summary, short_url=short_url, page_lang=lang, card=entry.card),
        )
    head, mark, tail = html.partition(_TOKEN_MARK)
    if not mark or _TOKEN_MARK in tail:
        raise RuntimeError("reader.html must carry the beacon token exactly once")
    headers = (
        *READER_HEADERS,
        ("Content-Security-Policy", page_csp("beacon.js", "redirect.js")),
        ("Content-Language", lang),
    )
    return Rendered(head.encode("utf-8"), tail.encode("utf-8"), headers)
