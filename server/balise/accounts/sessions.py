"""Dashboard sessions, kept on the server so that ending one really ends it.

Owns the `dashboard_sessions` table. The browser's signed cookie carries a random token and
the table keeps only its SHA-256, so a copied cookie is worth nothing once its row is gone:
signing out deletes the row, a password change or a disabled account deletes every row of
the account, and a session unused for longer than the idle limit is refused and purged.
Knows nothing of HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from balise.db.tables import dashboard_sessions

# Last use is written at most this often, so busy pages do not write on every request.
TOUCH_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(conn: Connection, user_id: int, now: datetime, idle: timedelta) -> str:
    """A new session of `user_id`; returns its token (for the cookie, never stored)."""
    conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.last_seen_at < now - idle))
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(dashboard_sessions).values(
            user_id=user_id, token_hash=_hash(token), created_at=now, last_seen_at=now
        )
    )
    return token


def user_id_of(conn: Connection, token: str, now: datetime, idle: timedelta) -> int | None:
    """The account whose live session `token` is, or None (ended, idle too long, unknown)."""
    row = conn.execute(
        select(
            dashboard_sessions.c.id, dashboard_sessions.c.user_id, dashboard_sessions.c.last_seen_at
        ).where(dashboard_sessions.c.token_hash == _hash(token))
    ).first()
    if row is None or row.last_seen_at < now - idle:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        conn.execute(
            update(dashboard_sessions)
            .where(dashboard_sessions.c.id == row.id)
            .values(last_seen_at=now)
        )
    return int(row.user_id)


def end(conn: Connection, token: str) -> None:
    """End one session (signing out): its cookie, wherever it was copied, stops working."""
    conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == _hash(token)))


def end_all(conn: Connection, user_id: int) -> int:
    """End every session of an account; returns how many there were."""
    result = conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.user_id == user_id))
    return int(result.rowcount or 0)
