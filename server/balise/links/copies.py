"""Duplicating a link: a new slug with every stored field of the original, but none of its
clicks (statistics key on the link's id, so the copy starts at zero).

The row is copied column by column, so fields added to the links table later are copied too;
only what makes the original itself (id, slug, dates, version, share secret, owner) is not.
duplicate() copies the summary too (as a new first version of the copy's own history): a
marketer who duplicates a campaign link to vary its slug or tags expects the copy to read the
same. The target page's card is fetched again for the copy, as for any new link.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import Connection, insert, select

from balise.db.changes import mark_changed
from balise.db.dialect import insert_unless_taken
from balise.db.tables import link_tags, links
from balise.errors import NotFound, SlugTaken
from balise.integrations import outbox
from balise.links.representation import link_event
from balise.links.slugs import random_slug, taken, validate_slug
from balise.links.store import Link, get_link_by_id, utcnow
from balise.summaries import store as summaries

NOT_COPIED = frozenset(
    {
        "id",
        "slug",
        "slug_key",
        "created_at",
        "updated_at",
        "version",
        "share_secret",
        "api_key_id",
        "user_id",
        "imported_clicks",  # visits another shortener counted: the copy has none
    }
)


def duplicate_link(
    conn: Connection,
    link: Link,
    *,
    slug: str | None = None,
    api_key_id: int | None = None,
    user_id: int | None = None,
) -> Link:
    """A copy of `link` under `slug` (a random one when None); SlugTaken when it is taken."""
    if slug is not None:
        slug = validate_slug(slug)
    row = conn.execute(select(links).where(links.c.id == link.id)).first()
    if row is None:
        raise NotFound(f"The link '{link.slug}' was deleted meanwhile.")
    values = {k: v for k, v in row._mapping.items() if k not in NOT_COPIED}
    now = utcnow()
    values.update(created_at=now, updated_at=now, version=1, api_key_id=api_key_id)
    values["user_id"] = user_id
    for _attempt in range(8):
        chosen = slug if slug is not None else random_slug()
        new_id = insert_unless_taken(
            conn, links, {"slug": chosen, "slug_key": chosen.lower(), **values}
        )
        if new_id is None:
            if slug is not None:
                raise taken(slug)
            continue
        if link.tags:
            conn.execute(insert(link_tags), [{"link_id": new_id, "tag": t} for t in link.tags])
        mark_changed(conn, chosen)
        copy = get_link_by_id(conn, new_id)
        assert copy is not None  # noqa: S101 - just inserted in this transaction
        outbox.record(conn, "link.created", partial(link_event, conn, copy), link_id=copy.id)
        return copy
    raise SlugTaken("Could not draw a free random slug; try again.")


def duplicate(
    conn: Connection,
    link: Link,
    *,
    slug: str | None = None,
    api_key_id: int | None = None,
    user_id: int | None = None,
    saved_by: str | None = None,
) -> tuple[Link, summaries.Summary | None]:
    """duplicate_link, and the original's summary saved on the copy (None when it has none)."""
    copy = duplicate_link(conn, link, slug=slug, api_key_id=api_key_id, user_id=user_id)
    original = summaries.get_summary(conn, link.id)
    if original is None:
        return copy, None
    saved, _created = summaries.save_summary(
        conn, copy, original.content(), origin=original.origin, saved_by=saved_by
    )
    return copy, saved
