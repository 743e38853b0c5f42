"""Knowing when the database is away: which errors mean it, one log line each way, a probe.

`unavailable(exc)` tells an outage (refused or lost connections, a server shutting down, a
full pool, a locked or unreadable SQLite file) from a bug. `DatabaseStatus` watches its engine:
the first such error logs once that the database is unreachable and starts a probe that tries
`SELECT 1` every second; the first statement that succeeds afterwards, the probe's or any
other, logs once that it is back. Callers turn outages into 503s instead of tracebacks.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from balise.errors import ServiceUnavailable

log = logging.getLogger("balise.database")

PROBE_EVERY = 1.0  # seconds between two probes while the database is away
# PostgreSQL SQLSTATE classes: connection exception, insufficient resources (too many
# connections, disk full), operator intervention (shutdown, starting up), system error.
_PG_CLASSES = ("08", "53", "57", "58")
# SQLite primary result codes: BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_CODES = {5, 6, 8, 10, 13, 14, 15}
_SQLITE_MESSAGES = (
    "database is locked",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
    "readonly database",
)


RETRY_AFTER = 5  # seconds, said to clients in Retry-After while the database is away


class DatabaseUnavailable(ServiceUnavailable):
    """503: the request needs the database and it does not answer."""

    def __init__(self) -> None:
        super().__init__("The database does not answer; try again in a few seconds.")
        self.headers = [("Retry-After", str(RETRY_AFTER))]


def unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached or used now, not that a query is
    wrong: such a request may succeed if retried later."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_CODES
    if type(orig).__module__.startswith("sqlite3"):
        return any(text in str(orig).lower() for text in _SQLITE_MESSAGES)
    sqlstate = getattr(orig, "sqlstate", None)
    # psycopg raises OperationalError without a SQLSTATE when the connection itself fails.
    return sqlstate is None or str(sqlstate)[:2] in _PG_CLASSES


def describe(exc: BaseException) -> str:
    """One short line naming the error (never a URL or a password: drivers do not put them
    in these messages)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{orig.__class__.__name__}: {first}" if first else orig.__class__.__name__


class DatabaseStatus:
    """Whether the engine's database answers, as last seen; thread-safe."""

    def __init__(self, engine: Engine, *, stale_for: float = 0.0) -> None:
        self.engine = engine
        self.stale_for = stale_for  # only said in the log line
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._stop = threading.Event()
        self._probe: threading.Thread | None = None
        event.listen(engine, "handle_error", self._on_error)
        event.listen(engine, "after_cursor_execute", self._on_success)

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException) -> bool:
        """Note `exc` if it means an outage (logged on the first one); True when it does."""
        if not unavailable(exc):
            return False
        with self._lock:
            if self._down_since is not None or self._stop.is_set():
                return True
            self._down_since = time.monotonic()
            self._probe = threading.Thread(target=self._run_probe, name="balise-db-probe")
            self._probe.daemon = True
            self._probe.start()
        log.warning(
            "database unreachable (%s); cached links are served for up to %.0f s more, "
            "everything else answers 503 until it is back",
            describe(exc),
            self.stale_for,
        )
        return True

    def answered(self) -> None:
        """A statement succeeded: the database is back if it was away."""
        if self._down_since is None:
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            log.warning("database reachable again after %.1f s", time.monotonic() - since)

    def _on_error(self, context: Any) -> None:
        if context.is_pre_ping:  # the pool reconnects at once; that attempt reports itself
            return
        self.failed(context.sqlalchemy_exception or context.original_exception)

    def _on_success(self, *_args: Any) -> None:
        self.answered()

    def _run_probe(self) -> None:
        while self.down and not self._stop.wait(PROBE_EVERY):
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
            except Exception:  # noqa: BLE001, S112 - still away; the next probe tries again
                continue

    def error(self) -> DatabaseUnavailable:
        return DatabaseUnavailable()

    def close(self) -> None:
        self._stop.set()
        probe = self._probe
        if probe is not None:
            probe.join(PROBE_EVERY + 5)
