"""Schemas of bulk creation and duplication (POST /api/v1/links/bulk, .../duplicate)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from balise.links.bulk import MAX_ITEMS
from balise.web.api.schemas import FieldError, LinkOut, Slug, Strict


class BulkCreate(Strict):
    """Body of POST /api/v1/links/bulk."""

    links: Annotated[list[Any], Field(min_length=1, max_length=MAX_ITEMS)] = Field(
        description=f"1 to {MAX_ITEMS:,} link objects, each the body of POST /api/v1/links "
        "(LinkCreate). Each is checked on its own: a bad one gets its errors in `results` and "
        "does not stop the others."
    )


class BulkResult(BaseModel):
    status: Literal[201, 409, 422, 429] = Field(
        description="201 created; 409 slug taken (by a link, or by an earlier item of this "
        "request); 422 invalid; 429 beyond the link-creation rate limit, not tried."
    )
    link: LinkOut | None = Field(None, description="The link created (201 only).")
    errors: list[FieldError] | None = Field(
        None, description="Why the item was refused, field by field, as POST /api/v1/links."
    )
    detail: str | None = None


class BulkOut(BaseModel):
    results: list[BulkResult] = Field(description="One result per item, in the order sent.")


class DuplicateIn(Strict):
    """Body of POST /api/v1/links/<slug>/duplicate (optional)."""

    slug: Slug | None = Field(None, description="The copy's slug; a random one when left out.")
