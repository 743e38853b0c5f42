"""Read-only share links of one link's statistics: signed, expiring, revocable.

A token is [link id, expiry] signed with itsdangerous under the app's secret key and a salt made
of the link's `share_secret`: rotating that secret (links.rotate_share_secret) revokes every
token made before, and nothing is stored per token. Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from itsdangerous import BadSignature, URLSafeSerializer

from balise.errors import Gone, NotFound

MAX_DAYS = 366


class ShareInvalid(NotFound):
    type, title = "share-invalid", "Share link not valid"


class ShareExpired(Gone):
    type, title = "share-expired", "Share link expired"


def _serializer(secret_key: str, share_secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=f"balise.share.{share_secret}")


def make_token(secret_key: str, link_id: int, share_secret: str, expires_at: datetime) -> str:
    """A token for the link's stats page, valid until `expires_at` (aware) or revocation."""
    return str(_serializer(secret_key, share_secret).dumps([link_id, int(expires_at.timestamp())]))


def read_token(
    secret_key: str,
    token: str,
    share_secret_of: Callable[[int], str | None],
    now: datetime | None = None,
) -> tuple[int, datetime]:
    """(link id, expiry) of a valid token; ShareInvalid when forged, tampered with or revoked,
    ShareExpired once its time has passed."""
    if len(token) > 512:
        raise ShareInvalid("This share link is not valid.")
    _signed, payload = URLSafeSerializer(secret_key).loads_unsafe(token)
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in payload)
    ):
        raise ShareInvalid("This share link is not valid.")
    link_id, expiry = payload
    share_secret = share_secret_of(link_id)
    if not share_secret:
        raise ShareInvalid("This share link is not valid.")
    try:
        _serializer(secret_key, share_secret).loads(token)
    except BadSignature:
        raise ShareInvalid("This share link is not valid or has been revoked.") from None
    expires_at = datetime.fromtimestamp(expiry, timezone.utc)
    if expires_at <= (now or datetime.now(timezone.utc)):
        raise ShareExpired("This share link has expired.")
    return link_id, expires_at
