"""The reader path's two single-slug reads, compiled once and run on a driver connection.

A slug the cache does not hold (or holds past its TTL) is read while its reader waits, with
the GIL mostly held: through SQLAlchemy's statement execution such a read cost about 1 ms on
SQLite (statement building, cache key, result metadata), of which the database's own work was
about a tenth. Here each statement is compiled once for the engine's dialect and run with the
driver's cursor of an ordinary engine connection (so pre-ping, pool limits, the pool's reset
on return and connect errors are as for any query; the engine's cursor events are sent), and
its row converted by the same result processors SQLAlchemy would use (dates, JSON, booleans).
Driver errors are raised as SQLAlchemy would raise them (DBAPIError, the connection
invalidated on a disconnect), so db/outage.py tells an outage from a bug as for any query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, bindparam, select
from sqlalchemy.exc import DBAPIError, StatementError

from balise.db.tables import links as links_table


class Row:
    """A row as the table mappers (links.store._to_link) read it: `row._mapping[name]`."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


class Compiled:
    """One SELECT with a single `key` parameter, ready for the driver."""

    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.engine = engine
        self.sql = str(compiled)
        self.names = tuple(str(column.key) for column in statement.selected_columns)
        processors: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]
        self.processors = tuple(processors)
        self.positional = dialect.positional

    def params(self, key: str) -> Sequence[Any] | dict[str, Any]:
        return (key,) if self.positional else {"key": key}

    def first(self, key: str) -> Row | None:
        """The first row for `key`, or None."""
        params = self.params(key)
        # The engine's own connection: a failure to connect is raised (and reported to the
        # engine's handle_error listeners: db/outage.py) as for any other query.
        with self.engine.connect() as conn:
            cursor = conn.connection.cursor()
            try:
                dispatch = self.engine.dispatch  # the cursor events SQLAlchemy would send
                if dispatch.before_cursor_execute:
                    dispatch.before_cursor_execute(conn, cursor, self.sql, params, None, False)
                cursor.execute(self.sql, params)
                values = cursor.fetchone()
                if dispatch.after_cursor_execute:
                    dispatch.after_cursor_execute(conn, cursor, self.sql, params, None, False)
            except self.engine.dialect.loaded_dbapi.Error as exc:
                raise self._wrap(exc, conn, cursor) from exc
            finally:
                cursor.close()
        if values is None:
            return None
        return Row(
            {
                name: value if process is None else process(value)
                for name, process, value in zip(self.names, self.processors, values, strict=True)
            }
        )

    def _wrap(self, exc: Any, conn: Connection, cursor: Any) -> StatementError:
        """The driver's error as SQLAlchemy raises it; a lost connection leaves the pool."""
        dialect = self.engine.dialect
        disconnect = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        if disconnect:
            conn.invalidate(exc)
        return DBAPIError.instance(
            self.sql,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=disconnect,
            dialect=dialect,
        )


class ReaderReads:
    """The entry of one slug (link, summary, card: one query) and its link's version."""

    def __init__(self, engine: Engine, entry: Select[Any]) -> None:
        key = links_table.c.slug_key == bindparam("key")
        self.entry = Compiled(engine, entry.where(key))
        self.version = Compiled(engine, select(links_table.c.version).where(key))

    def entry_row(self, slug_key: str) -> Row | None:
        return self.entry.first(slug_key)

    def version_of(self, slug_key: str) -> int | None:
        row = self.version.first(slug_key)
        return None if row is None else int(row._mapping["version"])  # noqa: SLF001
