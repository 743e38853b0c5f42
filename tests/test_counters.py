"""Hourly counters add up by upsert on both backends."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from balise.db.counters import increment_hourly
from balise.db.tables import hourly_counts


def test_increments_to_the_same_hour_add_up(db, make_link):
    link = make_link()
    at = datetime(2026, 5, 1, 10, 17, tzinfo=timezone.utc)
    with db.begin() as conn:
        increment_hourly(conn, [{"link_id": link.id, "hour": at, "clicks": 1}] * 3)
    with db.begin() as conn:
        increment_hourly(conn, [{"link_id": link.id, "hour": at, "clicks": 2, "bots": 1}])
        increment_hourly(conn, [{"link_id": link.id, "hour": at.replace(hour=11), "confirmed": 1}])
    with db.connect() as conn:
        rows = conn.execute(
            select(
                hourly_counts.c.hour,
                hourly_counts.c.clicks,
                hourly_counts.c.bots,
                hourly_counts.c.confirmed,
            ).order_by(hourly_counts.c.hour)
        ).all()
    assert [(r.hour.hour, r.clicks, r.bots, r.confirmed) for r in rows] == [
        (10, 5, 1, 0),
        (11, 0, 0, 1),
    ]
    assert rows[0].hour == datetime(2026, 5, 1, 10, tzinfo=timezone.utc)
