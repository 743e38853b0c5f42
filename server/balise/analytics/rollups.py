"""Click rollups: per link and UTC hour, one counter row per combination of dimensions.

Every statistics answer reads these rows, never raw clicks (those serve the CSV export and
may be purged), so top lists outlive click retention and any filter on the dimensions stays
exact: a row holds the referrer host, browser, OS, device, country and UTM values of the
clicks it counts. A value absent from a click is stored as '' (key columns cannot be NULL)
and read back as None. `add_clicks` runs in the batch writer's transaction (clicks.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, func, select

from balise.db.counters import hour_of
from balise.db.dialect import insert
from balise.db.tables import click_rollups, clicks

DIMENSIONS = (
    "referrer_host",
    "browser",
    "os",
    "device",
    "country",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
_COUNTS = ("clicks", "confirmed")


def combo(values: Iterable[object]) -> str:
    """The key of a combination of dimension values (stored text never holds \\x1f)."""
    joined = "\x1f".join(str(v or "") for v in values)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def add_clicks(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Add clicks (and confirmations) to the rollups. Each item: link_id, ts, the DIMENSIONS,
    and optionally `clicks` / `confirmed` amounts (default: one click, not confirmed)."""
    merged: dict[tuple[int, datetime, str], dict[str, Any]] = {}
    for row in rows:
        values = {name: row.get(name) or "" for name in DIMENSIONS}
        key = (int(row["link_id"]), hour_of(row["ts"]), combo(values.values()))
        target = merged.setdefault(key, {**values, "clicks": 0, "confirmed": 0})
        target["clicks"] += int(row.get("clicks", 1))
        target["confirmed"] += int(row.get("confirmed", 0))
    if not merged:
        return
    values_list = [
        {"link_id": k[0], "hour": k[1], "combo": k[2], **v} for k, v in sorted(merged.items())
    ]
    stmt = insert(conn, click_rollups)
    stmt = stmt.on_conflict_do_update(
        index_elements=["link_id", "hour", "combo"],
        set_={name: click_rollups.c[name] + stmt.excluded[name] for name in _COUNTS},
    )
    conn.execute(stmt, values_list)


def fill_from_clicks(conn: Connection, batch: int = 5000) -> int:
    """Rebuild the rollups from the stored clicks (the migration's fill); returns rows added.

    Clicks are grouped per hour in the database and streamed, so memory stays bounded.
    """
    conn.execute(click_rollups.delete())
    hour = _hour_expr(conn)
    dims = [clicks.c[name] for name in DIMENSIONS]
    query = select(
        clicks.c.link_id,
        hour.label("hour"),
        *dims,
        func.count().label("clicks"),
        func.count(clicks.c.confirmed_at).label("confirmed"),
    ).group_by(clicks.c.link_id, hour, *dims)
    added = 0
    result = conn.execute(query.execution_options(yield_per=batch))
    for part in result.partitions():
        rows = [_grouped_row(dict(r._mapping)) for r in part]
        conn.execute(insert(conn, click_rollups), rows)
        added += len(rows)
    return added


def _grouped_row(m: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: m[name] or "" for name in DIMENSIONS}
    when = m["hour"]
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
    return {
        "link_id": m["link_id"],
        "hour": when,
        "combo": combo(values.values()),
        **values,
        "clicks": m["clicks"],
        "confirmed": m["confirmed"],
    }


def _hour_expr(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", clicks.c.ts))
    return func.strftime("%Y-%m-%d %H:00:00", clicks.c.ts)
