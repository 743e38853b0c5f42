"""Read-only share links of one link's statistics: signed, expiring, revocable.

A token is [link id, expiry, fingerprint of the link's `share_secret`] signed with itsdangerous
under the app's secret key. Its signature is checked before anything is read, so a forged token
never reaches the database; then the fingerprint must match the link's current secret: rotating
it (links.rotate_share_secret) revokes every token made before. Nothing is stored per token.
Knows nothing of HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timezone

from itsdangerous import BadSignature, URLSafeSerializer

from balise.errors import Gone, NotFound

MAX_DAYS = 366
SALT = "balise.share"
MAX_TOKEN = 512


class ShareInvalid(NotFound):
    type, title = "share-invalid", "Share link not valid"


class ShareExpired(Gone):
    type, title = "share-expired", "Share link expired"


def _fingerprint(share_secret: str) -> str:
    return hashlib.sha256(share_secret.encode("utf-8")).hexdigest()[:16]


def make_token(secret_key: str, link_id: int, share_secret: str, expires_at: datetime) -> str:
    """A token for the link's stats page, valid until `expires_at` (aware) or revocation."""
    payload = [link_id, int(expires_at.timestamp()), _fingerprint(share_secret)]
    return str(URLSafeSerializer(secret_key, salt=SALT).dumps(payload))


def _payload(secret_key: str, token: str) -> tuple[int, int, str]:
    """The signed content of a token; ShareInvalid unless this server signed it."""
    if len(token) > MAX_TOKEN:
        raise ShareInvalid("This share link is not valid.")
    try:
        payload = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except BadSignature:
        raise ShareInvalid("This share link is not valid.") from None
    if not (isinstance(payload, list) and len(payload) == 3):
        raise ShareInvalid("This share link is not valid.")
    link_id, expiry, fingerprint = payload
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (link_id, expiry)):
        raise ShareInvalid("This share link is not valid.")
    if not isinstance(fingerprint, str):
        raise ShareInvalid("This share link is not valid.")
    return link_id, expiry, fingerprint


def read_token(
    secret_key: str,
    token: str,
    share_secret_of: Callable[[int], str | None],
    now: datetime | None = None,
) -> tuple[int, datetime]:
    """(link id, expiry) of a valid token; ShareInvalid when forged, tampered with or revoked,
    ShareExpired once its time has passed. `share_secret_of` (a database read) is called only
    for a token this server signed."""
    link_id, expiry, fingerprint = _payload(secret_key, token)
    try:
        expires_at = datetime.fromtimestamp(expiry, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ShareInvalid("This share link is not valid.") from None
    if expires_at <= (now or datetime.now(timezone.utc)):
        raise ShareExpired("This share link has expired.")
    share_secret = share_secret_of(link_id)
    if not share_secret or not hmac.compare_digest(_fingerprint(share_secret), fingerprint):
        raise ShareInvalid("This share link is not valid or has been revoked.")
    return link_id, expires_at
