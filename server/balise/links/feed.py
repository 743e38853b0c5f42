"""The change feed: every instance drops from its cache the links changed anywhere, within a poll.

Every unit of work that changes what a reader sees records the slugs in `link_changes` as it
commits (db/changes.py). Each serving instance reads the rows added since its last look every
BALISE_CACHE_POLL seconds (one query on the primary key) and invalidates those slugs, so a
change made through any instance or command shows everywhere within about one poll, with or
without Redis (whose pub/sub, invalidation.py, is at once). BALISE_CACHE_TTL only bounds what a
change the feed could not deliver would cost.

Ids are handed out as rows are written, not as transactions commit: on PostgreSQL a change
with a lower id may commit after a higher one was read. An id missing between ids seen is a
gap, asked for again at each poll until it shows; a gap still open after GAP_WAIT belonged to
a transaction that rolled back (or one far longer than any Balise runs), and, since it cannot
be told which, every entry is checked again before it is served (invalidate_all). On SQLite
writers take turns and ids come in commit order: there are no gaps.

Rows older than KEEP are pruned (each instance looks every PRUNE_EVERY). When a poll fails
(the database is away) entries are served as the outage rules say (cache.py); when polls
failed for more than half of KEEP, rows this instance never read may be gone, so every entry
is checked again. The first poll finds the feed's end; the cache's first read waits for it
(`ready`), so no entry can predate a change before that end (if it failed, the first poll that
works has every entry read meanwhile checked again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Engine

from balise.db import changes
from balise.links.cache import Outage
from balise.links.invalidation import Invalidatable

log = logging.getLogger(__name__)
KEEP = 3600.0  # seconds a change stays in the feed
PRUNE_EVERY = 300.0  # seconds between two prunes by one instance
GAP_WAIT = 600.0  # seconds an id missing between those seen is asked for again
MAX_GAPS = 10_000  # beyond, the gaps are given up (every entry is checked again)
BATCH = 5000  # rows read by one query; a poll reads until it has them all


class ChangeFeed:
    """Polls `link_changes` every `every` seconds; drops the slugs changed from `cache`."""

    def __init__(
        self,
        engine: Engine,
        cache: Invalidatable,
        every: float,
        *,
        outage: Outage | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.every = every
        self._outage = outage
        self._clock = clock
        self._now = now
        self._last: int | None = None  # the highest id read; None until the first poll
        self._exact = False  # whether every id up to _last is known (seen or a gap)
        self._gaps: dict[int, float] = {}  # id missing between those seen -> when noticed
        self._read_at = 0.0  # when the last poll that worked began
        self._prune_at = 0.0
        self._failing = False
        self._early = False  # the cache read before the feed's end was known
        self._tried = False
        self._lock = threading.Lock()  # one poll at a time: the thread's or a first reader's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0  # polls that worked

    def start(self) -> ChangeFeed:
        self._thread = threading.Thread(target=self._run, name="balise-feed", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while True:
            self.poll()
            if self._stop.wait(self.every):
                return

    def ready(self) -> None:
        """Called before the cache reads the database: the first time, poll first (so what the
        cache reads is at least as recent as the feed's end it knows)."""
        if self._last is not None:
            return
        with self._lock:  # a poll under way (the thread's first) is waited for
            if self._last is None and not self._tried:
                self._tried = True
                self._poll()
            if self._last is None:  # it failed: entries read meanwhile are checked later
                self._early = True

    def poll(self) -> bool:
        """Read the changes since the last poll and drop their slugs; False when it failed."""
        with self._lock:
            return self._poll()

    def _poll(self) -> bool:
        if self._outage is not None and self._outage.down:
            return False  # the database's probe tells when it is back
        began = self._clock()
        try:
            with self.engine.connect() as conn:
                if self._last is None:
                    self._begin(conn, began)
                else:
                    self._read(conn, began)
                if began >= self._prune_at:
                    self._prune_at = began + PRUNE_EVERY
                    self._prune(conn)
        except Exception as exc:  # noqa: BLE001 - the next poll tries again
            if (self._outage is None or not self._outage.failed(exc)) and not self._failing:
                log.exception("could not read the change feed of links")
            self._failing = True
            return False
        if self._failing:
            log.info("the change feed of links is read again")
        self._failing = False
        self.polls += 1
        return True

    def _begin(self, conn: Connection, began: float) -> None:
        """Find the end of the feed; entries read before it was known are checked again."""
        recent = changes.recorded_since(conn, self._now() - timedelta(seconds=GAP_WAIT))
        if recent:  # transactions still open may hold ids between these: gaps from now on
            self._last = recent[0][0]
            self._exact = True
            self._take(recent[1:], began)
        else:
            newest = changes.newest(conn)
            self._last = 0 if newest is None else newest
            self._exact = newest is not None  # empty: the next id may start anywhere
        self._read_at = began
        if self._early:
            self.cache.invalidate_all()

    def _read(self, conn: Connection, began: float) -> None:
        assert self._last is not None  # noqa: S101 - _begin ran
        lost = began - self._read_at > KEEP / 2  # rows not read yet may have been pruned
        while True:
            rows = changes.after(conn, self._last, self._gaps.keys(), BATCH)
            self._take(rows, began)
            if len(rows) < BATCH:
                break
        self._read_at = began
        expired = [i for i, noticed in self._gaps.items() if began - noticed > GAP_WAIT]
        for i in expired:
            del self._gaps[i]
        if lost or expired:
            log.info(
                "link changes may have been missed (%s): every cached link is checked again",
                "no poll for a while" if lost else f"{len(expired)} ids never committed",
            )
            self.cache.invalidate_all()

    def _take(self, rows: list[tuple[int, str]], began: float) -> None:
        assert self._last is not None  # noqa: S101 - set before
        for i, key in rows:
            if self._gaps.pop(i, None) is None and i > self._last:
                if self._exact and i > self._last + 1:
                    self._gap(range(self._last + 1, i), began)
                self._last, self._exact = i, True
            self.cache.invalidate(key)

    def _gap(self, ids: range, began: float) -> None:
        if len(self._gaps) + len(ids) > MAX_GAPS:
            log.info("too many link changes not committed yet: every cached link checked again")
            self._gaps.clear()
            self.cache.invalidate_all()
            return
        for i in ids:
            self._gaps[i] = began

    def _prune(self, conn: Connection) -> None:
        conn.rollback()  # the reads' transaction: the prune is one of its own
        with conn.begin():
            gone = changes.prune(conn, self._now() - timedelta(seconds=KEEP))
        if gone:
            log.debug("pruned %d old link changes", gone)
