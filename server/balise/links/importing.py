"""Import records (from an export file or another shortener) into this server, a page at a time.

Each record's link fields go through the same validation as the API's link creation: the
caller passes that validation in (`Rules.validate`, the API's request schema, which this
package cannot import), then `store.create_link` applies its own rules (targets, slugs,
limits). A record is checked whole (link, summary, dates) before anything is written, so a
refused record writes nothing, and the caller commits a page in one transaction: a link, its
tags and its summary are never half-imported.

Slugs are kept: a record whose slug exists is skipped (`update`: changed to the record's
values). Three fields are restored as they were rather than validated as input, since the API
never takes them: `created_at`, `updated_at` and `imported_clicks` (the visits counted
elsewhere); the summary's dates likewise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from balise.db.tables import link_tags, links, summaries
from balise.errors import NotFound, SlugTaken, ValidationFailed
from balise.links import store
from balise.links.hosts import OwnServer
from balise.links.transfer import Record
from balise.summaries import store as summary_store
from balise.values import DATE_MESSAGE, INT_MAX, in_range

RESTORED = ("created_at", "updated_at", "imported_clicks")
SUMMARY_DATES = ("created_at", "updated_at")


@dataclass(frozen=True)
class Rules:
    """How records are checked and written.

    `validate` takes the link fields `accepted` (the API's creation fields) and returns them
    cleaned, raising ValidationFailed; `validate_summary` likewise for a summary."""

    validate: Callable[[dict[str, Any]], dict[str, Any]]
    accepted: frozenset[str]
    validate_summary: Callable[[dict[str, Any]], dict[str, Any]]
    base_url: OwnServer | str
    update: bool = False
    saved_by: str = "import"


LOCKED_NOTE = (
    "disabled: it had a password, which exports never hold; give it a new one, then enable it"
)


@dataclass(frozen=True)
class Result:
    where: str
    slug: str | None
    status: str  # imported, updated, skipped, failed
    message: str = ""


@dataclass
class PageReport:
    results: list[Result] = field(default_factory=list)
    ignored: set[str] = field(default_factory=set)  # fields this server does not take

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


def import_page(conn: Connection, found: Iterable[Record], rules: Rules) -> PageReport:
    """Import records in the caller's transaction; one Result per record."""
    report = PageReport()
    page = list(found)
    keys = {r.values["slug"].lower() for r in page if isinstance(r.values.get("slug"), str)}
    query = select(links.c.slug_key).where(links.c.slug_key.in_(sorted(keys)))
    taken = set(conn.execute(query).scalars()) if keys else set()  # one query, not one a link
    for record in page:
        report.results.append(_import_one(conn, record, rules, report.ignored, taken))
    return report


def problems(exc: ValidationFailed) -> str:
    if not exc.errors:
        return exc.detail
    return "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)


def _import_one(
    conn: Connection, record: Record, rules: Rules, ignored: set[str], taken: set[str]
) -> Result:
    slug = record.values.get("slug")
    slug = slug if isinstance(slug, str) and slug else None
    if record.error is not None:
        return Result(record.where, slug, "failed", record.error)
    if slug is None:
        return Result(record.where, None, "failed", "slug: is required (imports keep slugs)")
    if slug.lower() in taken and not rules.update:
        return Result(record.where, slug, "skipped", "a link with this slug exists")
    values = dict(record.values)
    summary_in = values.pop("summary", None)
    protected = values.pop("password_protected", False) in (True, "true", "True", "1", 1)
    restored_in = {name: values.pop(name) for name in RESTORED if name in values}
    ignored.update(name for name in values if name not in rules.accepted)
    try:
        clean = rules.validate({k: v for k, v in values.items() if k in rules.accepted})
        restored = _restored(restored_in, "")
        summary, summary_dates = _summary(summary_in, rules, clean.get("lang"))
        existing = store.get_link_by_slug(conn, slug) if slug.lower() in taken else None
        # Exports never hold passwords: a protected link without a new one must not open.
        locked = protected and not clean.get("password")
        locked = locked and (existing is None or not existing.password_protected)
        if locked:
            clean["disabled"] = True
        if existing is not None:
            changes = {k: v for k, v in clean.items() if k != "slug"}
            link = store.update_link(conn, existing, changes, base_url=rules.base_url)
        else:
            link = store.create_link(conn, clean, base_url=rules.base_url)
            taken.add(link.slug.lower())  # the same slug later in the page is not new
    except ValidationFailed as exc:
        return Result(record.where, slug, "failed", problems(exc))
    except SlugTaken:
        return Result(record.where, slug, "skipped", "a link with this slug exists")
    except NotFound as exc:
        return Result(record.where, slug, "failed", exc.detail)
    if restored:
        conn.execute(update(links).where(links.c.id == link.id).values(**restored))
    if summary is not None:
        summary_store.save_summary(conn, link, summary, saved_by=rules.saved_by)
        if summary_dates:
            conn.execute(
                update(summaries).where(summaries.c.link_id == link.id).values(**summary_dates)
            )
    note = LOCKED_NOTE if locked else ""
    return Result(record.where, link.slug, "updated" if existing else "imported", note)


def _summary(
    value: object, rules: Rules, lang: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The summary's content, validated now (before the link is written), and its dates."""
    if value is None:
        return None, {}
    if not isinstance(value, Mapping):
        raise ValidationFailed.field("summary", "must be an object")
    content = {k: v for k, v in value.items() if k not in SUMMARY_DATES}
    dates = _restored({k: v for k, v in value.items() if k in SUMMARY_DATES}, "summary.")
    try:
        checked = rules.validate_summary(content)
        summary_store.clean(checked, default_lang=lang)
    except ValidationFailed as exc:
        errors = [{"field": "summary." + e["field"], "message": e["message"]} for e in exc.errors]
        raise ValidationFailed(errors) from None
    return checked, dates


def _restored(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Dates (ISO 8601 with a zone, years 2000 to 2200) and imported_clicks (0 or more)."""
    out: dict[str, Any] = {}
    errors = []
    for name, value in values.items():
        if value is None:
            continue
        if name == "imported_clicks":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT_MAX:
                errors.append({"field": name, "message": "must be a whole number, 0 or more"})
            else:
                out[name] = value
            continue
        moment = _moment(value)
        if moment is None:
            errors.append(
                {"field": prefix + name, "message": "must be an ISO 8601 date-time with a zone"}
            )
        elif not in_range(moment):
            errors.append({"field": prefix + name, "message": DATE_MESSAGE})
        else:
            out[name] = moment
    if errors:
        raise ValidationFailed(errors)
    return out


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str):
        try:
            found = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return found if found.tzinfo is not None else None


def imported_total(
    conn: Connection, *, link_id: int | None = None, tags: Iterable[str] = ()
) -> int:
    """Imported clicks of one link, or of every link (holding one of `tags`, when given)."""
    # The term ix_links_imported is made for: only the links with imported clicks are read.
    query = select(func.coalesce(func.sum(links.c.imported_clicks), 0)).where(
        links.c.imported_clicks > 0
    )
    if link_id is not None:
        query = query.where(links.c.id == link_id)
    if tags := list(tags):
        holding = select(link_tags.c.link_id).where(link_tags.c.tag.in_(tags))
        query = query.where(links.c.id.in_(holding))
    return int(conn.execute(query).scalar_one())
