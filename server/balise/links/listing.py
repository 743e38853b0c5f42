"""The dashboard's link list: search, tag filter, newest or most-clicked first, cursor pages.

Reads links (through links.py's filters) and the hourly_counts roll-ups; writes nothing. Pages
are keyset pages: a cursor names the last row shown, so pages never skip or repeat a link
when links are added meanwhile.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, or_, select

from balise.db.tables import hourly_counts
from balise.db.tables import links as links_table
from balise.errors import BadRequest
from balise.links import store as links
from balise.values import INT_MAX

SORTS = ("newest", "clicks")


@dataclass(frozen=True)
class Row:
    link: links.Link
    clicks: int


def click_totals(conn: Connection, ids: Iterable[int]) -> dict[int, int]:
    """Served clicks of each link since it was created (0 when none)."""
    wanted = list(ids)
    totals = dict.fromkeys(wanted, 0)
    if wanted:
        query = (
            select(hourly_counts.c.link_id, func.sum(hourly_counts.c.clicks))
            .where(hourly_counts.c.link_id.in_(wanted))
            .group_by(hourly_counts.c.link_id)
        )
        totals.update({link_id: int(n or 0) for link_id, n in conn.execute(query)})
    return totals


def _encode(*parts: int) -> str:
    raw = ":".join(str(p) for p in parts).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = [int(p) for p in raw.split(":")]
    except (ValueError, UnicodeDecodeError):
        parts = []
    # The last part is a link id (an INTEGER column); a click count may be larger.
    if len(parts) != size or not all(0 <= p < 2**63 for p in parts) or parts[-1] > INT_MAX:
        raise BadRequest("The cursor is not one this server handed out.")
    return parts


def list_page(
    conn: Connection,
    *,
    q: str | None = None,
    tag: str | None = None,
    sort: str = "newest",
    limit: int = 25,
    cursor: str | None = None,
) -> tuple[list[Row], str | None]:
    """One page of links with their click totals, and the cursor of the next page (or None)."""
    totals = (
        select(hourly_counts.c.link_id, func.sum(hourly_counts.c.clicks).label("n"))
        .group_by(hourly_counts.c.link_id)
        .subquery()
    )
    n = func.coalesce(totals.c.n, 0)
    ident = links_table.c.id
    query = (
        select(ident, n.label("n"))
        .select_from(links_table.outerjoin(totals, totals.c.link_id == ident))
        .where(*links.search_filters(q, tag))
        .limit(limit + 1)
    )
    if sort == "clicks":
        query = query.order_by(n.desc(), ident.desc())
        if cursor:
            count, last = _decode(cursor, 2)
            query = query.where(or_(n < count, and_(n == count, ident < last)))
    else:
        query = query.order_by(ident.desc())
        if cursor:
            query = query.where(ident < _decode(cursor, 1)[0])
    found = conn.execute(query).all()
    page, more = found[:limit], len(found) > limit
    counts = {r.id: int(r.n) for r in page}
    rows = [Row(link, counts[link.id]) for link in links.links_by_ids(conn, list(counts))]
    if not (more and page):
        return rows, None
    last_row = page[-1]
    return rows, (_encode(last_row.n, last_row.id) if sort == "clicks" else _encode(last_row.id))
