"""Unique visitors over a period: from raw clicks while they are kept, then per UTC day.

A visitor hash is valid for one UTC day, so counting distinct hashes sums each day's unique
visitors; `daily_visitors` keeps them per link and day after raw clicks are purged. Reads only.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select, true
from sqlalchemy.sql.elements import TextClause

from balise.analytics.filters import NO_FILTERS, Filters
from balise.analytics.periods import Period
from balise.analytics.reads import bucket_pieces, ranges_where
from balise.db.pyramid import merged, pieces
from balise.db.tables import clicks, daily_visitors, period_counts, site_counts, site_values

UTC = timezone.utc


def for_link(column: ColumnElement[Any], link_id: int | None) -> ColumnElement[bool]:
    return column == link_id if link_id is not None else true()


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def add_unique_visitors(
    conn: Connection,
    period: Period,
    link_id: int | None,
    kept_since: datetime | None,
    series: list[dict[str, Any]],
    filters: Filters = NO_FILTERS,
) -> int | None:
    """Fill each bucket's unique visitors; return the total over the period.

    Without a filter, whole UTC days come from the day and month counters (period_counts,
    site_counts) and only the hours of a UTC day cut by a bucket or the range from raw clicks.
    All links filtered on one value of one dimension: the same from the visitors per value
    (site_values, valuevisitors.py). All links under any other filter on dimensions: None (a
    visitor of two values would count twice in a sum; counting them needs the raw clicks).
    One link or tags under a filter: the clicks still kept (`daily_visitors` has no
    dimensions)."""
    if not filters and period.interval != "hour":
        raw = for_link(clicks.c.link_id, link_id)
        return _from_counters(conn, period, _counters(link_id), raw, series)
    if filters.dims and link_id is None and not filters.tags:
        one = filters.one_value()
        if one is None:
            for point in series:
                point["unique_visitors"] = None
            return None
        if period.interval != "hour":
            return _from_counters(conn, period, _values(*one), filters.clicks(), series)
    raw_from = period.start
    total = 0
    if kept_since is not None and kept_since > period.start and not filters.dims:
        # Days touched by the purge are known per UTC day only (daily_visitors).
        archive_end = datetime.combine(kept_since.astimezone(UTC).date(), time(0), UTC)
        archive_end += timedelta(days=1)
        raw_from = min(max(archive_end, period.start), period.end)
        total += _archived_visitors(conn, period, link_id, raw_from, series, filters)
    where = and_(
        clicks.c.ts >= raw_from,
        clicks.c.ts < period.end,
        clicks.c.visitor_hash.is_not(None),
        for_link(clicks.c.link_id, link_id),
        filters.clicks(),
    )
    edges = [*period.starts, period.end]
    if period.interval != "hour" and all(e.astimezone(UTC).time() == time(0) for e in edges):
        # Buckets of whole UTC days: a hash lives one day, so the database counts each day's
        # distinct hashes and nothing per visitor comes back.
        return total + _visitors_per_utc_day(conn, period, where, series)
    total += conn.execute(
        select(func.count(func.distinct(clicks.c.visitor_hash))).where(where)
    ).scalar_one()
    if period.interval == "hour":
        _visitors_per_hour(conn, period, where, series)
    else:
        _visitors_per_day_or_week(conn, period, where, series)
    return total


def _visitors_per_utc_day(
    conn: Connection, period: Period, where: ColumnElement[bool], series: list[dict[str, Any]]
) -> int:
    if conn.dialect.name == "postgresql":
        day: Any = func.to_char(func.timezone("UTC", clicks.c.ts), "YYYY-MM-DD")
    else:
        day = func.substr(clicks.c.ts, 1, 10)
    query = select(day, func.count(func.distinct(clicks.c.visitor_hash))).where(where)
    total = 0
    for when, count in conn.execute(query.group_by(day)):
        i = period.index(datetime.fromisoformat(when).replace(hour=12, tzinfo=UTC))
        if i is not None:
            series[i]["unique_visitors"] += count
        total += count
    return total


def _visitors_per_hour(
    conn: Connection, period: Period, where: ColumnElement[bool], series: list[dict[str, Any]]
) -> None:
    hour, parse = hour_of_column(conn)
    per_hour = select(hour.label("hour"), func.count(func.distinct(clicks.c.visitor_hash)))
    for when, count in conn.execute(per_hour.where(where).group_by(hour)):
        i = period.index(parse(when))
        if i is not None:
            series[i]["unique_visitors"] += count


def _visitors_per_day_or_week(
    conn: Connection, period: Period, where: ColumnElement[bool], series: list[dict[str, Any]]
) -> None:
    # A hash lives one UTC day, so a visitor spans at most two day or week buckets: the ones
    # holding its first and last click. Streamed: memory does not grow with visitors.
    spans = select(func.min(clicks.c.ts), func.max(clicks.c.ts)).where(where)
    for first, last in conn.execute(
        spans.group_by(clicks.c.visitor_hash).execution_options(yield_per=5000)
    ):
        for i in {period.index(utc(first)), period.index(utc(last))} - {None}:
            series[i]["unique_visitors"] += 1  # type: ignore[index]


def _archived_visitors(
    conn: Connection,
    period: Period,
    link_id: int | None,
    before: datetime,
    series: list[dict[str, Any]],
    filters: Filters,
) -> int:
    first_day = period.start.date().isoformat()
    if period.start.time() != time(0):
        first_day = (period.start.date() + timedelta(days=1)).isoformat()
    query = (
        select(daily_visitors.c.day, func.count(func.distinct(daily_visitors.c.visitor_hash)))
        .where(daily_visitors.c.day >= first_day, daily_visitors.c.day < before.date().isoformat())
        .where(for_link(daily_visitors.c.link_id, link_id))
        .where(filters.links(daily_visitors.c.link_id))
        .group_by(daily_visitors.c.day)
    )
    total = 0
    for day, count in conn.execute(query):
        noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
        i = period.index(noon)
        if i is not None:
            series[i]["unique_visitors"] += count
        total += count
    return total


def hour_of_column(conn: Connection) -> tuple[ColumnElement[Any] | TextClause, Any]:
    """SQL truncating clicks.ts to its UTC hour, and the parser of what it returns."""
    if conn.dialect.name == "postgresql":
        expr = func.date_trunc("hour", func.timezone("UTC", clicks.c.ts))
        return expr, lambda v: v.replace(tzinfo=UTC)
    expr = func.strftime("%Y-%m-%d %H:00:00", clicks.c.ts)
    return expr, lambda v: datetime.fromisoformat(v).replace(tzinfo=UTC)


def _counters(link_id: int | None) -> Any:
    table = site_counts if link_id is None else period_counts
    where = true() if link_id is None else period_counts.c.link_id == link_id

    def source(level: str) -> tuple[Any, Any, Any]:
        return table, table.c.start, and_(where, table.c.level == level)

    return source


def _values(dim: str, value: str | None) -> Any:
    def source(level: str) -> tuple[Any, Any, Any]:
        v = site_values.c
        where = and_(v.dim == dim, v.value == (value or ""), v.level == level)
        return site_values, v.start, where

    return source


def _from_counters(
    conn: Connection,
    period: Period,
    source: Any,
    raw_where: ColumnElement[bool],
    series: list[dict[str, Any]],
) -> int:
    """Visitors of whole days and months from `source(level)` (table, start, condition) rows'
    `visitors`; the hours of days the range or a bucket cuts from the raw clicks `raw_where`
    keeps (a hash lives one UTC day, so the hours' days are counted apart)."""
    per_bucket = merged(bucket_pieces(period))
    hours = per_bucket.pop("h", None)
    # Buckets of whole UTC days and months: the total is the sum of the buckets' (a day is in
    # one bucket), so it costs no query of its own (one link's page: two round trips less).
    whole = merged(pieces(period.start, period.stop)) if hours else {}
    total = 0
    for level, ranges in whole.items():
        if level == "h":
            raw = and_(
                ranges_where(clicks.c.ts, ranges), clicks.c.visitor_hash.is_not(None), raw_where
            )
            query = select(func.count(func.distinct(clicks.c.visitor_hash))).where(raw)
            # distinct per UTC day: a hash lives one day, and the ranges are at most two days
            total += conn.execute(query).scalar_one()
        else:
            table_, start, cond = source(level)
            query = select(func.sum(table_.c.visitors)).where(cond, ranges_where(start, ranges))
            total += int(conn.execute(query).scalar_one() or 0)
    for level, ranges in per_bucket.items():
        table_, start, cond = source(level)
        per_start: Any = select(start, func.sum(table_.c.visitors))
        per_start = per_start.where(cond, ranges_where(start, ranges)).group_by(start)
        for row in conn.execute(per_start):
            when, n = row[0], row[1]
            i = period.index(utc(when))
            if i is not None:
                series[i]["unique_visitors"] += int(n or 0)
                if not hours:
                    total += int(n or 0)
    if hours:
        raw = and_(ranges_where(clicks.c.ts, hours), clicks.c.visitor_hash.is_not(None), raw_where)
        _visitors_per_day_or_week(conn, period, raw, series)
    return total
