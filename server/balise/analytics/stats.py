"""Statistics: totals, a gap-free series and top lists for one link or all links.

Everything comes from the rollups (rollups.py, read through reads.py): the time pyramid of
counters, values and combinations, pairs of values and links per value (valuepairs.py) for
all links under a filter on one or two dimensions, and the per-link hourly combinations
(`click_rollups`) where a filter on dimensions meets one link or tags. All outlive raw
clicks. Unique visitors come from uniques.py, the CSV export from export.py. Reads only;
clicks.py writes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select, true

from balise.analytics import reads, toplinks
from balise.analytics.filters import NO_FILTERS, Filters
from balise.analytics.periods import Period, make_period
from balise.analytics.uniques import add_unique_visitors, for_link, utc
from balise.db.tables import (
    click_rollups,
    hourly_counts,
    links,
    period_counts,
    site_combos,
    site_counts,
    site_values,
    value_links,
    value_pairs,
)

COUNTERS = ("clicks", "confirmed", "bots", "prefetches", "preview_views")
TOTALS = ("clicks", "confirmed", "unique_visitors", "bots", "prefetches", "preview_views")
LONG_RANGE = timedelta(days=62)
# Counters robots and previews feed: they carry no referrer, browser... so no filter applies.
UNFILTERABLE = ("bots", "prefetches", "preview_views")
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


def stats(
    conn: Connection,
    period: Period,
    *,
    link_id: int | None = None,
    kept_since: datetime | None = None,
    top: int = 10,
    filters: Filters = NO_FILTERS,
    compare: bool = False,
    previous_series: bool = False,
) -> dict[str, Any]:
    """Totals, series and top lists over `period`, for one link or (link_id None) all links,
    counting only the clicks `filters` keeps; with `compare`, the previous period's totals
    (and, with `previous_series`, its series).

    `kept_since`: raw clicks before it may have been purged (None: all are kept).
    """
    period = reads.reaching(conn, period)
    totals, series = counts(conn, period, link_id, kept_since, filters)
    if not filters.dims and (link_id is not None or filters.tags):
        links_where = lambda c: and_(for_link(c, link_id), filters.links(c))  # noqa: E731
        counted = reads.link_value_counts(conn, period, links_where)
        top_lists: dict[str, Any] = {
            name: reads.ranked(counted[column.name], top) for name, column in TOP_COLUMNS.items()
        }
    elif len(filters.dims) == 1 and link_id is None and not filters.tags:
        dim, values = filters.dims[0]
        counted = reads.pair_value_counts(conn, period, dim, _stored(values), _combos(filters))
        top_lists = {
            name: reads.ranked(counted[column.name], top) for name, column in TOP_COLUMNS.items()
        }
    elif filters.dims and link_id is None and not filters.tags:
        counted = reads.combo_value_counts(conn, period, _combos(filters))
        top_lists = {
            name: reads.ranked(counted[column.name], top) for name, column in TOP_COLUMNS.items()
        }
    else:
        top_lists = {
            name: top_values(conn, column, period, link_id, top, filters)
            for name, column in TOP_COLUMNS.items()
        }
    if link_id is None:
        top_lists["links"] = top_links(conn, period, top, filters)
    found = {
        "from": period.label(0),
        "to": period.end.astimezone(period.zone),
        "interval": period.interval,
        "tz": period.zone.key,
        "totals": totals,
        "series": [{"start": period.label(i), **point} for i, point in enumerate(series)],
        "top": top_lists,
    }
    if compare:
        before = previous(period)
        earlier, points = counts(conn, before, link_id, kept_since, filters)
        shown: dict[str, Any] = {
            "from": before.label(0),
            "to": before.end.astimezone(before.zone),
            "totals": earlier,
        }
        if previous_series:  # the dashboard's chart overlays it; not in the API answer
            shown["series"] = points
        found["previous"] = shown
    return found


def previous(period: Period) -> Period:
    """The range just before `period`, as long, in the same buckets."""
    span = period.end - period.start
    return make_period(
        period.interval,
        period.zone,
        start=period.start - span,
        end=period.start,
        now=period.start,
    )


def counts(
    conn: Connection,
    period: Period,
    link_id: int | None,
    kept_since: datetime | None,
    filters: Filters = NO_FILTERS,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Totals and one point per bucket. Under a filter on dimensions, counters without
    dimensions (bots, prefetches, preview views) are None: no filter can apply to them."""
    series: list[dict[str, Any]] = [dict.fromkeys(TOTALS, 0) for _ in period.starts]
    if filters.dims and (link_id is not None or filters.tags):
        _add_rollups(conn, period, link_id, filters, series)
    elif filters.dims:
        reads.series(conn, period, _filtered(filters), ("clicks", "confirmed"), series)
    elif link_id is None and not filters.tags:
        reads.series(conn, period, _site_counts, COUNTERS, series)
    else:
        reads.series(conn, period, _link_counts(link_id, filters), COUNTERS, series)
    if filters.dims:
        for point in series:
            point.update(dict.fromkeys(UNFILTERABLE))
    uniques = add_unique_visitors(conn, period, link_id, kept_since, series, filters)
    totals = {
        name: None if series and series[0][name] is None else sum(p[name] for p in series)
        for name in TOTALS
    }
    totals["unique_visitors"] = uniques
    return totals, series


