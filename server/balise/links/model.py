"""The Link: one short link as the domain hands it around (store.py reads and writes them).

Its fields are the links table's columns, with its tags; the link controls' fields are those
of controls.py (rules stored with their URLs cleaned). Knows nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# Slots: a Link lives in every entry of the reader's slug cache. With a __dict__, its 31
# fields (beyond CPython's 30 shared keys per class) took a dict of its own: 1,640 bytes a
# link, against 280 with slots (README, Performance, Memory).
@dataclass(frozen=True, slots=True)
class Link:
    id: int
    slug: str
    url: str
    title: str | None
    tags: tuple[str, ...]
    lang: str | None
    redirect_delay: int | None
    reading_delay: bool
    expires_at: datetime | None
    max_clicks: int | None
    disabled: bool
    version: int
    created_at: datetime
    updated_at: datetime
    api_key_id: int | None = None
    user_id: int | None = None
    share_secret: str | None = field(default=None, repr=False)
    redirect_mode: str = "interstitial"
    redirect_status: int = 302
    imported_clicks: int = 0  # visits counted by another shortener (balise import), apart
    # Link controls (controls.py); rules are stored with their URLs cleaned.
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    forward_query: bool = False
    fallback_url: str | None = None
    valid_from: datetime | None = None
    password_hash: str | None = field(default=None, repr=False)
    rules: tuple[dict[str, Any], ...] | None = None

    @property
    def password_protected(self) -> bool:
        return self.password_hash is not None

    @property
    def direct(self) -> bool:
        """Readers get an HTTP redirect to the target instead of the reader page."""
        return self.redirect_mode == "direct"

    def state(self, now: datetime | None = None) -> str:
        """`active`, `disabled`, `expired` or `scheduled` (before valid_from); max_clicks is
        enforced by the click counter."""
        if self.disabled:
            return "disabled"
        if self.expires_at is None and self.valid_from is None:
            return "active"  # most links: no clock to read (every reader request asks)
        now = now or utcnow()
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.valid_from is not None and self.valid_from > now:
            return "scheduled"
        return "active"
