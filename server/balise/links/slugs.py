"""Slugs: what one may be, random ones, and the change of a link's slug (a rename).

A rename keeps the link's id, so its statistics, summary and share links follow it; the old
slug answers 404 once the change commits. Two slugs never differ only in case (`slug_key`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from balise.db.tables import links
from balise.errors import SlugTaken, ValidationFailed
from balise.links.model import Link

# No look-alikes: 0 O 1 l I are left out.
SLUG_ALPHABET = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
RANDOM_SLUG_LENGTH = 7
SLUG_RE = re.compile(r"[A-Za-z0-9_-]{3,64}")
# Every first path segment the app (or nginx in front of it) answers itself.
RESERVED_SLUGS = frozenset(
    {
        "api",
        "dashboard",
        "static",
        "healthz",
        "favicon.ico",
        "robots.txt",
        "downloads",
        "share",
        "login",
        "logout",
        "admin",
        "openapi.json",
        "well-known",
        "metrics",
        "export",  # not a first segment, but GET /api/v1/links/export would hide its API read
    }
)


def validate_slug(slug: object) -> str:
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        raise ValidationFailed.field("slug", "must be 3 to 64 characters from A-Z a-z 0-9 _ -")
    if slug.lower() in RESERVED_SLUGS:
        raise ValidationFailed.field("slug", f"'{slug}' is reserved by Balise")
    return slug


def random_slug() -> str:
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(RANDOM_SLUG_LENGTH))


def possible_slug(slug: str) -> bool:
    """True when `slug` could name a link; anything else is unknown without asking the
    database (which may refuse it: PostgreSQL fails a query holding a NUL character)."""
    return SLUG_RE.fullmatch(slug) is not None


def taken(slug: str) -> SlugTaken:
    return SlugTaken(f"The slug '{slug}' is already taken.")


def renamed(conn: Connection, link: Link, slug: object) -> dict[str, str]:
    """The columns of a new slug for `link`, checked and free (a change of case only is the
    link's own slug). The unique slug_key still refuses a slug taken after this check: the
    caller turns that IntegrityError into taken()."""
    if slug is None:
        raise ValidationFailed.field("slug", "cannot be removed")
    slug = validate_slug(slug)
    if slug.lower() != link.slug.lower():
        other = select(links.c.id).where(links.c.slug_key == slug.lower())
        if conn.execute(other).first() is not None:
            raise taken(slug)
    return {"slug": slug, "slug_key": slug.lower()}


def with_short_urls(data: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A link's data (representation.link_data) with its URLs on this server after its slug:
    `short_url`, and `preview_url` (the short URL and a +, its preview page)."""
    short_url = f"{base_url}/{data['slug']}"
    return {"slug": data["slug"], "short_url": short_url, "preview_url": short_url + "+", **data}
