"""Request and response schemas of the summaries API (pydantic), limits from balise.summaries.

Imported by schemas.py (LinkCreate accepts a `summary`), so this module imports nothing from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from balise.links.urls import MAX_URL_LENGTH
from balise.summaries.store import LIMITS
from balise.web.api.schemas.types import DbInt, DomainText

Lang = Literal["fr", "en"]
Origin = Literal["author", "extracted", "generated"]
Url = Annotated[
    str, Field(min_length=1, max_length=MAX_URL_LENGTH, json_schema_extra={"format": "uri"})
]
# Every section shares one limit (balise.summaries.LIMITS).
Section = Annotated[DomainText, StringConstraints(max_length=LIMITS["recap"])]


class SummaryIn(BaseModel):
    """A summary as an editor writes it. Sections are plain text; blank lines separate
    paragraphs; nothing is ever rendered as HTML."""

    model_config = ConfigDict(extra="forbid")

    lang: Lang | None = Field(None, description="Defaults to the link's language, else fr.")
    title: Annotated[DomainText, StringConstraints(min_length=1, max_length=LIMITS["title"])]
    teaser: Annotated[DomainText, StringConstraints(min_length=1, max_length=LIMITS["teaser"])] = (
        Field(description="One or two sentences: the social-post line and og:description.")
    )
    recap: Section | None = Field(None, description="Factual recap: what happened, facts only.")
    neutral: Section | None = Field(None, description="Neutral view: context, no judgement.")
    example: Section | None = Field(None, description="Example: an everyday analogy.")
    optimistic: Section | None = Field(None, description="Optimistic view: the hopeful reading.")
    pessimistic: Section | None = Field(None, description="Pessimistic view: the worried reading.")
    source_url: Url | None = Field(None, description="Source article; defaults to the target.")
    image_url: Url | None = Field(None, description="Card image (twitter:card large image).")
    origin: Origin | None = Field(
        None, description="author (default), or extracted/generated to keep a draft's origin."
    )


class PublicSummary(BaseModel):
    """A summary as the public look-up API answers it (the extension's contract)."""

    slug: str
    short_url: str
    target_url: str
    lang: Lang
    title: str
    teaser: str
    recap: str | None
    neutral: str | None
    example: str | None
    optimistic: str | None
    pessimistic: str | None
    source_url: str = Field(description="The source article (the target unless set).")
    image_url: str | None
    origin: Origin
    updated_at: datetime | None


class LookedUpSummary(PublicSummary):
    """A public summary as the look-up answers it, with the token that counts a view."""

    seen_token: str = Field(
        description="Send it to POST /summaries/seen when the summary is actually shown: that "
        "counts one preview view. Valid for about 3 hours."
    )


class LookedUpPage(BaseModel):
    """A link without a summary, answered with its target page's own description (fetched in
    the background, BALISE_FETCH_METADATA): title and teaser only, no sections. The extension
    marks it as the page's own description. A summary, once written, answers instead."""

    slug: str
    short_url: str
    target_url: str
    lang: Lang | None = Field(description="The page's language when known (fr or en).")
    title: str = Field(description="The link's title, else the page's own title.")
    teaser: str = Field(description="The page's own description (og:description, ...).")
    origin: Literal["page"]
    updated_at: datetime = Field(description="When the page's card was fetched.")
    seen_token: str = Field(
        description="As for a summary: send it to POST /summaries/seen once the card is shown."
    )


class LookedUp(RootModel[LookedUpSummary | LookedUpPage]):
    """The look-up's answer for one URL: its summary, else its page's own card."""


class SummaryOut(PublicSummary):
    created_at: datetime | None


class DraftOut(SummaryOut):
    saved: bool = Field(description="True when ?save=1 stored the draft as the summary.")


class DraftQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    save: bool = Field(False, description="Store the draft as the link's summary.")
    mode: Literal["extracted", "generated"] = Field(
        "extracted",
        description="extracted: from the page's metadata and text; generated: by the "
        "configured language model.",
    )


class VersionOut(BaseModel):
    id: int
    saved_at: datetime
    saved_by: str | None
    origin: Origin
    current: bool = Field(description="This version is the summary shown now.")
    changed: list[str] | None = Field(
        description="Fields that differ from the version before (null for the oldest kept)."
    )
    summary: dict[str, str | None]


class VersionList(BaseModel):
    items: list[VersionOut]


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: DbInt = Field(description="The `id` of a version from .../summary/versions.")


class SummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)] = Field(
        description="A short URL of this server in any form, or the article's URL."
    )


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)]],
        Field(max_length=100),
    ]
    prefetch: bool = Field(
        False,
        description="True when nobody has seen these cards yet (the extension asking ahead, "
        "or while the pointer rests on a link): the answers count no preview views; "
        "POST /summaries/seen counts them once shown.",
    )


class LookupOut(BaseModel):
    results: dict[str, LookedUpSummary | LookedUpPage | None] = Field(
        description="Every URL as sent, with its summary, else its page's own card "
        '(origin "page"), or null.'
    )


class SeenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The `seen_token` of a look-up answer whose summary was shown."
    )
