"""Webhook tables (migration 0006_webhooks and later; see integrations/): endpoints, the
events outbox, deliveries and the clicks waiting for an endpoint's next clicks event.
Imported through db/tables.py, with the rest of the schema.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from balise.db.columns import BigId, UTCDateTime, metadata

# Owner: integrations/webhooks.py. Where events are sent; the secret signs them.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("description", String(500), nullable=True),
    Column("events", JSON, nullable=False),  # list of event types
    Column("secret", String(100), nullable=False),
    # After a rotation the old secret still signs (a second signature) until this time.
    Column("previous_secret", String(100), nullable=True),
    Column("previous_secret_until", UTCDateTime, nullable=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", String(32), nullable=True),  # "failing" when Balise disabled it
    Column("failing_since", UTCDateTime, nullable=True),  # first failure since the last success
    Column("clicks_due_at", UTCDateTime, nullable=True),  # next clicks batch, at most 1 a second
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Owner: integrations/outbox.py. Events, written in the transaction of the change they report.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uid", String(40), nullable=False, unique=True),  # webhook-id: evt_...
    Column("type", String(32), nullable=False),
    Column("link_id", Integer, nullable=True),  # no foreign key: link.deleted outlives its link
    Column("data", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Owner: integrations/outbox.py. One row per event and endpoint: its attempts and its fate.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("event_id", BigId, ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False),
    Column(
        "endpoint_id",
        Integer,
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # Deliveries with the same endpoint and key go out one after the other, in id order.
    Column("ordering_key", String(40), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),  # an instance is sending it until then
    Column("lease_owner", String(32), nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),  # HTTP status of the last answer
    Column("last_error", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_order", "endpoint_id", "ordering_key", "id"),
    Index("ix_webhook_deliveries_event", "event_id"),
)

# Owner: integrations/outbox.py. Stored clicks waiting for an endpoint's next clicks event: one
# row per batch the writer stored (at most 500 uids), merged into events of at most 500 clicks.
webhook_click_queue = Table(
    "webhook_click_queue",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "endpoint_id",
        Integer,
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("size", Integer, nullable=False),  # clicks in `data`
    Column("data", JSON, nullable=False),  # list of click uids (clicks.uid)
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_webhook_click_queue_endpoint", "endpoint_id", "id"),
)
