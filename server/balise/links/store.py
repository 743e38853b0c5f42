"""Links: slugs, targets, and the queries that create, resolve, list, update and delete them.

Owns the `links` and `link_tags` tables. Knows nothing of HTTP.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, and_, delete, false, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from balise.analytics.rollups import forget_link
from balise.db.changes import mark_changed
from balise.db.dialect import insert_unless_taken, possible_id
from balise.db.tables import link_tags, links
from balise.errors import BadRequest, NotFound, SlugTaken, ValidationFailed
from balise.integrations import outbox
from balise.links import controls
from balise.links.hosts import OwnServer
from balise.links.urls import clean_target, url_key
from balise.values import INT_MAX, text_problem

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
LANGS = ("fr", "en")
MAX_REDIRECT_DELAY = 10
REDIRECT_MODES = ("interstitial", "direct")  # the reader page, or an HTTP redirect
REDIRECT_STATUSES = (301, 302, 307, 308)
EDITABLE = (
    "url",
    "title",
    "tags",
    "lang",
    "redirect_delay",
    "reading_delay",
    "expires_at",
    "max_clicks",
    "disabled",
    "redirect_mode",
    "redirect_status",
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
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
        now = now or utcnow()
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.valid_from is not None and self.valid_from > now:
            return "scheduled"
        return "active"


def event_data(link: Link) -> dict[str, Any]:
    """The link as webhook events carry it (outbox.body adds its short_url when sending)."""
    return {
        "slug": link.slug,
        "url": link.url,
        "title": link.title,
        "tags": list(link.tags),
        "lang": link.lang,
        "redirect_delay": link.redirect_delay,
        "reading_delay": link.reading_delay,
        "expires_at": outbox.iso(link.expires_at),
        "max_clicks": link.max_clicks,
        "disabled": link.disabled,
        "created_at": outbox.iso(link.created_at),
        "updated_at": outbox.iso(link.updated_at),
    }


def validate_slug(slug: object) -> str:
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        raise ValidationFailed.field("slug", "must be 3 to 64 characters from A-Z a-z 0-9 _ -")
    if slug.lower() in RESERVED_SLUGS:
        raise ValidationFailed.field("slug", f"'{slug}' is reserved by Balise")
    return slug


def random_slug() -> str:
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(RANDOM_SLUG_LENGTH))


def _check_fields(
    values: Mapping[str, Any], base_url: OwnServer | str, current: Link | None = None
) -> dict[str, Any]:
    """Every field error at once (ValidationFailed), else the control columns to store."""
    errors = []
    delay = values.get("redirect_delay")
    if delay is not None and not 0 <= delay <= MAX_REDIRECT_DELAY:
        errors.append({"field": "redirect_delay", "message": "must be between 0 and 10 seconds"})
    if values.get("lang") not in (None, *LANGS):
        errors.append({"field": "lang", "message": "must be one of: fr, en"})
    if values.get("max_clicks") is not None and values["max_clicks"] < 1:
        errors.append({"field": "max_clicks", "message": "must be at least 1"})
    expires = values.get("expires_at")
    if expires is not None and expires.tzinfo is None:
        errors.append({"field": "expires_at", "message": "must include a time zone"})
    errors.extend(_redirect_errors(values))
    for flag in ("disabled", "reading_delay"):
        if flag in values and values[flag] is None:
            errors.append({"field": flag, "message": "must be true or false"})
    errors.extend(_text_errors(values))
    control_row, control_errors = controls.check(values, base_url)
    errors.extend(control_errors)
    # An update is checked against the link's own dates for the fields it does not send.
    start, end = values.get("valid_from"), values.get("expires_at")
    if current is not None:
        start = start if "valid_from" in values else current.valid_from
        end = end if "expires_at" in values else current.expires_at
    errors.extend(controls.window_errors(start, end))
    if errors:
        raise ValidationFailed(errors)
    return control_row


def _redirect_errors(values: Mapping[str, Any]) -> list[dict[str, str]]:
    errors = []
    if "redirect_mode" in values and values["redirect_mode"] not in REDIRECT_MODES:
        errors.append({"field": "redirect_mode", "message": "must be interstitial or direct"})
    if "redirect_status" in values and values["redirect_status"] not in REDIRECT_STATUSES:
        errors.append({"field": "redirect_status", "message": "must be 301, 302, 307 or 308"})
    return errors


def _text_errors(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """The shared text rule (balise.values) on the title and each tag; one error per field."""
    texts = [("title", values.get("title")), *(("tags", t) for t in values.get("tags") or ())]
    found: dict[str, str] = {}
    for name, value in texts:
        # Tabs and line breaks are whitespace here, shown as spaces; the rest is refused.
        problem = text_problem(value, multiline=True) if isinstance(value, str) else None
        if problem is not None:
            found.setdefault(name, problem)
    return [{"field": name, "message": message} for name, message in found.items()]


def _row_values(values: Mapping[str, Any], base_url: OwnServer | str) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k in EDITABLE and k != "tags"}
    if "url" in out:
        out["url"] = clean_target(out["url"], own=base_url)
        out["url_key"] = url_key(out["url"])
    return out


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
    control_row = _check_fields(values, base_url)
    if "url" not in values:
        raise ValidationFailed.field("url", "is required")
    row = _row_values(values, base_url) | control_row
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
                raise SlugTaken(f"The slug '{custom}' is already taken.")
            continue
        _set_tags(conn, link_id, values.get("tags") or ())
        mark_changed(conn, slug)  # an instance may have cached the slug as unknown
        link = get_link_by_id(conn, link_id)
        assert link is not None  # noqa: S101 - just inserted in this transaction
        outbox.record(conn, "link.created", {"link": event_data(link)}, link_id=link.id)
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


def _one(conn: Connection, condition: Any) -> Link | None:
    row = conn.execute(select(links).where(condition)).first()
    if row is None:
        return None
    return _to_link(row, _tags_for(conn, [row.id])[row.id])


def possible_slug(slug: str) -> bool:
    """True when `slug` could name a link; anything else is unknown without asking the
    database (which may refuse it: PostgreSQL fails a query holding a NUL character)."""
    return SLUG_RE.fullmatch(slug) is not None


def get_link_by_slug(conn: Connection, slug: str) -> Link | None:
    """Slugs resolve whatever their case: two slugs never differ only in case."""
    if not possible_slug(slug):
        return None
    return _one(conn, links.c.slug_key == slug.lower())


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
    """Apply `changes` (any EDITABLE field, or `slug`; None clears optional ones), bump the
    version."""
    control_row = _check_fields(changes, base_url, link)
    row = _row_values(changes, base_url) | control_row
    if "url" in changes and changes["url"] is None:
        raise ValidationFailed.field("url", "cannot be removed")
    if "slug" in changes:
        row.update(_renamed(conn, link, changes["slug"]))
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
        raise SlugTaken(f"The slug '{row['slug']}' is already taken.") from None
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
    data: dict[str, Any] = {"link": event_data(updated)}
    if updated.slug != link.slug:
        data["previous_slug"] = link.slug
    outbox.record(conn, "link.updated", data, link_id=link.id)
    return updated


def _renamed(conn: Connection, link: Link, slug: object) -> dict[str, str]:
    """The columns of a new slug for `link`: statistics, summary and shares follow (they key on
    the link's id); the old slug answers 404 once the change commits."""
    if slug is None:
        raise ValidationFailed.field("slug", "cannot be removed")
    slug = validate_slug(slug)
    if slug.lower() != link.slug.lower():
        taken = select(links.c.id).where(links.c.slug_key == slug.lower())
        if conn.execute(taken).first() is not None:
            raise SlugTaken(f"The slug '{slug}' is already taken.")
    return {"slug": slug, "slug_key": slug.lower()}


def delete_link(conn: Connection, link: Link) -> None:
    forget_link(conn, link.id)  # its clicks leave the all-links statistics with it
    conn.execute(delete(links).where(links.c.id == link.id))
    mark_changed(conn, link.slug)
    outbox.record(conn, "link.deleted", {"link": event_data(link)}, link_id=link.id)


def bump_version(conn: Connection, link: Link) -> None:
    """Mark the link as changed (its summary was written) so cached pages are seen as stale."""
    conn.execute(update(links).where(links.c.id == link.id).values(version=links.c.version + 1))
    mark_changed(conn, link.slug)
