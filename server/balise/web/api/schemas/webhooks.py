"""Schemas of the webhooks API, and of the events Balise sends (the document's `webhooks`).

The event models describe the bodies integrations/outbox.py builds; tests validate delivered
bodies against them, so the document cannot drift from what receivers get.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import models_json_schema

from balise.values import INT_MAX
from balise.web.api.schemas import LinkShown

EventType = Literal[
    "link.created", "link.updated", "link.deleted", "summary.updated", "summary.deleted", "clicks"
]
WebhookUrl = Annotated[
    str, Field(min_length=1, max_length=2048, json_schema_extra={"format": "uri"})
]
Description = Annotated[str, StringConstraints(max_length=500)]
Events = Annotated[list[EventType], Field(min_length=1, max_length=6)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_Strict):
    """Body of POST /api/v1/webhooks."""

    url: WebhookUrl = Field(description="Where events are POSTed; public addresses only.")
    events: Events
    description: Description | None = None


class WebhookPatch(_Strict):
    """Body of PATCH /api/v1/webhooks/<id>: only the fields sent change."""

    url: WebhookUrl | None = None
    events: Events | None = None
    enabled: bool | None = Field(None, description="true also ends a failing streak.")
    description: Description | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    description: str | None
    events: list[EventType]
    enabled: bool
    disabled_reason: Literal["failing"] | None = Field(
        description="failing: Balise disabled it after its deliveries failed for days."
    )
    failing_since: datetime | None = Field(description="First failure since the last success.")
    previous_secret_until: datetime | None = Field(
        description="After a rotation, until when the old secret also signs."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_...: the signing secret, shown this once.")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    event_id: str = Field(description="The webhook-id header; the same on every attempt.")
    event_type: str
    event_created_at: datetime
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="Pending deliveries only.")
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="HTTP status of the last answer.")
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_before: int | None = Field(None, description="Pass as `before` for older deliveries.")


class DeliveryQuery(_Strict):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Annotated[int, Field(ge=1, le=INT_MAX)] | None = Field(
        None, description="A delivery id."
    )


class WebhookTestSent(BaseModel):
    event_id: str
    delivery: DeliveryOut


# -- the events themselves ------------------------------------------------------------------


class WebhookLink(LinkShown):
    """The link as the API answers it (GET /api/v1/links/<slug>); as it was, once deleted."""

    model_config = ConfigDict(extra="forbid")


class WebhookSummary(_Strict):
    lang: Literal["fr", "en"]
    title: str
    teaser: str
    recap: str | None
    neutral: str | None
    example: str | None
    optimistic: str | None
    pessimistic: str | None
    source_url: str | None
    image_url: str | None
    origin: Literal["author", "extracted", "generated"]
    created_at: datetime
    updated_at: datetime


class WebhookClick(_Strict):
    """A click with the columns of clicks.csv: never an address nor a user agent."""

    time: datetime
    link: str = Field(description="The link's slug.")
    referrer_host: str | None
    referrer_path: str | None = Field(description="Only when the referrer is the short domain.")
    browser: str | None
    os: str | None
    device: str | None
    country: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    visitor: str | None = Field(description="Visitor hash, valid for one UTC day.")
    dnt: bool
    confirmed_at: datetime | None = Field(
        description="When the reader's page confirmed the click, if it did before the event."
    )


class LinkEventData(_Strict):
    link: WebhookLink


class SummaryEventData(_Strict):
    link: WebhookLink
    summary: WebhookSummary


class ClicksEventData(_Strict):
    clicks: Annotated[list[WebhookClick], Field(min_length=1, max_length=500)]


class WebhookTestEndpoint(_Strict):
    id: int
    url: str


class WebhookTestData(_Strict):
    webhook: WebhookTestEndpoint


class _Event(_Strict):
    id: str = Field(description="evt_...: unique, also sent as webhook-id.")
    timestamp: datetime = Field(description="When the change happened.")


class LinkCreatedEvent(_Event):
    type: Literal["link.created"]
    data: LinkEventData


class LinkUpdatedData(LinkEventData):
    previous_slug: str | None = Field(
        None, description="Only when the change renamed the link: its slug until then."
    )


class LinkUpdatedEvent(_Event):
    type: Literal["link.updated"]
    data: LinkUpdatedData


class LinkDeletedEvent(_Event):
    type: Literal["link.deleted"]
    data: LinkEventData


class SummaryUpdatedEvent(_Event):
    type: Literal["summary.updated"]
    data: SummaryEventData


class SummaryDeletedEvent(_Event):
    type: Literal["summary.deleted"]
    data: LinkEventData


class ClicksEvent(_Event):
    type: Literal["clicks"]
    data: ClicksEventData


class WebhookTestEvent(_Event):
    type: Literal["webhook.test"]
    data: WebhookTestData


EVENTS: dict[str, tuple[type[BaseModel], str]] = {
    "link.created": (LinkCreatedEvent, "A link was created."),
    "link.updated": (LinkUpdatedEvent, "A link changed (the link as it is now)."),
    "link.deleted": (LinkDeletedEvent, "A link was deleted (the link as it was)."),
    "summary.updated": (SummaryUpdatedEvent, "A link's summary was written or restored."),
    "summary.deleted": (SummaryDeletedEvent, "A link's summary was removed."),
    "clicks": (
        ClicksEvent,
        "Anonymised clicks, at most 500 an event and one event a second per endpoint.",
    ),
    "webhook.test": (WebhookTestEvent, "Sent by 'send test event' to one endpoint."),
}
SIGNATURE_HEADERS = (
    ("webhook-id", "The event's id (evt_...), the same on every attempt."),
    ("webhook-timestamp", "Unix seconds of this attempt."),
    (
        "webhook-signature",
        "Space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body>, one per valid secret "
        "(Standard Webhooks).",
    ),
)


def openapi_webhooks() -> tuple[dict[str, Any], dict[str, Any]]:
    """The document's `webhooks` section and the component schemas it refers to."""
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (model, "validation") for model, _ in EVENTS.values()
    ]
    refs, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")
    parameters = [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
        | {"description": text}
        for name, text in SIGNATURE_HEADERS
    ]
    webhooks = {
        event_type: {
            "post": {
                "summary": summary,
                "operationId": "webhook_" + event_type.replace(".", "_"),
                "tags": ["webhooks"],
                "parameters": parameters,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": refs[(model, "validation")]}},
                },
                "responses": {
                    "2XX": {"description": "Received. Any other answer, or none, is retried."}
                },
            }
        }
        for event_type, (model, summary) in EVENTS.items()
    }
    return webhooks, schemas.get("$defs", {})
