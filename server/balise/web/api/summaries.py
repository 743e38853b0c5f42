"""Summaries API for editors: write, read, delete, versions, restore, and drafts from the page."""

from __future__ import annotations

from typing import Any

from flask import g
from spectree import Response

from balise.errors import NotFound
from balise.links.store import Link
from balise.summaries import store as summaries
from balise.web.api.blueprint import bp, require, spec
from balise.web.api.links import find_link
from balise.web.api.schemas import ProblemOut
from balise.web.api.schemas.summaries import (
    DraftOut,
    DraftQuery,
    RestoreIn,
    SummaryIn,
    SummaryOut,
    VersionList,
)
from balise.web.context import run_draft, transaction
from balise.web.summary_view import summary_out

TAGS = ["summaries"]
ERRORS = {f"HTTP_{code}": ProblemOut for code in (401, 403, 404, 429)}
SECURITY = {"bearer": []}  # type: ignore[var-annotated]


def _saved_by() -> str | None:
    key = g.get("api_key")
    return key.name if key is not None else None


def _current(conn: Any, link: Link) -> summaries.Summary:
    summary = summaries.get_summary(conn, link.id)
    if summary is None:
        raise NotFound(f"The link '{link.slug}' has no summary.")
    return summary


@bp.put("/links/<slug>/summary")
@spec.validate(
    json=SummaryIn,
    resp=Response(HTTP_200=SummaryOut, HTTP_201=SummaryOut, HTTP_422=ProblemOut, **ERRORS),
    tags=TAGS,
    security=SECURITY,
)
@require("editor")
def put_summary(slug: str, json: SummaryIn) -> tuple[dict[str, Any], int]:
    """Write the link's summary (201 when it had none); the previous one is kept as a version."""
    with transaction() as conn:
        link = find_link(conn, slug)
        saved, created = summaries.save_summary(
            conn, link, json.model_dump(exclude_none=True), saved_by=_saved_by()
        )
    return summary_out(link, saved), 201 if created else 200


@bp.get("/links/<slug>/summary")
@spec.validate(resp=Response(HTTP_200=SummaryOut, **ERRORS), tags=TAGS, security=SECURITY)
@require("viewer")
def get_summary(slug: str) -> dict[str, Any]:
    """The link's summary; 404 when it has none."""
    with transaction() as conn:
        link = find_link(conn, slug)
        return summary_out(link, _current(conn, link))


@bp.delete("/links/<slug>/summary")
@spec.validate(resp=Response("HTTP_204", **ERRORS), tags=TAGS, security=SECURITY)
@require("editor")
def delete_summary(slug: str) -> tuple[str, int]:
    """Remove the summary; its versions stay and can be restored."""
    with transaction() as conn:
        link = find_link(conn, slug)
        if not summaries.delete_summary(conn, link):
            raise NotFound(f"The link '{slug}' has no summary.")
    return "", 204


@bp.get("/links/<slug>/summary/versions")
@spec.validate(resp=Response(HTTP_200=VersionList, **ERRORS), tags=TAGS, security=SECURITY)
@require("viewer")
def list_versions(slug: str) -> dict[str, Any]:
    """The kept versions of the summary, newest first, with the fields each one changed."""
    with transaction() as conn:
        link = find_link(conn, slug)
        versions = summaries.list_versions(conn, link.id)
        current = summaries.get_summary(conn, link.id)
    items = []
    for i, version in enumerate(versions):
        older = versions[i + 1] if i + 1 < len(versions) else None
        items.append(
            {
                "id": version.id,
                "saved_at": version.saved_at,
                "saved_by": version.saved_by,
                "origin": version.origin,
                "current": i == 0 and current is not None,
                "changed": summaries.changed_fields(version.content, older.content)
                if older
                else None,
                "summary": version.content,
            }
        )
    return {"items": items}


@bp.post("/links/<slug>/summary/restore")
@spec.validate(
    json=RestoreIn,
    resp=Response(HTTP_200=SummaryOut, HTTP_422=ProblemOut, **ERRORS),
    tags=TAGS,
    security=SECURITY,
)
@require("editor")
def restore_summary(slug: str, json: RestoreIn) -> dict[str, Any]:
    """Make a kept version the summary again (itself recorded as a new version)."""
    with transaction() as conn:
        link = find_link(conn, slug)
        restored = summaries.restore_version(conn, link, json.version, saved_by=_saved_by())
    return summary_out(link, restored)


@bp.post("/links/<slug>/summary/draft")
@spec.validate(
    query=DraftQuery,
    resp=Response(
        HTTP_200=DraftOut,
        HTTP_422=ProblemOut,
        HTTP_502=ProblemOut,
        HTTP_501=ProblemOut,
        HTTP_503=ProblemOut,
        **ERRORS,
    ),
    tags=TAGS,
    security=SECURITY,
)
@require("editor")
def draft_summary(slug: str, query: DraftQuery) -> dict[str, Any]:
    """Draft a summary from the target page (extracted) or with the language model
    (generated); returned, and stored only with ?save=1. One draft at a time per key (429),
    and a bounded number per server (503), both with Retry-After."""
    with transaction() as conn:
        link = find_link(conn, slug)
    # The page (and the model) are asked with no database connection held.
    draft = run_draft(link, query.mode, owner=f"key:{g.api_key.id}")
    if not query.save:
        unsaved = summaries.Summary(link_id=link.id, **draft, created_at=None, updated_at=None)
        return summary_out(link, unsaved) | {"saved": False}
    with transaction() as conn:
        link = find_link(conn, slug)
        saved, _created = summaries.save_summary(conn, link, draft, saved_by=_saved_by())
    return summary_out(link, saved) | {"saved": True}
