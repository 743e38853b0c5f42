"""The reader page of a link, rendered once per link version and language.

Everything on the page but the beacon token is the same for every reader of a link in a
language, so the page is rendered once, split around the token, and each request only joins
a few byte strings. The CSP allows the page's scripts by hash, so no per-request nonce exists.
The inline stylesheet and scripts (about 4.5 KiB, the same on every page) are kept once for
all pages, not in each: a cached page holds only its own 1 to 3 KiB.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache, lru_cache
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import force_locale
from markupsafe import Markup
from sqlalchemy import select

from balise.db.tables import link_cards
from balise.db.tables import links as links_table
from balise.db.tables import summaries as summaries_table
from balise.links import controls
from balise.links import store as links
from balise.summaries import cards
from balise.summaries import store as summaries
from balise.web.reader.assets import page_csp, text
from balise.web.reader.reads import ReaderReads
from balise.web.reader.skeleton import Skeletons
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
# Pages kept per entry: one per language and target chosen (rules, forwarded queries). Beyond
# it pages are rendered for the request and not kept, so readers' queries cannot fill memory.
MAX_PAGES = 32
# Stand for the token and the shared assets while rendering; random so no summary text can
# contain them.
_TOKEN_MARK = "balise-token-" + secrets.token_hex(12)
_SHARED_MARK = "balise-shared-" + secrets.token_hex(12) + "-"
_SHARED = {"page_css": "page.css", "redirect_js": "redirect.js", "beacon_js": "beacon.js"}
_MARKS = re.compile(re.escape(_SHARED_MARK) + r"(\w+)-|" + re.escape(_TOKEN_MARK))


@cache
def _shared(name: str) -> bytes:
    """An inline asset's bytes: one object that every rendered page refers to."""
    return text(_SHARED[name]).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Rendered:
    head: tuple[bytes, ...]  # the page before the token: its own bytes and shared assets
    tail: tuple[bytes, ...]
    headers: tuple[tuple[str, str], ...]  # one tuple per language, shared by its pages

    def body(self, token: str) -> bytes:
        return b"".join((*self.head, token.encode("ascii"), *self.tail))


# Renders of one entry's page wait for each other (a page is rendered once however many
# readers ask at the same moment); entries share these locks rather than hold one each.
_RENDER_LOCKS = tuple(threading.Lock() for _ in range(64))


@dataclass(slots=True)
class ReaderEntry:
    """What the reader path knows of one slug: the link, its summary, its rendered pages.

    Kept small (slots, no lock or dict of its own for a single page): a full slug cache is
    mostly these (README, Performance, Memory).
    """

    link: links.Link
    summary: summaries.Summary | None
    delay: int
    card: cards.Card | None = None  # the target page's own card, when there is no summary
    # The first page rendered (most entries never have another), then the others by key.
    _key: tuple[str, str] | None = field(default=None, init=False, repr=False)
    _page: Rendered | None = field(default=None, init=False, repr=False)
    _more: dict[tuple[str, str], Rendered] | None = field(default=None, init=False, repr=False)
    _target: str | None = field(default=None, init=False, repr=False)
    _redirect: list[tuple[str, str]] | None = field(default=None, init=False, repr=False)

    def active(self, now: datetime | None = None) -> bool:
        return self.link.state(now) == "active"

    def lean(self) -> bool:
        """Whether the lean path may serve it: active, and no password to ask for first."""
        return not self.link.password_protected and self.active()

    @property
    def static_target(self) -> str:
        """The target with the link's UTM values: every reader's, unless the link varies."""
        target = self._target
        if target is None:
            target = self._target = controls.choose_target(self.link, None)
        return target

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

    @property
    def redirect_headers(self) -> list[tuple[str, str]]:
        """A direct link's headers: Location (the cleaned target is ASCII) and no caching."""
        headers = self._redirect
        if headers is None:
            headers = self._redirect = self.redirect_to(self.static_target)
        return headers

    @staticmethod
    def redirect_to(target: str) -> list[tuple[str, str]]:
        return [("Location", target), *DIRECT_HEADERS]

    def page(self, app: Flask, lang: str, target: str | None = None) -> Rendered:
        """The page in `lang` leading to `target`, rendered on first use (once: concurrent
        readers wait for it). The one place a page is looked up: its key is what makes two
        pages differ."""
        key = (lang, target or self.static_target)
        page = self._kept(key)
        if page is None:
            with _RENDER_LOCKS[hash(key) % len(_RENDER_LOCKS)]:
                page = self._kept(key)
                if page is None:
                    page = render(app, self, lang, key[1])
                    self._keep(key, page)
        return page

    def _kept(self, key: tuple[str, str]) -> Rendered | None:
        if self._key == key:
            return self._page
        return self._more.get(key) if self._more is not None else None

    def _keep(self, key: tuple[str, str], page: Rendered) -> None:
        """Keep a page (under its render lock), up to MAX_PAGES per entry."""
        if self._key is None:
            self._page = page  # before the key: a reader that finds the key finds the page
            self._key = key
        elif self._more is None:
            self._more = {key: page}
        elif len(self._more) < MAX_PAGES - 1:
            self._more[key] = page


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


