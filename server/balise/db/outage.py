"""Knowing when the database is away: which errors mean it, one log line each way, a probe.

`unavailable(exc)` tells a database that cannot serve a request now (a retry may succeed:
answer 503) from a bug; `unreachable(exc)` is the worst of those, an outage (refused or lost
connections, a server shutting down, a full pool). `DatabaseStatus` watches its engine: the
first outage error logs once that the database is unreachable and starts a probe that tries
`SELECT 1` every second; the first statement that succeeds afterwards, the probe's or any
other, logs once that it is back. Meanwhile the slug cache serves what it holds.
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
RETRY_AFTER = 5  # seconds, said to clients in Retry-After while the database is away
# PostgreSQL SQLSTATEs of a server that cannot be reached or used at all (connection
# exceptions, too many connections, shutting down or starting up), then those a retry may
# not meet (resources, operator intervention, system errors, lock waits, conflicts).
_PG_UNREACHABLE = ("08", "53300", "57P01", "57P02", "57P03")
_PG_TRANSIENT = ("53", "57", "58", "55P03", "40001", "40P01")
# SQLite primary result codes: CANTOPEN means the file cannot be used at all; BUSY, LOCKED,
# READONLY, IOERR, FULL and PROTOCOL may pass (in WAL mode a lock never stops readers).
_SQLITE_UNREACHABLE = {14}
_SQLITE_TRANSIENT = {5, 6, 8, 10, 13, 15}
_SQLITE_MESSAGES = {  # for Python 3.10, whose sqlite3 errors carry no code
    "unable to open database file": 14,
    "database is locked": 5,
    "disk i/o error": 10,
    "database or disk is full": 13,
    "readonly database": 8,
}


class DatabaseUnavailable(ServiceUnavailable):
    """503: the request needs the database and it does not answer."""

    def __init__(self) -> None:
        super().__init__("The database does not answer; try again in a few seconds.")
        self.headers = [("Retry-After", str(RETRY_AFTER))]


def unreachable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached at all: an outage."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = _code(exc)
    if isinstance(code, int):
        return code in _SQLITE_UNREACHABLE
    return code is not None and (code == "" or code.startswith(_PG_UNREACHABLE))


def unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot serve this request now (an outage, a lock
    held too long, a full disk), not that the request is wrong: a retry may succeed."""
    if unreachable(exc):
        return True
    code = _code(exc)
    if isinstance(code, int):
        return code in _SQLITE_TRANSIENT
    return code is not None and code.startswith(_PG_TRANSIENT)


def _code(exc: BaseException) -> int | str | None:
    """SQLite's primary result code, PostgreSQL's SQLSTATE ("" when the connection itself
    failed), or None for anything that is not a driver's operational error."""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return None
    orig = exc.orig
    if type(orig).__module__.startswith("sqlite3"):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is None:
            text = str(orig).lower()
            code = next((c for m, c in _SQLITE_MESSAGES.items() if m in text), -1)
        return int(code) & 0xFF
    # psycopg raises OperationalError without a SQLSTATE when the connection itself fails.
    return str(getattr(orig, "sqlstate", None) or "")


def describe(exc: BaseException) -> str:
    """One short line naming the error (drivers put no password in these messages)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{orig.__class__.__name__}: {first}" if first else orig.__class__.__name__


class DatabaseStatus:
    """Whether the engine's database can be reached, as last seen; thread-safe."""

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
        """True when `exc` means the database cannot serve requests now (answer 503); an
        outage is noted, and logged when it begins."""
        if unreachable(exc):
            self._lost(exc)
            return True
        return unavailable(exc)

    def error(self) -> DatabaseUnavailable:
        return DatabaseUnavailable()

    def _lost(self, exc: BaseException) -> None:
        with self._lock:
            if self._down_since is not None or self._stop.is_set():
                return
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
        exc = context.sqlalchemy_exception or context.original_exception
        if unreachable(exc):
            self._lost(exc)

    def _on_success(self, *_args: Any) -> None:
        self.answered()

    def _run_probe(self) -> None:
        while self.down and not self._stop.wait(PROBE_EVERY):
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
            except Exception:  # noqa: BLE001, S112 - still away; the next probe tries again
                continue

    def close(self) -> None:
        self._stop.set()
        probe = self._probe
        if probe is not None:
            probe.join(PROBE_EVERY + 5)
