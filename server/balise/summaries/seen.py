"""Preview-view tokens: a look-up's proof that it answered a link, sent back when a card shows.

The public look-up counts no preview view itself when the extension asks (it asks ahead, and
often nobody ever sees the card). Instead every answer carries a token naming the link's slug
and the hour it was issued, signed with the secret key (itsdangerous, salt "preview-seen",
HMAC-SHA256). The extension sends the token back only when it shows the card, and the server
then counts one preview view, learning nothing about the page the card was shown on.

The token names the hour rather than the second so that an answer, and its ETag, stay the same
for an hour; a token is accepted for MAX_AGE_HOURS after the hour it names.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from itsdangerous import BadSignature, Signer

from balise.errors import BadRequest

MAX_AGE_HOURS = 3  # longer than any client may keep an answer (max-age 300 s, capped at 1 h)
MAX_TOKEN_LENGTH = 200
PAYLOAD = re.compile(r"([A-Za-z0-9_-]{1,64})\.([0-9]{1,10})")


def _hour(moment: datetime) -> int:
    return int(moment.timestamp()) // 3600


class _KeyOnceSigner(Signer):
    """A look-up signs up to 100 tokens: derive the key once, not on every signature."""

    def __init__(self, secret_key: str) -> None:
        super().__init__(secret_key, salt="preview-seen", digest_method=hashlib.sha256)
        self._derived = super().derive_key()

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        return self._derived if secret_key is None else super().derive_key(secret_key)


class SeenTokens:
    """Signs and checks preview-view tokens."""

    def __init__(self, secret: str) -> None:
        self._signer = _KeyOnceSigner(secret)

    def sign(self, slug: str, now: datetime) -> str:
        return self._signer.sign(f"{slug}.{_hour(now)}").decode("ascii")

    def verify(self, token: str, now: datetime) -> str:
        """The slug a token names; BadRequest when it is forged, malformed or expired."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise BadRequest("The preview token is missing or malformed.")
        try:
            payload = self._signer.unsign(token).decode("ascii")
        except (BadSignature, UnicodeError):
            raise BadRequest("The preview token is not one this server signed.") from None
        match = PAYLOAD.fullmatch(payload)
        if match is None:
            raise BadRequest("The preview token is not one this server signed.")
        slug, hour = match.group(1), int(match.group(2))
        if not 0 <= _hour(now) - hour <= MAX_AGE_HOURS:
            raise BadRequest("The preview token has expired.")
        return slug
