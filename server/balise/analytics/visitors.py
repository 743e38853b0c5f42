"""Unique visitors without tracking: a keyed hash of (IP, user agent) under a salt of the day.

The salt rotates every UTC day and lives in `visitor_salts`, so every instance of Balise uses
the same one (insert if absent, then read). Past days' salts are deleted: once a day is over,
nobody (the operator included) can link its hashes to an address or to another day's hashes.
Past days' preview viewers (previews.py) go with them.
Owns the `visitor_salts` table.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from balise.analytics.previews import delete_past_viewers
from balise.db.tables import visitor_salts

HASH_BYTES = 16
# How long after midnight a past day's salt stays in memory, for clicks still in the buffer.
STRAGGLER_GRACE = timedelta(minutes=10)


def day_of(moment: datetime) -> str:
    """The UTC day a moment falls in, as YYYY-MM-DD (the key of salts and daily visitors)."""
    return moment.astimezone(timezone.utc).date().isoformat()


def visitor_hash(salt: bytes, ip: str, user_agent: str) -> str:
    """BLAKE2b keyed by the day's salt over the address and user agent: 32 hex characters."""
    digest = hashlib.blake2b(key=salt, digest_size=HASH_BYTES)
    digest.update(ip.encode("utf-8", "replace"))
    digest.update(b"\x00")
    digest.update(user_agent.encode("utf-8", "replace"))
    return digest.hexdigest()


class SaltStore:
    """Each day's salt, shared through the database and cached in memory once committed.

    The writer calls prepare() often: it makes today's salt and, in the last hour of a day,
    tomorrow's, so clicks just after midnight find theirs cached; on a new day it deletes the
    salts of past days from storage, and forgets them in memory STRAGGLER_GRACE later.
    """

    def __init__(self, transaction: Callable[[], AbstractContextManager[Connection]]) -> None:
        self.transaction = transaction  # opens a connection in a transaction, commits on exit
        self._cache: dict[str, bytes] = {}
        self._today = ""
        self._lock = threading.Lock()

    def prepare(self, now: datetime) -> None:
        self.salt_for(day_of(now), now)
        self.salt_for(day_of(now + timedelta(hours=1)), now)

    def salt_for(self, day: str, now: datetime) -> bytes | None:
        """The salt of `day`: made when absent for today or later; for a past day, only the
        one still known. None when a past day's salt is gone: it is never made again."""
        with self._lock:
            self._rotate(now)
            salt = self._cache.get(day)
            if salt is None:
                # Its own transaction: a salt is cached only once every instance can read it.
                with self.transaction() as conn:
                    make = day >= self._today
                    salt = _shared_salt(conn, day) if make else _stored_salt(conn, day)
                if salt is not None:
                    self._cache[day] = salt
            return salt

    def _rotate(self, now: datetime) -> None:
        today = day_of(now)
        if today != self._today:  # a new day (or a clock set back, in tests)
            with self.transaction() as conn:
                delete_past_salts(conn, today)
                delete_past_viewers(conn, today)
            self._today = today
        keep_from = day_of(now - STRAGGLER_GRACE)
        for day in [d for d in self._cache if d < keep_from]:
            del self._cache[day]


def _shared_salt(conn: Connection, day: str) -> bytes:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(visitor_salts)
        .values(day=day, salt=secrets.token_hex(32))
        .on_conflict_do_nothing(index_elements=["day"])
    )
    salt = _stored_salt(conn, day)
    assert salt is not None  # noqa: S101 - inserted or kept just above
    return salt


def _stored_salt(conn: Connection, day: str) -> bytes | None:
    stored = conn.execute(select(visitor_salts.c.salt).where(visitor_salts.c.day == day))
    found = stored.scalar_one_or_none()
    return bytes.fromhex(found) if found else None


def delete_past_salts(conn: Connection, today: str | date) -> int:
    """Delete the salts of days before `today`; returns how many went."""
    result = conn.execute(delete(visitor_salts).where(visitor_salts.c.day < str(today)))
    return int(result.rowcount or 0)
