"""Links: the queries that create, resolve, list, update and delete them.

Owns the `links` and `link_tags` tables; a link is a model.Link. The rules of their fields
are in fields.py (those of the link controls in controls.py), the slugs' and a rename's in
slugs.py, and their shape for other programs (the API, webhook events) in representation.py.
Knows nothing of HTTP.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from sqlalchemy import Connection, and_, delete, false, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from balise.analytics.rollups import forget_link
from balise.db.changes import mark_changed
from balise.db.dialect import insert_unless_taken, possible_id
from balise.db.tables import link_tags, links
from balise.errors import BadRequest, NotFound, SlugTaken, ValidationFailed
from balise.integrations import outbox
from balise.links import controls, fields
from balise.links.fields import LANGS  # noqa: F401 - imported from here too
from balise.links.hosts import OwnServer
from balise.links.model import Link, utcnow  # noqa: F401 - Link is imported from here too
from balise.links.representation import event_data, link_event
from balise.links.slugs import (  # noqa: F401 - the slug rules are imported from here too
    RESERVED_SLUGS,
    SLUG_ALPHABET,
    SLUG_RE,
    possible_slug,
    random_slug,
    renamed,
    taken,
    validate_slug,
)
from balise.values import INT_MAX


def create_link(
    conn: Connection,
    values: Mapping[str, Any],
    *,
    base_url: OwnServer | str,
    api_key_id: int | None = None,
    user_id: int | None = None,
) -> Link:
    """Insert a link; a random slug is drawn (and redrawn on collision) when none is given.

    `base_url` is this server (or its base URL): targets that lead back to it are refused."""
    control_row = fields.check(values, base_url)
    if "url" not in values:
        raise ValidationFailed.field("url", "is required")
    row = fields.columns(values, base_url) | control_row
    now = utcnow()
    row.update(created_at=now, updated_at=now, version=1, api_key_id=api_key_id, user_id=user_id)
    row.setdefault("disabled", False)
    row.setdefault("reading_delay", False)
    row.setdefault("redirect_mode", "interstitial")
    row.setdefault("redirect_status", 302)
    row.setdefault("forward_query", False)
    custom = values.get("slug")
    for _attempt in range(8):
        slug = validate_slug(custom) if custom is not None else random_slug()
        link_id = insert_unless_taken(conn, links, {"slug": slug, "slug_key": slug.lower(), **row})
        if link_id is None:
            if custom is not None:
                raise taken(custom)
            continue
        _set_tags(conn, link_id, values.get("tags") or ())
        mark_changed(conn, slug)  # an instance may have cached the slug as unknown
        link = get_link_by_id(conn, link_id)
        assert link is not None  # noqa: S101 - just inserted in this transaction
        outbox.record(conn, "link.created", partial(link_event, conn, link), link_id=link.id)
        return link
    raise SlugTaken("Could not draw a free random slug; try again.")


def _set_tags(conn: Connection, link_id: int, tags: Iterable[str]) -> None:
    conn.execute(delete(link_tags).where(link_tags.c.link_id == link_id))
    unique = sorted({t.strip() for t in tags if t.strip()})
    if unique:
        conn.execute(insert(link_tags), [{"link_id": link_id, "tag": t} for t in unique])


def _tags_for(conn: Connection, ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = conn.execute(
            select(link_tags.c.link_id, link_tags.c.tag)
            .where(link_tags.c.link_id.in_(ids))
            .order_by(link_tags.c.tag)
        )
        for link_id, tag in rows:
            found[link_id].append(tag)
    return {i: tuple(t) for i, t in found.items()}


def _to_link(row: Any, tags: tuple[str, ...]) -> Link:
    m = row._mapping
    return Link(
        id=m["id"],
        slug=m["slug"],
        url=m["url"],
        title=m["title"],
        tags=tags,
        lang=m["lang"],
        redirect_delay=m["redirect_delay"],
        reading_delay=bool(m["reading_delay"]),
        expires_at=m["expires_at"],
        max_clicks=m["max_clicks"],
        disabled=bool(m["disabled"]),
        version=m["version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        api_key_id=m["api_key_id"],
        user_id=m["user_id"],
        share_secret=m["share_secret"],
        redirect_mode=m["redirect_mode"],
        redirect_status=m["redirect_status"],
        imported_clicks=m["imported_clicks"],
        **{name: m[name] for name in controls.UTM_FIELDS},
        forward_query=bool(m["forward_query"]),
        fallback_url=m["fallback_url"],
        valid_from=m["valid_from"],
        password_hash=m["password_hash"],
        rules=tuple(m["rules"]) if m["rules"] else None,
    )


def _one(conn: Connection, condition: Any, tags: bool = True) -> Link | None:
    row = conn.execute(select(links).where(condition)).first()
    if row is None:
        return None
    return _to_link(row, _tags_for(conn, [row.id])[row.id] if tags else ())


def get_link_by_slug(conn: Connection, slug: str, tags: bool = True) -> Link | None:
    """Slugs resolve whatever their case: two slugs never differ only in case. `tags` False:
    the link without its tags (one query less, for readers of its counters)."""
    if not possible_slug(slug):
        return None
    return _one(conn, links.c.slug_key == slug.lower(), tags)


def get_link_by_id(conn: Connection, link_id: int) -> Link | None:
    if not possible_id(link_id):
        return None
    return _one(conn, links.c.id == link_id)


def _encode_cursor(link_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{link_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "id" or not 0 <= int(value) <= INT_MAX:  # beyond: the id column overflows
            raise ValueError(prefix)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The cursor is not one this server handed out.") from None


def list_links(
    conn: Connection,
    *,
    q: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Link], str | None]:
    """Newest first; returns one page and the cursor of the next one (None on the last page)."""
    query = (
        select(links).where(*search_filters(q, tag)).order_by(links.c.id.desc()).limit(limit + 1)
    )
    if cursor:
        query = query.where(links.c.id < _decode_cursor(cursor))
    rows = conn.execute(query).all()
    page, more = rows[:limit], len(rows) > limit
    tags = _tags_for(conn, [r.id for r in page])
    found = [_to_link(r, tags[r.id]) for r in page]
    return found, (_encode_cursor(page[-1].id) if more and page else None)


def search_filters(q: str | None = None, tag: str | None = None) -> list[Any]:
    """WHERE clauses for a search: `q` in the slug, target or title (literally), and a tag.

    Nothing stored holds NUL (the text rule refuses it, and PostgreSQL fails a query that
    carries one), so such a search matches nothing without sending it."""
    if "\x00" in (q or "") + (tag or ""):
        return [false()]
    filters: list[Any] = []
    if q:
        pattern = (
            "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        filters.append(
            or_(
                func.lower(links.c.slug).like(pattern, escape="\\"),
                func.lower(links.c.url).like(pattern, escape="\\"),
                func.lower(links.c.title).like(pattern, escape="\\"),
            )
        )
    if tag:
        filters.append(links.c.id.in_(select(link_tags.c.link_id).where(link_tags.c.tag == tag)))
    return filters


def links_by_ids(conn: Connection, ids: list[int]) -> list[Link]:
    """The links with these ids, in the order given (unknown ids are skipped)."""
    if not ids:
        return []
    rows = {r.id: r for r in conn.execute(select(links).where(links.c.id.in_(ids)))}
    tags = _tags_for(conn, list(rows))
    return [_to_link(rows[i], tags[i]) for i in ids if i in rows]


def tag_counts(conn: Connection) -> list[tuple[str, int]]:
    """Every tag in use with its number of links, by name."""
    n = func.count().label("n")
    query = select(link_tags.c.tag, n).group_by(link_tags.c.tag).order_by(link_tags.c.tag)
    return [(tag, int(count)) for tag, count in conn.execute(query)]


def rotate_share_secret(conn: Connection, link: Link) -> str:
    """A new per-link share secret: every share link signed with the old one stops working."""
    secret = secrets.token_urlsafe(24)
    conn.execute(update(links).where(links.c.id == link.id).values(share_secret=secret))
    return secret


def lock_link(conn: Connection, link: Link) -> None:
    """Hold the link's row until this unit of work ends; NotFound when it was deleted meanwhile.

    Call it before writing rows that refer to the link (tags, summary, versions): a concurrent
    delete then waits, or, done first, makes this a 404 instead of a foreign-key failure (or a
    deadlock on PostgreSQL) in the writes that follow. An UPDATE rather than SELECT ... FOR
    UPDATE: SQLite has no row locks, and an UPDATE starts its write transaction there.
    """
    same = update(links).where(links.c.id == link.id).values(version=links.c.version)
    if conn.execute(same).rowcount == 0:
        raise NotFound(f"The link '{link.slug}' was deleted meanwhile.")


def update_link(
    conn: Connection, link: Link, changes: Mapping[str, Any], *, base_url: OwnServer | str
) -> Link:
    """Apply `changes` (any fields.EDITABLE field, or `slug`; None clears optional ones), bump the
    version."""
    control_row = fields.check(changes, base_url, link)
    row = fields.columns(changes, base_url) | control_row
    if "url" in changes and changes["url"] is None:
        raise ValidationFailed.field("url", "cannot be removed")
    if "slug" in changes:
        row.update(renamed(conn, link, changes["slug"]))
    try:
        result = conn.execute(
            update(links)
            .where(and_(links.c.id == link.id))
            .values(**row, updated_at=utcnow(), version=links.c.version + 1)
        )
    except IntegrityError:
        if "slug" not in row:
            raise
        # Taken by a link created since the check above (the unique slug_key).
        raise taken(row["slug"]) from None
    if result.rowcount == 0:  # deleted since it was read: its tags cannot be written
        raise NotFound(f"The link '{link.slug}' was deleted meanwhile.")
    if "tags" in changes:
        _set_tags(conn, link.id, changes["tags"] or ())
    mark_changed(conn, link.slug)
    if "slug" in row:  # the new slug may be cached as unknown; the old one must stop answering
        mark_changed(conn, row["slug"])
    updated = get_link_by_id(conn, link.id)
    assert updated is not None  # noqa: S101 - the row exists inside this transaction
    # After the UPDATE that locks the row: events of one link are numbered in commit order.
    outbox.record(
        conn, "link.updated", partial(_updated_data, conn, link, updated), link_id=link.id
    )
    return updated


def _updated_data(conn: Connection, before: Link, after: Link) -> dict[str, Any]:
    data: dict[str, Any] = {"link": event_data(conn, after)}
    if after.slug != before.slug:
        data["previous_slug"] = before.slug
    return data


def delete_link(conn: Connection, link: Link) -> None:
    data = {"link": event_data(conn, link)}  # as it was: its state reads its clicks (max_clicks)
    forget_link(conn, link.id)  # its clicks leave the all-links statistics with it
    conn.execute(delete(links).where(links.c.id == link.id))
    mark_changed(conn, link.slug)
    outbox.record(conn, "link.deleted", data, link_id=link.id)


def bump_version(conn: Connection, link: Link) -> None:
    """Mark the link as changed (its summary was written) so cached pages are seen as stale."""
    conn.execute(update(links).where(links.c.id == link.id).values(version=links.c.version + 1))
    mark_changed(conn, link.slug)
