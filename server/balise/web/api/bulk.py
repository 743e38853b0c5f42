"""Links made many at a time: bulk creation (POST /links/bulk) and duplication.

Both spend the link-creation budget (BALISE_RATELIMIT_CREATE, per API key) that the single
create spends: a bulk of 500 items spends 500. A bulk gets as many items as the window has
left; the items beyond get a 429 result without being tried, and a bulk with none left gets
a 429 answer, as a single create would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, g
from pydantic import ValidationError
from spectree import Response
from sqlalchemy import Connection

from balise.errors import TooManyRequests
from balise.links import bulk, copies
from balise.links import store as links
from balise.summaries import store as summaries
from balise.web.api.blueprint import bp, key_or_address, operation
from balise.web.api.links import TAGS, find_link, link_out
from balise.web.api.schemas import LinkCreate, LinkOut, ProblemOut
from balise.web.api.schemas.bulk import BulkCreate, BulkOut, DuplicateIn
from balise.web.context import state, transaction
from balise.web.limits import budget
from balise.web.summary_view import summary_out

CREATE_SCOPE = "link-create"  # the budget api.create_link and api.duplicate_link share
BEYOND_LIMIT = "not created: beyond the link-creation rate limit; send it again later"


def pydantic_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Field errors as the API's 422 problem gives them (blueprint._validation_hook)."""
    return [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())) or "body",
            "message": e.get("msg", "is invalid"),
        }
        for e in exc.errors()
    ]


def _prepare(item: Any) -> Mapping[str, Any] | bulk.Outcome[Any]:
    """An item's values for create_link, or its 422 when it is not a valid link object."""
    if not isinstance(item, dict):
        return bulk.Outcome(422, errors=[{"field": "body", "message": "must be a link object"}])
    try:
        return LinkCreate.model_validate(item).model_dump(exclude_unset=True)
    except ValidationError as exc:
        return bulk.Outcome(422, errors=pydantic_errors(exc))


def _create(conn: Connection, values: Mapping[str, Any]) -> dict[str, Any]:
    """One item, as POST /links creates it; every refusal comes before the first write."""
    values = dict(values)
    summary = values.pop("summary", None)
    if summary is not None:  # checked now: once the link is written, a refusal would keep it
        summaries.clean(summary, default_lang=values.get("lang"))
    link = links.create_link(
        conn, values, base_url=state().server, api_key_id=g.api_key.id, user_id=g.api_key.user_id
    )
    body = link_out(link, conn)
    if summary is not None:
        saved, _ = summaries.save_summary(conn, link, summary, saved_by=g.api_key.name)
        body["summary"] = summary_out(link, saved)
    return body


def _result(outcome: bulk.Outcome[dict[str, Any]]) -> dict[str, Any]:
    if outcome.created is not None:
        return {"status": outcome.status, "link": outcome.created}
    return {"status": outcome.status, "errors": outcome.errors, "detail": outcome.detail}


@bp.post("/links/bulk")
@operation("editor", json=BulkCreate, resp=Response(HTTP_200=BulkOut), tags=TAGS)
def create_links(json: BulkCreate) -> dict[str, Any]:
    """Create up to 1,000 links: one result per item, in order; valid items are created even
    when others are refused. Chunks of 100 items, one transaction each."""
    rate = str(state().settings["RATELIMIT_CREATE"])
    grant = budget.spend(current_app, CREATE_SCOPE, rate, key_or_address(), len(json.links))
    if grant.units == 0:
        refused = TooManyRequests("This API key has no link creations left for now.")
        refused.headers = [("Retry-After", str(grant.retry_after))]  # type: ignore[attr-defined]
        raise refused
    beyond = bulk.Outcome[Any](429, errors=[{"field": "item", "message": BEYOND_LIMIT}])
    items = [_prepare(item) if i < grant.units else beyond for i, item in enumerate(json.links)]
    outcomes = bulk.create_all(transaction, items, _create)
    return {"results": [_result(outcome) for outcome in outcomes]}


@bp.post("/links/<slug>/duplicate")
@operation(
    "editor", json=DuplicateIn, resp=Response(HTTP_201=LinkOut, HTTP_409=ProblemOut), tags=TAGS
)
def duplicate_link(slug: str, json: DuplicateIn) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Copy a link (every field, its tags and its summary; not its clicks) under a new slug,
    given or random."""
    with transaction() as conn:
        copy, saved = copies.duplicate(
            conn,
            find_link(conn, slug),
            slug=json.slug,
            api_key_id=g.api_key.id,
            user_id=g.api_key.user_id,
            saved_by=g.api_key.name,
        )
        body = link_out(copy, conn)
    if saved is not None:
        body["summary"] = summary_out(copy, saved)
    return body, 201, {"Location": body["short_url"]}
