"""Dashboard accounts: e-mail, argon2id password hash, role, language, disabled flag.

Owns the `users` table. Passwords are hashed with argon2id (memory-hard, argon2-cffi's RFC 9106
low-memory profile); a sign-in for an unknown e-mail still verifies a dummy hash, so the answer
takes as long whether the account exists or not. Knows nothing of HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, select, update

from balise.accounts import sessions
from balise.accounts.keys import ROLES, keeping_an_admin
from balise.db.dialect import insert_unless_taken
from balise.db.tables import users
from balise.errors import Conflict, NotFound, ValidationFailed
from balise.values import text_problem

LANGS = ("fr", "en")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")

hasher = PasswordHasher()


@cache
def _dummy_hash(current: PasswordHasher) -> str:
    """What an unknown e-mail's password is checked against, so it costs what a known one does.

    Made once per hasher on first use, not at import: hashing takes about 0.1 s, which every
    `balise` command paid, most of them without checking a password.
    """
    return current.hash("balise-dummy-password-for-timing")


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: str
    lang: str | None
    disabled: bool
    created_at: datetime
    updated_at: datetime
    password_hash: str = field(repr=False, default="")

    def allows(self, role: str) -> bool:
        """True when this account's role is `role` or above (viewer < editor < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _to_user(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    return User(
        id=m["id"],
        email=m["email"],
        role=m["role"],
        lang=m["lang"],
        disabled=bool(m["disabled"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        password_hash=m["password_hash"],
    )


def normalise_email(email: object) -> str:
    """Trimmed, lower-cased e-mail address, or ValidationFailed on `email`."""
    if not isinstance(email, str) or not _EMAIL_RE.fullmatch(email.strip()):
        raise ValidationFailed.field("email", "must be an e-mail address")
    problem = text_problem(email)
    if problem is not None:
        raise ValidationFailed.field("email", problem)
    cleaned = email.strip().lower()
    if len(cleaned) > 254:
        raise ValidationFailed.field("email", "must be at most 254 characters")
    return cleaned


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationFailed.field("password", f"must be at least {MIN_PASSWORD} characters long")
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed.field("password", f"must be at most {MAX_PASSWORD} characters")
    return password


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed.field("role", "must be one of: " + ", ".join(ROLES))


def create_user(
    conn: Connection, email: str, password: str, role: str, *, lang: str | None = None
) -> User:
    """Create an account; 409 when the e-mail is taken, 422 on a bad e-mail, password or role."""
    address = normalise_email(email)
    _check_role(role)
    if lang not in (None, *LANGS):
        raise ValidationFailed.field("lang", "must be one of: fr, en")
    digest = hasher.hash(check_password(password))
    now = datetime.now(timezone.utc)
    user_id = insert_unless_taken(
        conn,
        users,
        {
            "email": address,
            "password_hash": digest,
            "role": role,
            "lang": lang,
            "disabled": False,
            "created_at": now,
            "updated_at": now,
        },
    )
    if user_id is None:
        raise Conflict(f"An account for '{address}' already exists.")
    return get_user(conn, user_id)  # type: ignore[return-value]


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _to_user(row) if row else None


def get_user_by_email(conn: Connection, email: str) -> User | None:
    """The account with this e-mail; None, without a query, for text no account can have."""
    if len(email) > 254 or text_problem(email) is not None:
        return None
    row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    return _to_user(row) if row else None


def require_user(conn: Connection, email: str) -> User:
    user = get_user_by_email(conn, email)
    if user is None:
        raise NotFound(f"No account for '{email}'.")
    return user


def list_users(conn: Connection) -> list[User]:
    return [_to_user(r) for r in conn.execute(select(users).order_by(users.c.email))]


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def authenticate(conn: Connection, email: str, password: str) -> User | None:
    """The enabled account with this e-mail and password, else None (same work either way)."""
    user = check_credentials(conn, email, password)
    return None if user is None or user.disabled else user


def check_credentials(conn: Connection, email: str, password: str) -> User | None:
    """The account with this e-mail and password, disabled or not, else None."""
    dummy = _dummy_hash(hasher)  # made before the look-up: the first check pays, known or not
    user = get_user_by_email(conn, email) if len(email) <= 254 else None
    try:
        hasher.verify(user.password_hash if user else dummy, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        _store_hash(conn, user.id, hasher.hash(password))
        user = get_user(conn, user.id)
    return user


def verify_password(user: User, password: str) -> bool:
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _store_hash(conn: Connection, user_id: int, digest: str) -> None:
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=digest, updated_at=datetime.now(timezone.utc))
    )


def set_password(conn: Connection, user: User, password: str) -> User:
    """Replace the password; every session of the account ends."""
    _store_hash(conn, user.id, hasher.hash(check_password(password)))
    sessions.end_all(conn, user.id)
    return get_user(conn, user.id)  # type: ignore[return-value]


def _set(conn: Connection, user: User, **values: object) -> User:
    conn.execute(
        update(users)
        .where(users.c.id == user.id)
        .values(**values, updated_at=datetime.now(timezone.utc))
    )
    return get_user(conn, user.id)  # type: ignore[return-value]


def set_disabled(conn: Connection, user: User, disabled: bool) -> User:
    """A disabled account cannot sign in, its sessions end and its API keys stop working."""
    if not disabled:
        return _set(conn, user, disabled=False)
    with keeping_an_admin(conn, f"The account {user.email}"):
        sessions.end_all(conn, user.id)
        return _set(conn, user, disabled=True)


def set_lang(conn: Connection, user: User, lang: str | None) -> User:
    """The account's language for the dashboard; None follows the browser's Accept-Language."""
    if lang not in (None, *LANGS):
        raise ValidationFailed.field("lang", "must be one of: fr, en")
    return _set(conn, user, lang=lang)


def set_role(conn: Connection, user: User, role: str) -> User:
    """Change the role; 409 when that demotes the last admin credential."""
    _check_role(role)
    with keeping_an_admin(conn, f"The account {user.email}"):
        return _set(conn, user, role=role)
