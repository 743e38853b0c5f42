"""Webhooks API (editors and admins): endpoints, their secret, a test event, the delivery log."""

from datetime import datetime, timedelta, timezone
from typing import Any

from spectree import Response
from sqlalchemy import Connection

from balise.errors import NotFound
from balise.integrations import deliveries, outbox, webhooks
from balise.web.api.blueprint import bp, operation
from balise.web.api.schemas import ProblemOut
from balise.web.api.schemas.webhooks import (
    DeliveryList,
    DeliveryOut,
    DeliveryQuery,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookPatch,
    WebhookTestSent,
)
from balise.web.context import state, transaction

TAGS = ["webhooks"]


def webhook_out(endpoint: webhooks.Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "previous_secret_until": endpoint.previous_secret_until,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def delivery_out(delivery: deliveries.Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_uid,
        "event_type": delivery.event_type,
        "event_created_at": delivery.event_created_at,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "finished_at": delivery.finished_at,
    }


def find_endpoint(conn: Connection, webhook_id: int) -> webhooks.Endpoint:
    endpoint = webhooks.get_endpoint(conn, webhook_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {webhook_id}.")
    return endpoint


def _allow_private() -> bool:
    return bool(state().settings["FETCH_ALLOW_PRIVATE"])


def _wake_worker() -> None:
    state().services["webhooks"].wake()


@bp.post("/webhooks")
@operation(
    "editor",
    json=WebhookCreate,
    resp=Response(HTTP_201=WebhookCreated, HTTP_422=ProblemOut),
    tags=TAGS,
)
def create_webhook(json: WebhookCreate) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Add an endpoint; `secret` in the answer is the only time it is shown."""
    with transaction() as conn:
        endpoint = webhooks.create_endpoint(
            conn, json.model_dump(exclude_unset=True), allow_private=_allow_private()
        )
    location = f"{state().base_url}/api/v1/webhooks/{endpoint.id}"
    return webhook_out(endpoint) | {"secret": endpoint.secret}, 201, {"Location": location}


@bp.get("/webhooks")
@operation(
    "editor",
    resp=Response(HTTP_200=WebhookList),
    tags=TAGS,
)
def list_webhooks() -> dict[str, Any]:
    """Every endpoint (never its secret)."""
    with transaction() as conn:
        return {"items": [webhook_out(e) for e in webhooks.list_endpoints(conn)]}


@bp.get("/webhooks/<int:webhook_id>")
@operation(
    "editor",
    resp=Response(HTTP_200=WebhookOut),
    tags=TAGS,
)
def get_webhook(webhook_id: int) -> dict[str, Any]:
    """One endpoint."""
    with transaction() as conn:
        return webhook_out(find_endpoint(conn, webhook_id))


@bp.patch("/webhooks/<int:webhook_id>")
@operation(
    "editor",
    json=WebhookPatch,
    resp=Response(HTTP_200=WebhookOut, HTTP_422=ProblemOut),
    tags=TAGS,
)
def update_webhook(webhook_id: int, json: WebhookPatch) -> dict[str, Any]:
    """Change url, events, description or enabled (enabling ends a failing streak)."""
    changes = json.model_dump(exclude_unset=True)  # null url, events or enabled: 422
    with transaction() as conn:
        endpoint = find_endpoint(conn, webhook_id)
        updated = webhooks.update_endpoint(conn, endpoint, changes, allow_private=_allow_private())
    _wake_worker()
    return webhook_out(updated)


@bp.delete("/webhooks/<int:webhook_id>")
@operation(
    "editor",
    resp=Response("HTTP_204"),
    tags=TAGS,
)
def delete_webhook(webhook_id: int) -> tuple[str, int]:
    """Delete an endpoint with its delivery log; nothing more is sent to it."""
    with transaction() as conn:
        webhooks.delete_endpoint(conn, find_endpoint(conn, webhook_id))
    return "", 204


@bp.post("/webhooks/<int:webhook_id>/rotate-secret")
@operation(
    "editor",
    resp=Response(HTTP_200=WebhookCreated),
    tags=TAGS,
)
def rotate_webhook_secret(webhook_id: int) -> dict[str, Any]:
    """A new secret, shown this once; the old one also signs for the grace period."""
    grace = timedelta(hours=float(state().settings["WEBHOOK_SECRET_GRACE_HOURS"]))
    with transaction() as conn:
        endpoint = webhooks.rotate_secret(conn, find_endpoint(conn, webhook_id), grace=grace)
    return webhook_out(endpoint) | {"secret": endpoint.secret}


@bp.post("/webhooks/<int:webhook_id>/test")
@operation(
    "editor",
    resp=Response(HTTP_202=WebhookTestSent),
    tags=TAGS,
)
def test_webhook(webhook_id: int) -> tuple[dict[str, Any], int]:
    """Send a `webhook.test` event to this endpoint; its delivery shows in the log."""
    with transaction() as conn:
        endpoint = find_endpoint(conn, webhook_id)
        uid = outbox.send_test(conn, endpoint)
        sent = deliveries.list_deliveries(conn, endpoint, limit=1)[0]
    _wake_worker()
    return {"event_id": uid, "delivery": delivery_out(sent)}, 202


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@operation(
    "editor",
    query=DeliveryQuery,
    resp=Response(HTTP_200=DeliveryList),
    tags=TAGS,
)
def list_webhook_deliveries(webhook_id: int, query: DeliveryQuery) -> dict[str, Any]:
    """The delivery log, newest first."""
    with transaction() as conn:
        endpoint = find_endpoint(conn, webhook_id)
        found = deliveries.list_deliveries(
            conn, endpoint, limit=query.limit + 1, before=query.before
        )
    page = found[: query.limit]
    more = len(found) > query.limit
    return {
        "items": [delivery_out(d) for d in page],
        "next_before": page[-1].id if more else None,
    }


@bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@operation(
    "editor",
    resp=Response(HTTP_202=DeliveryOut),
    tags=TAGS,
)
def redeliver_webhook(webhook_id: int, delivery_id: int) -> tuple[dict[str, Any], int]:
    """Send a logged event again (same event id), as a new delivery."""
    with transaction() as conn:
        endpoint = find_endpoint(conn, webhook_id)
        delivery = deliveries.get_delivery(conn, endpoint, delivery_id)
        if delivery is None:
            raise NotFound(f"No delivery {delivery_id} for webhook endpoint {webhook_id}.")
        again = deliveries.redeliver(conn, delivery, datetime.now(timezone.utc))
    _wake_worker()
    return delivery_out(again), 202
