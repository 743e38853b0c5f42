"""API keys: created once in clear, stored as a SHA-256 hash, checked on every API call.

Owns the `api_keys` table. Keys carry 256 random bits, so a fast hash is enough: nobody can
brute-force the preimage, and lookup by hash stays one indexed query. Also holds the rule that
Balise never loses its last admin credential (a live admin key, or an enabled admin account,
which can make admin keys in the dashboard).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import Connection, false, func, or_, select, text, update

from balise.db.dialect import insert_unless_taken, possible_id
from balise.db.tables import api_keys, users
from balise.errors import Conflict, NotFound, ValidationFailed
from balise.text import check_text

ROLES = ("viewer", "editor", "admin")
KEY_PREFIX = "blz_"
# Serialises changes that may remove an admin credential on PostgreSQL (any constant will do).
_ADMIN_LOCK = 0x42414C4941444D


class LastAdmin(Conflict):
    type, title = "last-admin", "Last admin credential"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    user_id: int | None = None

    def allows(self, role: str) -> bool:
        """True when this key's role is `role` or above (viewer < editor < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _to_key(row: object) -> ApiKey:
    m = row._mapping  # type: ignore[attr-defined]
    return ApiKey(
        id=m["id"],
        name=m["name"],
        role=m["role"],
        prefix=m["prefix"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
        user_id=m["user_id"],
    )


def create_key(
    conn: Connection, name: str, role: str, *, user_id: int | None = None
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its plaintext, which is never stored or shown again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed.field("name", "must be 1 to 100 characters")
    check_text("name", name)
    if role not in ROLES:
        raise ValidationFailed.field("role", "must be one of: " + ", ".join(ROLES))
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = insert_unless_taken(
        conn,
        api_keys,
        {
            "name": name,
            "role": role,
            "key_hash": _hash(plaintext),
            "prefix": plaintext[:10],
            "user_id": user_id,
            "created_at": datetime.now(timezone.utc),
        },
    )
    if key_id is None:
        raise Conflict(f"An API key named '{name}' already exists.")
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    return _to_key(row), plaintext


def authenticate(conn: Connection, plaintext: str) -> ApiKey | None:
    """The live key matching `plaintext`, or None (unknown, revoked, or its account disabled).

    A key that belongs to an account never acts above that account's current role.
    """
    row = conn.execute(
        select(api_keys, users.c.role.label("user_role"), users.c.disabled.label("user_off"))
        .outerjoin(users, users.c.id == api_keys.c.user_id)
        .where(api_keys.c.key_hash == _hash(plaintext), api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None or row.user_off:
        return None
    key = _to_key(row)
    if row.user_role in ROLES and ROLES.index(row.user_role) < ROLES.index(key.role):
        key = replace(key, role=row.user_role)
    return key


def touch(conn: Connection, key: ApiKey, now: datetime) -> None:
    """Record use, at most once a minute per key so busy keys do not write on every call."""
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        conn.execute(update(api_keys).where(api_keys.c.id == key.id).values(last_used_at=now))


def list_keys(conn: Connection, *, user_id: int | None = None) -> list[ApiKey]:
    query = select(api_keys).order_by(api_keys.c.id)
    if user_id is not None:
        query = query.where(api_keys.c.user_id == user_id)
    return [_to_key(r) for r in conn.execute(query)]


def get_key(conn: Connection, key_id: int) -> ApiKey | None:
    if not possible_id(key_id):
        return None
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    return _to_key(row) if row else None


def revoke_key(conn: Connection, name: str) -> ApiKey:
    """Revoke a live key; 404 when there is none, 409 when it is the last admin credential."""
    with keeping_an_admin(conn, f"The API key '{name}'"):
        result = conn.execute(
            update(api_keys)
            .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(timezone.utc))
        )
        if result.rowcount == 0:
            raise NotFound(f"No live API key named '{name}'.")
    return _to_key(conn.execute(select(api_keys).where(api_keys.c.name == name)).one())


def admin_credentials(conn: Connection) -> int:
    """Live keys acting as admin (their account, if any, enabled and admin) plus enabled admin
    accounts: whatever can still manage keys."""
    live_admin_keys = (
        select(func.count())
        .select_from(api_keys.outerjoin(users, users.c.id == api_keys.c.user_id))
        .where(
            api_keys.c.role == "admin",
            api_keys.c.revoked_at.is_(None),
            or_(
                api_keys.c.user_id.is_(None),
                (users.c.role == "admin") & (users.c.disabled == false()),
            ),
        )
    )
    admin_accounts = (
        select(func.count())
        .select_from(users)
        .where(users.c.role == "admin", users.c.disabled == false())
    )
    return int(conn.execute(live_admin_keys).scalar_one()) + int(
        conn.execute(admin_accounts).scalar_one()
    )


@contextmanager
def keeping_an_admin(conn: Connection, what: str) -> Iterator[None]:
    """Run a change in the caller's transaction; LastAdmin (409) when it took away the last
    admin credential. The exception leaves the transaction, which rolls the change back."""
    if conn.dialect.name == "postgresql":  # SQLite: the change's write lock serialises already
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADMIN_LOCK})
    before = admin_credentials(conn)
    yield
    if before and not admin_credentials(conn):
        raise LastAdmin(
            f"{what} is the last admin credential: create another admin key "
            "(balise keys create --role admin) or admin account first."
        )


def count_keys(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(api_keys)).scalar_one())
