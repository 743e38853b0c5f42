"""Campaigns and tags across links: their totals over a period, from the rollup pyramid.
Reads only.

A campaign's clicks and unique visitors come from the site-wide rows per value
(`site_values`, dimension utm_campaign: a few rows per campaign and month, whatever the number
of links); a tag's from its links' day and month counters (`period_counts`), so the tags a
link holds today decide where its past clicks count, as on the statistics pages. Hours of days
the range cuts come from the hour rows (site_values' hours; hourly_counts for tags), and their
unique visitors from the raw clicks of those hours, as for every unique visitor count
(uniques.py).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, distinct, func, select, union_all

from balise.analytics.periods import Period
from balise.analytics.reads import ranges_where, reaching
from balise.db.pyramid import merged, pieces
from balise.db.tables import clicks as raw_clicks
from balise.db.tables import hourly_counts, link_tags, period_counts, site_values


def campaigns(conn: Connection, period: Period, limit: int = 200) -> list[dict[str, Any]]:
    """Each utm_campaign seen over the period: clicks and unique visitors (the sum of each
    UTC day's), most clicked first."""
    v = site_values.c
    clicks: Counter[str] = Counter()
    visitors: Counter[str] = Counter()
    period = reaching(conn, period)
    parts = merged(pieces(period.start, period.stop))
    for level, ranges in parts.items():
        query = (
            select(v.value, func.sum(v.clicks), func.sum(v.visitors))
            .where(v.dim == "utm_campaign", v.level == level, v.value != "")
            .where(ranges_where(v.start, ranges))
            .group_by(v.value)
        )
        for value, n, people in conn.execute(query):
            clicks[value] += int(n or 0)
            visitors[value] += int(people or 0)
    if "h" in parts:  # a hash lives one UTC day: the cut days' hours are counted apart
        c = raw_clicks.c
        per_value: Any = (
            select(c.utm_campaign, func.count(distinct(c.visitor_hash)))
            .where(ranges_where(c.ts, parts["h"]), c.visitor_hash.is_not(None))
            .where(c.utm_campaign.is_not(None))
            .group_by(c.utm_campaign)
        )
        for value, people in conn.execute(per_value):
            visitors[value] += int(people)
    best = sorted(((-n, value) for value, n in clicks.items() if n > 0))[:limit]
    return [{"value": value, "clicks": -n, "visitors": visitors[value]} for n, value in best]


def tags(conn: Connection, period: Period, limit: int = 200) -> list[dict[str, Any]]:
    """Each tag whose links were clicked over the period: clicks, confirmed clicks, links."""
    p, h = period_counts.c, hourly_counts.c
    rows = []
    period = reaching(conn, period)
    for level, ranges in merged(pieces(period.start, period.stop)).items():
        if level == "h":
            rows.append(
                select(h.link_id, h.clicks, h.confirmed).where(ranges_where(h.hour, ranges))
            )
        else:
            rows.append(
                select(p.link_id, p.clicks, p.confirmed).where(
                    p.level == level, ranges_where(p.start, ranges)
                )
            )
    if not rows:
        return []
    both = union_all(*rows).subquery()
    # Summed per link first (one row per link with a counter in the range), then per tag:
    # joining every day and month row to the tags and counting distinct links there sorted
    # rows tags times over.
    per_link = (
        select(
            both.c.link_id,
            func.sum(both.c.clicks).label("clicks"),
            func.sum(both.c.confirmed).label("confirmed"),
        )
        .group_by(both.c.link_id)
        .subquery()
    )
    n = func.sum(per_link.c.clicks).label("clicks")
    query = (
        select(
            link_tags.c.tag,
            n,
            func.sum(per_link.c.confirmed).label("confirmed"),
            func.count().label("links"),
        )
        .join(link_tags, link_tags.c.link_id == per_link.c.link_id)
        .group_by(link_tags.c.tag)
        .having(n > 0)
        .order_by(n.desc(), link_tags.c.tag)
        .limit(limit)
    )
    return [
        {"value": row.tag, "clicks": int(row.clicks), "confirmed": int(row.confirmed),
         "links": int(row.links)}
        for row in conn.execute(query)
    ]  # fmt: skip
