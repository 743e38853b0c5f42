"""The delivery worker: a thread in every instance that sends what the outbox holds.

Each turn it turns queued clicks into `clicks` events (at most one a second per endpoint),
claims due deliveries with a lease (deliveries.claim), sends them from a small pool
(WEBHOOK_CONCURRENCY), and records each attempt. A failed attempt is retried after the next
wait of WEBHOOK_RETRY_SCHEDULE, +/- 20 % jitter so receivers coming back are not hit by
every instance at once; after the last one the delivery is failed. An endpoint whose
deliveries have all failed for WEBHOOK_DISABLE_AFTER_DAYS is disabled. close() (SIGTERM,
through the app's shutdown) stops claiming, lets sends under way finish, and gives back
anything claimed and not sent.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine

from balise.integrations import deliveries, outbox, signing, transport
from balise.integrations.deliveries import Job
from balise.integrations.webhooks import record_failure, record_success

log = logging.getLogger(__name__)
JITTER = 0.2
LEASE_MARGIN = 30.0  # seconds a lease outlives the send timeout
CLICKS_EVERY = 0.25  # seconds between two looks for clicks to send
PURGE_EVERY = 3600.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Options:
    base_url: str
    user_agent: str
    timeout: float = 10.0
    schedule: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 28800.0, 28800.0)
    disable_after: timedelta = timedelta(days=5)
    poll_interval: float = 1.0
    concurrency: int = 4
    allow_private: bool = False
    log_days: int = 30

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.timeout + LEASE_MARGIN)


def retry_at(attempts: int, schedule: tuple[float, ...], now: datetime) -> datetime | None:
    """When to try again after `attempts` failed attempts; None once the schedule is spent."""
    if attempts > len(schedule):
        return None
    wait = schedule[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
    return now + timedelta(seconds=wait)


class Worker:
    def __init__(self, engine: Engine, options: Options, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.options = options
        self.clock = clock
        self.owner = secrets.token_hex(8)  # this worker's name on its leases
        self.results: Counter[str] = Counter()  # delivered | retried | failed, by this worker
        self._results_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, options.concurrency))
        self._pool = ThreadPoolExecutor(max(1, options.concurrency), "balise-webhook")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="balise-webhooks", daemon=True)
        self._clicks_at = 0.0
        self._purge_at = time.monotonic() + 60.0
        self._failing = False

    def result_counts(self) -> dict[str, int]:
        with self._results_lock:
            return dict(self.results)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    def close(self) -> None:
        """Stop claiming, let sends under way end (each within the timeout), give back the rest."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True)
        try:
            with self.engine.begin() as conn:
                deliveries.release(conn, self.owner)
        except Exception as exc:  # noqa: BLE001 - leases expire by themselves
            log.warning("webhooks: could not release claimed deliveries (%s)", exc)

    # -- loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self.step()
                if self._failing:
                    log.info("webhooks: the database answers again")
                self._failing = False
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any failure
                if not self._failing:
                    log.warning("webhooks: delivery turn failed (%s); retrying", exc)
                self._failing = True
                claimed = 0
            if not claimed:
                self._wake.wait(self.options.poll_interval)
                self._wake.clear()

    def step(self) -> int:
        """One turn: clicks events, then claim and start as many sends as there are free
        slots; returns how many were started."""
        self._make_clicks_events()
        self._maybe_purge()
        free = self._free_slots()
        if not free:
            return 0  # every slot busy: a finishing send wakes the loop
        try:
            with self.engine.begin() as conn:
                jobs = deliveries.claim(
                    conn,
                    self.clock(),
                    limit=free,
                    lease=self.options.lease,
                    owner=self.owner,
                )
        except BaseException:
            self._give_back(free)
            raise
        self._give_back(free - len(jobs))
        for job in jobs:
            self._pool.submit(self._deliver, job)
        return len(jobs)

    def _free_slots(self) -> int:
        free = 0
        while self._slots.acquire(blocking=False):
            free += 1
        return free

    def _give_back(self, count: int) -> None:
        for _ in range(count):
            self._slots.release()

    def _make_clicks_events(self) -> None:
        if time.monotonic() < self._clicks_at:
            return
        self._clicks_at = time.monotonic() + CLICKS_EVERY
        now = self.clock()
        with self.engine.connect() as conn:
            due = outbox.due_click_endpoints(conn, now)
        for endpoint_id in due:
            with self.engine.begin() as conn:
                outbox.make_clicks_event(conn, endpoint_id, now)

    def _maybe_purge(self) -> None:
        if time.monotonic() < self._purge_at:
            return
        self._purge_at = time.monotonic() + PURGE_EVERY
        before = self.clock() - timedelta(days=self.options.log_days)
        with self.engine.begin() as conn:
            gone = outbox.purge(conn, before)
        if any(gone):
            log.info("webhooks: forgot %d finished deliveries and %d events", *gone)

    # -- one delivery ---------------------------------------------------------------------

    def _deliver(self, job: Job) -> None:
        try:
            outcome = self.send(job)
            self._record(job, outcome)
        except Exception:  # noqa: BLE001 - the lease expires and another turn retries
            log.exception("webhooks: delivery %d could not be recorded", job.id)
        finally:
            self._slots.release()
            self._wake.set()

    def send(self, job: Job) -> transport.Outcome:
        """Sign and POST the event; the timestamp is the attempt's, as the spec wants."""
        options = self.options
        body = outbox.body(
            job.event_uid, job.event_type, job.created_at, job.data, options.base_url
        )
        headers = signing.headers(job.secrets, job.event_uid, int(time.time()), body)
        return transport.post(
            job.url,
            body,
            headers,
            timeout=options.timeout,
            allow_private=options.allow_private,
            user_agent=options.user_agent,
        )

    def _record(self, job: Job, outcome: transport.Outcome) -> None:
        now = self.clock()
        again = None if outcome.ok else retry_at(job.attempts + 1, self.options.schedule, now)
        with self.engine.begin() as conn:
            kept = deliveries.finish(
                conn,
                job,
                now,
                delivered=outcome.ok,
                http_status=outcome.status,
                error=outcome.error,
                retry_at=again,
            )
            if not kept:
                log.warning("webhooks: lease on delivery %d expired during the send", job.id)
            if outcome.ok:
                record_success(conn, job.endpoint_id)
            elif record_failure(conn, job.endpoint_id, now, self.options.disable_after):
                log.warning(
                    "webhooks: endpoint %d disabled after failing for days", job.endpoint_id
                )
        result = "delivered" if outcome.ok else ("retried" if again else "failed")
        with self._results_lock:
            self.results[result] += 1
        if not outcome.ok:
            log.info("webhooks: delivery %d to %s: %s", job.id, job.url, outcome.error)


def options_from(settings: Mapping[str, Any], version: str) -> Options:
    """The worker's options from the app's settings."""
    base_url = str(settings["BASE_URL"])
    return Options(
        base_url=base_url,
        user_agent=f"Balise-Webhooks/{version} (+{base_url})",
        timeout=float(settings["WEBHOOK_TIMEOUT"]),
        schedule=tuple(float(s) for s in settings["WEBHOOK_RETRY_SCHEDULE"]),
        disable_after=timedelta(days=float(settings["WEBHOOK_DISABLE_AFTER_DAYS"])),
        poll_interval=float(settings["WEBHOOK_POLL_INTERVAL"]),
        concurrency=int(settings["WEBHOOK_CONCURRENCY"]),
        allow_private=bool(settings["FETCH_ALLOW_PRIVATE"]),
        log_days=int(settings["WEBHOOK_LOG_DAYS"]),
    )
