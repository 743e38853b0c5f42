"""Which links a unit of work changed, so caches can drop them once it commits.

Domain functions that change what a reader sees (a link, its summary) call mark_changed();
web.context.transaction() takes the marks after a successful commit and hands them to the
app's invalidation (local cache, then Redis for the other instances).
"""

from __future__ import annotations

from sqlalchemy import Connection

_KEY = "balise.changed_slugs"


def mark_changed(conn: Connection, slug: str) -> None:
    conn.info.setdefault(_KEY, set()).add(slug.lower())


def take_changed(conn: Connection) -> set[str]:
    """The slugs marked on this connection since the last call, and forget them."""
    return set(conn.info.pop(_KEY, ()))
