"""Statistics API: totals, series and top lists per link or for all links; CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import Response as FlaskResponse
from spectree import Response
from sqlalchemy import Connection

from balise.analytics import export, filters, live, stats
from balise.analytics.periods import make_period, parse_moment, zone
from balise.links.importing import imported_total
from balise.links.model import Link
from balise.web.api.blueprint import bp, operation
from balise.web.api.links import find_link
from balise.web.api.schemas.stats import ExportQuery, LiveOut, StatsOut, StatsQuery
from balise.web.context import state, transaction
from balise.web.reader.track import recorder

TAGS = ["stats"]


def _stats(conn: Connection, query: StatsQuery, link: Link | None) -> dict[str, Any]:
    tz = zone(query.tz)
    now = recorder().clock()
    start = parse_moment(query.from_, tz, "from") if query.from_ else None
    end = parse_moment(query.to, tz, "to") if query.to else None
    period = make_period(query.interval, tz, start=start, end=end, now=now)
    days = int(state().settings["CLICK_RETENTION_DAYS"])
    kept_since = now - timedelta(days=days) if days else None
    params = {name: getattr(query, name) for name in filters.PARAMS}
    chosen = filters.Filters.of(params, query.tag)
    link_id = link.id if link is not None else None
    found = stats.stats(
        conn,
        period,
        link_id=link_id,
        kept_since=kept_since,
        top=query.top,
        filters=chosen,
        compare=query.compare == "previous",
    )
    # A total without dates or dimensions: outside periods, unknown under a dimension filter.
    if chosen.dims:
        imported = None
    elif link is not None and not chosen.tags:
        imported = link.imported_clicks  # read with the link: one round trip less
    else:
        imported = imported_total(conn, link_id=link_id, tags=chosen.tags)
    return {**found, "filters": applied(chosen), "imported_clicks": imported}


def applied(chosen: filters.Filters) -> dict[str, list[str | None]]:
    """The filters as the answer echoes them: by parameter, null for "without a value"."""
    echoed: dict[str, list[str | None]] = {}
    for name, value in chosen.as_params():
        echoed.setdefault(name, []).append(value or None)
    return echoed


@bp.get("/links/<slug>/stats")
@operation("viewer", query=StatsQuery, resp=Response(HTTP_200=StatsOut), tags=TAGS)
def link_stats(slug: str, query: StatsQuery) -> dict[str, Any]:
    """A link's totals, gap-free series in the requested time zone, and top lists."""
    with transaction() as conn:
        link = find_link(conn, slug, tags=False)
        return {"link": link.slug, **_stats(conn, query, link)}


@bp.get("/stats")
@operation("viewer", query=StatsQuery, resp=Response(HTTP_200=StatsOut), tags=TAGS)
def all_stats(query: StatsQuery) -> dict[str, Any]:
    """The same totals, series and top lists across all links, plus the top links."""
    with transaction() as conn:
        return {"link": None, **_stats(conn, query, None)}


@bp.get("/stats/live")
@operation("viewer", resp=Response(HTTP_200=LiveOut), tags=TAGS)
def live_stats() -> dict[str, Any]:
    """Clicks of the last 60 minutes per minute and the 50 most recent clicks (time, link,
    referrer host, country, device), read from the database: every instance's clicks."""
    with transaction() as conn:
        return live.live(conn, recorder().clock())


@bp.get("/links/<slug>/clicks.csv")
@operation("viewer", query=ExportQuery, resp=Response("HTTP_200"), tags=TAGS, media_type="text/csv")
def clicks_csv(slug: str, query: ExportQuery) -> FlaskResponse:
    """Every stored click of a link as CSV (text/csv), streamed with a header row."""
    with transaction() as conn:
        link = find_link(conn, slug)
    return _csv(link.id, query, f"{link.slug}-clicks")


@bp.get("/clicks.csv")
@operation("viewer", query=ExportQuery, resp=Response("HTTP_200"), tags=TAGS, media_type="text/csv")
def all_clicks_csv(query: ExportQuery) -> FlaskResponse:
    """Every stored click of every link as CSV (text/csv), streamed, with the same columns and
    formula escaping as a link's export (the `link` column names each click's link)."""
    return _csv(None, query, "clicks")


def _csv(link_id: int | None, query: ExportQuery, name: str) -> FlaskResponse:
    utc = zone("UTC")
    start = parse_moment(query.from_, utc, "from") if query.from_ else None
    end = parse_moment(query.to, utc, "to") if query.to else None
    selected = export.export_query(link_id, start, end)
    engine = state().engine

    def generate() -> Iterator[str]:
        with engine.connect() as conn:
            yield from export.export_csv(conn, selected)

    stamp = datetime.now().strftime("%Y%m%d")
    return FlaskResponse(
        generate(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
