"""Scratch PostgreSQL databases for tests and benchmarks: created on demand, dropped after."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def psycopg_url(url: str) -> str:
    """`url` with the psycopg 3 driver named (postgresql:// defaults to psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def scratch_database(
    admin_url: str, prefix: str = "balise_scratch"
) -> tuple[str, Callable[[], None]]:
    """Create a uniquely named database next to `admin_url`'s; returns its URL and a dropper.

    Raises whatever the connection raises when the server cannot be reached.
    """
    admin = create_engine(psycopg_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        raise

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(psycopg_url(admin_url)).set(database=name)
    return url.render_as_string(hide_password=False), drop
