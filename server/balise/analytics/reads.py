"""Reading the rollup pyramid (db/rollup_tables.py): sums over a period's pieces of whole UTC
hours, days and months (top links: toplinks.py). Reads only; stats.py decides which rows
answer which question.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, literal, or_, select, union_all

from balise.analytics.periods import Period
from balise.analytics.rollups import DIMENSIONS
from balise.db.pyramid import ceil, merged, pieces
from balise.db.tables import (
    click_rollups,
    link_values,
    site_counts,
    value_pairs,
)

UTC = timezone.utc
HOUR = timedelta(hours=1)
# level -> (table, its start column, condition) or None when the level cannot answer
Source = Callable[[str], tuple[Any, Any, ColumnElement[bool]]]


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def reaching(conn: Connection, period: Period) -> Period:
    """The period read up to the end of the month holding its end (`reach`) when no click can
    lie between the two: its end is in the future and past the newest hour any counter holds
    (site_counts). The month holding now is then read as its month row, not as its days up to
    a bucket's end and today's hours: on most days, a range ending now reads fewer rows."""
    reach = ceil(period.end, "m")
    if reach == period.end or period.end <= datetime.now(UTC):
        return period
    s = site_counts.c
    newest = conn.execute(select(func.max(s.start)).where(s.level == "h")).scalar()
    if newest is not None and utc(newest) + HOUR > period.end:
        return period
    return replace(period, reach=reach)


@lru_cache(maxsize=16)
def bucket_pieces(period: Period) -> list[tuple[str, datetime, datetime]]:
    """Pieces of every bucket of the period: each row they cover falls in one bucket."""
    ends = [*period.starts[1:], period.stop]
    return [p for start, end in zip(period.starts, ends, strict=True) for p in pieces(start, end)]


def ranges_where(column: Any, ranges: list[tuple[datetime, datetime]]) -> ColumnElement[bool]:
    return or_(*(and_(column >= a, column < b) for a, b in ranges))


def series(
    conn: Connection,
    period: Period,
    source: Source,
    names: tuple[str, ...],
    into: list[dict[str, Any]],
) -> None:
    """Add the sums of `names` per bucket into `into` (one dict per bucket)."""
    for level, ranges in merged(bucket_pieces(period)).items():
        table, start, where = source(level)
        query = select(start, *(func.sum(table.c[n]).label(n) for n in names))
        query = query.where(where, ranges_where(start, ranges)).group_by(start)
        for row in conn.execute(query):
            i = period.index(utc(row[0]))
            if i is not None:
                for name in names:
                    into[i][name] += int(row._mapping[name] or 0)


def top_values(
    conn: Connection, period: Period, source: Source, value: Callable[[Any], Any], limit: int
) -> list[dict[str, Any]]:
    """The most clicked values over the period: `value(table)` is the column to group."""
    parts = []
    for level, ranges in merged(pieces(period.start, period.stop)).items():
        table, start, where = source(level)
        parts.append(
            select(value(table).label("value"), table.c.clicks.label("n")).where(
                where, ranges_where(start, ranges)
            )
        )
    if not parts:
        return []
    both = union_all(*parts).subquery()
    n = func.sum(both.c.n).label("n")
    query = (
        select(both.c.value, n)
        .group_by(both.c.value)
        .having(n > 0)
        .order_by(n.desc(), both.c.value)
        .limit(limit)
    )
    return [{"value": v or None, "clicks": int(c)} for v, c in conn.execute(query)]


def link_value_counts(
    conn: Connection, period: Period, links_where: Callable[[Any], ColumnElement[bool]]
) -> dict[str, Counter[str]]:
    """Clicks per value of every dimension over the period for the links `links_where` keeps:
    their day and month rows of counts, and click_rollups for the hours."""
    found: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    parts = merged(pieces(period.start, period.stop))
    if "h" in parts:
        r = click_rollups.c
        query = select(*(r[d] for d in DIMENSIONS), r.clicks)
        query = query.where(links_where(r.link_id), ranges_where(r.hour, parts["h"]))
        for row in conn.execute(query):
            for i, dim in enumerate(DIMENSIONS):
                found[dim][row[i]] += row.clicks
    v = link_values.c
    levels = [
        and_(v.level == level, ranges_where(v.start, ranges))
        for level, ranges in parts.items()
        if level != "h"
    ]
    if levels:  # days and months in one query (one round trip less on PostgreSQL)
        query = select(v.counts).where(links_where(v.link_id), or_(*levels))
        for text in conn.execute(query).scalars():
            for dim, values in json.loads(text).items():
                found[dim].update(values)
    return found


def pair_value_counts(
    conn: Connection, period: Period, dim: str, values: list[str], hours: Source
) -> dict[str, Counter[str]]:
    """Clicks per value of every dimension over the period among the clicks with one of
    `values` of `dim`: its pairs with every dimension per day (value_pairs), and
    the combinations `hours` keeps for the hours of days the period cuts."""
    found: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    p = value_pairs.c
    parts = merged(pieces(period.start, period.stop))
    if "h" in parts:
        _combo_counts(conn, hours, "h", parts["h"], found)
    # Pairs are kept per day: whole months are read as their days.
    days = merged(("d", a, b) for level in ("d", "m") for a, b in parts.get(level, [])).get("d")
    if days:
        query = (
            select(p.other, p.other_value, func.sum(p.clicks))
            .where(p.dim == dim, p.value.in_(values), p.level == "d")
            .where(ranges_where(p.start, days))
            .group_by(p.other, p.other_value)
        )
        for other, value, n in conn.execute(query):
            found[other][value] += int(n)
    return found


def combo_value_counts(conn: Connection, period: Period, source: Source) -> dict[str, Counter[str]]:
    """Clicks per value of every dimension over the period, from the combinations `source`
    keeps (site_combos under a filter): one pass for the eight top lists."""
    found: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    for level, ranges in merged(pieces(period.start, period.stop)).items():
        _combo_counts(conn, source, level, ranges, found)
    return found


def _combo_counts(
    conn: Connection,
    source: Source,
    level: str,
    ranges: list[tuple[datetime, datetime]],
    found: dict[str, Counter[str]],
) -> None:
    table, start, where = source(level)
    columns = [table.c[d] for d in DIMENSIONS]
    if conn.dialect.name == "postgresql":
        # One scan, eight sums in the database: only the distinct values come back. The
        # columns are NOT NULL, so each row's one non-null column is the one it groups.
        query = (
            select(*columns, func.sum(table.c.clicks))
            .where(where, ranges_where(start, ranges))
            .group_by(func.grouping_sets(*columns))
        )
        for row in conn.execute(query):
            i = next(i for i in range(len(DIMENSIONS)) if row[i] is not None)
            found[DIMENSIONS[i]][row[i]] += int(row[-1])
        return
    # SQLite: the matching rows once into a materialized CTE, then a sum per dimension
    # over it, so only the distinct values come back to Python.
    kept = (
        select(*columns, table.c.clicks)
        .where(where, ranges_where(start, ranges))
        .cte("kept")
        .prefix_with("MATERIALIZED")
    )
    sums = [
        select(literal(i), kept.c[dim], func.sum(kept.c.clicks)).group_by(kept.c[dim])
        for i, dim in enumerate(DIMENSIONS)
    ]
    for i, value, n in conn.execute(union_all(*sums)):
        found[DIMENSIONS[i]][value] += int(n)


def ranked(counts: Counter[str], limit: int) -> list[dict[str, Any]]:
    best = sorted(((-n, value) for value, n in counts.items() if n > 0))[:limit]
    return [{"value": value or None, "clicks": -n} for n, value in best]