# A link, its summary and its page's card in one query (the reader page shows no tags).
_SUMMARY, _CARD = "summary__", "card__"
_ENTRY = select(
    links_table,
    *(column.label(_SUMMARY + column.name) for column in summaries_table.c),
    *(column.label(_CARD + column.name) for column in link_cards.c),
).select_from(
    links_table.outerjoin(summaries_table, summaries_table.c.link_id == links_table.c.id).outerjoin(
        link_cards, link_cards.c.link_id == links_table.c.id
    )
)


def load_entry(app: Flask, slug: str, reads: ReaderReads | None = None) -> ReaderEntry | None:
    """Read a slug's link, summary and card (one query); None when unknown."""
    from balise.web.context import state

    if not links.possible_slug(slug):
        return None
    if reads is not None:
        row: Any = reads.entry_row(slug.lower())
    else:
        with state(app).engine.connect() as conn:
            row = conn.execute(_ENTRY.where(links_table.c.slug_key == slug.lower())).first()
    if row is None:
        return None
    link = links._to_link(row, ())  # noqa: SLF001 - the one mapping of a links row
    m = row._mapping
    summary = card = None
    if m[_SUMMARY + "link_id"] is not None:
        summary = summaries.Summary(
            **{f.name: m[_SUMMARY + f.name] for f in fields(summaries.Summary)}
        )
    elif m[_CARD + "link_id"] is not None:
        card = cards.Card(**{c.name: m[_CARD + c.name] for c in link_cards.c})
    delay = redirect_delay(link, summary, app.config["BALISE"])
    return ReaderEntry(link, summary, delay, card if card and card.ok else None)


def reader_reads(app: Flask) -> ReaderReads:
    """The reader path's single-slug reads, compiled for the app's database."""
    from balise.web.context import state

    return ReaderReads(state(app).engine, _ENTRY)


def unchanged_links(
    app: Flask, versions: dict[str, int], reads: ReaderReads | None = None
) -> set[str]:
    """Of these slug keys and link versions, those whose link still has that version (every
    change a reader can see bumps it: the link, its summary, its card). One query."""
    from balise.web.context import state

    keys = sorted(versions)
    if len(keys) == 1 and reads is not None:
        return set(keys) if reads.version_of(keys[0]) == versions[keys[0]] else set()
    query = select(links_table.c.slug_key, links_table.c.version).where(
        links_table.c.slug_key == keys[0] if len(keys) == 1 else links_table.c.slug_key.in_(keys)
    )
    with state(app).engine.connect() as conn:
        return {key for key, version in conn.execute(query) if versions.get(key) == version}


def render(app: Flask, entry: ReaderEntry, lang: str, target: str) -> Rendered:
    html = _skeletons(app).render(page_values(app, entry, lang, target))
    head, tail = _split(html)
    return Rendered(head, tail, _headers(lang))


@lru_cache(maxsize=64)
def _headers(lang: str) -> tuple[tuple[str, str], ...]:
    """A reader page's headers in `lang` (but its length): one tuple for all its pages."""
    return (
        *READER_HEADERS,
        ("Content-Security-Policy", page_csp("beacon.js", "redirect.js")),
        ("Content-Language", lang),
    )


def page_values(app: Flask, entry: ReaderEntry, lang: str, target: str) -> dict[str, Any]:
    """What reader.html is rendered with, the token and shared assets left as marks."""
    from balise.web.context import state

    link, summary = entry.link, entry.summary
    short_url = state(app).short_url(link.slug)
    # Outside any request (the lean path): an app context of its own for the page's texts.
    with app.app_context():
        return {
            "lang": lang,
            "target": target,
            "host": urlsplit(target).hostname,
            "short_url": short_url,
            "delay": entry.delay,
            "beacon_token": Markup(_TOKEN_MARK),  # noqa: S704 - letters, digits and dashes
            **{name: Markup(f"{_SHARED_MARK}{name}-") for name in _SHARED},  # noqa: S704
            **page_context(link, summary, short_url=short_url, page_lang=lang, card=entry.card),
        }


def _skeletons(app: Flask) -> Skeletons:
    """The app's reader pages by shape (skeleton.py), made on first use."""
    found = app.extensions.get("balise.reader_skeletons")
    if found is None:
        found = app.extensions.setdefault("balise.reader_skeletons", Skeletons(_jinja(app)))
    return found  # type: ignore[no-any-return]


def _jinja(app: Flask) -> Callable[[dict[str, Any]], str]:
    def render_page(context: dict[str, Any]) -> str:
        with app.app_context(), force_locale(context["lang"]):
            return app.jinja_env.get_template("reader/reader.html").render(**context)

    return render_page


def _split(html: str) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """The page's bytes before and after the token, shared assets put back by reference."""
    parts: list[bytes] = []
    head: list[bytes] | None = None
    position = 0
    for mark in _MARKS.finditer(html):
        parts.append(html[position : mark.start()].encode("utf-8"))
        if mark.group(1):
            parts.append(_shared(mark.group(1)))
        elif head is None:
            head, parts = parts, []
        else:
            raise RuntimeError("reader.html must carry the beacon token exactly once")
        position = mark.end()
    parts.append(html[position:].encode("utf-8"))
    if head is None:
        raise RuntimeError("reader.html must carry the beacon token exactly once")
    return tuple(p for p in head if p), tuple(p for p in parts if p)
