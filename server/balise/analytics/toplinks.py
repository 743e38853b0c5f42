"""Top links over a period, exact, by a threshold algorithm over the rollups' per-link lists
(TPUT; see top_link_ids) rather than a sum of every link's rows. Reads only."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, union_all

from balise.analytics.periods import Period
from balise.analytics.reads import Source, ranges_where, utc
from balise.db.pyramid import bucket, merged, pieces
from balise.db.tables import click_rollups, link_values, links, site_counts

PHASE_ONE_LISTS = 8
# (ranges of hours, link ids or None for all) -> select of link_id, clicks
HourSource = Callable[..., Any]
# (connection, {level: ranges} of the pieces months cut, link ids) -> {link id: clicks}
CutSource = Callable[
    [Connection, dict[str, list[tuple[datetime, datetime]]], list[int]], dict[int, int]
]


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
