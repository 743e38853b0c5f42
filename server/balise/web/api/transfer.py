"""Export of every link with every field, streamed: GET /api/v1/links/export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from flask import Response as FlaskResponse
from spectree import Response

from balise.links import transfer
from balise.web.api.blueprint import bp, operation
from balise.web.api.schemas import LinkExportQuery
from balise.web.context import state

MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


@bp.get("/links/export")
@operation(
    "viewer",
    query=LinkExportQuery,
    resp=Response("HTTP_200"),
    tags=["links"],
    media_type=tuple(MEDIA_TYPES.values()),
)
def export_links(query: LinkExportQuery) -> FlaskResponse:
    """Every link with every field (tags, dates, limits, redirect settings, imported clicks)
    and, with `with_summaries=true`, its summary: as JSON Lines or CSV, streamed, oldest first.
    `balise import FILE` reads it back."""
    engine = state().engine

    def generate() -> Iterator[str]:
        with engine.connect() as conn:
            yield from transfer.export(conn, query.format, with_summaries=query.with_summaries)

    stamp = datetime.now().strftime("%Y%m%d")
    return FlaskResponse(
        generate(),
        mimetype=MEDIA_TYPES[query.format],
        headers={
            "Content-Disposition": f'attachment; filename="links-{stamp}.{query.format}"',
            "Cache-Control": "no-store",
        },
    )
