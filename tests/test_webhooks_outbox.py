"""The outbox, without a worker: events commit with their change, and claims keep one
delivery with one instance at a time and a link's events in order."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from balise.db.tables import webhook_deliveries, webhook_events
from balise.integrations import deliveries, webhooks
from balise.links import store as links
from tests.conftest import BASE_URL

LEASE = timedelta(seconds=60)


def endpoint(db, events=webhooks.EVENT_TYPES, url="http://127.0.0.1:9/hook"):
    with db.begin() as conn:
        return webhooks.create_endpoint(
            conn, {"url": url, "events": list(events)}, allow_private=True
        )


def events(db):
    with db.connect() as conn:
        return conn.execute(select(webhook_events).order_by(webhook_events.c.id)).all()


def test_an_event_commits_with_its_change_or_not_at_all(db):
    endpoint(db)
    with pytest.raises(RuntimeError), db.begin() as conn:
        links.create_link(conn, {"url": "https://example.org/a"}, base_url=BASE_URL)
        raise RuntimeError("the unit of work fails after the change")
    assert events(db) == []
    with db.begin() as conn:
        link = links.create_link(conn, {"url": "https://example.org/a"}, base_url=BASE_URL)
    [event] = events(db)
    assert (event.type, event.link_id, event.data["link"]["slug"]) == (
        "link.created",
        link.id,
        link.slug,
    )
    assert event.uid.startswith("evt_")


def test_nothing_is_written_for_events_no_enabled_endpoint_receives(db):
    endpoint(db, ["link.deleted"])
    disabled = endpoint(db, ["link.created"])
    with db.begin() as conn:
        webhooks.update_endpoint(conn, disabled, {"enabled": False}, allow_private=True)
        links.create_link(conn, {"url": "https://example.org/a"}, base_url=BASE_URL)
    assert events(db) == []


def test_the_command_line_writes_events_too(runner, tmp_path, make_link, db):
    link = make_link()
    endpoint(db, ["summary.updated"])
    source = tmp_path / "summary.json"
    source.write_text('{"title": "Un titre", "teaser": "Une phrase."}')
    assert runner("summaries", "set", link.slug, "--from-file", str(source)).exit_code == 0
    [event] = events(db)
    assert (event.type, event.link_id, event.data["summary"]["title"]) == (
        "summary.updated",
        link.id,
        "Un titre",
    )


def test_claims_keep_a_link_in_order_and_a_delivery_with_one_owner(db):
    endpoint(db, ["link.created", "link.updated"])
    with db.begin() as conn:
        a = links.create_link(conn, {"url": "https://example.org/a"}, base_url=BASE_URL)
        b = links.create_link(conn, {"url": "https://example.org/b"}, base_url=BASE_URL)
        links.update_link(conn, a, {"title": "again"}, base_url=BASE_URL)
    now = datetime.now(timezone.utc)
    with db.begin() as conn:
        first = deliveries.claim(conn, now, limit=10, lease=LEASE, owner="one")
    with db.begin() as conn:
        second = deliveries.claim(conn, now, limit=10, lease=LEASE, owner="two")
    # a's update waits for a's creation; b's creation is claimed once, by the first owner.
    assert [(j.event_type, j.data["link"]["slug"]) for j in first] == [
        ("link.created", a.slug),
        ("link.created", b.slug),
    ]
    assert second == []
    with db.begin() as conn:
        assert deliveries.finish(conn, first[0], now, delivered=True, http_status=204, error=None)
        stranger = dataclasses.replace(first[1], owner="two")  # not the lease's owner
        assert not deliveries.finish(
            conn, stranger, now, delivered=True, http_status=204, error=None
        )
        after = deliveries.claim(conn, now, limit=10, lease=LEASE, owner="two")
    assert [(j.event_type, j.data["link"]["title"]) for j in after] == [("link.updated", "again")]


def test_an_expired_lease_lets_another_instance_take_the_delivery(db):
    endpoint(db, ["link.created"])
    with db.begin() as conn:
        links.create_link(conn, {"url": "https://example.org/a"}, base_url=BASE_URL)
    now = datetime.now(timezone.utc)
    with db.begin() as conn:
        [taken] = deliveries.claim(conn, now, limit=1, lease=LEASE, owner="crashed")
    with db.begin() as conn:
        assert deliveries.claim(conn, now + LEASE / 2, limit=1, lease=LEASE, owner="two") == []
    with db.begin() as conn:
        [again] = deliveries.claim(conn, now + LEASE * 2, limit=1, lease=LEASE, owner="two")
    assert (again.id, again.event_uid) == (taken.id, taken.event_uid)
    with db.connect() as conn:
        row = conn.execute(select(webhook_deliveries)).one()
    assert (row.lease_owner, row.status) == ("two", "pending")
