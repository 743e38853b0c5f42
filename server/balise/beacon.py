"""Beacon tokens: the signed, short-lived name of a served click, sent back to confirm it.

The token carries the click's uid, link and time, signed with the secret key (itsdangerous,
salt "beacon"). It expires MAX_AGE seconds after the click; forged or expired tokens are
refused and change nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone

from itsdangerous import BadSignature, URLSafeSerializer

from balise.clicks import Confirmation
from balise.errors import BadRequest

MAX_AGE = 600  # seconds: a page that loaded confirms within moments
MAX_TOKEN_LENGTH = 256


class BeaconTokens:
    def __init__(self, secret: str, max_age: int = MAX_AGE) -> None:
        self._serializer = URLSafeSerializer(secret, salt="beacon")
        self.max_age = max_age

    def sign(self, uid: str, link_id: int, clicked_at: datetime) -> str:
        return str(self._serializer.dumps([uid, link_id, int(clicked_at.timestamp())]))

    def verify(self, token: str, now: datetime) -> Confirmation:
        """The confirmation a token names; BadRequest when forged, malformed or expired."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise BadRequest("The beacon token is missing or malformed.")
        try:
            uid, link_id, stamp = self._serializer.loads(token)
            clicked_at = datetime.fromtimestamp(int(stamp), timezone.utc)
        except (BadSignature, TypeError, ValueError, OverflowError):
            raise BadRequest("The beacon token is not one this server signed.") from None
        if not isinstance(uid, str) or not isinstance(link_id, int):
            raise BadRequest("The beacon token is not one this server signed.")
        age = (now - clicked_at).total_seconds()
        if age > self.max_age or age < -60:
            raise BadRequest("The beacon token has expired.")
        return Confirmation(uid=uid, link_id=link_id, clicked_at=clicked_at)
