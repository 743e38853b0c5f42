"""The lean reader path: GET and HEAD /<slug> answered before Flask's request machinery.

In steady state a reader request costs a dictionary look-up (the slug cache), a cached
classification of its user agent, a signed token, three joined byte strings and a put in the
click buffer: no database read or write, no template rendering, no Flask request context.
A slug the cache does not hold is read here too (one query; concurrent readers share it), as
long as the client's 404 budget is not spent, tested as Flask-Limiter would. Everything else,
and every answer that is not a 200 reader page (404, 410, 429, errors), goes to the Flask app,
which renders the same headers and pages through the same functions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from limits import parse_many
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from balise.db.outage import DatabaseStatus
from balise.errors import Problem
from balise.links import controls
from balise.links.cache import LinkCache
from balise.links.feed import ChangeFeed
from balise.links.invalidation import Invalidator
from balise.links.store import RESERVED_SLUGS, possible_slug
from balise.web.i18n import DEFAULT_LANG, LANGS
from balise.web.reader.gate import request_facts
from balise.web.reader.page import ReaderEntry, load_entry, reader_reads, unchanged_links
from balise.web.reader.track import Tracker

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
SLUG_PATH = re.compile(r"/([A-Za-z0-9_-]{3,64})")
MAX_UNKNOWN = 10_000  # slugs known to be unknown, kept apart: about 1 MB when full


class Reader:
    """Serves reader pages of active links from the slug cache; shared by both paths."""

    def __init__(self, app: Flask, tracker: Tracker, database: DatabaseStatus) -> None:
        settings = app.config["BALISE"]
        self.app = app
        self.tracker = tracker
        self.database = database
        # Beyond BALISE_CACHE_SIZE a link read is kept only if it was asked more often lately
        # than the least recently used one, which it then replaces (admission; README,
        # Performance: what an entry costs in memory). Entries due for a refresh are checked
        # by version in batches; only changed links are read again. Entries read at any time
        # during their TTL are checked so before it ends (keep_fresh), so a link read every few
        # seconds is not read again in full, nor its page rendered again, each time.
        # Unknown slugs are kept as long as known ones; a creation drops its slug like any
        # change. The TTL is a backstop: changes reach the cache through the invalidator (at
        # once here and, with Redis, on every instance) and the change feed (every CACHE_POLL).
        # While the database is away, entries are served up to CACHE_STALE_IF_ERROR past the TTL.
        ttl = float(settings["CACHE_TTL"])
        self.cache: LinkCache[ReaderEntry] = LinkCache(
            self._load,
            revalidate=self._unchanged,
            ttl=ttl,
            negative_ttl=ttl,
            max_entries=int(settings["CACHE_SIZE"]),
            max_unknown=MAX_UNKNOWN,
            outage=database,
            stale_for=float(settings["CACHE_STALE_IF_ERROR"]),
            keep_fresh=True,
            admission=True,
        )
        self.invalidator = Invalidator(self.cache, settings["REDIS_URL"])
        # Changes made anywhere (other instances, commands) reach the cache within a poll.
        self.feed = ChangeFeed(
            app.extensions["balise"].engine,
            self.cache,
            float(settings["CACHE_POLL"]),
            outage=database,
        )
        self._budget = parse_many(str(settings["RATELIMIT_NOT_FOUND"]))
        self._reads = reader_reads(app)

    def _load(self, slug: str) -> ReaderEntry | None:
        """Read the slug; an unchanged link keeps the entry it had, with its rendered pages."""
        self.feed.ready()
        entry = load_entry(self.app, slug, self._reads)
        held = self.cache.peek(slug)
        if entry is not None and held is not None and held.link.version == entry.link.version:
            return held
        return entry

    def may_read(self, environ: WSGIEnvironment) -> bool:
        """Whether this client's 404 budget (BALISE_RATELIMIT_NOT_FOUND) lets a slug the cache
        does not hold be read: the test Flask-Limiter makes before the reader view runs, on
        the same storage and keys (tests/test_flood_limits.py holds both paths to it)."""
        limiter = self.app.extensions["balise.limiter"]
        key = f"notfound:{environ.get('REMOTE_ADDR') or '127.0.0.1'}"
        prefix = [limiter._key_prefix] if limiter._key_prefix else []  # noqa: SLF001
        try:
            strategy = limiter.limiter
            return all(strategy.test(item, *prefix, key, "not-found") for item in self._budget)
        except Exception:  # noqa: BLE001 - the limit store is away: Flask decides (fallback)
            return False

    def ready(self, path: str) -> bool:
        """Whether a GET or HEAD of `path` is a reader page the cache holds ready, whose click
        needs no database read (no max_clicks to check) and no wait (the click buffer has
        room). `balise serve` answers those on its loop thread (cli/dispatch.py); the answer
        itself is what `ReaderPath` decides, as for any request.
        """
        match = SLUG_PATH.fullmatch(path)
        if match is None:
            return False
        entry = self.cache.ready(match.group(1).lower())
        if entry is None or entry.link.max_clicks is not None or not entry.lean():
            return False
        return self.tracker.recorder.has_room()

    def _unchanged(self, entries: dict[str, ReaderEntry]) -> set[str]:
        """The slugs whose link still has the version their entry was made from."""
        versions = {key: entry.link.version for key, entry in entries.items()}
        return unchanged_links(self.app, versions, self._reads)

    def entry(self, slug: str) -> ReaderEntry | None:
        """The cached entry; None (unknown, and not cached) for what cannot be a slug."""
        if not possible_slug(slug):
            return None
        return self.cache.get(slug.lower())

    def serve(
        self, entry: ReaderEntry, environ: WSGIEnvironment
    ) -> tuple[list[tuple[str, str]], bytes]:
        """Headers and body of the reader page (or of a direct link's redirect: the status is
        entry.status_line), the click recorded; raises Gone at max_clicks.

        The click is handed to the buffer before the body leaves, so a reader can never
        arrive at the target without having been counted.
        """
        hit = self.tracker.observe(entry.link, environ)
        target = self.target(entry, environ)
        if entry.link.direct:  # a redirect: counted the same, no page, no beacon to confirm
            self.tracker.record(hit)
            headers = entry.redirect_headers if target is None else entry.redirect_to(target)
            return headers, b""
        page = entry.page(self.app, entry.lang or _negotiate(environ), target)
        body = page.body(self.tracker.token(hit))
        self.tracker.record(hit)
        headers = [*page.headers, ("Content-Length", str(len(body)))]
        return headers, (b"" if environ["REQUEST_METHOD"] == "HEAD" else body)

    def target(self, entry: ReaderEntry, environ: WSGIEnvironment) -> str | None:
        """This reader's target when the link's rules or forwarded query make it depend on the
        request (links/controls.py); None: the entry's static target."""
        if not controls.varies(entry.link):
            return None
        facts = request_facts(environ, self.tracker.recorder.countries)
        return controls.choose_target(entry.link, facts)


