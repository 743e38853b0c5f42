"""Webhook endpoints: where events go, which ones, and the secret that signs them.

Owns `webhook_endpoints`. URLs obey the fetcher's address rules (summaries/fetch.py): an
endpoint on a private, loopback or link-local address is refused unless
BALISE_FETCH_ALLOW_PRIVATE is on, here when it is saved and again before every delivery.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, literal, select, update

from balise.db.dialect import possible_id
from balise.db.tables import webhook_endpoints
from balise.errors import NotFound, Problem, ValidationFailed
from balise.integrations.signing import new_secret
from balise.summaries.fetch import FetchOptions, FetchRefused, refusal, resolve

EVENT_TYPES = (
    "link.created",
    "link.updated",
    "link.deleted",
    "summary.updated",
    "summary.deleted",
    "clicks",
)
TEST_EVENT = "webhook.test"  # sent to one endpoint by "send test event", whatever it receives
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION = 500
EDITABLE = ("url", "events", "enabled", "description")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    description: str | None
    events: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None  # "failing": Balise disabled it after days of failures
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    secret: str = field(repr=False)
    previous_secret: str | None = field(default=None, repr=False)
    previous_secret_until: datetime | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        return valid_secrets(self.secret, self.previous_secret, self.previous_secret_until, now)


def valid_secrets(
    secret: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The current secret, and the previous one during its grace period."""
    if previous and previous_until is not None and previous_until > now:
        return [secret, previous]
    return [secret]


def _to_endpoint(row: Any) -> Endpoint:
    m = row._mapping
    return Endpoint(
        id=m["id"],
        url=m["url"],
        description=m["description"],
        events=tuple(m["events"]),
        enabled=bool(m["enabled"]),
        disabled_reason=m["disabled_reason"],
        failing_since=m["failing_since"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        secret=m["secret"],
        previous_secret=m["previous_secret"],
        previous_secret_until=m["previous_secret_until"],
    )


def check_url(url: object, *, allow_private: bool) -> str:
    """An absolute http(s) URL whose host is on an address Balise may send to."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed.field("url", "is required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed.field("url", f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationFailed.field("url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.field("url", "must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed.field("url", "must not carry a user name or password")
    check_address(parts.hostname, port, allow_private=allow_private)
    return url


def check_address(host: str, port: int, *, allow_private: bool) -> None:
    """Refuse a host on a private address; a host that does not resolve now may later."""
    if allow_private:
        return
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        reason = refusal(literal)
        if reason:
            raise ValidationFailed.field("url", f"is {reason}; webhooks go to public addresses")
        return
    try:
        resolve(host, port, FetchOptions(user_agent="", allow_private=False))
    except FetchRefused:
        raise ValidationFailed.field(
            "url", "resolves to a private address; webhooks go to public addresses"
        ) from None
    except Problem:
        pass  # not resolvable at the moment: deliveries will retry


def _check_events(events: object) -> list[str]:
    if not isinstance(events, Iterable) or isinstance(events, str | bytes):
        raise ValidationFailed.field("events", "must be a list of event types")
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed.field("events", "must be some of: " + ", ".join(EVENT_TYPES))
    if not chosen:
        raise ValidationFailed.field("events", "must name at least one event type")
    return sorted(chosen, key=EVENT_TYPES.index)


def _check_description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed.field("description", "must be a string")
    value = " ".join(value.split())
    if len(value) > MAX_DESCRIPTION:
        raise ValidationFailed.field("description", f"must be at most {MAX_DESCRIPTION} characters")
    return value or None


def create_endpoint(
    conn: Connection, values: Mapping[str, Any], *, allow_private: bool
) -> Endpoint:
    """A new, enabled endpoint with a fresh secret (the caller shows it once)."""
    now = utcnow()
    row = {
        "url": check_url(values.get("url"), allow_private=allow_private),
        "events": _check_events(values.get("events")),
        "description": _check_description(values.get("description")),
        "secret": new_secret(),
        "enabled": True,
        "created_at": now,
        "updated_at": now,
    }
    new_id = conn.execute(
        insert(webhook_endpoints).values(**row).returning(webhook_endpoints.c.id)
    ).scalar_one()
    return _get(conn, int(new_id))


def get_endpoint(conn: Connection, endpoint_id: int) -> Endpoint | None:
    """The endpoint, or None (an id out of the database's range names none)."""
    if not possible_id(endpoint_id):
        return None
    row = conn.execute(select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))
    found = row.first()
    return _to_endpoint(found) if found is not None else None


def _get(conn: Connection, endpoint_id: int) -> Endpoint:
    endpoint = get_endpoint(conn, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


def list_endpoints(conn: Connection) -> list[Endpoint]:
    rows = conn.execute(select(webhook_endpoints).order_by(webhook_endpoints.c.id))
    return [_to_endpoint(r) for r in rows]


def update_endpoint(
    conn: Connection, endpoint: Endpoint, changes: Mapping[str, Any], *, allow_private: bool
) -> Endpoint:
    """Change url, events, description or enabled; enabling clears a failing streak."""
    row: dict[str, Any] = {}
    if "url" in changes:
        row["url"] = check_url(changes["url"], allow_private=allow_private)
    if "events" in changes:
        row["events"] = _check_events(changes["events"])
    if "description" in changes:
        row["description"] = _check_description(changes["description"])
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise ValidationFailed.field("enabled", "must be true or false")
        row["enabled"] = changes["enabled"]
        if changes["enabled"]:
            row.update(disabled_reason=None, failing_since=None)
    if row:
        row["updated_at"] = utcnow()
        conn.execute(
            update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id).values(**row)
        )
    return _get(conn, endpoint.id)


def delete_endpoint(conn: Connection, endpoint: Endpoint) -> None:
    """Delete it with its delivery log and the clicks waiting for it."""
    conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id))


def rotate_secret(conn: Connection, endpoint: Endpoint, *, grace: timedelta) -> Endpoint:
    """A new secret; the old one also signs deliveries for `grace` (both signatures sent)."""
    now = utcnow()
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint.id)
        .values(
            secret=new_secret(),
            previous_secret=endpoint.secret,
            previous_secret_until=now + grace,
            updated_at=now,
        )
    )
    return _get(conn, endpoint.id)


def subscribers(conn: Connection, event_type: str) -> list[int]:
    """Ids of the enabled endpoints that receive `event_type`."""
    rows = conn.execute(
        select(webhook_endpoints.c.id, webhook_endpoints.c.events).where(
            webhook_endpoints.c.enabled.is_(True)
        )
    )
    return [r.id for r in rows if event_type in r.events]


def record_success(conn: Connection, endpoint_id: int) -> None:
    conn.execute(
        update(webhook_endpoints)
        .where(
            webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.failing_since.is_not(None)
        )
        .values(failing_since=None)
    )


def record_failure(
    conn: Connection, endpoint_id: int, now: datetime, disable_after: timedelta
) -> bool:
    """Note a failed attempt; True when the endpoint has failed for `disable_after` and is
    disabled now (its pending deliveries wait until someone enables it again)."""
    table = webhook_endpoints
    conn.execute(
        update(table)
        .where(table.c.id == endpoint_id)
        .values(
            failing_since=func.coalesce(
                table.c.failing_since, literal(now, table.c.failing_since.type)
            )
        )
    )
    disabled = conn.execute(
        update(table)
        .where(
            table.c.id == endpoint_id,
            table.c.enabled.is_(True),
            table.c.failing_since <= now - disable_after,
        )
        .values(enabled=False, disabled_reason="failing", updated_at=now)
    ).rowcount
    return bool(disabled)
