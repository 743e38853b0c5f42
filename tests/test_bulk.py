"""The batch writer's many-row statements (db/bulk.py) store what SQLAlchemy's own executemany
would, on both backends: the same values, the same stored text for datetimes on SQLite (so
upserts meet the rows other code wrote), defaults for left-out columns."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    insert,
    select,
    update,
)

from balise.db import bulk
from balise.db.columns import UTCDateTime

PARIS = timezone(timedelta(hours=1))
HOUR = timedelta(hours=1)
_names = itertools.count()


def _table(*extra: Column) -> Table:
    return Table(
        f"bulk_scratch_{next(_names)}",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime, nullable=False),
        Column("label", String(20), nullable=False, default=""),
        Column("n", Integer, nullable=False, default=0),
        *extra,
        UniqueConstraint("at", "label"),
    )


@pytest.fixture
def scratch(db) -> Iterator[Table]:
    """A table of the test's own, dropped afterwards."""
    table = _table()
    table.create(db)
    try:
        yield table
    finally:
        table.drop(db)


def _stored(db, table: Table) -> list[tuple]:
    with db.connect() as conn:
        if db.dialect.name == "sqlite":  # the text itself, as another query's key would see it
            query = f"SELECT id, at, label, n FROM {table.name} ORDER BY id"  # noqa: S608
            return [tuple(r) for r in conn.exec_driver_sql(query)]
        return [tuple(r) for r in conn.execute(select(*table.c[:4]).order_by(table.c.id))]


def test_insert_many_stores_what_sqlalchemy_stores(db, scratch):
    at = datetime(2026, 5, 1, 12, 30, 5, 123, tzinfo=PARIS)
    rows = [
        {"id": 1, "at": at, "label": "a", "n": 3},
        {"id": 2, "at": at + timedelta(hours=1), "label": "b", "n": 0},
        {"id": 3, "at": at, "label": "c", "n": 5},
    ]
    with db.begin() as conn:
        conn.execute(insert(scratch), rows)
    expected = _stored(db, scratch)
    with db.begin() as conn:
        conn.execute(scratch.delete())
        bulk.insert_many(conn, scratch, rows)
    assert _stored(db, scratch) == expected
    if db.dialect.name == "sqlite":
        assert expected[0][1] == "2026-05-01 11:30:05.000123"  # UTC, SQLAlchemy's text


def test_left_out_columns_take_their_defaults(db, scratch):
    at = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    with db.begin() as conn:
        bulk.insert_many(conn, scratch, [{"id": 1, "at": at}, {"id": 2, "at": at + HOUR}])
    assert [r[2:] for r in _stored(db, scratch)] == [("", 0), ("", 0)]


def test_a_callable_default_is_run_for_each_row(db):
    table = _table(Column("made", Integer, default=itertools.count(7).__next__))
    table.create(db)
    try:
        at = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
        with db.begin() as conn:
            bulk.insert_many(conn, table, [{"id": 1, "at": at}, {"id": 2, "at": at + HOUR}])
            made = conn.execute(select(table.c.made).order_by(table.c.id)).scalars().all()
    finally:
        table.drop(db)
    assert made == [7, 8]


def test_an_upsert_adds_to_the_row_sqlalchemy_wrote(db, scratch):
    at = datetime(2026, 5, 1, 14, tzinfo=PARIS)
    with db.begin() as conn:
        conn.execute(insert(scratch), [{"id": 1, "at": at, "label": "x", "n": 2}])
    same_hour_in_utc = at.astimezone(timezone.utc)
    with db.begin() as conn:
        bulk.upsert(
            conn,
            scratch,
            ["at", "label"],
            ["n"],
            [
                {"id": 10, "at": same_hour_in_utc, "label": "x", "n": 5},
                {"id": 11, "at": same_hour_in_utc, "label": "y", "n": 1},
            ],
        )
        bulk.upsert(
            conn, scratch, ["at", "label"], ["n"], [{"id": 12, "at": at, "label": "y", "n": 4}]
        )
    assert [(r[0], r[2], r[3]) for r in _stored(db, scratch)] == [(1, "x", 7), (11, "y", 5)]


def test_a_naive_datetime_is_refused_as_sqlalchemy_refuses_it(db, scratch):
    with db.begin() as conn, pytest.raises(ValueError, match="naive datetime given to a UTC"):
        bulk.insert_many(conn, scratch, [{"id": 1, "at": datetime(2026, 5, 1), "label": "a"}])
    assert _stored(db, scratch) == []


def test_an_update_by_key_finds_the_rows_other_code_wrote(db, scratch):
    at = datetime(2026, 5, 1, 14, tzinfo=PARIS)
    with db.begin() as conn:
        conn.execute(insert(scratch), [{"id": 1, "at": at, "label": "a", "n": 1},
                                       {"id": 2, "at": at, "label": "b", "n": 2}])  # fmt: skip

    def build():
        c = scratch.c
        where = (c.at == bindparam("k_at"), c.label == bindparam("k_label"))
        return update(scratch).where(*where).values(n=bindparam("n"))

    with db.begin() as conn:
        bulk.execute_many(conn, ("scratch", "n"), build, [
            {"k_at": at.astimezone(timezone.utc), "k_label": "b", "n": 20},
            {"k_at": at, "k_label": "a", "n": 10},
            {"k_at": at + HOUR, "k_label": "a", "n": 99},  # no such row
        ])  # fmt: skip
    assert [(r[0], r[3]) for r in _stored(db, scratch)] == [(1, 10), (2, 20)]
