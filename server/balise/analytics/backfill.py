"""Filling the rollup pyramid (db/rollup_tables.py) from what is stored: the hourly counters,
the click rollups and the daily visitors (migration 0010_daily; the dashboard benchmark).

Each level is one INSERT ... SELECT ... GROUP BY in the database, so memory stays bounded
whatever the number of clicks; visitor counts are streamed per (link, day) in batches.
Raw clicks are not needed: what retention purged is still counted.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal, select, true, union_all, update

from balise.analytics.rollups import DIMENSIONS
from balise.db.pyramid import bucket
from balise.db.tables import (
    click_rollups,
    daily_visitors,
    hourly_counts,
    link_values,
    period_counts,
    site_combos,
    site_counts,
    site_values,
    site_visitors,
)

COUNTERS = ("clicks", "confirmed", "bots", "prefetches", "preview_views")
UTC = timezone.utc


def truncated(conn: Connection, column: Any, level: str) -> Any:
    """SQL: a UTC datetime column cut to the start of its hour, day or month (as stored)."""
    if level == "h":
        return column
    if conn.dialect.name == "postgresql":
        field = "day" if level == "d" else "month"
        return func.timezone("UTC", func.date_trunc(field, func.timezone("UTC", column)))
    # SQLite stores naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'.
    return func.strftime(
        "%Y-%m-01 00:00:00.000000" if level == "m" else "%Y-%m-%d 00:00:00.000000", column
    )


def fill(conn: Connection, batch: int = 20_000) -> None:
    """Rebuild every pyramid table from the hourly counters, click rollups and daily visitors."""
    for table in (period_counts, site_counts, link_values, site_values, site_combos):
        conn.execute(table.delete())
    h = hourly_counts.c
    sums = [func.sum(h[name]) for name in COUNTERS]
    for level in ("d", "m"):
        start = truncated(conn, h.hour, level)
        query = select(h.link_id, literal(level), start, *sums, literal(0))
        query = query.group_by(h.link_id, start)
        names = ["link_id", "level", "start", *COUNTERS, "visitors"]
        conn.execute(period_counts.insert().from_select(names, query))
    for level in ("h", "d", "m"):
        start = truncated(conn, h.hour, level)
        query = select(literal(level), start, *sums, literal(0)).group_by(start)
        names = ["level", "start", *COUNTERS, "visitors"]
        conn.execute(site_counts.insert().from_select(names, query))
        # Hours from click_rollups (one row per link, hour and combination); days from the
        # hours and months from the days just written, which hold fewer rows.
        _fill_site_combos(conn, level)
        _fill_site_values(conn, level)
        if level != "h":
            _fill_link_values(conn, level, batch)
    _fill_visitors(conn, batch)
    # Today's and yesterday's visitors across links, so they are not counted again.
    recent = select(daily_visitors.c.day, daily_visitors.c.visitor_hash).distinct()
    recent = recent.where(
        daily_visitors.c.day >= (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    )
    conn.execute(site_visitors.delete())
    conn.execute(site_visitors.insert().from_select(["day", "visitor_hash"], recent))


FINER = {"d": "h", "m": "d"}


def _fill_site_combos(conn: Connection, level: str) -> None:
    table: Any
    start: Any
    where: Any
    if level == "h":
        table, start, where = click_rollups, click_rollups.c.hour, true()
    else:
        c = site_combos.c
        table, start, where = site_combos, truncated(conn, c.start, level), c.level == FINER[level]
    dims = [table.c[d] for d in DIMENSIONS]
    query = select(
        literal(level), start, table.c.combo, *dims, func.sum(table.c.clicks),
        func.sum(table.c.confirmed),
    ).where(where).group_by(start, table.c.combo, *dims)  # fmt: skip
    names = ["level", "start", "combo", *DIMENSIONS, "clicks", "confirmed"]
    conn.execute(site_combos.insert().from_select(names, query))


def _fill_site_values(conn: Connection, level: str) -> None:
    names = ["dim", "level", "start", "value", "clicks"]
    parts: list[Any] = []
    if level == "h":
        r = click_rollups.c
        for dim in DIMENSIONS:
            n = func.sum(r.clicks)
            query = select(literal(dim), literal(level), r.hour, r[dim], n)
            parts.append(query.group_by(r.hour, r[dim]).having(n > 0))
    else:
        v = site_values.c
        start = truncated(conn, v.start, level)
        query = select(v.dim, literal(level), start, v.value, func.sum(v.clicks))
        parts.append(query.where(v.level == FINER[level]).group_by(v.dim, start, v.value))
    for query in parts:
        # include_defaults=False: `visitors` (0011) may not exist yet when 0010 runs this
        conn.execute(site_values.insert().from_select(names, query, include_defaults=False))


def _fill_link_values(conn: Connection, level: str, batch: int) -> None:
    """Each link's day or month rows of counts per dimension value, streamed in key order."""
    r = click_rollups.c
    start = truncated(conn, r.hour, level).label("start")
    parts = []
    for dim in DIMENSIONS:
        n = func.sum(r.clicks)
        query = select(
            r.link_id, start, literal(dim).label("dim"), r[dim].label("value"), n.label("n")
        )
        parts.append(query.group_by(r.link_id, start, r[dim]).having(n > 0))
    both = union_all(*parts).subquery()
    ordered = select(both).order_by(both.c.link_id, both.c.start)
    rows: list[dict[str, Any]] = []
    key: tuple[int, Any] | None = None
    counts: dict[str, dict[str, int]] = {}

    def keep() -> None:
        if key is not None:
            when = key[1] if isinstance(key[1], datetime) else datetime.fromisoformat(key[1])
            when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
            text = json.dumps(counts, separators=(",", ":"))
            rows.append({"link_id": key[0], "level": level, "start": when, "counts": text})

    for link_id, when, dim, value, n in conn.execute(ordered.execution_options(yield_per=batch)):
        if (link_id, when) != key:
            keep()
            key, counts = (link_id, when), {}
            if len(rows) >= batch:
                conn.execute(link_values.insert(), rows)
                rows = []
        counts.setdefault(dim, {})[value] = int(n)
    keep()
    if rows:
        conn.execute(link_values.insert(), rows)


