"""Deliveries: one row per event and endpoint, from pending to delivered or failed.

Owns `webhook_deliveries`. Every instance's worker claims due deliveries with a lease
(`lease_until`, `lease_owner`) so one delivery is sent by one instance at a time; on
PostgreSQL the candidates are also locked with `FOR UPDATE SKIP LOCKED`, so instances that
look at the same moment take different rows instead of waiting on each other. Deliveries
with the same endpoint and ordering key (`link:<id>`, `clicks`) go out one at a time in id
order: a later one is not due while an earlier one is still pending, retries included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, exists, func, insert, or_, select, update

from balise.db.dialect import possible_id
from balise.db.tables import webhook_deliveries, webhook_endpoints, webhook_events
from balise.integrations.webhooks import Endpoint, valid_secrets

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
MAX_ERROR = 300

d = webhook_deliveries


@dataclass(frozen=True)
class Job:
    """A claimed delivery: what to send, where, with which secrets."""

    id: int
    owner: str
    attempts: int  # before this one
    endpoint_id: int
    url: str
    secrets: tuple[str, ...]
    event_uid: str
    event_type: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    """A row of the delivery log."""

    id: int
    endpoint_id: int
    event_uid: str
    event_type: str
    event_created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None  # pending only
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    event_id: int = 0


def enqueue(
    conn: Connection,
    event_id: int,
    endpoint_ids: Sequence[int],
    ordering_key: str,
    now: datetime,
) -> None:
    """A pending delivery of the event to each endpoint, due now."""
    conn.execute(
        insert(d),
        [
            {
                "event_id": event_id,
                "endpoint_id": endpoint_id,
                "ordering_key": ordering_key,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in endpoint_ids
        ],
    )


def _free(now: datetime) -> Any:
    return or_(d.c.lease_until.is_(None), d.c.lease_until < now)


def claim(
    conn: Connection, now: datetime, *, limit: int, lease: timedelta, owner: str
) -> list[Job]:
    """Lease up to `limit` due deliveries to `owner`; the caller commits, then sends them."""
    c, earlier = d.alias("candidate"), d.alias("earlier")
    blocked = exists().where(
        earlier.c.endpoint_id == c.c.endpoint_id,
        earlier.c.ordering_key == c.c.ordering_key,
        earlier.c.status == PENDING,
        earlier.c.id < c.c.id,
    )
    due = (
        select(c.c.id)
        .join(webhook_endpoints, webhook_endpoints.c.id == c.c.endpoint_id)
        .where(
            c.c.status == PENDING,
            c.c.next_attempt_at <= now,
            or_(c.c.lease_until.is_(None), c.c.lease_until < now),
            webhook_endpoints.c.enabled.is_(True),
            ~blocked,
        )
        .order_by(c.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=c)
    # One statement: SQLite takes its write lock at once (no read that must upgrade later),
    # and the lease condition is checked again on the rows being updated.
    claimed = conn.execute(
        update(d)
        .where(d.c.id.in_(due.scalar_subquery()), d.c.status == PENDING, _free(now))
        .values(lease_until=now + lease, lease_owner=owner)
        .returning(d.c.id)
    ).scalars()
    return _jobs(conn, sorted(claimed), owner, now)


def _jobs(conn: Connection, ids: list[int], owner: str, now: datetime) -> list[Job]:
    if not ids:
        return []
    e, ev = webhook_endpoints, webhook_events
    rows = conn.execute(
        select(
            d.c.id,
            d.c.attempts,
            d.c.endpoint_id,
            e.c.url,
            e.c.secret,
            e.c.previous_secret,
            e.c.previous_secret_until,
            ev.c.uid,
            ev.c.type,
            ev.c.data,
            ev.c.created_at,
        )
        .join(e, e.c.id == d.c.endpoint_id)
        .join(ev, ev.c.id == d.c.event_id)
        .where(d.c.id.in_(ids))
        .order_by(d.c.id)
    )
    return [
        Job(
            id=r.id,
            owner=owner,
            attempts=r.attempts,
            endpoint_id=r.endpoint_id,
            url=r.url,
            secrets=tuple(valid_secrets(r.secret, r.previous_secret, r.previous_secret_until, now)),
            event_uid=r.uid,
            event_type=r.type,
            data=r.data,
            created_at=r.created_at,
        )
        for r in rows
    ]


def finish(
    conn: Connection,
    job: Job,
    now: datetime,
    *,
    delivered: bool,
    http_status: int | None,
    error: str | None,
    retry_at: datetime | None = None,
) -> bool:
    """Record an attempt: delivered, due again at `retry_at`, or failed for good (no retry_at).

    False when the lease was lost (it expired and another instance took the delivery).
    """
    values: dict[str, Any] = {
        "attempts": d.c.attempts + 1,
        "last_attempt_at": now,
        "last_status": http_status,
        "last_error": error[:MAX_ERROR] if error else None,
        "lease_until": None,
        "lease_owner": None,
    }
    if delivered:
        values.update(status=DELIVERED, finished_at=now)
    elif retry_at is None:
        values.update(status=FAILED, finished_at=now)
    else:
        values.update(next_attempt_at=retry_at)
    done = conn.execute(
        update(d).where(d.c.id == job.id, d.c.lease_owner == job.owner).values(**values)
    ).rowcount
    return bool(done)


def release(conn: Connection, owner: str) -> None:
    """Give back what `owner` claimed and did not send (a worker stopping)."""
    conn.execute(
        update(d)
        .where(d.c.lease_owner == owner, d.c.status == PENDING)
        .values(lease_until=None, lease_owner=None)
    )


def pending_for(conn: Connection, endpoint_id: int, ordering_key: str) -> bool:
    """Whether a delivery with this key still waits for this endpoint."""
    found = conn.execute(
        select(d.c.id)
        .where(d.c.endpoint_id == endpoint_id, d.c.ordering_key == ordering_key)
        .where(d.c.status == PENDING)
        .limit(1)
    )
    return found.first() is not None


def pending_count(conn: Connection) -> int:
    """Deliveries not yet delivered nor failed, every endpoint together."""
    return int(conn.execute(select(func.count()).where(d.c.status == PENDING)).scalar_one())


def _log_query() -> Any:
    ev = webhook_events
    return select(
        d.c.id,
        d.c.endpoint_id,
        d.c.event_id,
        ev.c.uid.label("event_uid"),
        ev.c.type.label("event_type"),
        ev.c.created_at.label("event_created_at"),
        d.c.status,
        d.c.attempts,
        d.c.next_attempt_at,
        d.c.last_attempt_at,
        d.c.last_status,
        d.c.last_error,
        d.c.created_at,
        d.c.finished_at,
    ).join(ev, ev.c.id == d.c.event_id)


def _to_delivery(row: Any) -> Delivery:
    m = dict(row._mapping)
    if m["status"] != PENDING:
        m["next_attempt_at"] = None
    return Delivery(**m)


def list_deliveries(
    conn: Connection, endpoint: Endpoint, *, limit: int = 50, before: int | None = None
) -> list[Delivery]:
    """The endpoint's delivery log, newest first; `before` (a delivery id) pages back."""
    query = _log_query().where(d.c.endpoint_id == endpoint.id).order_by(d.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(d.c.id < before)
    return [_to_delivery(r) for r in conn.execute(query)]


def get_delivery(conn: Connection, endpoint: Endpoint, delivery_id: int) -> Delivery | None:
    if not possible_id(delivery_id):
        return None
    query = _log_query().where(d.c.id == delivery_id, d.c.endpoint_id == endpoint.id)
    row = conn.execute(query).first()
    return _to_delivery(row) if row is not None else None


def redeliver(conn: Connection, delivery: Delivery, now: datetime) -> Delivery:
    """Send the event again, by hand: a new delivery with the same event (same webhook-id,
    so receivers can tell it is the same event) and the same ordering key."""
    key = conn.execute(select(d.c.ordering_key).where(d.c.id == delivery.id)).scalar_one()
    new_id = conn.execute(
        insert(d)
        .values(
            event_id=delivery.event_id,
            endpoint_id=delivery.endpoint_id,
            ordering_key=key,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .returning(d.c.id)
    ).scalar_one()
    row = conn.execute(_log_query().where(d.c.id == new_id)).one()
    return _to_delivery(row)


def purge(conn: Connection, before: datetime) -> int:
    """Forget deliveries finished before `before`; returns how many."""
    gone = conn.execute(d.delete().where(d.c.status != PENDING, d.c.finished_at < before)).rowcount
    return int(gone or 0)