def _add_rollups(
    conn: Connection,
    period: Period,
    link_id: int | None,
    filters: Filters,
    series: list[dict[str, Any]],
) -> None:
    hour = click_rollups.c.hour
    query = (
        select(
            hour,
            func.sum(click_rollups.c.clicks).label("clicks"),
            func.sum(click_rollups.c.confirmed).label("confirmed"),
        )
        .where(hour >= period.start, hour < period.end)
        .where(for_link(click_rollups.c.link_id, link_id), filters.rollups())
        .group_by(hour)
    )
    _into_series(conn, query, period, ("clicks", "confirmed"), series)


def _into_series(
    conn: Connection,
    query: Any,
    period: Period,
    names: tuple[str, ...],
    series: list[dict[str, Any]],
) -> None:
    for row in conn.execute(query):
        i = period.index(utc(row.hour))
        if i is not None:
            for name in names:
                series[i][name] += int(getattr(row, name) or 0)


def _site_counts(level: str) -> tuple[Any, Any, Any]:
    return site_counts, site_counts.c.start, site_counts.c.level == level


def _link_counts(link_id: int | None, filters: Filters) -> reads.Source:
    def source(level: str) -> tuple[Any, Any, Any]:
        if level == "h":
            h = hourly_counts
            return h, h.c.hour, and_(for_link(h.c.link_id, link_id), filters.links(h.c.link_id))
        p = period_counts
        where = and_(p.c.level == level, for_link(p.c.link_id, link_id), filters.links(p.c.link_id))
        return p, p.c.start, where

    return source


def _stored(values: tuple[str | None, ...]) -> list[str]:
    return [v or "" for v in values]


def _filtered(filters: Filters) -> reads.Source:
    """Clicks and confirmed clicks under a filter on dimensions: one dimension's values with
    themselves (value_pairs, hours and days; a month as its days), two dimensions' pairs
    (value_pairs' days; the combinations for hours), more dimensions' combinations
    (site_combos)."""
    combos = _combos(filters)
    dims = filters.dims

    def source(level: str) -> tuple[Any, Any, Any]:
        if len(dims) == 1 or (len(dims) == 2 and level != "h"):
            (dim, values), (other, others) = dims[0], dims[-1]
            p = value_pairs.c
            where = and_(
                p.dim == dim,
                p.value.in_(_stored(values)),
                p.level == ("h" if level == "h" else "d"),  # months are read as their days
                p.other == other,
                p.other_value.in_(_stored(others)),
            )
            return value_pairs, p.start, where
        return combos(level)

    return source


