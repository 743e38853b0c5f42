"""Floods of public requests (issue 11: findings 1, 11 and 14) meet per-address limits.

Look-ups, QR codes and 404s are limited per client address; failed API authentications
are limited on every API route; a flood of unknown slugs stops reading the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from balise import create_app
from balise.web.context import state

JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html", "Accept-Language": "en"}


@pytest.fixture
def make_app(settings: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """create_app with this test's database and the given settings; shut down afterwards."""
    apps: list[Any] = []

    def make(**overrides: Any) -> Any:
        application = create_app(settings | overrides)
        apps.append(application)
        return application

    yield make
    for application in apps:
        application.extensions["balise"].shutdown()


def assert_429(response: Any, *, page: bool = False) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    if page:
        assert response.mimetype == "text/html"
        assert "Too many requests" in response.get_data(as_text=True)
    else:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["type"].endswith("/rate-limited")


def from_address(app: Any, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def link_reads(app: Any) -> list[str]:
    """Every statement the app sends that reads the links table, as it happens."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM links" in statement:
            seen.append(statement)

    event.listen(state(app).engine, "before_cursor_execute", record)
    return seen


# -- finding 11: failed API authentications on every API route ------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/links", {"url": "https://example.org/"}),  # has its own limit
        ("GET", "/api/v1/links", None),
        ("PUT", "/api/v1/links/abc/summary", {"title": "t", "teaser": "t"}),
    ],
)
def test_failed_authentications_are_limited_on_every_api_route(make_app, method, path, body):
    app = make_app(RATELIMIT_AUTH_FAILURES="3/minute")
    client = app.test_client()
    wrong = {"Authorization": "Bearer blz_wrong"}
    statuses = [
        client.open(path, method=method, json=body, headers=wrong).status_code for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]
    assert_429(client.open(path, method=method, json=body, headers=wrong))


def test_80_link_creations_with_a_wrong_key_meet_the_default_limit(client):
    wrong = {"Authorization": "Bearer blz_wrong"}
    statuses = [
        client.post("/api/v1/links", json={"url": "https://e.example/"}, headers=wrong).status_code
        for _ in range(80)
    ]
    assert statuses[:20] == [401] * 20  # BALISE_RATELIMIT_AUTH_FAILURES: 20/minute
    assert set(statuses[20:]) == {429}
