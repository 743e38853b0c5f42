"""Statistics: totals, a gap-free series and top lists for one link or all links.

Counts come from the hourly counters and top lists from the click rollups (rollups.py); both
outlive raw clicks. Unique visitors come from raw
clicks while they are kept (a visitor hash is valid for one UTC day, so counting distinct
hashes sums each day's unique visitors) and from `daily_visitors` for days already purged.
The CSV export reads raw clicks. Reads only; clicks.py writes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select, true
from sqlalchemy.sql.elements import TextClause

from balise.analytics.periods import Period
from balise.db.tables import click_rollups, clicks, daily_visitors, hourly_counts, links

COUNTERS = ("clicks", "confirmed", "bots", "prefetches", "preview_views")
TOTALS = ("clicks", "confirmed", "unique_visitors", "bots", "prefetches", "preview_views")
TOP_COLUMNS = {
    "referrers": click_rollups.c.referrer_host,
    "browsers": click_rollups.c.browser,
    "os": click_rollups.c.os,
    "devices": click_rollups.c.device,
    "countries": click_rollups.c.country,
    "utm_source": click_rollups.c.utm_source,
    "utm_medium": click_rollups.c.utm_medium,
    "utm_campaign": click_rollups.c.utm_campaign,
}
# Click columns exported as they are stored (text, formula-safe).
_TEXT_COLUMNS = (
    "referrer_host",
    "referrer_path",
    "browser",
    "os",
    "device",
    "country",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
CSV_COLUMNS = ("time", "link", *_TEXT_COLUMNS, "visitor", "dnt", "confirmed_at")
UTC = timezone.utc


def stats(
    conn: Connection,
    period: Period,
    *,
    link_id: int | None = None,
    kept_since: datetime | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """Totals, series and top lists over `period`, for one link or (link_id None) all links.

    `kept_since`: raw clicks before it may have been purged (None: all are kept).
    """
    series = [dict.fromkeys(TOTALS, 0) for _ in period.starts]
    _add_counters(conn, period, link_id, series)
    uniques = _add_unique_visitors(conn, period, link_id, kept_since, series)
    totals = {name: sum(point[name] for point in series) for name in TOTALS}
    totals["unique_visitors"] = uniques
    top_lists = {
        name: top_values(conn, column, period.start, period.end, link_id, top)
        for name, column in TOP_COLUMNS.items()
    }
    if link_id is None:
        top_lists["links"] = top_links(conn, period.start, period.end, top)
    return {
        "from": period.label(0),
        "to": period.end.astimezone(period.zone),
        "interval": period.interval,
        "tz": period.zone.key,
        "totals": totals,
        "series": [{"start": period.label(i), **point} for i, point in enumerate(series)],
        "top": top_lists,
    }


def _for_link(column: ColumnElement[Any], link_id: int | None) -> ColumnElement[bool]:
    return column == link_id if link_id is not None else true()


def _add_counters(
    conn: Connection, period: Period, link_id: int | None, series: list[dict[str, int]]
) -> None:
    hour = hourly_counts.c.hour
    query = (
        select(hour, *(func.sum(hourly_counts.c[name]).label(name) for name in COUNTERS))
        .where(hour >= period.start, hour < period.end)
        .where(_for_link(hourly_counts.c.link_id, link_id))
        .group_by(hour)
    )
    for row in conn.execute(query):
        i = period.index(_utc(row.hour))
        if i is not None:
            for name in COUNTERS:
                series[i][name] += int(getattr(row, name) or 0)


def _add_unique_visitors(
    conn: Connection,
    period: Period,
    link_id: int | None,
    kept_since: datetime | None,
    series: list[dict[str, int]],
) -> int:
    """Fill each bucket's unique visitors; return the total over the period."""
    raw_from = period.start
    total = 0
    if kept_since is not None and kept_since > period.start:
        # Days touched by the purge are known per UTC day only (daily_visitors).
        archive_end = datetime.combine(kept_since.astimezone(UTC).date(), time(0), UTC)
        archive_end += timedelta(days=1)
        raw_from = min(max(archive_end, period.start), period.end)
        total += _archived_visitors(conn, period, link_id, raw_from, series)
    where = and_(
        clicks.c.ts >= raw_from,
        clicks.c.ts < period.end,
        clicks.c.visitor_hash.is_not(None),
        _for_link(clicks.c.link_id, link_id),
    )
    total += conn.execute(
        select(func.count(func.distinct(clicks.c.visitor_hash))).where(where)
    ).scalar_one()
    if period.interval == "hour":
        _visitors_per_hour(conn, period, where, series)
    else:
        _visitors_per_day_or_week(conn, period, where, series)
    return total


