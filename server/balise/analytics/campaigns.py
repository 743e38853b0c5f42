"""Campaigns and tags across links: their totals over a period, from the rollups and the
hourly counters (never raw clicks). Reads only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, distinct, func, select

from balise.analytics.periods import Period
from balise.db.tables import click_rollups, hourly_counts, link_tags


def campaigns(conn: Connection, period: Period, limit: int = 200) -> list[dict[str, Any]]:
    """Each utm_campaign seen over the period: clicks, confirmed clicks and links, most first."""
    r = click_rollups.c
    n = func.sum(r.clicks).label("clicks")
    query = (
        select(
            r.utm_campaign,
            n,
            func.sum(r.confirmed).label("confirmed"),
            func.count(distinct(r.link_id)).label("links"),
        )
        .where(r.hour >= period.start, r.hour < period.end, r.utm_campaign != "")
        .group_by(r.utm_campaign)
        .having(n > 0)
        .order_by(n.desc(), r.utm_campaign)
        .limit(limit)
    )
    return [
        {"value": row.utm_campaign, "clicks": int(row.clicks), "confirmed": int(row.confirmed),
         "links": int(row.links)}
        for row in conn.execute(query)
    ]  # fmt: skip


def tags(conn: Connection, period: Period, limit: int = 200) -> list[dict[str, Any]]:
    """Each tag whose links were clicked over the period, with the same totals."""
    h = hourly_counts.c
    n = func.sum(h.clicks).label("clicks")
    query = (
        select(
            link_tags.c.tag,
            n,
            func.sum(h.confirmed).label("confirmed"),
            func.count(distinct(h.link_id)).label("links"),
        )
        .join(link_tags, link_tags.c.link_id == h.link_id)
        .where(h.hour >= period.start, h.hour < period.end)
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
