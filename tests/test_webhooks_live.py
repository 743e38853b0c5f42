"""Webhooks with real `balise serve` processes: a SIGKILL loses no event, SIGTERM lets the
send under way finish, and two instances on PostgreSQL deliver each event exactly once."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from balise.accounts import keys
from balise.db import make_engine, upgrade
from balise.db.tables import webhook_deliveries
from tests.databases import scratch_database
from tests.live_server import LiveServer
from tests.webhook_receiver import Receiver

HOOKS = {"FETCH_ALLOW_PRIVATE": 1, "WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2"}


def call(server, method, path, body=None, key=None):
    request = urllib.request.Request(
        server.base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {key}"} if key else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - 127.0.0.1
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def prepare(url):
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        _key, key = keys.create_key(conn, "hooks", "editor")
    return engine, key


def subscribe(server, key, receiver, events):
    status, body = call(
        server, "POST", "/api/v1/webhooks", {"url": receiver.url, "events": events}, key
    )
    assert status == 201, body
    receiver.secret = json.loads(body)["secret"]


def test_a_change_made_just_before_a_sigkill_is_delivered_after_the_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'balise.db'}"
    engine, key = prepare(url)
    with Receiver() as receiver:
        # This worker looks once at start-up, then not for an hour: the event stays unsent.
        first = LiveServer(tmp_path / "data", url, WEBHOOK_POLL_INTERVAL=3600, **HOOKS)
        subscribe(first, key, receiver, ["link.created"])
        status, body = call(first, "POST", "/api/v1/links", {"url": "https://example.org/a"}, key)
        assert status == 201
        first.process.kill()
        assert first.stop() == -9
        assert receiver.requests == []
        with LiveServer(tmp_path / "data", url, WEBHOOK_POLL_INTERVAL=0.1, **HOOKS):
            assert receiver.wait_for(lambda r: r.events)
    [event] = receiver.events
    assert receiver.requests[0]["verified"]
    assert (event["type"], event["data"]["link"]["slug"]) == (
        "link.created",
        json.loads(body)["slug"],
    )
    engine.dispose()


def test_sigterm_lets_the_send_under_way_finish_and_records_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'balise.db'}"
    engine, key = prepare(url)
    with Receiver() as receiver:
        receiver.delay = 1.0
        server = LiveServer(tmp_path / "data", url, WEBHOOK_POLL_INTERVAL=0.05, **HOOKS)
        subscribe(server, key, receiver, ["link.created"])
        call(server, "POST", "/api/v1/links", {"url": "https://example.org/a"}, key)
        assert receiver.wait_for(lambda r: r.requests)  # the receiver is still answering
        assert server.stop() == 0
    assert "Traceback" not in server.output()
    with engine.connect() as conn:
        [delivery] = conn.execute(select(webhook_deliveries)).all()
    assert (delivery.status, delivery.attempts, delivery.lease_owner) == ("delivered", 1, None)
    assert len(receiver.requests) == 1
    engine.dispose()


def delivered_by(server, token):
    request = urllib.request.Request(
        server.base_url + "/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - 127.0.0.1
        text = r.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "balise_webhook_deliveries_total":
                if sample.labels["result"] == "delivered":
                    return int(sample.value)
    raise AssertionError("no balise_webhook_deliveries_total in /metrics")


@pytest.mark.postgres
def test_two_instances_on_postgres_deliver_each_event_exactly_once(postgres_url, tmp_path):
    url, drop = scratch_database(postgres_url, "balise_hooks")
    engine, key = prepare(url)
    token = secrets.token_hex(16)
    settings = {
        **HOOKS,
        "WEBHOOK_POLL_INTERVAL": 0.02,
        "METRICS_TOKEN": token,
        "SECRET_KEY": secrets.token_hex(24),
    }
    servers = []
    try:
        with Receiver() as receiver:
            servers = [LiveServer(tmp_path / n, url, **settings) for n in ("a", "b")]
            subscribe(servers[0], key, receiver, ["link.created", "link.updated"])
            for n in range(30):
                server = servers[n % 2]
                status, body = call(
                    server, "POST", "/api/v1/links", {"url": f"https://example.org/{n}"}, key
                )
                slug = json.loads(body)["slug"]
                call(servers[1 - n % 2], "PATCH", f"/api/v1/links/{slug}", {"title": "t"}, key)

            def settled(_receiver):
                with engine.connect() as conn:
                    rows = conn.execute(select(webhook_deliveries)).all()
                return len(rows) == 60 and all(r.status == "delivered" for r in rows)

            assert receiver.wait_for(settled, seconds=60)
            counts = [delivered_by(s, token) for s in servers]
        with engine.connect() as conn:
            rows = conn.execute(select(webhook_deliveries)).all()
        assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}
        ids = [r["headers"]["webhook-id"] for r in receiver.requests]
        assert len(ids) == 60 and len(set(ids)) == 60
        assert all(r["verified"] for r in receiver.requests)
        assert sum(counts) == 60
    finally:
        codes = [s.stop() for s in servers]
        engine.dispose()
        drop()
    assert codes == [0, 0]