def _negotiate(environ: WSGIEnvironment) -> str:
    header = environ.get("HTTP_ACCEPT_LANGUAGE")
    if not header:
        return DEFAULT_LANG
    return parse_accept_header(header, LanguageAccept).best_match(LANGS) or DEFAULT_LANG


class ReaderPath:
    """WSGI middleware in front of Flask for GET/HEAD of an active link's reader page."""

    def __init__(self, reader: Reader, flask_wsgi: WSGIApplication) -> None:
        self.reader = reader
        self.flask_wsgi = flask_wsgi

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            match = SLUG_PATH.fullmatch(environ.get("PATH_INFO", ""))
            key = match.group(1).lower() if match else ""
            # A slug the cache does not hold is read here only while the client's 404 budget
            # is not spent (as Flask would check it); otherwise Flask answers (429, or reads).
            if key and key not in RESERVED_SLUGS:
                try:
                    entry = None
                    if self.reader.cache.peek(key) is not None or self.reader.may_read(environ):
                        entry = self.reader.entry(key)
                    if entry is not None and entry.lean():
                        headers, body = self.reader.serve(entry, environ)
                        start_response(entry.status_line, headers)
                        return [body]
                except Problem:
                    pass  # 410 at max_clicks, 503: Flask renders the page (localised or JSON)
                except Exception as exc:  # noqa: BLE001 - Flask answers, logs and shapes the 500
                    if not self.reader.database.failed(exc):
                        log.exception("reader fast path failed; handing over to Flask")
        return self.flask_wsgi(environ, start_response)


def init_app(app: Flask, tracker: Tracker) -> Reader:
    """Put the lean path in front of the app's WSGI callable; cache invalidation wired."""
    from balise.web.context import state

    balise = state(app)
    reader = Reader(app, tracker, balise.database)
    balise.services["reader"] = reader
    balise.on_links_changed(reader.invalidator.changed)
    reader.invalidator.start()
    reader.feed.start()
    balise.on_shutdown(reader.invalidator.close)
    balise.on_shutdown(reader.feed.close)
    balise.on_shutdown(reader.cache.close)
    app.wsgi_app = ReaderPath(reader, app.wsgi_app)  # type: ignore[method-assign]
    return reader
