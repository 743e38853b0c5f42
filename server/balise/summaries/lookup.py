"""Look summaries up by URL for the extension: short URLs of this server or article URLs.

A short URL matches in any form (with or without scheme, trailing slash, the `+` preview
suffix, any case of host); an article URL matches after urls.normalise (tracking parameters,
fragment, default port, parameter order). Many URLs are answered in one query, and disabled,
expired or exhausted (max_clicks reached) links are never answered, nor password-protected
links and links before their valid_from. A link without a summary
is answered with its target page's own card (cards.py: title and description, fetched for its
current target) when it has one; a stored summary always wins. Preview views are counted by
analytics/previews.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, Select, and_, false, func, or_, select

from balise.db.tables import hourly_counts, link_cards, links, summaries
from balise.errors import ValidationFailed
from balise.links.store import SLUG_RE
from balise.links.urls import DEFAULT_PORTS, clean_target, url_key
from balise.summaries.store import Summary

_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class PageCard:
    """The target page's own card, as the look-up answers it for a link without a summary."""

    title: str
    description: str
    lang: str | None
    fetched_at: datetime


@dataclass(frozen=True)
class Found:
    """A summary, or else the page's own card, and the link it belongs to."""

    link_id: int
    slug: str
    target_url: str
    summary: Summary | None
    page: PageCard | None = None

    @property
    def updated_at(self) -> Any:
        return self.summary.updated_at if self.summary else self.page and self.page.fetched_at


@dataclass(frozen=True)
class ShortOrigin:
    """This server's short-link origin, parsed once: scheme, host, port, path prefix."""

    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, base_url: str) -> ShortOrigin:
        parts = urlsplit(base_url)
        scheme = parts.scheme.lower() or "https"
        return cls(
            scheme=scheme,
            host=(parts.hostname or "").lower(),
            port=parts.port or DEFAULT_PORTS.get(scheme, 443),
            prefix=parts.path.rstrip("/"),
        )

    def slug_of(self, raw: str) -> str | None:
        """The slug when `raw` is a short URL of this server in any form, else None."""
        text = raw.strip()
        if text.startswith("//"):
            text = f"{self.scheme}:{text}"
        elif not _HAS_SCHEME.match(text):
            text = f"{self.scheme}://{text}"
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or (parts.hostname or "").lower() != self.host:
            return None
        if port is None:
            port = DEFAULT_PORTS[scheme]
            if self.port == DEFAULT_PORTS[self.scheme]:
                port = self.port  # http:// or https:// without a port: our default origin
        if port != self.port:
            return None
        path = unquote(parts.path)
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return None
            path = path[len(self.prefix) :]
        slug = path.strip("/")
        if slug.endswith("+"):
            slug = slug[:-1].rstrip("/")
        return slug if SLUG_RE.fullmatch(slug) else None


def _target_key(raw: str) -> str | None:
    try:
        return url_key(clean_target(raw))
    except ValidationFailed:
        return None


# The page card's columns, named apart from the summary's.
_CARD_COLS = [
    link_cards.c.title.label("card_title"),
    link_cards.c.description.label("card_description"),
    link_cards.c.lang.label("card_lang"),
    link_cards.c.fetched_at.label("card_fetched_at"),
]