def _value_links(dim: str, values: list[str]) -> reads.Source:
    def source(level: str) -> tuple[Any, Any, Any]:
        v = value_links.c
        return value_links, v.start, and_(v.dim == dim, v.value.in_(values), v.level == level)

    return source


def _combos(filters: Filters) -> reads.Source:
    def source(level: str) -> tuple[Any, Any, Any]:
        c = site_combos.c
        dims = [c[d].in_([v or "" for v in values]) for d, values in filters.dims]
        return site_combos, c.start, and_(c.level == level, *dims)

    return source


def _values(dim: str) -> reads.Source:
    def source(level: str) -> tuple[Any, Any, Any]:
        if level == "h":
            return click_rollups, click_rollups.c.hour, true()
        s = site_values
        return s, s.c.start, and_(s.c.dim == dim, s.c.level == level)

    return source


def top_values(
    conn: Connection,
    column: Any,
    period: Period,
    link_id: int | None,
    limit: int,
    filters: Filters = NO_FILTERS,
) -> list[dict[str, Any]]:
    """The most frequent values of a dimension over the period, most clicks first, from the
    rollups. Clicks without the value count in a row of their own (`value` None)."""
    dim = column.name
    if filters.dims and link_id is None and not filters.tags:
        source = _combos(filters)
        return reads.top_values(conn, period, source, lambda t: t.c[dim], limit)
    if not filters.dims and link_id is None and not filters.tags:
        source = _values(dim)
        pick = lambda t: t.c[dim] if t is click_rollups else t.c.value  # noqa: E731
        return reads.top_values(conn, period, source, pick, limit)
    count = func.sum(click_rollups.c.clicks).label("n")
    query = (
        select(column, count)
        .where(click_rollups.c.hour >= period.start, click_rollups.c.hour < period.end)
        .where(for_link(click_rollups.c.link_id, link_id), filters.rollups())
        .group_by(column)
        .having(count > 0)
        .order_by(count.desc(), column)
        .limit(limit)
    )
    return [{"value": value or None, "clicks": int(n)} for value, n in conn.execute(query)]


def top_links(
    conn: Connection, period: Period, limit: int, filters: Filters = NO_FILTERS
) -> list[dict[str, Any]]:
    """The most clicked links: summed per link id first, so only `limit` rows meet `links`."""
    if not filters.dims:
        sorted_source = _link_counts(None, filters)
        hours = toplinks.hours_of(hourly_counts, filters.links(hourly_counts.c.link_id))
        return toplinks.top_links(conn, period, sorted_source, hours, limit)
    if len(filters.dims) == 1 and not filters.tags and all(filters.dims[0][1]):
        dim, values = filters.dims[0]  # values only: value_links keeps no ''
        hours = toplinks.hours_of(click_rollups, filters.rollups())
        source = _value_links(dim, _stored(values))
        # Months from value_links; a month the range cuts bounds its part, read for the
        # candidates from their day rows of counts and rollup hours.
        cut = toplinks.values_of_links(dim, _stored(values), filters.rollups())
        return toplinks.top_links(
            conn, period, source, hours, limit, len(values), levels=("m",), cut_source=cut
        )
    table = click_rollups if filters.dims else hourly_counts
    total = func.sum(table.c.clicks).label("n")
    hour: Any = table.c.hour
    if period.end - period.start > LONG_RANGE:
        # Most rows are in the range: read the table in key (link) order rather than each row
        # through the hour index (SQLite: 5 to 7 times faster over 12 of 13 months).
        hour = func.coalesce(hour, hour)
    per_link = (
        select(table.c.link_id, total)
        .where(hour >= period.start, hour < period.end)
        .where(filters.rollups() if filters.dims else filters.links(table.c.link_id))
        .group_by(table.c.link_id)
        .having(total > 0)
        .order_by(total.desc(), table.c.link_id)
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
