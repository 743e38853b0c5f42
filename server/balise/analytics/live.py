"""The live view: clicks of the last 60 minutes per minute, and the most recent clicks.

Reads the clicks table (the only statistics besides the CSV export that does: the rollups
count per hour), through its index on `ts`, so every instance sees the clicks every writer
stored. A recent click shows its time, link, referrer host, country and device, nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, func, select

from balise.db.tables import clicks, links

MINUTES = 60
RECENT = 50
UTC = timezone.utc


def live(conn: Connection, now: datetime, *, recent: int = RECENT) -> dict[str, Any]:
    """Per-minute clicks over the MINUTES minutes up to `now`, and the `recent` latest clicks."""
    end = now.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=MINUTES)
    counts = dict.fromkeys((start + timedelta(minutes=i) for i in range(MINUTES)), 0)
    minute, parse = _minute_of(conn)
    query = (
        select(minute.label("minute"), func.count().label("n"))
        .where(clicks.c.ts >= start, clicks.c.ts < end)
        .group_by(minute)
    )
    for row in conn.execute(query):
        when = parse(row.minute)
        if when in counts:
            counts[when] += int(row.n)
    latest = (
        select(clicks.c.ts, links.c.slug, clicks.c.referrer_host, clicks.c.country, clicks.c.device)
        .join(links, links.c.id == clicks.c.link_id)
        .where(clicks.c.ts >= start, clicks.c.ts < end)
        .order_by(clicks.c.ts.desc(), clicks.c.id.desc())
        .limit(recent)
    )
    return {
        "from": start,
        "to": end,
        "minutes": [{"start": when, "clicks": n} for when, n in counts.items()],
        "recent": [
            {"time": r.ts, "link": r.slug, "referrer": r.referrer_host, "country": r.country,
             "device": r.device}
            for r in conn.execute(latest)
        ],
    }  # fmt: skip


def _minute_of(conn: Connection) -> tuple[Any, Any]:
    """SQL truncating clicks.ts to its UTC minute, and the parser of what it returns."""
    if conn.dialect.name == "postgresql":
        expr = func.date_trunc("minute", func.timezone("UTC", clicks.c.ts))
        return expr, lambda v: v.replace(tzinfo=UTC)
    expr = func.strftime("%Y-%m-%d %H:%M:00", clicks.c.ts)
    return expr, lambda v: datetime.fromisoformat(v).replace(tzinfo=UTC)
