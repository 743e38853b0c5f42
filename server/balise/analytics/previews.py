"""Preview views: someone shown a link's summary card, counted once per visitor, link and day.

A view counts in the hourly counters (`preview_views`) the first time a visitor (the daily
visitor hash of visitors.py) is shown a link's card in a UTC day; asking again, however often,
adds nothing. Owns `preview_viewers`, today's (day, link, visitor) rows: past days are deleted
when the salts rotate, so a hash is kept no longer than the salt that made it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import Connection, delete

from balise.db.counters import increment_hourly
from balise.db.dialect import insert
from balise.db.tables import preview_viewers


def count_preview_views(
    conn: Connection, link_ids: Iterable[int], visitor: str, now: datetime
) -> set[int]:
    """Count a view of each link `visitor` has not viewed yet today; returns those counted."""
    day = now.astimezone(timezone.utc).date().isoformat()
    rows = [{"day": day, "link_id": i, "visitor_hash": visitor} for i in sorted(set(link_ids))]
    if not rows:
        return set()
    stmt = insert(conn, preview_viewers).values(rows).on_conflict_do_nothing()
    first = {int(i) for i in conn.execute(stmt.returning(preview_viewers.c.link_id)).scalars()}
    increment_hourly(conn, [{"link_id": i, "hour": now, "preview_views": 1} for i in sorted(first)])
    return first


def delete_past_viewers(conn: Connection, today: str) -> int:
    """Delete the viewers of days before `today` (YYYY-MM-DD); returns how many went."""
    result = conn.execute(delete(preview_viewers).where(preview_viewers.c.day < today))
    return int(result.rowcount or 0)
