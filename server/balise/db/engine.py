"""One engine per app: SQLite in WAL mode with foreign keys on, or PostgreSQL through psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

CONNECT_TIMEOUT = 5  # seconds to open a PostgreSQL connection
# The databases Balise runs on, as (backend, driver): the drivers it installs.
DATABASES = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}


def unsupported(url: str) -> str | None:
    """Why Balise cannot run on `url` (never the URL itself: it may hold a password); None for
    SQLite, or PostgreSQL through psycopg 3."""
    try:
        parsed = make_url(url)
        found = (parsed.get_backend_name(), parsed.get_driver_name())
    except NoSuchModuleError:  # a backend SQLAlchemy does not know, e.g. postgres://
        found = (make_url(url).drivername, "")
    except ArgumentError:
        return "is not a database URL"
    if found in DATABASES:
        return None
    given = "+".join(part for part in found if part)
    return (
        "Balise runs on SQLite (sqlite:///path/to/balise.db) or PostgreSQL "
        f"(postgresql+psycopg://user:pass@host/db), not {given}"
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for `url`, with the per-connection settings each backend needs."""
    parsed = make_url(url)
    # Errors and logs never show SQL parameters: they may hold password hashes or key hashes.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = sqlite_file(url)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
            # As many pooled connections as PostgreSQL's: with SQLAlchemy's default of 5, the
            # reader threads' reads (8 by default) opened and closed a connection (four
            # PRAGMAs) for each read beyond the fifth.
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 20)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if "connect_timeout" not in parsed.query:
        # Without it, a database host that drops packets holds each new connection for
        # minutes; with it, a request fails in seconds and the outage rules take over.
        connect_args = {"connect_timeout": CONNECT_TIMEOUT, **kwargs.pop("connect_args", {})}
        kwargs["connect_args"] = connect_args
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
