"""Storing one batch of hits and confirmations: one transaction, retried until it commits.

- A transient database error (outage, lock held too long) keeps the batch and retries it with
  back-off, at most `retry_max` apart, until `give_up_at` (set at shutdown).
- A batch that a bad item makes fail for another reason is split until that item is alone; it
  is logged and dropped, the rest stored.
- A retried batch whose previous attempt committed (only its reply was lost) is not stored
  twice: its clicks' uids are looked up first.
- A confirmation whose click is not stored yet waits for a later batch, for `confirm_window`.
- Locks are waited for at most `lock_timeout` (not the engine's 30 s), so a locked database is
  retried rather than stalling the writer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Union

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from balise.analytics.clicks import BatchResult, Confirmation, Hit, any_click_stored, write_batch
from balise.analytics.geoip import CountryLookup
from balise.analytics.visitors import SaltStore, day_of
from balise.db.outage import describe, unreachable

log = logging.getLogger(__name__)

Item = Union[Hit, Confirmation]  # noqa: UP007 - a runtime alias on Python 3.10
TRANSIENT = (OperationalError, InterfaceError, PoolTimeout)
SQLITE_BUSY_MS = 30000  # engine default, restored after the writer's shorter wait
RETRY_MAX = 5.0  # longest wait between two attempts at storing a batch


class BatchStore:
    def __init__(
        self,
        engine: Engine,
        *,
        countries: CountryLookup,
        own_host: str | None,
        clock: Callable[[], datetime],
        lock_timeout: float,
        retry_base: float,
        retry_max: float,
        confirm_window: float,
    ) -> None:
        self.engine = engine
        self.countries = countries
        self.own_host = own_host
        self.clock = clock
        self.lock_timeout = lock_timeout
        self.retry_base, self.retry_max = retry_base, retry_max
        self.confirm_window = confirm_window
        self.salts = SaltStore(self.transaction)
        self.give_up_at = float("inf")
        # Held while committing and while reading a stored count against `committed`, so the
        # two agree (Recorder._baseline).
        self.commit_lock = threading.Lock()
        self.committed: Counter[int] = Counter()  # clicks stored by this process, per link
        # Read by /metrics; only written while storing, under _write_lock.
        self.stored_total = 0
        self.store_failures = 0
        self._write_lock = threading.Lock()
        self._unmatched: list[Confirmation] = []

    @property
    def waiting(self) -> bool:
        """Whether confirmations wait for their click."""
        return bool(self._unmatched)

    def commit(self, items: Sequence[Item]) -> None:
        """Store items (and confirmations still waiting for their click), retrying on errors."""
        with self._write_lock:
            now = self.clock()
            waiting = [
                c
                for c in self._unmatched
                if (now - c.clicked_at).total_seconds() <= self.confirm_window
            ]
            self._unmatched = []
            self._store([*items, *waiting])

    def store_unacknowledged(self, items: list[Item]) -> None:
        """Store a batch that may or may not have been committed before its reply was lost."""
        with self._write_lock:
            self._store(list(items), maybe_stored=True)

    def _store(self, items: list[Item], maybe_stored: bool = False) -> None:
        attempt = 0
        while True:
            try:
                result = self._write(items, retry=attempt > 0 or maybe_stored)
            except TRANSIENT as exc:
                attempt += 1
                self.store_failures += 1
                if time.monotonic() > self.give_up_at:
                    log.error("giving up at shutdown: %d clicks not stored (%s)", len(items), exc)
                    return
                delay = min(self.retry_base * 2 ** (attempt - 1), self.retry_max)
                log.log(
                    logging.DEBUG if unreachable(exc) else logging.WARNING,
                    "storing %d clicks failed (%s); retry %d in %.1fs",
                    len(items),
                    describe(exc),
                    attempt,
                    delay,
                )
                time.sleep(delay)
                continue
            except Exception as exc:  # noqa: BLE001 - a bad item must not stop the writer
                self._isolate(items, exc)
                return
            if attempt:
                log.info("stored %d clicks after %d retries", len(items), attempt)
            self._unmatched.extend(result.unmatched)
            return

    def _isolate(self, items: list[Item], exc: Exception) -> None:
        """A non-transient error: split the batch until the item that causes it is alone."""
        if len(items) == 1:
            log.error("dropping one %r that the database refuses: %s", items[0], exc)
            return
        half = len(items) // 2
        self._store(items[:half])
        self._store(items[half:])

    def _write(self, items: list[Item], *, retry: bool) -> BatchResult:
        hits = [i for i in items if isinstance(i, Hit)]
        confirmations = [i for i in items if isinstance(i, Confirmation)]
        now = self.clock()
        salts = {
            day: self.salts.salt_for(day, now)
            for day in {day_of(h.ts) for h in hits if h.kind == "click" and not h.dnt}
        }
        with self.transaction() as conn:
            if retry and any_click_stored(conn, [h.uid for h in hits if h.uid]):
                return BatchResult()  # the last attempt committed; only its reply was lost
            result = write_batch(
                conn,
                hits,
                confirmations,
                salt_for=salts.__getitem__,
                country_for=self.countries.country,
                own_host=self.own_host,
                now=now,
            )
            with self.commit_lock:
                conn.commit()
                self.committed.update(result.clicks_by_link)
                self.stored_total += sum(result.clicks_by_link.values())
            return result

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction that waits at most lock_timeout for locks (rather than
        the engine's 30 s) so a locked database is retried; committed when the block ends."""
        with self.engine.connect() as conn:
            conn.begin()
            try:
                self._short_waits(conn)
                yield conn
                if conn.in_transaction():
                    conn.commit()
            finally:
                if conn.in_transaction():
                    conn.rollback()
                self._restore_waits(conn)

    def _short_waits(self, conn: Connection) -> None:
        ms = int(self.lock_timeout * 1000)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {ms}")

    def _restore_waits(self, conn: Connection) -> None:
        if conn.dialect.name != "sqlite":
            return  # SET LOCAL ended with the transaction
        try:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
            conn.commit()
        except SQLAlchemyError:
            conn.invalidate()  # never hand the pool a connection with the short wait
