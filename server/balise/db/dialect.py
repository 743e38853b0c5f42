"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

# Ids are INTEGER columns: at most 2**31 - 1 on PostgreSQL (SQLite's reach 2**63 - 1). A number
# beyond cannot name a row, and sending it makes PostgreSQL fail the whole query.
MAX_ID = 2**31 - 1


def possible_id(value: object) -> bool:
    """True when `value` could be the id of a row; ask before putting a client's number in a
    query, so ids out of range are 'not found' rather than a database error."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


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
