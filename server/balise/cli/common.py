"""Helpers every `balise` sub-command shares: settings, one connection, logging."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import Connection

from balise import config
from balise.db import make_engine


def settings() -> dict[str, Any]:
    """The settings from BALISE_* variables; a bad value is a usage error, not a traceback."""
    try:
        return config.load()
    except config.SettingError as exc:
        raise click.UsageError(str(exc)) from None


@contextmanager
def connection(*, write: bool) -> Iterator[Connection]:
    """One connection for a command, in a transaction when it writes; engine disposed after."""
    engine = make_engine(settings()["DATABASE_URL"])
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
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
