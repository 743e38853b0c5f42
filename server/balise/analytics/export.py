"""CSV export of raw clicks: the one statistics answer that reads them.

Streamed in constant memory; cells a spreadsheet would run as a formula are prefixed with "'".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from balise.analytics.uniques import utc
from balise.db.tables import clicks, links

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


def export_query(
    link_id: int | None, start: datetime | None = None, end: datetime | None = None
) -> Select[Any]:
    """The stored clicks of one link (or of every link, link_id None), oldest first."""
    query = (
        select(clicks, links.c.slug)
        .join(links, links.c.id == clicks.c.link_id)
        .order_by(clicks.c.ts, clicks.c.id)
    )
    if link_id is not None:
        query = query.where(clicks.c.link_id == link_id)
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
        utc(m["ts"]).isoformat().replace("+00:00", "Z"),
        m["slug"],
        *(_cell(m[name]) for name in (*_TEXT_COLUMNS, "visitor_hash")),
        "1" if m["dnt"] else "0",
        utc(confirmed).isoformat().replace("+00:00", "Z") if confirmed else "",
    ]


def _cell(value: str | None) -> str:
    """Text a spreadsheet will not run as a formula (values come from readers' requests)."""
    if not value:
        return ""
    return "'" + value if value[0] in "=+-@\t\r" else value


def click_objects(conn: Connection, uids: Sequence[str]) -> list[dict[str, Any]]:
    """The stored clicks named by `uids` (those still stored), in the order they were stored,
    with the export's columns as JSON values (webhook `clicks` events)."""
    if not uids:
        return []
    query = (
        select(clicks, links.c.slug)
        .join(links, links.c.id == clicks.c.link_id)
        .where(clicks.c.uid.in_(list(uids)))
        .order_by(clicks.c.id)
    )
    return [_click_object(row._mapping) for row in conn.execute(query)]


def _click_object(m: Any) -> dict[str, Any]:
    confirmed = m["confirmed_at"]
    return {
        "time": utc(m["ts"]).isoformat().replace("+00:00", "Z"),
        "link": m["slug"],
        **{name: m[name] for name in _TEXT_COLUMNS},
        "visitor": m["visitor_hash"],
        "dnt": bool(m["dnt"]),
        "confirmed_at": utc(confirmed).isoformat().replace("+00:00", "Z") if confirmed else None,
    }