def _query(slug_keys: set[str], url_keys: set[str], now: datetime) -> Select[Any]:
    """One query: the summary of each link, else its usable page card (fetched for the
    current target, with a description)."""
    cols = [c for c in summaries.c if c.name != "link_id"]
    usable_card = and_(
        link_cards.c.status == "ok",
        link_cards.c.url == links.c.url,
        link_cards.c.description.is_not(None),
    )
    condition = []
    if slug_keys:
        condition.append(links.c.slug_key.in_(sorted(slug_keys)))
    if url_keys:
        condition.append(links.c.url_key.in_(sorted(url_keys)))
    return (
        select(
            links.c.id,
            links.c.slug,
            links.c.slug_key,
            links.c.url,
            links.c.url_key,
            links.c.title.label("link_title"),
            links.c.lang.label("link_lang"),
            summaries.c.link_id.label("summary_link_id"),
            *cols,
            *_CARD_COLS,
        )
        .outerjoin(summaries, summaries.c.link_id == links.c.id)
        .outerjoin(link_cards, and_(link_cards.c.link_id == links.c.id, usable_card))
        .where(
            or_(*condition) if condition else false(),
            or_(summaries.c.link_id.is_not(None), link_cards.c.link_id.is_not(None)),
            links.c.disabled == false(),
            or_(links.c.expires_at.is_(None), links.c.expires_at > now),
            or_(links.c.max_clicks.is_(None), links.c.max_clicks > _served_clicks()),
            # Never a password-protected link (its target is the secret) nor one not open yet.
            links.c.password_hash.is_(None),
            or_(links.c.valid_from.is_(None), links.c.valid_from <= now),
        )
    )


def _served_clicks() -> Any:
    """The clicks stored for the link of the row (what makes a link exhausted, as in the API)."""
    return (
        select(func.coalesce(func.sum(hourly_counts.c.clicks), 0))
        .where(hourly_counts.c.link_id == links.c.id)
        .scalar_subquery()
    )


def _found(row: object) -> Found:
    m = row._mapping  # type: ignore[attr-defined]
    found = Found(link_id=m["id"], slug=m["slug"], target_url=m["url"], summary=None)
    if m["summary_link_id"] is not None:  # a stored summary always wins
        values = {f.name: m[f.name] for f in fields(Summary) if f.name != "link_id"}
        return replace(found, summary=Summary(link_id=m["id"], **values))
    # The title as social networks see it (reader pages' social_tags): the link's own first.
    title = m["link_title"] or m["card_title"] or urlsplit(m["url"]).hostname or m["url"]
    lang = m["card_lang"] or m["link_lang"]
    page = PageCard(
        title=title,
        description=m["card_description"],
        lang=lang if lang in ("fr", "en") else None,
        fetched_at=m["card_fetched_at"],
    )
    return replace(found, page=page)


def lookup(
    conn: Connection,
    urls: Iterable[str],
    *,
    base_url: str,
    now: datetime | None = None,
) -> dict[str, Found | None]:
    """Answer every URL (keys as given, duplicates once) with one query."""
    origin = ShortOrigin.parse(base_url)
    wanted: dict[str, tuple[str, str] | None] = {}
    for raw in urls:
        if raw in wanted:
            continue
        slug = origin.slug_of(raw)
        if slug is not None:
            wanted[raw] = ("slug", slug.lower())
        else:
            key = _target_key(raw)
            wanted[raw] = ("url", key) if key else None
    slug_keys = {v[1] for v in wanted.values() if v and v[0] == "slug"}
    url_keys = {v[1] for v in wanted.values() if v and v[0] == "url"}
    by_slug: dict[str, Found] = {}
    by_url: dict[str, Found] = {}
    if slug_keys or url_keys:
        moment = now or datetime.now(timezone.utc)
        for row in conn.execute(_query(slug_keys, url_keys, moment)):
            found = _found(row)
            if row.slug_key in slug_keys:
                by_slug[row.slug_key] = found
            if row.url_key in url_keys and _newer(found, by_url.get(row.url_key)):
                by_url[row.url_key] = found
    table = {"slug": by_slug, "url": by_url}
    return {raw: (table[v[0]].get(v[1]) if v else None) for raw, v in wanted.items()}


def _newer(found: Found, other: Found | None) -> bool:
    """Several links to one article: a summary before any page card, then the most recently
    updated (summary) or fetched (card)."""
    if other is None:
        return True
    mine = (found.summary is not None, found.updated_at, found.link_id)
    theirs = (other.summary is not None, other.updated_at, other.link_id)
    return mine > theirs