def _fill_visitors(conn: Connection, batch: int) -> None:
    """Visitors per link and day (months: their sum), and across links per day."""
    v = daily_visitors.c
    per_day = select(v.link_id, v.day, func.count()).group_by(v.link_id, v.day)
    per_day = per_day.order_by(v.link_id, v.day)
    link_set = (
        update(period_counts)
        .where(
            period_counts.c.link_id == bindparam("b_link"),
            period_counts.c.level == bindparam("b_level"),
            period_counts.c.start == bindparam("b_start"),
        )
        .values(visitors=period_counts.c.visitors + bindparam("b_n"))
    )
    pending: list[dict[str, Any]] = []
    for link_id, day, n in conn.execute(per_day.execution_options(yield_per=batch)):
        noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
        for level in ("d", "m"):
            pending.append(
                {"b_link": link_id, "b_level": level, "b_start": bucket(noon, level), "b_n": n}
            )
        if len(pending) >= batch:
            conn.execute(link_set, pending)
            pending = []
    if pending:
        conn.execute(link_set, pending)
    across = select(v.day, func.count(func.distinct(v.visitor_hash))).group_by(v.day)
    totals: Counter[tuple[str, datetime]] = Counter()
    for day, n in conn.execute(across):
        noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
        for level in ("d", "m"):
            totals[(level, bucket(noon, level))] += n
    site_set = (
        update(site_counts)
        .where(
            site_counts.c.level == bindparam("b_level"), site_counts.c.start == bindparam("b_start")
        )
        .values(visitors=bindparam("b_n"))
    )
    rows = [{"b_level": k[0], "b_start": k[1], "b_n": n} for k, n in sorted(totals.items())]
    if rows:
        conn.execute(site_set, rows)
