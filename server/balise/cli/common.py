"""Helpers every `balise` sub-command shares: settings, one connection, logging.

Commands other than `serve` and `db upgrade` only open a database that exists and is migrated:
otherwise they say so in one line, naming the database (never its password), and exit 1
without creating anything.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from balise import config
from balise.db import make_engine
from balise.db.engine import sqlite_file
from balise.db.migrate import current, head


def settings() -> dict[str, Any]:
    """The settings from BALISE_* variables; a bad value is a usage error, not a traceback."""
    try:
        return config.load()
    except config.SettingError as exc:
        raise click.UsageError(str(exc)) from None


def shown(url: str) -> str:
    """The database URL as it may be printed: its password masked."""
    return make_url(url).render_as_string(hide_password=True)


def _reason(exc: DBAPIError) -> str:
    """The driver's first line, without the SQL or its parameters."""
    text = str(exc.orig).strip().splitlines()
    return f"{exc.orig.__class__.__name__}: {text[0] if text else ''}"


def database_failure(url: str, exc: DBAPIError) -> click.ClickException:
    """A database that does not answer, in one line: which one (password masked) and why."""
    return click.ClickException(f"cannot open the database {shown(url)} ({_reason(exc)})")


def make_directories(values: dict[str, Any]) -> None:
    """The data directory and the SQLite database's own, made if missing; one line on failure."""
    wanted = [("the data directory (BALISE_DATA_DIR)", Path(values["DATA_DIR"]))]
    database = sqlite_file(values["DATABASE_URL"])
    if database is not None:
        wanted.append(("the database's directory", database.parent))
    for what, path in wanted:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise click.ClickException(
                f"cannot create {what} {path} ({exc.strerror or exc})"
            ) from None


def open_database() -> Engine:
    """The engine of the configured database once it is known to exist and be migrated."""
    url = settings()["DATABASE_URL"]
    database = sqlite_file(url)
    if database is not None and not database.is_file():  # connecting would create it
        raise click.ClickException(
            f"no Balise database at {shown(url)}: set BALISE_DATA_DIR or "
            "BALISE_DATABASE_URL to yours, or create one with `balise db upgrade`"
        )
    engine = make_engine(url)
    try:
        revision = current(engine)
    except DBAPIError as exc:
        engine.dispose()
        raise database_failure(url, exc) from None
    if revision != head():
        engine.dispose()
        found = f"at revision {revision}" if revision else "empty"
        raise click.ClickException(
            f"the database {shown(url)} is not migrated ({found}, this Balise needs "
            f"{head()}): run `balise db upgrade` first"
        )
    return engine


def check_database() -> None:
    """Fail early (before asking for a password, say) when the database is not usable."""
    open_database().dispose()


@contextmanager
def connection(*, write: bool) -> Iterator[Connection]:
    """One connection for a command, in a transaction when it writes; engine disposed after.

    Database errors end the command with one line (SQL parameters are never shown).
    """
    engine = open_database()
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    except DBAPIError as exc:
        raise click.ClickException(
            f"database error on {shown(str(engine.url))} ({_reason(exc)})"
        ) from None
    finally:
        engine.dispose()


def setup_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # Alembic tells each step at INFO; balise.db.migrate says in one line what changed.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # Waitress warns "Task queue depth is N" for every request queued while its threads are
    # busy: thousands of lines a second at full load, a cost of their own (about 3 % of the
    # CPU in the reader benchmark's profile) and no news (balise_request_duration_seconds).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