def _visitors_per_hour(
    conn: Connection, period: Period, where: ColumnElement[bool], series: list[dict[str, int]]
) -> None:
    hour, parse = hour_of_column(conn)
    per_hour = select(hour.label("hour"), func.count(func.distinct(clicks.c.visitor_hash)))
    for when, count in conn.execute(per_hour.where(where).group_by(hour)):
        i = period.index(parse(when))
        if i is not None:
            series[i]["unique_visitors"] += count


def _visitors_per_day_or_week(
    conn: Connection, period: Period, where: ColumnElement[bool], series: list[dict[str, int]]
) -> None:
    # A hash lives one UTC day, so a visitor spans at most two day or week buckets: the ones
    # holding its first and last click. Streamed: memory does not grow with visitors.
    spans = select(func.min(clicks.c.ts), func.max(clicks.c.ts)).where(where)
    for first, last in conn.execute(
        spans.group_by(clicks.c.visitor_hash).execution_options(yield_per=5000)
    ):
        for i in {period.index(_utc(first)), period.index(_utc(last))} - {None}:
            series[i]["unique_visitors"] += 1  # type: ignore[index]


def _archived_visitors(
    conn: Connection,
    period: Period,
    link_id: int | None,
    before: datetime,
    series: list[dict[str, int]],
) -> int:
    first_day = period.start.date().isoformat()
    if period.start.time() != time(0):
        first_day = (period.start.date() + timedelta(days=1)).isoformat()
    query = (
        select(daily_visitors.c.day, func.count(func.distinct(daily_visitors.c.visitor_hash)))
        .where(daily_visitors.c.day >= first_day, daily_visitors.c.day < before.date().isoformat())
        .where(_for_link(daily_visitors.c.link_id, link_id))
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


def top_values(
    conn: Connection,
    column: Any,
    start: datetime,
    end: datetime,
    link_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The most frequent values of a dimension over [start, end), most clicks first, from the
    rollups. Clicks without the value count in a row of their own (`value` None)."""
    count = func.sum(click_rollups.c.clicks).label("n")
    query = (
        select(column, count)
        .where(click_rollups.c.hour >= start, click_rollups.c.hour < end)
        .where(_for_link(click_rollups.c.link_id, link_id))
        .group_by(column)
        .having(count > 0)
        .order_by(count.desc(), column)
        .limit(limit)
    )
    return [{"value": value or None, "clicks": int(n)} for value, n in conn.execute(query)]


def top_links(conn: Connection, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
    """The most clicked links: summed per link id first, so only `limit` rows meet `links`."""
    total = func.sum(hourly_counts.c.clicks).label("n")
    per_link = (
        select(hourly_counts.c.link_id, total)
        .where(hourly_counts.c.hour >= start, hourly_counts.c.hour < end)
        .group_by(hourly_counts.c.link_id)
        .having(total > 0)
        .order_by(total.desc(), hourly_counts.c.link_id)
        .limit(limit)
        .subquery()
    )
    query = (
        select(links.c.slug, links.c.title, per_link.c.n)
        .join(per_link, links.c.id == per_link.c.link_id)
        .order_by(per_link.c.n.desc(), links.c.slug)
    )
    return [
        {"value": slug, "title": title, "clicks": int(n)} for slug, title, n in conn.execute(query)
    ]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def export_query(
    link_id: int, start: datetime | None = None, end: datetime | None = None
) -> Select[Any]:
    query = (
        select(clicks, links.c.slug)
        .join(links, links.c.id == clicks.c.link_id)
        .where(clicks.c.link_id == link_id)
        .order_by(clicks.c.ts, clicks.c.id)
    )
    if start is not None:
        query = query.where(clicks.c.ts >= start)
    if end is not None:
        query = query.where(clicks.c.ts < end)
    return query


def export_csv(conn: Connection, query: Select[Any]) -> Iterator[str]:
    """CSV text chunks: a header row, then one row per stored click, in constant memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = conn.execute(query.execution_options(yield_per=1000))
    for partition in rows.partitions():
        for row in partition:
            writer.writerow(_csv_row(row._mapping))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _csv_row(m: Any) -> list[str]:
    confirmed = m["confirmed_at"]
    return [
        _utc(m["ts"]).isoformat().replace("+00:00", "Z"),
        m["slug"],
        *(_cell(m[name]) for name in (*_TEXT_COLUMNS, "visitor_hash")),
        "1" if m["dnt"] else "0",
        _utc(confirmed).isoformat().replace("+00:00", "Z") if confirmed else "",
    ]


def _cell(value: str | None) -> str:
    """Text a spreadsheet will not run as a formula (values come from readers' requests)."""
    if not value:
        return ""
    return "'" + value if value[0] in "=+-@\t\r" else value
