"""Clicks per pair of dimension values and per link and value (db/rollup_tables.py:
`value_pairs`, `value_links`; migration 0012): what all-links statistics under a filter on one
or two dimensions read instead of every combination (`site_combos`, `click_rollups`), so their
cost follows days and values, not clicks.

value_links holds values only: a link's clicks without a value of a dimension (no referrer, no
UTM...) are the most common and would cost the writer a row per link and dimension per batch;
top links filtered on "without a value" read click_rollups instead (stats.top_links).

`add` runs in the batch writer's transaction (rollups.add_to_pyramid), `forget_link` takes a
deleted link's rows off, `fill` rebuilds both tables from the rollups (the migration's fill:
site_combos and link_values outlive raw clicks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, delete, func, literal, select, tuple_

from balise.db.bulk import upsert
from balise.db.pyramid import bucket
from balise.db.rollup_tables import DIMENSIONS as WIDTHS
from balise.db.tables import site_combos, site_counts, value_links, value_pairs

PAIR_KEYS = ["dim", "value", "level", "start", "other", "other_value"]
LINK_KEYS = ["dim", "value", "level", "start", "link_id"]
DIMENSIONS = tuple(WIDTHS)  # the order of rollups.DIMENSIONS


def add(conn: Connection, rows: Iterable[Mapping[str, Any]], sign: int = 1) -> None:
    """Add click_rollups-shaped rows (link_id or None, hour, DIMENSIONS with '' for none,
    clicks, confirmed) to value_pairs and (with a link) value_links; `sign` -1 takes off."""
    per_hour: dict[tuple[datetime, tuple[str, ...]], list[int]] = {}
    per_link: dict[tuple[int, datetime, tuple[str, ...]], int] = {}
    for row in rows:
        clicks, confirmed = sign * int(row["clicks"]), sign * int(row["confirmed"])
        if not clicks and not confirmed:
            continue
        values = tuple(row[d] or "" for d in DIMENSIONS)
        key = (bucket(row["hour"], "h"), values)
        found = per_hour.get(key)
        if found is None:
            per_hour[key] = [clicks, confirmed]
        else:
            found[0] += clicks
            found[1] += confirmed
        if clicks and row.get("link_id") is not None:
            at = (int(row["link_id"]), bucket(row["hour"], "m"), values)
            per_link[at] = per_link.get(at, 0) + clicks
    pairs: dict[tuple[int, str, str, datetime, int, str], list[int]] = {}
    dims = range(len(DIMENSIONS))
    for (hour, values), (n, c) in per_hour.items():
        for level, start in (("h", hour), ("d", bucket(hour, "d"))):
            for i in dims:
                for j in dims if level != "h" else (i,):
                    pair = (i, values[i], level, start, j, values[j])
                    found = pairs.get(pair)
                    if found is None:
                        pairs[pair] = [n, c]
                    else:
                        found[0] += n
                        found[1] += c
    if pairs:
        upsert(conn, value_pairs, PAIR_KEYS, ("clicks", "confirmed"), [
            {"dim": DIMENSIONS[k[0]], "value": k[1], "level": k[2], "start": k[3],
             "other": DIMENSIONS[k[4]], "other_value": k[5], "clicks": n, "confirmed": c}
            for k, (n, c) in sorted(pairs.items())
        ])  # fmt: skip
    links: dict[tuple[int, str, str, datetime, int], int] = {}
    for (link_id, month, values), n in per_link.items():
        for i in dims:
            if not values[i]:
                continue  # no value (direct, no UTM...): top links there read the rollups
            named = (i, values[i], "m", month, link_id)
            links[named] = links.get(named, 0) + n
    if links:
        upsert(conn, value_links, LINK_KEYS, ("clicks",), [
            {"dim": DIMENSIONS[k[0]], "value": k[1], "level": k[2], "start": k[3],
             "link_id": k[4], "clicks": n}
            for k, n in sorted(links.items())
        ])  # fmt: skip


def forget_link(
    conn: Connection, link_id: int, keys: Iterable[tuple[str, datetime, str, str]]
) -> None:
    """Delete a link's value_links rows: `keys` (level, start, dim, value) are those its
    link_values rows name (value_links has no index by link for a cascade)."""
    wanted = sorted(set(keys))
    for first in range(0, len(wanted), 500):
        part = wanted[first : first + 500]
        v = value_links.c
        conn.execute(
            delete(value_links).where(
                v.link_id == link_id,
                tuple_(v.dim, v.value, v.level, v.start).in_(
                    [(dim, value, level, start) for level, start, dim, value in part]
                ),
            )
        )


def fill(conn: Connection) -> None:
    """Rebuild value_pairs from site_combos (each dimension with itself per hour, every pair of
    dimensions per day) and value_links from link_values' month rows (each link's counts per
    value), both of which outlive raw clicks. Pairs: one INSERT ... SELECT per pair of
    dimensions and month (a month's combinations stay in the cache across its 36 statements,
    where whole-table scans read every combination 36 times), then the mirrors in one."""
    conn.execute(value_pairs.delete())
    conn.execute(value_links.delete())
    c = site_combos.c
    names = [*PAIR_KEYS, "clicks", "confirmed"]
    months = sorted(
        utc(m)
        for m in conn.execute(
            select(site_counts.c.start).where(site_counts.c.level == "m")
        ).scalars()
    )
    for month in months:
        stop = bucket(month + timedelta(days=32), "m")
        for i, dim in enumerate(DIMENSIONS):
            for j, other in enumerate(DIMENSIONS):
                if j < i:
                    continue  # the mirror of a pair counted once, copied below
                levels = ("h", "d") if i == j else ("d",)
                query = (
                    select(literal(dim), c[dim], c.level, c.start, literal(other), c[other],
                           func.sum(c.clicks), func.sum(c.confirmed))
                    .where(c.level.in_(levels), c.start >= month, c.start < stop)
                    .group_by(c.level, c.start, c[dim], c[other])
                )  # fmt: skip
                conn.execute(value_pairs.insert().from_select(names, query))
    p = value_pairs.c
    mirror = select(p.other, p.other_value, p.level, p.start, p.dim, p.value, p.clicks, p.confirmed)
    conn.execute(value_pairs.insert().from_select(names, mirror.where(p.dim != p.other)))
    # Each link's month row of counts {dimension: {value: clicks}} unnested in the database.
    if conn.dialect.name == "postgresql":
        unnested = (
            "SELECT d.key, v.key, 'm', l.start, l.link_id, v.value::integer"
            " FROM link_values l, jsonb_each(l.counts::jsonb) d, jsonb_each_text(d.value) v"
            " WHERE l.level = 'm' AND v.value::integer <> 0 AND v.key <> ''"
        )
    else:
        unnested = (
            "SELECT d.key, v.key, 'm', l.start, l.link_id, v.value"
            " FROM link_values l, json_each(l.counts) d, json_each(d.value) v"
            " WHERE l.level = 'm' AND v.value <> 0 AND v.key <> ''"
        )
    conn.exec_driver_sql(
        "INSERT INTO value_links (dim, value, level, start, link_id, clicks) " + unnested
    )


def refresh_statistics(conn: Connection) -> None:
    """SQLite: value_pairs' planner statistics, sampled (`analysis_limit`: milliseconds at 10
    million clicks), so the series under a filter is read along ix_value_pairs_other rather
    than the covering primary key (db/rollup_tables.py). PostgreSQL's autovacuum keeps its own.
    The click writer's daily turn (recorder.purge)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit = 400")
        conn.exec_driver_sql("ANALYZE value_pairs")


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
