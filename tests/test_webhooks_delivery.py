"""Webhook deliveries to a real receiver on 127.0.0.1 that verifies every signature with the
`standardwebhooks` package: each event type, retries, outages, order, redelivery by hand."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from balise import create_app
from balise.analytics.clicks import Hit, write_batch
from balise.analytics.export import CSV_COLUMNS
from balise.db.tables import webhook_deliveries, webhook_events
from balise.integrations import webhooks
from balise.web.api.schemas.webhooks import EVENTS
from tests.agents import CHROME_ANDROID, UNFURLERS
from tests.clickutil import flushed
from tests.webhook_receiver import Receiver

IP = "203.0.113.77"
FAST = {
    "FETCH_ALLOW_PRIVATE": True,
    "WEBHOOK_POLL_INTERVAL": 0.05,
    "WEBHOOK_RETRY_SCHEDULE": (0.1, 0.1, 0.1),
}


@pytest.fixture
def retry_schedule():
    return FAST["WEBHOOK_RETRY_SCHEDULE"]


@pytest.fixture
def settings(settings, retry_schedule):
    return settings | FAST | {"WEBHOOK_RETRY_SCHEDULE": retry_schedule}


def subscribe(client, headers, receiver, events=webhooks.EVENT_TYPES):
    r = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": list(events)}, headers=headers
    )
    assert r.status_code == 201
    receiver.secret = r.get_json()["secret"]
    return r.get_json()


def log(client, headers, endpoint):
    r = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=headers)
    return r.get_json()["items"]


def assert_documented(event):
    """The body validates against the event model the OpenAPI document publishes."""
    model, _ = EVENTS[event["type"]]
    model.model_validate(event)


def test_every_event_type_reaches_the_receiver_signed_and_as_documented(
    app, client, editor_headers
):
    with Receiver() as receiver:
        endpoint = subscribe(client, editor_headers, receiver)
        summary = {"title": "Un titre", "teaser": "Une phrase."}
        created = client.post(
            "/api/v1/links",
            json={"url": "https://example.org/a", "summary": summary},
            headers=editor_headers,
        ).get_json()
        slug, path = created["slug"], f"/api/v1/links/{created['slug']}"
        client.patch(path, json={"title": "Nouveau"}, headers=editor_headers)
        client.put(
            path + "/summary", json=summary | {"recap": "Les faits."}, headers=editor_headers
        )
        client.delete(path + "/summary", headers=editor_headers)
        client.get(
            f"/{slug}", headers={"User-Agent": CHROME_ANDROID}, environ_base={"REMOTE_ADDR": IP}
        )
        flushed(app)
        assert receiver.wait_for(lambda r: r.of_type("clicks"))
        client.delete(path, headers=editor_headers)
        client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=editor_headers)
        everything = {*webhooks.EVENT_TYPES, "webhook.test"}
        assert receiver.wait_for(lambda r: {e["type"] for e in r.events} == everything)
    assert all(request["verified"] for request in receiver.requests)
    for event in receiver.events:
        assert_documented(event)
    ids = [e["id"] for e in receiver.events]
    assert len(set(ids)) == len(ids)
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == ids
    of_link = [e["type"] for e in receiver.events if e["type"] not in ("clicks", "webhook.test")]
    assert of_link == [
        "link.created",
        "summary.updated",
        "link.updated",
        "summary.updated",
        "summary.deleted",
        "link.deleted",
    ]
    link = receiver.of_type("link.updated")[0]["data"]["link"]
    assert (link["slug"], link["title"], link["short_url"]) == (
        slug,
        "Nouveau",
        f"https://s.test/{slug}",
    )
    [clicks] = receiver.of_type("clicks")
    [click] = clicks["data"]["clicks"]
    assert list(click) == list(CSV_COLUMNS)
    assert (click["link"], click["browser"], click["device"]) == (slug, "Chrome Mobile", "mobile")
    raw = b"".join(r["body"] for r in receiver.requests)
    assert IP.encode() not in raw and b"Pixel 8" not in raw  # never an address or user agent


CONTROLLED = {
    "url": "https://example.org/offer",
    "slug": "offer",
    "max_clicks": 5,
    "expires_at": "2030-01-01T00:00:00Z",
    "redirect_mode": "direct",
    "redirect_status": 307,
    "utm_source": "newsletter",
    "utm_campaign": "spring",
    "forward_query": True,
    "fallback_url": "https://example.org/over",
    "valid_from": "2029-06-01T08:00:00Z",
    "password": "s3cret-word",
    "rules": [{"url": "https://example.org/fr", "lang": "fr", "device": "mobile"}],
}


def test_link_events_carry_the_link_as_the_api_answers_it_controls_included(client, editor_headers):
    with Receiver() as receiver:
        subscribe(
            client, editor_headers, receiver, ["link.created", "link.updated", "link.deleted"]
        )
        path = "/api/v1/links/offer"
        assert (
            client.post("/api/v1/links", json=CONTROLLED, headers=editor_headers).status_code == 201
        )
        created = client.get(path, headers=editor_headers).get_json()
        changed = {"slug": "offer2", "utm_medium": "email", "password": None, "rules": None}
        assert client.patch(path, json=changed, headers=editor_headers).status_code == 200
        path = "/api/v1/links/offer2"
        updated = client.get(path, headers=editor_headers).get_json()
        assert client.delete(path, headers=editor_headers).status_code == 204
        assert receiver.wait_for(lambda r: len(r.events) == 3)
    sent = {e["type"]: e["data"] for e in receiver.events}
    assert sent["link.created"]["link"] == created
    assert sent["link.updated"]["link"] == updated
    assert sent["link.updated"]["previous_slug"] == "offer"
    assert sent["link.deleted"]["link"] == updated  # as it was
    link = sent["link.created"]["link"]
    assert (link["utm_source"], link["forward_query"], link["password_protected"]) == (
        "newsletter",
        True,
        True,
    )
    assert link["rules"] == [{"url": "https://example.org/fr", "lang": "fr", "device": "mobile"}]
    assert (link["state"], link["valid_from"], link["max_clicks"]) == (
        "scheduled",
        "2029-06-01T08:00:00Z",
        5,
    )
    assert sent["link.updated"]["link"]["password_protected"] is False
    raw = b"".join(r["body"] for r in receiver.requests)
    assert b"s3cret-word" not in raw and b"argon2" not in raw  # never the password nor its hash
    for event in receiver.events:
        assert_documented(event)


def test_a_receiver_answering_500_twice_gets_the_event_on_the_third_try(client, editor_headers):
    with Receiver(answers=[500, 500]) as receiver:
        endpoint = subscribe(client, editor_headers, receiver, ["link.created"])
        client.post("/api/v1/links", json={"url": "https://example.org/a"}, headers=editor_headers)
        assert receiver.wait_for(lambda r: r.events)
    assert [r["status"] for r in receiver.requests] == [500, 500, 200]
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    [delivery] = log(client, editor_headers, endpoint)
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "delivered",
        3,
        200,
    )


# Two quick failures, then retries 2 s apart: the receiver comes up while retries remain
# however slow a loaded machine is between the check and the receiver listening.
@pytest.mark.parametrize("retry_schedule", [(0.1, 0.1, 2, 2, 2, 2, 2)])
def test_a_receiver_down_for_a_while_gets_everything_after_in_order_per_link(
    settings, client, editor_headers, db
):
    receiver = Receiver()  # not listening yet: connections are refused
    endpoint = subscribe(client, editor_headers, receiver)
    slugs = []
    for n in range(2):
        body = {"url": f"https://example.org/{n}", "title": "v0"}
        slugs.append(
            client.post("/api/v1/links", json=body, headers=editor_headers).get_json()["slug"]
        )
    for version in range(1, 4):
        for slug in slugs:
            client.patch(
                f"/api/v1/links/{slug}", json={"title": f"v{version}"}, headers=editor_headers
            )
    for slug in slugs:
        client.delete(f"/api/v1/links/{slug}", headers=editor_headers)

    def retried(_receiver):
        return any(d["attempts"] >= 2 for d in log(client, editor_headers, endpoint))

    assert receiver.wait_for(retried)  # the first event of a link failed at least twice
    with receiver:
        assert receiver.wait_for(lambda r: len(r.events) == 10)
    for slug in slugs:
        seen = [
            (e["type"], e["data"]["link"]["title"])
            for e in receiver.events
            if e["data"]["link"]["slug"] == slug
        ]
        assert seen == [
            ("link.created", "v0"),
            ("link.updated", "v1"),
            ("link.updated", "v2"),
            ("link.updated", "v3"),
            ("link.deleted", "v3"),
        ]
    assert len({e["id"] for e in receiver.events}) == 10


def test_redirects_are_not_followed(client, editor_headers):
    with Receiver() as elsewhere, Receiver(answers=[302] * 100) as receiver:
        receiver.redirect_to = elsewhere.url
        endpoint = subscribe(client, editor_headers, receiver, ["link.created"])
        client.post("/api/v1/links", json={"url": "https://example.org/a"}, headers=editor_headers)
        assert receiver.wait_for(lambda r: len(r.requests) >= 2)
        [delivery] = log(client, editor_headers, endpoint)
    assert elsewhere.requests == []
    assert delivery["last_status"] == 302
    assert delivery["last_error"] == "redirects are not followed"
    assert delivery["status"] != "delivered"


def test_a_delivery_failing_past_its_schedule_is_failed_and_can_be_sent_again_by_hand(
    client, editor_headers
):
    with Receiver(answers=[500] * 4) as receiver:
        endpoint = subscribe(client, editor_headers, receiver, ["link.created"])
        client.post("/api/v1/links", json={"url": "https://example.org/a"}, headers=editor_headers)

        def failed(_receiver):
            items = log(client, editor_headers, endpoint)
            return items if items[0]["status"] == "failed" else None

        [delivery] = receiver.wait_for(failed)
        assert delivery["attempts"] == 4  # the first try and the three retries of the schedule
        path = f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver"
        r = client.post(path, headers=editor_headers)
        assert r.status_code == 202

        def redelivered(_receiver):  # received, and its outcome saved (which comes just after)
            items = log(client, editor_headers, endpoint)
            done = _receiver.events and len(items) == 2 and items[0]["status"] != "pending"
            return items if done else None

        again, first = receiver.wait_for(redelivered)
    assert receiver.events[0]["id"] == delivery["event_id"]  # the same event, the same id
    assert (again["status"], again["attempts"], first["status"]) == ("delivered", 1, "failed")


def test_an_endpoint_failing_for_the_set_time_is_disabled_and_says_so(settings, editor_headers, db):
    application = create_app(settings | {"WEBHOOK_DISABLE_AFTER_DAYS": 0})
    client = application.test_client()
    try:
        with Receiver(answers=[503] * 100) as receiver:
            endpoint = subscribe(client, editor_headers, receiver, ["link.created"])
            client.post(
                "/api/v1/links", json={"url": "https://example.org/a"}, headers=editor_headers
            )

            def disabled(_receiver):
                found = client.get(f"/api/v1/webhooks/{endpoint['id']}", headers=editor_headers)
                return found.get_json() if not found.get_json()["enabled"] else None

            state = receiver.wait_for(disabled)
            assert state["disabled_reason"] == "failing" and state["failing_since"]
            attempts = len(receiver.requests)
            # Enabling it again ends the streak; the pending delivery goes on.
            receiver.answers.clear()
            path = f"/api/v1/webhooks/{endpoint['id']}"
            r = client.patch(path, json={"enabled": True}, headers=editor_headers)
            assert (r.get_json()["disabled_reason"], r.get_json()["failing_since"]) == (None, None)
            assert receiver.wait_for(lambda r: r.events)
        assert attempts >= 1 and receiver.events[0]["type"] == "link.created"
    finally:
        application.extensions["balise"].shutdown()


def test_after_a_rotation_both_secrets_verify_the_same_delivery(client, editor_headers):
    with Receiver() as receiver:
        endpoint = subscribe(client, editor_headers, receiver, ["link.created"])
        old = receiver.secret
        path = f"/api/v1/webhooks/{endpoint['id']}/rotate-secret"
        receiver.secret = client.post(path, headers=editor_headers).get_json()["secret"]
        client.post("/api/v1/links", json={"url": "https://example.org/a"}, headers=editor_headers)
        assert receiver.wait_for(lambda r: r.events)
    [request] = receiver.requests
    assert request["verified"]
    assert receiver.verify(request["body"], request["headers"], secret=old) == request["payload"]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2


def test_clicks_go_500_at_most_an_event_one_event_a_second_in_order(app, db, make_link):
    link = make_link()
    with Receiver() as receiver:
        with db.begin() as conn:
            endpoint = webhooks.create_endpoint(
                conn, {"url": receiver.url, "events": ["clicks"]}, allow_private=True
            )
        receiver.secret = endpoint.secret
        now = datetime.now(timezone.utc)
        hits = [
            Hit("click", link.id, now, uid=f"c{n:05d}", ip=IP, user_agent=CHROME_ANDROID)
            for n in range(1200)
        ] + [Hit("bot", link.id, now, agent="Twitterbot", user_agent=UNFURLERS["Twitterbot"])]
        with db.begin() as conn:  # the click writer's batch transaction writes the outbox
            write_batch(
                conn,
                hits,
                [],
                salt_for=lambda _day: b"s" * 16,
                country_for=lambda _ip: None,
                own_host="s.test",
                now=now,
            )
        assert receiver.wait_for(lambda r: len(r.of_type("clicks")) == 3)
    events = receiver.of_type("clicks")
    assert [len(e["data"]["clicks"]) for e in events] == [500, 500, 200]
    assert all(request["verified"] for request in receiver.requests)
    stamps = [datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) for e in events]
    assert all((b - a).total_seconds() >= 1 for a, b in zip(stamps, stamps[1:], strict=False))
    raw = b"".join(r["body"] for r in receiver.requests)
    assert IP.encode() not in raw and b"Pixel" not in raw and b"Twitterbot" not in raw


def test_a_change_that_is_rolled_back_leaves_no_event(client, editor_headers, db):
    with Receiver() as receiver:
        subscribe(client, editor_headers, receiver)
        bad = {"url": "https://example.org/a", "summary": {"title": "No teaser"}}
        assert client.post("/api/v1/links", json=bad, headers=editor_headers).status_code == 422
    with db.connect() as conn:
        assert conn.execute(select(webhook_events)).all() == []
        assert conn.execute(select(webhook_deliveries)).all() == []
