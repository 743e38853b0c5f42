"""Dashboard webhook pages: endpoints, the secret shown once, a test event, the delivery log
with redelivery by hand, and an endpoint Balise disabled."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from balise import create_app
from balise.integrations import webhooks
from tests.conftest import DashboardClient
from tests.webhook_receiver import Receiver


@pytest.fixture
def settings(settings):
    return settings | {"FETCH_ALLOW_PRIVATE": True, "WEBHOOK_POLL_INTERVAL": 0.05}


def add(editor, url, events=("link.created",), **extra):
    return editor.post("/dashboard/webhooks", {"url": url, "events": list(events), **extra})


def endpoint_id(html):
    return int(re.search(r'href="/dashboard/webhooks/(\d+)"', html).group(1))


def test_viewers_neither_see_nor_open_the_webhooks_pages(viewer):
    assert "/dashboard/webhooks" not in viewer.get("/dashboard/links").get_data(as_text=True)
    assert viewer.get("/dashboard/webhooks").status_code == 403


def test_an_editor_adds_an_endpoint_and_sees_its_secret_once(editor):
    assert 'href="/dashboard/webhooks"' in editor.get("/dashboard/links").get_data(as_text=True)
    r = add(editor, "http://127.0.0.1:9/hook", ("link.created", "clicks"), description="CRM")
    assert r.status_code == 201
    html = r.get_data(as_text=True)
    secret = re.search(r'value="(whsec_[^"]+)"', html).group(1)
    assert "http://127.0.0.1:9/hook" in html and "CRM" in html
    again = editor.get("/dashboard/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:9/hook" in again and secret not in again
    page = editor.get(f"/dashboard/webhooks/{endpoint_id(again)}").get_data(as_text=True)
    assert secret not in page


def test_errors_show_beside_their_fields(editor, settings):
    r = add(editor, "http://127.0.0.1:9/hook", events=())
    assert r.status_code == 422
    assert set(DashboardClient.field_errors(r)) == {"events"}
    r = add(editor, "ftp://example.org/hook")
    assert r.status_code == 422
    assert set(DashboardClient.field_errors(r)) == {"url"}


def test_a_private_address_is_refused_in_the_viewers_language(settings, make_user):
    application = create_app(settings | {"FETCH_ALLOW_PRIVATE": False})
    try:
        editor = DashboardClient(application.test_client())
        make_user("fr@example.org", "editor", lang="fr")
        editor.login("fr@example.org")
        r = add(editor, "http://127.0.0.1:9/hook")
        assert r.status_code == 422
        assert DashboardClient.field_errors(r)["url"].startswith("Cette adresse est privée")
    finally:
        application.extensions["balise"].shutdown()


def test_send_a_test_event_see_it_in_the_log_and_send_it_again(editor):
    with Receiver() as receiver:
        html = add(editor, receiver.url).get_data(as_text=True)
        receiver.secret = re.search(r'value="(whsec_[^"]+)"', html).group(1)
        page = f"/dashboard/webhooks/{endpoint_id(html)}"
        assert editor.post(page + "/test").status_code == 302
        assert receiver.wait_for(lambda r: r.events)
        assert receiver.wait_for(lambda _r: ">Remis<" in editor.get(page).get_data(as_text=True))
        log = editor.get(page).get_data(as_text=True)
        event_id = receiver.events[0]["id"]
        assert event_id in log and "Événement de test" in log and "HTTP 200" in log
        redeliver = re.search(r'action="([^"]+/redeliver)"', log).group(1)
        assert editor.post(redeliver).status_code == 302
        assert receiver.wait_for(lambda r: len(r.events) == 2)
    assert [e["id"] for e in receiver.events] == [event_id, event_id]
    assert all(r["verified"] for r in receiver.requests)


def test_rotating_shows_the_new_secret_once(editor):
    html = add(editor, "http://127.0.0.1:9/hook").get_data(as_text=True)
    first = re.search(r'value="(whsec_[^"]+)"', html).group(1)
    page = f"/dashboard/webhooks/{endpoint_id(html)}"
    r = editor.post(page + "/rotate")
    assert r.status_code == 200
    second = re.search(r'value="(whsec_[^"]+)"', r.get_data(as_text=True)).group(1)
    assert second != first
    assert second not in editor.get(page).get_data(as_text=True)


def test_editing_disabling_and_deleting_an_endpoint(editor, db):
    html = add(editor, "http://127.0.0.1:9/hook").get_data(as_text=True)
    number = endpoint_id(html)
    page = f"/dashboard/webhooks/{number}"
    r = editor.post(page, {"url": "http://127.0.0.1:9/other", "events": ["link.deleted"]})
    assert r.status_code == 302
    with db.connect() as conn:
        saved = webhooks.get_endpoint(conn, number)
    assert (saved.url, saved.events, saved.enabled) == (
        "http://127.0.0.1:9/other",
        ("link.deleted",),
        False,
    )
    assert '<span class="badge disabled">' in editor.get(page).get_data(as_text=True)
    assert editor.post(page + "/delete").status_code == 302
    assert editor.get(page).status_code == 404


def test_an_endpoint_balise_disabled_says_so(editor, db):
    html = add(editor, "http://127.0.0.1:9/hook").get_data(as_text=True)
    number = endpoint_id(html)
    with db.begin() as conn:
        endpoint = webhooks.get_endpoint(conn, number)
        since = datetime.now(timezone.utc) - timedelta(days=6)
        webhooks.record_failure(conn, number, since, timedelta(days=5))
        assert webhooks.record_failure(conn, number, since + timedelta(days=6), timedelta(days=5))
    english = {"Accept-Language": "en"}
    page = editor.get(f"/dashboard/webhooks/{number}", headers=english).get_data(as_text=True)
    assert "Balise disabled this endpoint: all its deliveries have failed since" in page
    listing = editor.get("/dashboard/webhooks").get_data(as_text=True)
    assert "Désactivée (en échec)" in listing
    assert endpoint.enabled  # it was enabled before the failures
