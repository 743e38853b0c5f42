"""Reading the rollup pyramid (db/rollup_tables.py): sums over a period's pieces of whole UTC
hours, days and months, and top links by a threshold algorithm. Reads only; stats.py decides
which rows answer which question.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, literal, or_, select, union_all

from balise.analytics.periods import Period
from balise.analytics.rollups import DIMENSIONS
from balise.db.pyramid import bucket, ceil, merged, pieces
from balise.db.tables import (
    click_rollups,
    link_values,
    links,
    site_counts,
    value_pairs,
)

UTC = timezone.utc
HOUR = timedelta(hours=1)
PHASE_ONE_LISTS = 8
# level -> (table, its start column, condition) or None when the level cannot answer
Source = Callable[[str], tuple[Any, Any, ColumnElement[bool]]]
# (ranges of hours, link ids or None for all) -> select of link_id, clicks
HourSource = Callable[..., Any]
# (connection, {level: ranges} of the pieces months cut, link ids) -> {link id: clicks}
CutSource = Callable[
    [Connection, dict[str, list[tuple[datetime, datetime]]], list[int]], dict[int, int]
]


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


def top_links(
    conn: Connection,
    period: Period,
    sorted_source: Source,
    hour_source: HourSource,
    limit: int,
    values: int = 1,
    levels: tuple[str, ...] = ("d", "m"),
    cut_source: CutSource | None = None,
) -> list[dict[str, Any]]:
    """The most clicked links with their slugs and titles (see top_link_ids)."""
    chosen = top_link_ids(
        conn, period, sorted_source, hour_source, limit, values, levels, cut_source
    )
    return with_slugs(conn, chosen, limit)


def top_link_ids(
    conn: Connection,
    period: Period,
    sorted_source: Source,
    hour_source: HourSource,
    limit: int,
    values: int = 1,
    levels: tuple[str, ...] = ("d", "m"),
    cut_source: CutSource | None = None,
) -> dict[int, int]:
    """The most clicked links, exactly, without summing every link's rows (TPUT, Cao and Wang
    2004). Each day or month of the period (of `levels`) is a list of per-link rows sorted by
    clicks (`sorted_source`; a link may have `values` rows per list). The finer pieces are
    summed whole (`hour_source(ranges)` -> select of link_id, n), except when `levels` is
    months only: a month the range cuts is then a list too, whose rows are upper bounds of the
    cut part, and its exact clicks are read for the few links that need them (`cut_source`,
    else `hour_source`). 1: the top rows
    of each list name links whose exact sums give tau, the k-th best; 2: every row of list i at
    or above tau * w_i / values (w: the list's share of the clicks) is read: a link never met
    there has fewer than tau clicks in all; 3: the candidates' exact sums."""
    parts = merged(pieces(period.start, period.stop))
    lists = [
        (lv, when)
        for lv in levels
        for a, b in parts.get(lv, [])
        for when in _starts(conn, lv, a, b)
    ]
    by_level = {lv: ranges for lv, ranges in parts.items() if lv not in levels}
    finer = sorted(r for ranges in by_level.values() for r in ranges)
    known: dict[int, int] = {}
    cut: list[tuple[str, datetime]] = []
    if finer and levels == ("m",):
        cut = [("m", when) for a, b in finer for when in _starts(conn, "m", bucket(a, "m"), b)]
        cut = sorted(set(cut))
    elif finer:
        for link_id, n in conn.execute(hour_source(finer)):
            known[int(link_id)] = int(n or 0)
    if lists or cut:
        sizes = _list_sizes(conn, lists + cut)
        lists = [key for key in lists if sizes.get(key)]
        cut = [key for key in cut if sizes.get(key)]
    if not lists and not cut:
        return best_of(known, limit)

    def exact(ids: list[int]) -> dict[int, int]:
        """Every one of `ids`' clicks over the period (`known`: the finer pieces')."""
        found = {i: known.get(i, 0) for i in ids}
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for lv in levels:
                whens = sorted(when for level, when in lists if level == lv)
                if whens:
                    table, column, where = sorted_source(lv)
                    query = (
                        select(table.c.link_id, func.sum(table.c.clicks))
                        .where(where, column.in_(whens), table.c.link_id.in_(chunk))
                        .group_by(table.c.link_id)
                    )
                    for link_id, n in conn.execute(query):
                        found[int(link_id)] += int(n or 0)
            if cut and cut_source is not None:
                for link_id, n in cut_source(conn, by_level, chunk).items():
                    found[link_id] += n
            elif cut:
                for link_id, n in conn.execute(hour_source(finer, chunk)):
                    found[int(link_id)] += int(n or 0)
        return found

    # 1: lower bounds: the exact sums of the links atop the biggest lists, and `known`.
    everything = lists + cut
    biggest = sorted(everything, key=lambda key: -sizes[key])[:PHASE_ONE_LISTS]
    first = sorted({link_id for link_id, _ in _top_rows(conn, sorted_source, biggest, limit)})
    exact_first = exact(first)
    lower = {**known, **exact_first}
    best = sorted(lower.values(), reverse=True)
    tau = best[limit - 1] if len(best) >= limit else 0
    # 2: every row at or above its list's floor (a cut month's rows bound its cut part).
    whole = sum(sizes[key] for key in everything)
    floor = {key: max(1, math.ceil(tau * sizes[key] / whole / values)) for key in everything}
    seen = _rows_above(conn, sorted_source, floor)
    # 3: the candidates' exact sums.
    rest = sorted((seen | set(known)) - set(first))
    return best_of({**exact_first, **exact(rest)}, limit)


def best_of(counts: dict[int, int], limit: int) -> dict[int, int]:
    """The `limit` links with most clicks, and every link tied with the last of them."""
    ranked = sorted((n for n in counts.values() if n > 0), reverse=True)
    if not ranked:
        return {}
    cut = ranked[min(limit, len(ranked)) - 1]
    return {i: n for i, n in counts.items() if n >= cut}


def with_slugs(conn: Connection, chosen: dict[int, int], limit: int) -> list[dict[str, Any]]:
    if not chosen:
        return []
    found = conn.execute(
        select(links.c.id, links.c.slug, links.c.title).where(links.c.id.in_(sorted(chosen)))
    )
    rows = sorted(
        ((chosen[i], slug, title) for i, slug, title in found), key=lambda r: (-r[0], r[1])
    )
    return [{"value": slug, "title": title, "clicks": n} for n, slug, title in rows[:limit]]


def _starts(conn: Connection, level: str, first: datetime, stop: datetime) -> list[datetime]:
    query = select(site_counts.c.start).where(
        site_counts.c.level == level, site_counts.c.start >= first, site_counts.c.start < stop
    )
    return sorted(utc(s) for s in conn.execute(query).scalars())


def _list_sizes(
    conn: Connection, lists: list[tuple[str, datetime]]
) -> dict[tuple[str, datetime], int]:
    s = site_counts.c
    where = or_(*(and_(s.level == lv, s.start == when) for lv, when in lists))
    return {
        (lv, utc(when)): int(n)
        for lv, when, n in conn.execute(select(s.level, s.start, s.clicks).where(where))
    }


def _top_rows(
    conn: Connection, source: Source, lists: list[tuple[str, datetime]], limit: int
) -> list[tuple[int, int]]:
    """Rows (link_id, clicks): the `limit` best of each list."""
    parts = []
    for level, when in lists:
        table, column, where = source(level)
        query = select(table.c.link_id, table.c.clicks).where(where, column == when)
        parts.append(select(query.order_by(table.c.clicks.desc()).limit(limit).subquery()))
    return [(int(i), int(n)) for i, n in conn.execute(union_all(*parts))] if parts else []


def _rows_above(
    conn: Connection, source: Source, floor: dict[tuple[str, datetime], int]
) -> set[int]:
    """Links with a row at or above its list's floor: one query per level (at or above the
    level's lowest floor, along the (level, start, clicks) index), then each list's floor."""
    seen: set[int] = set()
    for level in sorted({key[0] for key in floor}):
        starts = sorted(when for lv, when in floor if lv == level)
        least = min(floor[(level, when)] for when in starts)
        table, column, where = source(level)
        query = select(table.c.link_id, column, table.c.clicks).where(
            where, column.in_(starts), table.c.clicks >= least
        )
        for link_id, when, n in conn.execute(query):
            if n >= floor[(level, utc(when))]:
                seen.add(int(link_id))
    return seen


def values_of_links(dim: str, values: list[str], where: ColumnElement[bool]) -> CutSource:
    """Links' clicks with one of `values` of `dim` over the pieces of months a range cuts: the
    days from each link's day rows of counts (`link_values`: a row per day, whatever the
    combinations), the hours from the click rollups `where` keeps."""
    hours = hours_of(click_rollups, where)

    def read(
        conn: Connection, pieces_: dict[str, list[tuple[datetime, datetime]]], ids: list[int]
    ) -> dict[int, int]:
        found: dict[int, int] = {}
        if "h" in pieces_:
            for link_id, n in conn.execute(hours(pieces_["h"], ids)):
                found[int(link_id)] = int(n or 0)
        if "d" in pieces_:
            v = link_values.c
            query = select(v.link_id, v.counts).where(
                v.link_id.in_(ids), v.level == "d", ranges_where(v.start, pieces_["d"])
            )
            for link_id, text in conn.execute(query):
                counts = json.loads(text).get(dim, {})
                n = sum(int(counts.get(value, 0)) for value in values)
                found[int(link_id)] = found.get(int(link_id), 0) + n
        return found

    return read


def hours_of(table: Any, where: ColumnElement[bool]) -> HourSource:
    """Clicks per link over ranges of whole hours, from an hourly table (`hourly_counts`,
    `click_rollups`: link_id, hour, clicks) where `where` holds; of the links `ids` only
    when given."""

    def query(ranges: list[tuple[datetime, datetime]], ids: list[int] | None = None) -> Any:
        found = select(table.c.link_id, func.sum(table.c.clicks))
        if ids is not None:
            found = found.where(table.c.link_id.in_(ids))
        return found.where(where, ranges_where(table.c.hour, ranges)).group_by(table.c.link_id)

    return query
