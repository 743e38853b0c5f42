"""Summaries: one per link, plain text with paragraphs, and the versions an editor can restore.

Owns the `summaries` and `summary_versions` tables. Knows nothing of HTTP. Look-up by URL for
the extension lives in summary_lookup.py; drafting from the target page in drafting.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from functools import partial
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from balise.db.dialect import possible_id
from balise.db.tables import summaries, summary_versions
from balise.errors import NotFound, ValidationFailed
from balise.integrations import outbox
from balise.links.fields import LANGS
from balise.links.representation import event_data, link_event
from balise.links.store import Link, bump_version, lock_link
from balise.links.urls import clean_target
from balise.values import text_problem

# Display order of the sections under their headings (DESIGN.md, "Summary format").
SECTIONS = ("recap", "neutral", "example", "optimistic", "pessimistic")
ORIGINS = ("author", "extracted", "generated")
# Characters per field, counted after normalisation. Title and teaser match their columns.
LIMITS = {"title": 300, "teaser": 500, **dict.fromkeys(SECTIONS, 5000)}
URL_FIELDS = ("source_url", "image_url")
TEXT_FIELDS = ("title", "teaser", *SECTIONS)
CONTENT_FIELDS = ("lang", *TEXT_FIELDS, *URL_FIELDS)
# Every save is a version; the newest VERSIONS_KEPT of a link are kept (the current one and
# at least the 10 before it, as the issue asks).
VERSIONS_KEPT = 20

_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


@dataclass(frozen=True, slots=True)
class Summary:
    link_id: int
    lang: str
    title: str
    teaser: str
    recap: str | None
    neutral: str | None
    example: str | None
    optimistic: str | None
    pessimistic: str | None
    source_url: str | None
    image_url: str | None
    origin: str
    created_at: datetime | None
    updated_at: datetime | None

    def content(self) -> dict[str, Any]:
        """The fields a person writes (what a version stores)."""
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


@dataclass(frozen=True)
class Version:
    id: int
    content: dict[str, Any]
    origin: str
    saved_at: datetime
    saved_by: str | None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def paragraphs(text: str | None) -> list[str]:
    """Plain text to paragraphs: blank lines separate them; single newlines stay inside."""
    if not text:
        return []
    return [p.strip() for p in _BLANK_LINES.split(text) if p.strip()]


def _normalise_text(value: str, *, one_line: bool) -> str:
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    if one_line:
        return " ".join(value.split())
    lines = [line.rstrip() for line in value.split("\n")]
    return "\n\n".join(paragraphs("\n".join(lines)))


def _clean_text(name: str, value: object, errors: list[dict[str, str]]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append({"field": name, "message": "must be a string"})
        return None
    problem = text_problem(value, multiline=True)  # line breaks are tidied just below
    if problem is not None:
        errors.append({"field": name, "message": problem})
        return None
    text = _normalise_text(value, one_line=name in ("title", "teaser"))
    if len(text) > LIMITS[name]:
        errors.append({"field": name, "message": f"must be at most {LIMITS[name]} characters"})
    return text or None


def _clean_url(name: str, value: object, errors: list[dict[str, str]]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return clean_target(value)
    except ValidationFailed as exc:
        errors.extend({"field": name, "message": e["message"]} for e in exc.errors)
        return None


def clean(values: Mapping[str, Any], *, default_lang: str | None = None) -> dict[str, Any]:
    """Validate and normalise summary content; ValidationFailed lists every bad field."""
    errors: list[dict[str, str]] = []
    unknown = set(values) - set(CONTENT_FIELDS) - {"origin"}
    errors.extend({"field": k, "message": "is not a summary field"} for k in sorted(unknown))
    out: dict[str, Any] = {}
    lang = values.get("lang") or default_lang or "fr"
    if lang not in LANGS:
        errors.append({"field": "lang", "message": "must be one of: " + ", ".join(LANGS)})
    out["lang"] = lang
    for name in TEXT_FIELDS:
        out[name] = _clean_text(name, values.get(name), errors)
    for name in ("title", "teaser"):
        if not out[name] and not any(e["field"] == name for e in errors):
            errors.append({"field": name, "message": "is required"})
    for name in URL_FIELDS:
        out[name] = _clean_url(name, values.get(name), errors)
    origin = values.get("origin") or "author"
    if origin not in ORIGINS:
        errors.append({"field": "origin", "message": "must be one of: " + ", ".join(ORIGINS)})
    if errors:
        raise ValidationFailed(errors)
    out["origin"] = origin
    return out


def _to_summary(row: Any) -> Summary:
    m = row._mapping
    return Summary(**{f.name: m[f.name] for f in fields(Summary)})


def get_summary(conn: Connection, link_id: int) -> Summary | None:
    row = conn.execute(select(summaries).where(summaries.c.link_id == link_id)).first()
    return _to_summary(row) if row is not None else None


def save_summary(
    conn: Connection,
    link: Link,
    values: Mapping[str, Any],
    *,
    origin: str | None = None,
    saved_by: str | None = None,
) -> tuple[Summary, bool]:
    """Create or replace the link's summary and record the version; (summary, created).

    Saving the same content again changes nothing and records no version.
    """
    data = clean(dict(values) | ({"origin": origin} if origin else {}), default_lang=link.lang)
    origin = data.pop("origin")
    lock_link(conn, link)  # then read: a save that committed while we waited is seen
    current = get_summary(conn, link.id)
    if current is not None and current.content() == data and current.origin == origin:
        return current, False
    now = utcnow()
    if current is None:
        conn.execute(
            insert(summaries).values(
                link_id=link.id, origin=origin, created_at=now, updated_at=now, **data
            )
        )
    else:
        conn.execute(
            update(summaries)
            .where(summaries.c.link_id == link.id)
            .values(origin=origin, updated_at=now, **data)
        )
    _record_version(conn, link.id, data, origin, now, saved_by)
    bump_version(conn, link)
    saved = get_summary(conn, link.id)
    assert saved is not None  # noqa: S101 - written just above in this transaction
    # After bump_version locked the link's row: the link's events stay in commit order.
    outbox.record(
        conn,
        "summary.updated",
        lambda: {"link": event_data(conn, link), "summary": _event_summary(saved)},
        link_id=link.id,
    )
    return saved, current is None


def _event_summary(summary: Summary) -> dict[str, Any]:
    """The summary as `summary.updated` events carry it."""
    return {
        **summary.content(),
        "origin": summary.origin,
        "created_at": outbox.iso(summary.created_at),
        "updated_at": outbox.iso(summary.updated_at),
    }


def _record_version(
    conn: Connection,
    link_id: int,
    data: dict[str, Any],
    origin: str,
    now: datetime,
    saved_by: str | None,
) -> None:
    conn.execute(
        insert(summary_versions).values(
            link_id=link_id, data=data, origin=origin, saved_at=now, saved_by=saved_by
        )
    )
    kept = (
        select(summary_versions.c.id)
        .where(summary_versions.c.link_id == link_id)
        .order_by(summary_versions.c.id.desc())
        .limit(VERSIONS_KEPT)
    )
    conn.execute(
        delete(summary_versions).where(
            summary_versions.c.link_id == link_id,
            summary_versions.c.id.not_in(kept.scalar_subquery()),
        )
    )


def delete_summary(conn: Connection, link: Link) -> bool:
    """Remove the summary; its versions stay, so the deletion can be undone by a restore."""
    deleted = conn.execute(delete(summaries).where(summaries.c.link_id == link.id)).rowcount
    if deleted:
        bump_version(conn, link)
        outbox.record(conn, "summary.deleted", partial(link_event, conn, link), link_id=link.id)
    return bool(deleted)


def list_versions(conn: Connection, link_id: int) -> list[Version]:
    """The kept versions of a link's summary, newest first."""
    rows = conn.execute(
        select(summary_versions)
        .where(summary_versions.c.link_id == link_id)
        .order_by(summary_versions.c.id.desc())
    )
    return [
        Version(
            id=r.id,
            content={k: r.data.get(k) for k in CONTENT_FIELDS},
            origin=r.origin,
            saved_at=r.saved_at,
            saved_by=r.saved_by,
        )
        for r in rows
    ]


def changed_fields(newer: Mapping[str, Any], older: Mapping[str, Any]) -> list[str]:
    return [k for k in CONTENT_FIELDS if newer.get(k) != older.get(k)]


def restore_version(
    conn: Connection, link: Link, version_id: int, *, saved_by: str | None = None
) -> Summary:
    """Make a kept version current again (recorded as a new version)."""
    if not possible_id(version_id):
        raise NotFound(f"The summary of '{link.slug}' has no version {version_id}.")
    row = conn.execute(
        select(summary_versions).where(
            summary_versions.c.id == version_id, summary_versions.c.link_id == link.id
        )
    ).first()
    if row is None:
        raise NotFound(f"The summary of '{link.slug}' has no version {version_id}.")
    restored, _created = save_summary(conn, link, row.data, origin=row.origin, saved_by=saved_by)
    return restored
