"""GET /metrics: Prometheus text for whoever holds BALISE_METRICS_TOKEN; counts equal to what
was sent."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from balise import create_app
from tests.agents import FIREFOX_DESKTOP, SAFARI_IPHONE, UNFURLERS
from tests.clickutil import flushed
from tests.webhook_receiver import Receiver

TOKEN = "metrics-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(settings):
    return settings | {"METRICS_TOKEN": TOKEN}


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", headers=AUTH)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    found = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_answer_404_when_no_token_is_set(settings):
    application = create_app(settings | {"METRICS_TOKEN": ""})
    try:
        r = application.test_client().get("/metrics", headers=AUTH)
        assert r.status_code == 404
    finally:
        application.extensions["balise"].shutdown()


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_metrics_need_the_token(client, headers):
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 401
    assert b"balise_" not in r.data


def test_counters_equal_the_reader_traffic_sent(app, client, make_link, editor_headers):
    link = make_link()
    limited = make_link(max_clicks=1)
    sent = {"click": 7, "bot": 3, "prefetch": 2}
    for _ in range(sent["click"]):
        assert (
            client.get(f"/{link.slug}", headers={"User-Agent": FIREFOX_DESKTOP}).status_code == 200
        )
    for agent in list(UNFURLERS.values())[: sent["bot"]]:
        assert client.get(f"/{link.slug}", headers={"User-Agent": agent}).status_code == 200
    prefetch = {"User-Agent": SAFARI_IPHONE, "Sec-Purpose": "prefetch"}
    for _ in range(sent["prefetch"]):
        assert client.get(f"/{link.slug}", headers=prefetch).status_code == 200
    for n in range(4):
        r = client.get(f"/nothing{n}", headers={"User-Agent": FIREFOX_DESKTOP})
        assert r.status_code == 404
    assert (
        client.get(f"/{limited.slug}", headers={"User-Agent": FIREFOX_DESKTOP}).status_code == 200
    )
    assert (
        client.get(f"/{limited.slug}", headers={"User-Agent": FIREFOX_DESKTOP}).status_code == 410
    )
    client.head(f"/{link.slug}")  # not classified, not counted
    assert client.get("/api/v1/links", headers=editor_headers).status_code == 200
    assert client.get("/api/v1/summaries?url=https://example.org/x").status_code == 404
    flushed(app)
    found = scrape(client)
    reader = "balise_reader_requests_total"
    assert value(found, reader, kind="click", status="200") == sent["click"] + 1
    assert value(found, reader, kind="bot", status="200") == sent["bot"]
    assert value(found, reader, kind="prefetch", status="200") == sent["prefetch"]
    assert value(found, reader, kind="click", status="404") == 4
    assert value(found, reader, kind="click", status="410") == 1
    assert value(found, "balise_clicks_stored_total") == sent["click"] + 1
    assert value(found, "balise_clicks_buffered") == 0
    assert value(found, "balise_click_store_failures_total") == 0
    cache = (
        value(found, "balise_link_cache_hits_total"),
        value(found, "balise_link_cache_misses_total"),
    )
    assert cache[1] >= 6 and sum(cache) >= sent["click"] + sent["bot"] + sent["prefetch"] + 7
    durations = "balise_request_duration_seconds_count"
    assert value(found, durations, group="reader") == sum(sent.values()) + 4 + 2 + 1
    assert value(found, durations, group="api") == 1
    assert value(found, durations, group="lookup") == 1
    assert value(found, durations, group="dashboard") == 0
    inf = value(found, "balise_request_duration_seconds_bucket", group="reader", le="+Inf")
    assert inf == value(found, durations, group="reader")


def test_webhook_deliveries_and_the_outbox_are_counted(settings, editor_headers):
    application = create_app(
        settings
        | {
            "FETCH_ALLOW_PRIVATE": True,
            "WEBHOOK_POLL_INTERVAL": 0.05,
            "WEBHOOK_RETRY_SCHEDULE": (3600.0,),  # a failed delivery stays pending here
        }
    )
    client = application.test_client()
    try:
        with Receiver(answers=[500]) as receiver:
            body = {"url": receiver.url, "events": ["link.created"]}
            r = client.post("/api/v1/webhooks", json=body, headers=editor_headers)
            receiver.secret = r.get_json()["secret"]
            for name in ("a", "b"):
                body = {"url": f"https://example.org/{name}"}
                client.post("/api/v1/links", json=body, headers=editor_headers)

            def counted(_receiver):
                found = scrape(client)
                results = [
                    value(found, "balise_webhook_deliveries_total", result=result)
                    for result in ("delivered", "retried")
                ]
                return found if results == [1, 1] else None

            found = receiver.wait_for(counted)
        assert found, "one delivery and one retry were never both counted"
        assert [r["status"] for r in receiver.requests] == [500, 200]
        assert value(found, "balise_webhook_deliveries_total", result="failed") == 0
        assert value(found, "balise_webhook_outbox_pending") == 1
    finally:
        application.extensions["balise"].shutdown()
