"""Look summaries up by URL for the extension: short URLs of this server or article URLs.

A short URL matches in any form (with or without scheme, trailing slash, the `+` preview
suffix, any case of host); an article URL matches after urls.normalise (tracking parameters,
fragment, default port, parameter order). Many URLs are answered in one query, and disabled,
expired or exhausted (max_clicks reached) links are never answered. Preview views are counted
by analytics/previews.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, Select, false, func, or_, select

from balise.db.tables import hourly_counts, links, summaries
from balise.errors import ValidationFailed
from balise.links.store import SLUG_RE
from balise.links.urls import DEFAULT_PORTS, clean_target, url_key
from balise.summaries.store import Summary

_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Found:
    """A summary and the link it belongs to, as the look-up answers it."""

    link_id: int
    slug: str
    target_url: str
    summary: Summary


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


def _query(slug_keys: set[str], url_keys: set[str], now: datetime) -> Select[Any]:
    cols = [c for c in summaries.c if c.name != "link_id"]
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
            *cols,
        )
        .join(summaries, summaries.c.link_id == links.c.id)
        .where(
            or_(*condition) if condition else false(),
            links.c.disabled == false(),
            or_(links.c.expires_at.is_(None), links.c.expires_at > now),
            or_(links.c.max_clicks.is_(None), links.c.max_clicks > _served_clicks()),
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
    values = {f.name: m[f.name] for f in fields(Summary) if f.name != "link_id"}
    return Found(
        link_id=m["id"],
        slug=m["slug"],
        target_url=m["url"],
        summary=Summary(link_id=m["id"], **values),
    )


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
    """Several links to one article: the most recently updated summary answers."""
    if other is None:
        return True
    mine = (found.summary.updated_at, found.link_id)
    theirs = (other.summary.updated_at, other.link_id)
    return mine > theirs  # type: ignore[operator]
