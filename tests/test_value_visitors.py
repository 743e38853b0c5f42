"""Unique visitors per dimension value as the batch writer keeps them (valuevisitors.py): once
per visitor, day and value, also when two instances' batches meet the same visitor at once."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from balise.analytics import valuevisitors
from balise.db.tables import site_values
from tests.test_concurrent_deletes import _wait_for_a_lock_wait

NOON = datetime(2026, 3, 5, 12, tzinfo=timezone.utc)


def click(referrer: str | None, browser: str = "Firefox") -> dict[str, object]:
    return {"ts": NOON, "visitor_hash": "v1", "referrer_host": referrer, "browser": browser}


def day_visitors(db) -> dict[tuple[str, str], int]:
    v = site_values.c
    query = select(v.dim, v.value, v.visitors).where(v.level == "d", v.visitors != 0)
    with db.connect() as conn:
        return {(dim, value): n for dim, value, n in conn.execute(query)}


def test_a_visitor_counts_once_per_value_and_day(db):
    with db.begin() as conn:  # new to the day: its browser counts, and both referrers
        valuevisitors.count(conn, [click("t.co"), click(None)], {("2026-03-05", "v1")})
    with db.begin() as conn:  # seen before: only the new referrer counts
        valuevisitors.count(conn, [click("t.co"), click("news.example")], set())
    found = day_visitors(db)
    assert found[("referrer_host", "t.co")] == 1
    assert found[("referrer_host", "")] == 1  # direct
    assert found[("referrer_host", "news.example")] == 1
    assert found[("browser", "Firefox")] == 1
    assert found[("utm_source", "")] == 1


def test_two_batches_meeting_the_same_visitor_count_it_once(db):
    if db.dialect.name != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's; SQLite has one writer at a time")
    first = db.connect()
    first.begin()
    valuevisitors.count(first, [click("t.co")], {("2026-03-05", "v1")})

    def second() -> None:
        with db.begin() as conn:  # waits on the first batch's row, then extends it
            valuevisitors.count(conn, [click("t.co"), click("news.example")], set())

    thread = threading.Thread(target=second)
    thread.start()
    _wait_for_a_lock_wait(db)
    first.commit()
    first.close()
    thread.join(30)
    found = day_visitors(db)
    assert found[("referrer_host", "t.co")] == 1
    assert found[("referrer_host", "news.example")] == 1
