"""The target page's own card (title, description, image, site name, language) for links
without a summary, so social networks and the extension still see the article's card.

Fetched with the careful fetcher (fetch.py: address rules, byte caps, time limit) in a
background thread after a link is created or its target changes; never on the reader path.
A stored summary always wins over it. A failed fetch is kept too (with a short reason code the
dashboard translates), so the link works and the editor can see why there is no card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from balise.db.tables import link_cards
from balise.links import store as links
from balise.summaries import store as summaries
from balise.summaries.article import PageMeta, read_meta
from balise.summaries.fetch import (
    FetchFailed,
    FetchOptions,
    FetchRefused,
    FetchUnsupported,
    fetch_page,
)

log = logging.getLogger(__name__)
LIMITS = {"title": 300, "description": 1000, "image_url": 2048, "site_name": 200}
# Why a fetch failed, as stored (the dashboard says each in the viewer's language).
ERRORS = ("refused", "unsupported", "unreachable", "failed")


@dataclass(frozen=True, slots=True)
class Card:
    link_id: int
    url: str
    status: str  # "ok" or "failed"
    title: str | None
    description: str | None
    image_url: str | None
    site_name: str | None
    lang: str | None
    error: str | None
    fetched_at: datetime

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def get_card(conn: Connection, link_id: int) -> Card | None:
    row = conn.execute(select(link_cards).where(link_cards.c.link_id == link_id)).first()
    return Card(**row._mapping) if row is not None else None


def cards_for(conn: Connection, ids: list[int]) -> dict[int, Card]:
    """The cards of these links (those that have one)."""
    if not ids:
        return {}
    rows = conn.execute(select(link_cards).where(link_cards.c.link_id.in_(ids)))
    return {r.link_id: Card(**r._mapping) for r in rows}


def _clip(value: str | None, name: str) -> str | None:
    return value[: LIMITS[name]] if value else None


def save_card(
    conn: Connection, link_id: int, url: str, meta: PageMeta | None, error: str | None
) -> None:
    """Store (replace) the card fetched for `url`: its metadata, or the reason it failed."""
    image = (
        meta.image
        if meta and meta.image and meta.image.startswith(("https://", "http://"))
        else None
    )
    values: dict[str, Any] = {
        "link_id": link_id,
        "url": url,
        "status": "ok" if meta is not None else "failed",
        "title": _clip(meta.title, "title") if meta else None,
        "description": _clip(meta.description, "description") if meta else None,
        "image_url": _clip(image, "image_url"),
        "site_name": _clip(meta.site_name, "site_name") if meta else None,
        "lang": meta.lang if meta else None,
        "error": error,
        "fetched_at": datetime.now(timezone.utc),
    }
    conn.execute(delete(link_cards).where(link_cards.c.link_id == link_id))
    conn.execute(insert(link_cards).values(**values))


def fetch_meta(url: str, options: FetchOptions) -> tuple[PageMeta | None, str | None]:
    """The page's card, or None and why not (one of ERRORS; details go to the log)."""
    try:
        return read_meta(fetch_page(url, options)), None
    except FetchRefused as exc:
        reason, detail = "refused", exc.detail
    except FetchUnsupported as exc:
        reason, detail = "unsupported", exc.detail
    except FetchFailed as exc:
        reason, detail = "unreachable", exc.detail
    except Exception as exc:  # noqa: BLE001 - a card is a nicety: the link works without it
        log.exception("fetching the card of %s failed", url)
        reason, detail = "failed", exc.__class__.__name__
    log.info("no card for %s: %s (%s)", url, reason, detail)
    return None, reason


class CardFetcher:
    """Fetches cards in one background thread, for the links a unit of work changed."""

    def __init__(
        self, engine: Engine, options: FetchOptions, changed: Callable[[set[str]], None]
    ) -> None:
        self.engine = engine
        self.options = options
        self.changed = changed  # tells the reader caches that a link's card changed
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="balise-cards")

    def links_changed(self, slugs: set[str]) -> None:
        for slug in slugs:
            self.pool.submit(self._refresh, slug)

    def _due(self, slug: str) -> links.Link | None:
        """The link when its card is missing or was fetched for another target, and it has
        no summary (a summary always wins); else None."""
        with self.engine.connect() as conn:
            link = links.get_link_by_slug(conn, slug)
            if link is None or summaries.get_summary(conn, link.id) is not None:
                return None
            card = get_card(conn, link.id)
        return link if card is None or card.url != link.url else None

    def _refresh(self, slug: str) -> None:
        try:
            link = self._due(slug)
            if link is None:
                return
            meta, error = fetch_meta(link.url, self.options)
            with self.engine.begin() as conn:
                current = links.get_link_by_id(conn, link.id)
                if current is None or current.url != link.url:
                    return  # changed meanwhile: that change queued its own fetch
                save_card(conn, link.id, link.url, meta, error)
                links.bump_version(conn, current)
            self.changed({link.slug.lower()})
        except Exception:  # noqa: BLE001 - a background nicety must not kill its thread
            log.exception("storing the card of %s failed", slug)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
