"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert(conn: Connection, table: Table) -> Any:
    """INSERT with ON CONFLICT support (`.on_conflict_do_nothing()`, `.excluded`)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_unless_taken(conn: Connection, table: Table, values: dict[str, Any]) -> int | None:
    """Insert a row and return its id, or None when a unique column already holds its value.

    Unlike catching IntegrityError, this needs no savepoint: the surrounding transaction stays
    usable on PostgreSQL, and on SQLite nothing commits early.
    """
    stmt = insert(conn, table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    found = conn.execute(stmt).scalar_one_or_none()
    return None if found is None else int(found)
