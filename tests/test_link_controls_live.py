"""Link controls end to end: a real `balise serve` (waitress) on 127.0.0.1, real HTTP, links
made through the API, clicks read back from SQLite and PostgreSQL."""

from __future__ import annotations

import html
import http.client
import json
import re
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from balise.db.tables import clicks, robot_hits
from tests.agents import CHROME_ANDROID, FIREFOX_DESKTOP, SAFARI_IPHONE
from tests.live_server import LiveServer
from tests.test_clicks_e2e import database_url

KEY_NAME = "controls-e2e"


class Client:
    def __init__(self, server: LiveServer, key: str) -> None:
        self.port, self.key = server.port, key

    def request(self, method, path, body=None, headers=None, form=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"User-Agent": FIREFOX_DESKTOP, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers |= {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def link(self, **fields):
        status, _h, text = self.request("POST", "/api/v1/links", body=fields)
        assert status == 201, text
        return json.loads(text)


def go_link(page: str) -> str:
    found = re.search(r'<a class="go" id="go" href="([^"]+)"', page)
    assert found, page[:400]
    return html.unescape(found.group(1))


@pytest.fixture
def live(db, tmp_path, runner):
    key = runner("keys", "create", "--name", KEY_NAME, "--role", "editor").output.split()[-1]
    settings = {"CLICK_FLUSH_INTERVAL": 0.05, "TRUSTED_PROXIES": 1}
    settings["RATELIMIT_LINK_PASSWORD"] = "3 per 15 minutes"
    with LiveServer(tmp_path / "data", database_url(db), **settings) as server:
        yield Client(server, key), server


def stored(db, expected, table=clicks, deadline=10.0):
    """Rows of `table` once the writer has stored what was served: waits until `expected`
    rows are there (or the deadline), then a moment more, so that one too many shows."""
    end = time.monotonic() + deadline
    count = 0
    while time.monotonic() < end:
        with db.connect() as conn:
            count = conn.execute(select(func.count()).select_from(table)).scalar_one()
        if count >= expected:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_utm_forwarding_and_rules_choose_the_target_on_both_paths(live, db):
    client, _server = live
    client.link(
        url="https://shop.example/a?ref=home&utm_source=old",
        slug="spring",
        utm_source="newsletter",
        utm_campaign="spring",
        forward_query=True,
        rules=[
            {"url": "https://apps.example/ios", "device": "ios"},
            {"url": "https://shop.example/fr", "lang": "fr", "query": {"src": "qr"}},
        ],
    )
    client.link(
        url="https://shop.example/d", slug="spring-direct", redirect_mode="direct",
        utm_medium="email", rules=[{"url": "https://play.example/app", "device": "android"}],
    )  # fmt: skip
    for _ in range(3):  # Flask, then the lean path from the slug cache
        status, headers, page = client.request("GET", "/spring?ref=ad&x=1")
        assert status == 200
        assert go_link(page) == (
            "https://shop.example/a?ref=ad&x=1&utm_source=newsletter&utm_campaign=spring"
        )
        _s, _h, page = client.request("GET", "/spring", headers={"User-Agent": SAFARI_IPHONE})
        assert go_link(page) == "https://apps.example/ios?utm_source=newsletter&utm_campaign=spring"
        _s, _h, page = client.request(
            "GET", "/spring?src=qr", headers={"Accept-Language": "fr-FR,fr;q=0.8"}
        )
        assert go_link(page).startswith("https://shop.example/fr?src=qr&utm_source=newsletter")
        status, headers, _b = client.request(
            "GET", "/spring-direct", headers={"User-Agent": CHROME_ANDROID}
        )
        assert (status, headers["Location"]) == (302, "https://play.example/app?utm_medium=email")
        status, headers, _b = client.request("GET", "/spring-direct")
        assert headers["Location"] == "https://shop.example/d?utm_medium=email"
    assert stored(db, 15) == 15  # every person's request counted once, whatever the target


def test_fallback_not_yet_and_the_password_gate(live, db):
    client, _server = live
    client.link(
        url="https://shop.example/over", slug="over", disabled=True,
        fallback_url="https://shop.example/next",
    )  # fmt: skip
    client.link(
        url="https://shop.example/launch", slug="launch",
        valid_from=(datetime.now(timezone.utc) + timedelta(days=1)).isoformat(),
    )  # fmt: skip
    body = client.link(
        url="https://secret.example/doc", slug="vault", password="sesame-42", title="Plans"
    )
    assert body["password_protected"] is True and "password" not in body
    for _ in range(2):
        status, headers, _b = client.request("GET", "/over")
        assert (status, headers["Location"]) == (302, "https://shop.example/next")
        status, _h, page = client.request("GET", "/launch", headers={"Accept-Language": "fr"})
        assert status == 403 and "pas encore disponible" in page
        assert "shop.example" not in page
        for path in ("/vault", "/vault+"):
            status, headers, page = client.request("GET", path)
            assert status == 200 and "Lien protégé" in page
            assert "secret.example" not in page and "Plans" not in page
    headers = {"X-Forwarded-For": "192.0.2.7", "Accept-Language": "en"}
    status, _h, page = client.request("POST", "/vault", form={"password": "no"}, headers=headers)
    assert status == 403 and "Wrong password" in page and "secret.example" not in page
    status, _h, page = client.request(
        "POST", "/vault", form={"password": "sesame-42"}, headers=headers
    )
    assert status == 200 and go_link(page) == "https://secret.example/doc"
    for guess in ("a", "b", "c"):
        status, _h, _p = client.request("POST", "/vault", form={"password": guess}, headers=headers)
    assert status == 429  # the right answer handed its attempt back: 3 wrong ones remain
    other = {"X-Forwarded-For": "192.0.2.8"}
    status, _h, page = client.request(
        "POST", "/vault", form={"password": "sesame-42"}, headers=other
    )
    assert status == 200
    assert stored(db, 2) == 2  # the two right passwords; pages, fallbacks and refusals count none
    assert stored(db, 0, robot_hits) == 0


def test_the_api_refuses_hostile_controls_with_field_errors(live):
    client, _server = live
    cases = {
        "fallback_url": {"fallback_url": "javascript:alert(1)"},
        "rules.0.url": {"rules": [{"url": "javascript:alert(1)", "device": "ios"}]},
        "rules.0.device": {"rules": [{"url": "https://a.example/", "device": "fridge"}]},
        "rules": {"rules": [{"url": "https://a.example/", "lang": "fr"}] * 500},
        "utm_source": {"utm_source": "a\r\nLocation: https://evil.example/"},
    }
    for field, fields in cases.items():
        status, headers, text = client.request(
            "POST", "/api/v1/links", body={"url": "https://a.example/"} | fields
        )
        assert status == 422, (field, text)
        assert headers["Content-Type"] == "application/problem+json"
        assert field in [e["field"] for e in json.loads(text)["errors"]], text
