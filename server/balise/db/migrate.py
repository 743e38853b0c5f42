"""Run Alembic migrations programmatically, the one path every backend takes."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)
# Any constant works; it only has to be the same for every Balise instance.
_PG_MIGRATION_LOCK = 0x42414C495345


def alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at `engine` up to `revision`.

    On PostgreSQL a transaction-scoped advisory lock serialises instances that start together,
    so the second one finds the work done instead of racing the first.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(alembic_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
    if after == before:
        return
    if before is None:
        log.info("database schema created (revision %s)", after)
    else:
        log.info("database schema upgraded from revision %s to %s", before, after)


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    """The revision this code's migrations end at."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
