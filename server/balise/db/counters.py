"""Hourly counters kept by upsert: one statement adds to a row, whatever the backend.

Counting by upsert (INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n) means no request
ever reads or locks a per-link row to count, unlike peers that update a link row per click.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from balise.db.tables import hourly_counts

COUNTERS = ("clicks", "confirmed", "bots", "prefetches", "preview_views")


def hour_of(moment: datetime) -> datetime:
    """The UTC hour a moment falls in (the key of hourly_counts)."""
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def increment_hourly(conn: Connection, increments: Iterable[Mapping[str, object]]) -> None:
    """Add to hourly counters. Each item: link_id, hour, and some of COUNTERS with amounts.

    Items for the same (link_id, hour) are merged first, so one batch is one row per key.
    """
    merged: dict[tuple[int, datetime], dict[str, int]] = {}
    for item in increments:
        key = (int(item["link_id"]), hour_of(item["hour"]))  # type: ignore[arg-type, call-overload]
        row = merged.setdefault(key, dict.fromkeys(COUNTERS, 0))
        for name in COUNTERS:
            row[name] += int(item.get(name, 0) or 0)  # type: ignore[call-overload]
    if not merged:
        return
    rows = [{"link_id": k[0], "hour": k[1], **v} for k, v in sorted(merged.items())]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(hourly_counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=["link_id", "hour"],
        set_={name: hourly_counts.c[name] + stmt.excluded[name] for name in COUNTERS},
    )
    conn.execute(stmt, rows)
