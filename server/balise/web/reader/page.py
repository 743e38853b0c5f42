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
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import force_locale

from balise.links import store as links
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
    _pages: dict[str, Rendered] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def active(self, now: datetime | None = None) -> bool:
        return self.link.state(now) == "active"

    @property
    def lang(self) -> str | None:
        """The page language the link imposes (its own, else its summary's)."""
        return self.link.lang or (self.summary.lang if self.summary else None)

    def page(self, app: Flask, lang: str) -> Rendered:
        page = self._pages.get(lang)
        if page is None:
            with self._lock:
                page = self._pages.get(lang) or render(app, self, lang)
                self._pages[lang] = page
        return page


def redirect_delay(link: links.Link, summary: summaries.Summary | None, settings: dict) -> int:
    """The link's delay (or the default); at least SUMMARY_REDIRECT_DELAY when the link asks
    for reading time and has a summary to read."""
    delay = link.redirect_delay
    if delay is None:
        delay = int(settings["DEFAULT_REDIRECT_DELAY"])
    if summary is not None and link.reading_delay:
        delay = max(delay, int(settings["SUMMARY_REDIRECT_DELAY"]))
    return delay


def load_entry(app: Flask, slug: str) -> ReaderEntry | None:
    """Read a slug's link and summary (one short connection); None when unknown."""
    from balise.web.context import state

    with state(app).engine.connect() as conn:
        link = links.get_link_by_slug(conn, slug)
        if link is None:
            return None
        summary = summaries.get_summary(conn, link.id)
    return ReaderEntry(link, summary, redirect_delay(link, summary, app.config["BALISE"]))


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
            **page_context(link, summary, short_url=short_url, page_lang=lang),
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
