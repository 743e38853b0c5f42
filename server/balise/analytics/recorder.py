"""The click recorder: requests hand hits to a bounded buffer; one writer thread stores them.

- The request never waits on the database, only on the buffer: a full buffer blocks it
  (back-pressure) rather than dropping a click.
- The writer inserts in batches (BALISE_CLICK_BATCH_SIZE, BALISE_CLICK_FLUSH_INTERVAL) and adds to
  hourly counters by upsert, so no request ever locks a per-link row; under `balise serve` it
  hands each batch to the click store process (storeproc.py) instead.
- A batch is stored by batchstore.BatchStore: retried through outages, a bad row isolated.
  During an outage the buffer keeps filling: it absorbs queue_size clicks, then requests wait
  for room. The outage itself is logged once, by db.outage.
- Beacon confirmations go through the same buffer, so one never overtakes its click.
- close() (SIGTERM, normal exit) stores everything buffered before returning.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import Engine

from balise.analytics import classify, valuepairs
from balise.analytics.batchstore import RETRY_MAX, TRANSIENT, BatchStore, Item
from balise.analytics.buffer import ClickBuffer, Stop
from balise.analytics.clicks import Confirmation, Hit, purge_expired, served_clicks
from balise.analytics.geoip import CountryLookup
from balise.analytics.visitors import SaltStore
from balise.db.outage import describe, unreachable
from balise.links.store import Link


class StoreProcess(Protocol):
    """Where batches go instead of the database: storeproc.StoreProcess."""

    alive: bool

    def send(self, items: list[Item], waiters: list[threading.Event]) -> None: ...

    def kill(self) -> None: ...

    def close(self, timeout: float) -> None: ...


log = logging.getLogger(__name__)

__all__ = ["CLOSE_TIMEOUT", "Item", "Recorder"]
BASELINE_TTL = 10.0  # seconds before a max_clicks link's stored count is read again
CLOSE_TIMEOUT = 20.0  # seconds close() retries an unreachable database (under systemd's 30 s)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Recorder:
    def __init__(
        self,
        engine: Engine,
        *,
        own_host: str | None = None,
        batch_size: int = 2000,
        flush_interval: float = 1.0,
        queue_size: int = 100_000,
        retention_days: int = 395,
        countries: CountryLookup | None = None,
        clock: Callable[[], datetime] = utcnow,
        lock_timeout: float = 5.0,
        retry_base: float = 0.5,
        retry_max: float = RETRY_MAX,
        confirm_window: float = 600.0,
        purge_every: float = 86400.0,
        first_purge_after: float = 300.0,
    ) -> None:
        self.engine = engine
        self.own_host = own_host
        self.batch_size = max(1, batch_size)
        self.flush_interval = max(0.001, flush_interval)
        self.retention_days = retention_days
        self.countries = countries or CountryLookup(None)
        self.clock = clock
        self.purge_every = purge_every
        self._next_purge = time.monotonic() + first_purge_after
        self.store = BatchStore(
            engine,
            countries=self.countries,
            own_host=own_host,
            clock=lambda: self.clock(),  # the recorder's, which may be replaced (tests)
            lock_timeout=lock_timeout,
            retry_base=retry_base,
            retry_max=retry_max,
            confirm_window=confirm_window,
        )
        self.salts: SaltStore = self.store.salts
        self._buffer: ClickBuffer[Item] = ClickBuffer(
            queue_size, self.batch_size, self.flush_interval
        )
        self._lock = threading.Lock()
        self._closed = False
        self._enqueued: Counter[int] = Counter()
        self._baselines: dict[int, tuple[int, float]] = {}
        self._thread = threading.Thread(target=self._run, name="balise-clicks", daemon=True)
        self._process: StoreProcess | None = None

    @property
    def stored_total(self) -> int:
        """Clicks this process stored, or its click store process did (/metrics)."""
        return self.store.stored_total

    @property
    def store_failures(self) -> int:
        """Failed attempts at storing a batch (/metrics)."""
        return self.store.store_failures

    def store_through(self, process: StoreProcess) -> None:
        """Hand batches to a click store process (storeproc.start) instead of storing them."""
        self._process = process

    # -- request side ---------------------------------------------------------------------

    def start(self) -> Recorder:
        self._thread.start()
        atexit.register(self.close)
        return self

    def record(self, hit: Hit) -> None:
        """Buffer a hit; blocks while the buffer is full (back-pressure, never a drop)."""
        self._put(hit)

    def confirm(self, confirmation: Confirmation) -> None:
        self._put(confirmation)

    def admit(self, link: Link, is_click: bool) -> bool:
        """False when the link has served its max_clicks; else counts a click being served."""
        base = self._baseline(link.id) if link.max_clicks is not None else 0
        with self._lock:
            if link.max_clicks is not None and base + self._enqueued[link.id] >= link.max_clicks:
                return False
            if is_click:
                self._enqueued[link.id] += 1
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything buffered so far is stored; False on timeout."""
        if self._closed or not self._thread.is_alive():
            return True
        done = threading.Event()
        self._buffer.mark(done)
        if self._closed and not self._thread.is_alive():  # close() drained it before
            self._store_leftovers()
        return done.wait(timeout)

    def pending(self) -> int:
        return len(self._buffer)

    def has_room(self) -> bool:
        """Whether a click recorded now would be buffered at once (no back-pressure wait)."""
        return self._buffer.has_room()

    def _put(self, item: Item) -> None:
        self._buffer.put(item)
        # Appended after the writer stopped: store it now rather than lose it. close() drains
        # the buffer once the writer has stopped; a click appended later sees the writer gone.
        if self._closed and not self._thread.is_alive():
            self._store_leftovers()

    def _baseline(self, link_id: int) -> int:
        """Clicks stored by others (earlier runs, other instances) as of a recent read."""
        cached = self._baselines.get(link_id)
        if cached is not None and time.monotonic() - cached[1] < BASELINE_TTL:
            return cached[0]
        try:
            # Under the commit lock, the stored count and what this process committed agree.
            with self.store.commit_lock, self.engine.connect() as conn:
                base = served_clicks(conn, link_id) - self.store.committed[link_id]
        except TRANSIENT:
            if cached is None:
                raise
            # The database is away: count on from the last count read; try again later.
            base = cached[0]
        self._baselines[link_id] = (base, time.monotonic())
        return base

    # -- shutdown -------------------------------------------------------------------------

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Store everything buffered, then stop the writer (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self.store.give_up_at = time.monotonic() + timeout  # when the database never answers
            self._closed = self._buffer.closed = True
        atexit.unregister(self.close)
        self._buffer.release_waiting()  # requests waiting for room store their clicks themselves
        if self._thread.is_alive():
            self._buffer.mark(Stop())
            self._thread.join(None if self._process is None else timeout + 10)
            if self._thread.is_alive() and self._process is not None:
                # The child is stuck (the database never answered) and the pipe is full: stop
                # it, so the writer takes its batches back and gives up with them at timeout.
                self._process.kill()
                self._thread.join()
        if self._process is not None:
            self._process.close(timeout)
        self._store_leftovers()
        self.countries.close()
        log.info(
            "clicks served: %d, stored: %d",
            sum(self._enqueued.values()),
            sum(self.store.committed.values()),
        )

    def _store_leftovers(self) -> None:
        """After close: store what the buffer holds, from whichever thread gets there."""
        leftovers, waiters = self._buffer.drain()
        if leftovers:
            self.store.commit(leftovers)
        for event in waiters:
            event.set()

    # -- writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            classify.warm_up()
        except Exception:  # noqa: BLE001 - rules compile again on first use
            log.exception("could not compile the user-agent rules in advance")
        while True:
            self._prepare_salts()
            due = self._buffer.due()
            if due > 0:
                self._buffer.wait(due)
                if self._buffer.due() > 0:
                    if not len(self._buffer) and self.store.waiting:
                        self.store.commit([])  # confirmations waiting for their click
                    self._maybe_purge()
                    continue
            batch, waiters, stopping = self._buffer.take()
            remote = self._process
            if remote is not None and remote.alive:
                if batch or waiters:
                    remote.send(batch, waiters)  # it releases the waiters once stored
            else:
                if batch or (self.store.waiting and not len(self._buffer)):
                    self.store.commit(batch)
                for event in waiters:
                    event.set()
            if stopping:
                return
            self._maybe_purge()

    def _prepare_salts(self) -> None:
        try:
            self.salts.prepare(self.clock())
        except Exception as exc:  # noqa: BLE001 - retried on the next turn and when writing
            level = logging.DEBUG if unreachable(exc) else logging.WARNING  # outages: db.outage
            log.log(level, "could not prepare the visitor salts (%s)", describe(exc))

    def _maybe_purge(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self.purge_every
        try:
            self.purge()
        except Exception as exc:  # noqa: BLE001 - the writer must outlive any failure
            log.warning("click retention purge failed (%s); next try in an hour", exc)
            self._next_purge = time.monotonic() + 3600

    def purge(self, now: datetime | None = None) -> tuple[int, int]:
        """Delete raw clicks and robot hits past the retention period, and past days' salts;
        refresh the planner statistics SQLite needs (valuepairs.refresh_statistics)."""
        with self.store.transaction() as conn:
            gone = purge_expired(conn, now or self.clock(), self.retention_days)
            valuepairs.refresh_statistics(conn)
        if any(gone):
            log.info("retention: deleted %d clicks and %d robot hits", *gone)
        return gone

    # -- the click store process (storeproc.py) ------------------------------------------

    def count_stored(self, by_link: Counter[int], stored: int, failures: int) -> None:
        """The child stored these clicks (parent side)."""
        with self.store.commit_lock:
            self.store.committed.update(by_link)
        self.store.stored_total += stored
        self.store.store_failures += failures

    def store_unacknowledged(self, items: list[Item]) -> None:
        """Store a batch the child may or may not have committed before it died."""
        self.store.store_unacknowledged(items)

    def committed(self) -> Counter[int]:
        return self.store.committed

    def store_batch(self, items: list[Item]) -> None:
        """Store one batch now, from the calling thread (the child's loop)."""
        self._prepare_salts()
        self.store.commit(items)
        self._maybe_purge()

    def idle_turn(self) -> None:
        """Nothing arrived for a flush interval: confirmations waiting, purge, salts."""
        self._prepare_salts()
        if self.store.waiting:
            self.store.commit([])
        self._maybe_purge()

    def finish(self, give_up_at: float) -> None:
        """The last turn of the child: confirmations still waiting get one more try."""
        self.store.give_up_at = give_up_at
        if self.store.waiting:
            self.store.commit([])
