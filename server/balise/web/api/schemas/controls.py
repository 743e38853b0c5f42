"""Schemas of the link controls (balise.links.controls): UTM values, query forwarding, the
fallback URL, the opening date, the password (write-only) and targeting rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from balise.links import controls
from balise.web.api.schemas.types import Instant, Text

URL = Annotated[str, Field(min_length=1, max_length=4096, json_schema_extra={"format": "uri"})]
# One line: tabs, line breaks and other control characters are refused (they would split the
# target's query or a header).
Utm = Annotated[
    Text,
    StringConstraints(max_length=controls.MAX_UTM_LENGTH, pattern=r"^[^\t\r\n]*$"),
]
Device = Literal["mobile", "tablet", "desktop", "ios", "android"]


class Rule(BaseModel):
    """Send readers who match every condition given to `url` (the first matching rule wins)."""

    model_config = ConfigDict(extra="forbid")

    url: URL
    device: Device | None = Field(
        None, description="mobile, tablet or desktop (device type); ios or android (system)."
    )
    lang: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | None
    ) = Field(None, description="The reader's preferred language (fr also matches fr-CA).")
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        None, description="Two-letter country of the reader's address (needs BALISE_GEOIP_DB)."
    )
    query: (
        Annotated[
            dict[
                Annotated[Text, StringConstraints(min_length=1, max_length=100)],
                Annotated[Text, StringConstraints(max_length=255)],
            ],
            Field(max_length=controls.MAX_RULE_QUERY),
        ]
        | None
    ) = Field(None, description="Parameters the short URL's query must carry, with these values.")


class ControlFields(BaseModel):
    """The control fields a create or an update may send (null clears)."""

    model_config = ConfigDict(extra="forbid")

    utm_source: Utm | None = Field(None, description="Set as utm_source on the target.")
    utm_medium: Utm | None = Field(None, description="Set as utm_medium on the target.")
    utm_campaign: Utm | None = Field(None, description="Set as utm_campaign on the target.")
    utm_term: Utm | None = Field(None, description="Set as utm_term on the target.")
    utm_content: Utm | None = Field(None, description="Set as utm_content on the target.")
    forward_query: bool | None = Field(
        None, description="Pass the short URL's query string on to the target (merged)."
    )
    fallback_url: URL | None = Field(
        None, description="Where readers go (302) once the link is disabled, expired or used up."
    )
    valid_from: Instant | None = Field(
        None, description="Before this time readers get a 'not yet available' page (403)."
    )
    password: (
        Annotated[
            Text,
            StringConstraints(
                min_length=controls.MIN_PASSWORD,
                max_length=controls.MAX_PASSWORD,
                pattern=r"^[^\t\r\n]*$",
            ),
        ]
        | None
    ) = Field(None, description="Readers must type it first; stored hashed, never returned.")
    rules: Annotated[list[Rule], Field(max_length=controls.MAX_RULES)] | None = Field(
        None, description="Targeting rules, in order; the first that matches chooses the URL."
    )


class ControlsOut(BaseModel):
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    forward_query: bool
    fallback_url: str | None
    valid_from: datetime | None
    password_protected: bool = Field(description="Readers must type a password first.")
    rules: list[Rule] | None
