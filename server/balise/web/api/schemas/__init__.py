"""Request and response schemas of the JSON API (pydantic).

spectree validates requests against these models and generates /api/v1/openapi.json from the
same models, so the document and the validation cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from balise.web.api.schemas.controls import ControlFields, ControlsOut
from balise.web.api.schemas.summaries import SummaryIn, SummaryOut
from balise.web.api.schemas.types import DbInt, Instant, Text

Tag = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{3,64}$")]
TargetUrl = Annotated[
    str, Field(min_length=1, max_length=4096, json_schema_extra={"format": "uri"})
]
Lang = Literal["fr", "en"]
RedirectMode = Literal["interstitial", "direct"]
RedirectStatus = Literal[301, 302, 307, 308]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkFields(ControlFields):
    title: Annotated[Text, StringConstraints(max_length=300)] | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    lang: Lang | None = None
    redirect_delay: Annotated[int, Field(ge=0, le=10)] | None = Field(
        None, description="Seconds before the reader page redirects; default from settings."
    )
    reading_delay: bool | None = Field(
        None,
        description="When the link has a summary, wait SUMMARY_REDIRECT_DELAY seconds instead.",
    )
    expires_at: Instant | None = None
    max_clicks: DbInt | None = None
    disabled: bool | None = None
    redirect_mode: RedirectMode | None = Field(
        None,
        description="interstitial (default): the reader page; direct: an HTTP redirect to the "
        "target, counted the same (clicks, bots, prefetches) but never confirmed by a beacon.",
    )
    redirect_status: RedirectStatus | None = Field(
        None, description="Status of a direct link's redirect (default 302); never cached."
    )


class LinkCreate(LinkFields):
    """Body of POST /api/v1/links."""

    url: TargetUrl
    slug: Slug | None = None
    summary: SummaryIn | None = Field(
        None, description="The link's summary, saved in the same transaction as the link."
    )


class LinkPatch(LinkFields):
    """Body of PATCH /api/v1/links/<slug>: only the fields sent change; null clears."""

    url: TargetUrl | None = None
    slug: Slug | None = Field(
        None,
        description="A new slug: the old one answers 404 at once, on every instance; the "
        "statistics and the summary stay with the link. 409 when taken.",
    )


class LinkShown(ControlsOut):
    """A link as the API answers it and webhook events carry it (links/representation.py)."""

    slug: str
    short_url: str
    preview_url: str
    url: str
    title: str | None
    tags: list[str]
    lang: Lang | None
    redirect_delay: int | None
    reading_delay: bool
    expires_at: datetime | None
    max_clicks: int | None
    disabled: bool
    redirect_mode: RedirectMode
    redirect_status: RedirectStatus
    state: Literal["active", "disabled", "expired", "exhausted", "scheduled"] = Field(
        description="exhausted: the clicks stored have reached max_clicks (readers get 410); "
        "scheduled: not valid yet (valid_from)."
    )
    imported_clicks: int = Field(
        description="Visits counted by another shortener before the link was imported "
        "(balise import), kept apart: never part of the clicks Balise counts."
    )
    created_at: datetime
    updated_at: datetime


class LinkOut(LinkShown):
    summary: SummaryOut | None = Field(
        None,
        description="Only in the answer to a create that sent a summary, or to a duplicate of "
        "a link that has one.",
    )


class LinkPage(BaseModel):
    items: list[LinkOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class LinkListQuery(Strict):
    q: Annotated[Text, StringConstraints(max_length=200)] | None = Field(
        None, description="Substring of the slug, target or title."
    )
    tag: Tag | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[Text, StringConstraints(max_length=100)] | None = None


class LinkExportQuery(Strict):
    format: Literal["csv", "jsonl"] = Field(
        "jsonl",
        description="jsonl: one JSON object per line; csv: a header row, then a row "
        "per link (lists and objects as JSON, the summary in summary.<field> columns).",
    )
    with_summaries: bool = Field(False, description="Add each link's summary (or null).")


class KeyCreate(Strict):
    name: Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Literal["viewer", "editor", "admin"] = "editor"


class KeyOut(BaseModel):
    name: str
    role: Literal["viewer", "editor", "admin"]
    prefix: str = Field(description="First characters of the key, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The secret, shown this once; only its hash is stored.")


class KeyList(BaseModel):
    items: list[KeyOut]


class FieldError(BaseModel):
    field: str
    message: str


class ProblemOut(BaseModel):
    """application/problem+json (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]
