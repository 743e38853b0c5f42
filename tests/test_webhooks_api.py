"""Webhooks API: endpoints managed by editors and admins, the secret shown once, address rules,
and the events documented in the OpenAPI document."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from balise import create_app
from balise.db.tables import webhook_events
from balise.integrations import webhooks

HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
def settings(settings):
    return settings | {"FETCH_ALLOW_PRIVATE": True, "WEBHOOK_POLL_INTERVAL": 0.05}


def create(client, headers, **body):
    return client.post(
        "/api/v1/webhooks", json={"url": HOOK, "events": ["link.created"]} | body, headers=headers
    )


def test_an_editor_adds_an_endpoint_and_sees_its_secret_this_once(client, editor_headers):
    r = create(client, editor_headers, events=["clicks", "link.created"], description="CRM")
    assert r.status_code == 201
    body = r.get_json()
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
    assert body["events"] == ["link.created", "clicks"]
    assert (body["url"], body["description"], body["enabled"]) == (HOOK, "CRM", True)
    assert r.headers["Location"].endswith(f"/api/v1/webhooks/{body['id']}")
    listed = client.get("/api/v1/webhooks", headers=editor_headers).get_json()["items"]
    one = client.get(f"/api/v1/webhooks/{body['id']}", headers=editor_headers).get_json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0] and "secret" not in one
    assert body["secret"] not in str(listed) + str(one)


def test_viewers_cannot_see_or_manage_webhooks(client, viewer_headers, admin_headers):
    assert create(client, admin_headers).status_code == 201
    assert client.get("/api/v1/webhooks", headers=viewer_headers).status_code == 403
    r = create(client, viewer_headers)
    assert r.status_code == 403
    assert r.mimetype == "application/problem+json"
    assert client.get("/api/v1/webhooks").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["link.exploded"]}, "events.0"),
        ({"events": []}, "events"),
        ({"url": "ftp://example.org/hook"}, "url"),
        ({"url": "https://user:pw@example.org/hook"}, "url"),
        ({"url": "/relative"}, "url"),
        ({"description": "x" * 501}, "description"),
    ],
)
def test_invalid_endpoints_are_refused_field_by_field(client, editor_headers, body, field):
    r = create(client, editor_headers, **body)
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert field in [e["field"] for e in r.get_json()["errors"]]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://[::1]/hook",
        "http://localhost/",
    ],
)
def test_private_addresses_are_refused_as_the_fetcher_refuses_them(settings, editor_headers, url):
    application = create_app(settings | {"FETCH_ALLOW_PRIVATE": False})
    try:
        r = create(application.test_client(), editor_headers, url=url)
        assert r.status_code == 422
        [error] = r.get_json()["errors"]
        assert error["field"] == "url" and "public addresses" in error["message"]
    finally:
        application.extensions["balise"].shutdown()


def test_patch_changes_what_is_sent_and_null_is_refused(client, editor_headers, db):
    endpoint = create(client, editor_headers).get_json()
    path = f"/api/v1/webhooks/{endpoint['id']}"
    r = client.patch(
        path, json={"events": ["link.deleted"], "enabled": False}, headers=editor_headers
    )
    assert r.status_code == 200
    assert (r.get_json()["events"], r.get_json()["enabled"]) == (["link.deleted"], False)
    client.post("/api/v1/links", json={"url": "https://example.org/a"}, headers=editor_headers)
    with db.connect() as conn:  # disabled, and not subscribed anyway: nothing in the outbox
        assert conn.execute(select(webhook_events)).all() == []
    assert client.patch(path, json={"url": None}, headers=editor_headers).status_code == 422
    assert client.patch(path, json={"events": None}, headers=editor_headers).status_code == 422
    r = client.patch(path, json={"description": "now described"}, headers=editor_headers)
    assert r.get_json()["description"] == "now described"


def test_delete_removes_the_endpoint_and_unknown_ids_are_404(client, editor_headers):
    endpoint = create(client, editor_headers).get_json()
    path = f"/api/v1/webhooks/{endpoint['id']}"
    assert client.delete(path, headers=editor_headers).status_code == 204
    for method in ("get", "delete", "patch"):
        r = getattr(client, method)(path, headers=editor_headers, json={})
        assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert client.get("/api/v1/webhooks/999/deliveries", headers=editor_headers).status_code == 404


def test_rotating_the_secret_shows_the_new_one_once_and_keeps_the_old_one_for_a_while(
    client, editor_headers, db
):
    first = create(client, editor_headers).get_json()
    r = client.post(f"/api/v1/webhooks/{first['id']}/rotate-secret", headers=editor_headers)
    assert r.status_code == 200
    rotated = r.get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != first["secret"]
    until = datetime.fromisoformat(rotated["previous_secret_until"].replace("Z", "+00:00"))
    now = datetime.now(timezone.utc)
    assert now + timedelta(hours=23) < until <= now + timedelta(hours=24)
    with db.connect() as conn:
        endpoint = webhooks.get_endpoint(conn, first["id"])
    assert endpoint is not None
    assert endpoint.signing_secrets(now) == [rotated["secret"], first["secret"]]
    assert endpoint.signing_secrets(until + timedelta(seconds=1)) == [rotated["secret"]]


def test_an_endpoint_can_be_sent_a_test_event(client, editor_headers):
    endpoint = create(client, editor_headers).get_json()
    r = client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=editor_headers)
    assert r.status_code == 202
    sent = r.get_json()
    assert sent["event_id"].startswith("evt_")
    assert (sent["delivery"]["event_type"], sent["delivery"]["event_id"]) == (
        "webhook.test",
        sent["event_id"],
    )
    log = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=editor_headers)
    assert [d["event_id"] for d in log.get_json()["items"]] == [sent["event_id"]]


def test_the_openapi_document_describes_the_endpoints_and_every_event(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    assert {"post", "get"} <= set(doc["paths"]["/api/v1/webhooks"])
    assert "/api/v1/webhooks/{webhook_id}/rotate-secret" in doc["paths"]
    assert set(doc["webhooks"]) == {*webhooks.EVENT_TYPES, "webhook.test"}
    clicks = doc["webhooks"]["clicks"]["post"]
    ref = clicks["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["properties"]) == {"id", "type", "timestamp", "data"}
    headers = {p["name"] for p in clicks["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    click = doc["components"]["schemas"]["WebhookClick"]["properties"]
    assert "ip" not in click and "user_agent" not in click
