"""The outbox: events written in the transaction of the change they report.

Owns `webhook_events` and `webhook_click_queue`. Domain functions that change a link or a
summary call record() with their own connection, so the event commits with the change or not
at all: a crash never loses an event nor invents one. Nothing is written when no enabled
endpoint receives the event type. Clicks go through a queue per endpoint: the click writer
names the clicks of each batch in the batch's transaction (queue_clicks), and the delivery
worker turns them into `clicks` events of at most 500 clicks, at most one a second per
endpoint, made from the stored anonymised rows (make_clicks_event).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, delete, exists, func, insert, select, update

from balise.analytics.export import click_objects
from balise.db.tables import (
    webhook_click_queue,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)
from balise.integrations import deliveries
from balise.integrations.webhooks import TEST_EVENT, Endpoint, subscribers
from balise.links.slugs import with_short_urls

MAX_CLICKS_PER_EVENT = 500
CLICKS_INTERVAL = timedelta(seconds=1)
q = webhook_click_queue


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """UTC, ISO 8601 with a Z, as every event payload writes times."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def new_event_uid() -> str:
    return "evt_" + uuid.uuid4().hex


def record(
    conn: Connection,
    event_type: str,
    data: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    *,
    link_id: int | None = None,
    endpoint_ids: Sequence[int] | None = None,
    ordering_key: str | None = None,
    now: datetime | None = None,
) -> str | None:
    """Write an event and a pending delivery per endpoint receiving it, in the caller's
    transaction; returns the event id, or None when no endpoint receives it.

    Events of one link keep their order per endpoint (ordering key `link:<id>`): callers
    record after the statement that locks the link's row, so ids follow commit order. `data`
    may be a function: it is then called only when an endpoint receives the event.
    """
    targets = subscribers(conn, event_type) if endpoint_ids is None else list(endpoint_ids)
    if not targets:
        return None
    if callable(data):
        data = data()
    now = now or utcnow()
    uid = new_event_uid()
    event_id = conn.execute(
        insert(webhook_events)
        .values(uid=uid, type=event_type, link_id=link_id, data=dict(data), created_at=now)
        .returning(webhook_events.c.id)
    ).scalar_one()
    key = ordering_key or (f"link:{link_id}" if link_id is not None else event_type)
    deliveries.enqueue(conn, int(event_id), targets, key, now)
    return uid


def send_test(conn: Connection, endpoint: Endpoint) -> str:
    """A `webhook.test` event for this endpoint alone, whatever events it receives."""
    data = {"webhook": {"id": endpoint.id, "url": endpoint.url}}
    uid = record(conn, TEST_EVENT, data, endpoint_ids=[endpoint.id], ordering_key="test")
    assert uid is not None  # noqa: S101 - one endpoint given, so one event written
    return uid


def body(
    event_uid: str,
    event_type: str,
    created_at: datetime,
    data: Mapping[str, Any],
    base_url: str,
) -> bytes:
    """The JSON body of a delivery: the same bytes on every attempt of the event.

    A link's `short_url` and `preview_url` are added here, from BALISE_BASE_URL (the same on
    every instance), so the domain functions that record events need not know the public
    origin; the link is then as the API answers it (links/representation.py).
    """
    payload = dict(data)
    link = payload.get("link")
    if isinstance(link, Mapping) and "slug" in link:
        payload["link"] = with_short_urls(link, base_url)
    document = {
        "id": event_uid,
        "type": event_type,
        "timestamp": iso(created_at),
        "data": payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- clicks ---------------------------------------------------------------------------------


def click_subscribers(conn: Connection) -> list[int]:
    """Endpoints that receive `clicks` (the click writer asks before shaping anything)."""
    return subscribers(conn, "clicks")


def queue_clicks(
    conn: Connection, endpoint_ids: Sequence[int], uids: Sequence[str], now: datetime
) -> None:
    """Queue stored clicks (by uid) for these endpoints, in the writer's transaction: a few
    small rows, so the writer's batches stay about as quick as without webhooks."""
    if not uids or not endpoint_ids:
        return
    chunks = [
        list(uids[i : i + MAX_CLICKS_PER_EVENT]) for i in range(0, len(uids), MAX_CLICKS_PER_EVENT)
    ]
    rows = [
        {"endpoint_id": endpoint_id, "size": len(chunk), "data": chunk, "created_at": now}
        for endpoint_id in endpoint_ids
        for chunk in chunks
    ]
    conn.execute(insert(q), rows)


def due_click_endpoints(conn: Connection, now: datetime) -> list[int]:
    """Enabled endpoints with clicks queued and no clicks event in the last second."""
    e = webhook_endpoints
    query = (
        select(e.c.id)
        .where(e.c.enabled.is_(True))
        .where((e.c.clicks_due_at.is_(None)) | (e.c.clicks_due_at <= now))
        .where(exists().where(q.c.endpoint_id == e.c.id))
        .order_by(e.c.id)
    )
    return list(conn.execute(query).scalars())


def make_clicks_event(conn: Connection, endpoint_id: int, now: datetime) -> str | None:
    """Turn the oldest queued clicks (at most 500) into one `clicks` event for the endpoint.

    Claims the endpoint's one-second slot first (an UPDATE that another instance's waits on),
    and waits while its previous clicks event is still pending, so clicks arrive in order and
    a receiver that is down is not handed a growing pile of events.
    """
    e = webhook_endpoints
    slot = conn.execute(
        update(e)
        .where(e.c.id == endpoint_id, e.c.enabled.is_(True))
        .where((e.c.clicks_due_at.is_(None)) | (e.c.clicks_due_at <= now))
        .values(clicks_due_at=now + CLICKS_INTERVAL)
    ).rowcount
    if not slot or deliveries.pending_for(conn, endpoint_id, "clicks"):
        return None
    chosen: list[int] = []
    total = 0
    sizes = conn.execute(
        select(q.c.id, q.c.size)
        .where(q.c.endpoint_id == endpoint_id)
        .order_by(q.c.id)
        .limit(MAX_CLICKS_PER_EVENT)
    )
    for row_id, size in sizes:
        if chosen and total + size > MAX_CLICKS_PER_EVENT:
            break
        chosen.append(row_id)
        total += size
    if not chosen:
        return None
    found = conn.execute(select(q.c.data).where(q.c.id.in_(chosen)).order_by(q.c.id)).scalars()
    uids = [uid for chunk in found for uid in chunk]
    conn.execute(delete(q).where(q.c.id.in_(chosen)))
    clicks = click_objects(conn, uids)  # clicks of links deleted meanwhile went with them
    if not clicks:
        return None
    return record(
        conn, "clicks", {"clicks": clicks}, endpoint_ids=[endpoint_id], ordering_key="clicks"
    )


def queued_clicks(conn: Connection) -> int:
    """Clicks waiting for their endpoint's next clicks event, every endpoint together."""
    total = conn.execute(select(func.coalesce(func.sum(q.c.size), 0))).scalar_one()
    return int(total)


def purge(conn: Connection, before: datetime) -> tuple[int, int]:
    """Forget finished deliveries older than `before`, and the events none waits for any
    more; returns (deliveries, events) deleted."""
    gone = deliveries.purge(conn, before)
    d = webhook_deliveries
    orphans = conn.execute(
        delete(webhook_events).where(
            webhook_events.c.created_at < before,
            ~exists().where(d.c.event_id == webhook_events.c.id),
        )
    ).rowcount
    return gone, int(orphans or 0)
