"""Which links a unit of work changed, so caches can drop them once it commits.

Domain functions that change what a reader sees (a link, its summary, its card) call
mark_changed(). It records the slug in `link_changes` in the same transaction (once per slug
and transaction): the change feed every instance polls (links/feed.py), so a change made by
any process, `balise import` or another instance included, reaches every cache once it commits.
web.context.transaction() also takes the marks after a successful commit and hands them to the
app's invalidation (local cache at once, then Redis for the other instances).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timezone

from sqlalchemy import Connection, delete, func, insert, or_, select

from balise.db.tables import link_changes

_KEY = "balise.changed_slugs"
_RECORDED = "balise.recorded_slugs"


def mark_changed(conn: Connection, slug: str) -> None:
    key = slug.lower()
    conn.info.setdefault(_KEY, set()).add(key)
    # Recorded once per transaction: conn.info outlives it (it belongs to the pooled connection),
    # so the slugs recorded are kept with the transaction they were recorded in.
    held = conn.info.get(_RECORDED)
    transaction = conn.get_transaction()  # None before a first statement begins one
    if transaction is not None and held is not None and held[0] is transaction:
        if key in held[1]:
            return
    now = datetime.now(timezone.utc)
    conn.execute(insert(link_changes).values(slug_key=key, changed_at=now))
    transaction = conn.get_transaction()
    if held is None or held[0] is not transaction:
        held = conn.info[_RECORDED] = (transaction, set())
    recorded: set[str] = held[1]
    recorded.add(key)


def take_changed(conn: Connection) -> set[str]:
    """The slugs marked on this connection since the last call, and forget them."""
    return set(conn.info.pop(_KEY, ()))


def newest(conn: Connection) -> int | None:
    """The id of the newest change recorded (None: none is)."""
    found = conn.execute(select(func.max(link_changes.c.id))).scalar_one_or_none()
    return None if found is None else int(found)


def recorded_since(conn: Connection, when: datetime) -> list[tuple[int, str]]:
    """(id, slug key) of the changes recorded at `when` or later, by id."""
    query = (
        select(link_changes.c.id, link_changes.c.slug_key)
        .where(link_changes.c.changed_at >= when)
        .order_by(link_changes.c.id)
    )
    return [(int(i), str(k)) for i, k in conn.execute(query)]


def after(
    conn: Connection, last: int, missing: Collection[int] = (), limit: int = 5000
) -> list[tuple[int, str]]:
    """(id, slug key) of the changes with an id above `last` or in `missing`, by id."""
    newer = link_changes.c.id > last
    query = (
        select(link_changes.c.id, link_changes.c.slug_key)
        .where(or_(newer, link_changes.c.id.in_(sorted(missing))) if missing else newer)
        .order_by(link_changes.c.id)
        .limit(limit)
    )
    return [(int(i), str(k)) for i, k in conn.execute(query)]


def prune(conn: Connection, before: datetime) -> int:
    """Delete the changes recorded before `before`; how many went. Looks first, so a table
    with nothing to delete costs no write (on SQLite, no wait for the write lock)."""
    old = select(link_changes.c.id).where(link_changes.c.changed_at < before).limit(1)
    if conn.execute(old).first() is None:
        return 0
    return int(
        conn.execute(delete(link_changes).where(link_changes.c.changed_at < before)).rowcount
    )
