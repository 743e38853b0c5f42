"""Every error path of the API answers application/problem+json (RFC 9457) of one shape."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from balise import create_app
from balise.db.tables import links as links_table


def assert_problem(r, status: int, type_suffix: str | None = None) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    if type_suffix:
        assert body["type"].endswith("/" + type_suffix)
    return body


def snapshot(db) -> list:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(select(links_table).order_by(links_table.c.id))]


def test_400_malformed_json_changes_nothing(client, editor_headers, make_link, db):
    make_link(slug="stay")
    before = snapshot(db)
    headers = editor_headers | {"Content-Type": "application/json"}
    assert_problem(
        client.post("/api/v1/links", data='{"url": ', headers=headers), 400, "bad-request"
    )
    assert_problem(client.patch("/api/v1/links/stay", data="{nope", headers=headers), 400)
    assert snapshot(db) == before


def test_401_403_404_405(client, viewer_headers):
    assert_problem(client.get("/api/v1/links"), 401, "unauthorized")
    assert_problem(
        client.post("/api/v1/links", json={"url": "https://a.example"}, headers=viewer_headers),
        403,
        "forbidden",
    )
    assert_problem(client.get("/api/v1/links/absent", headers=viewer_headers), 404, "not-found")
    assert_problem(client.get("/api/v1/nothing-here", headers=viewer_headers), 404, "not-found")
    body = assert_problem(
        client.put("/api/v1/links", headers=viewer_headers), 405, "method-not-allowed"
    )
    assert body["detail"]


def test_409_slug_taken(client, editor_headers, make_link):
    make_link(slug="taken")
    r = client.post(
        "/api/v1/links", json={"url": "https://a.example", "slug": "taken"}, headers=editor_headers
    )
    assert_problem(r, 409, "slug-taken")


def test_413_body_too_large_changes_nothing(client, editor_headers, db):
    big = '{"url": "https://a.example/", "title": "' + "x" * 1_100_000 + '"}'
    r = client.post(
        "/api/v1/links", data=big, headers=editor_headers | {"Content-Type": "application/json"}
    )
    assert_problem(r, 413, "payload-too-large")
    assert snapshot(db) == []


def test_415_body_not_json(client, editor_headers, db):
    r = client.post(
        "/api/v1/links",
        data="url=https://a.example",
        headers=editor_headers | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(r, 415, "unsupported-media-type")
    assert snapshot(db) == []


def test_422_lists_errors_per_field(client, editor_headers):
    r = client.post("/api/v1/links", json={"title": 5, "max_clicks": 0}, headers=editor_headers)
    body = assert_problem(r, 422, "validation-error")
    fields = {e["field"] for e in body["errors"]}
    assert {"url", "title", "max_clicks"} <= fields
    assert all(e["message"] for e in body["errors"])


def test_422_for_a_body_that_is_not_an_object(client, editor_headers):
    assert_problem(
        client.post("/api/v1/links", json=["https://a.example"], headers=editor_headers), 422
    )


def test_429_after_too_many_link_creations(settings, editor_headers):
    app = create_app(settings | {"RATELIMIT_CREATE": "2/minute"})
    client = app.test_client()
    for i in range(2):
        r = client.post(
            "/api/v1/links", json={"url": f"https://a.example/{i}"}, headers=editor_headers
        )
        assert r.status_code == 201
    r = client.post("/api/v1/links", json={"url": "https://a.example/3"}, headers=editor_headers)
    assert_problem(r, 429, "rate-limited")
    assert "Retry-After" in r.headers
    app.extensions["balise"].shutdown()


def test_429_after_repeated_authentication_failures(settings, viewer_headers):
    app = create_app(settings | {"RATELIMIT_AUTH_FAILURES": "3/minute"})
    client = app.test_client()
    for _ in range(3):
        assert (
            client.get("/api/v1/links", headers={"Authorization": "Bearer wrong"}).status_code
            == 401
        )
    assert_problem(client.get("/api/v1/links", headers={"Authorization": "Bearer wrong"}), 429)
    # The limit is on the address: a valid key from it waits too, which is the point.
    assert client.get("/api/v1/links", headers=viewer_headers).status_code == 429
    app.extensions["balise"].shutdown()


def test_500_is_a_problem_too_and_leaks_nothing(settings, viewer_headers, caplog):
    app = create_app(settings)

    @app.get("/api/v1/explode")
    def explode():
        raise RuntimeError("secret internals")

    r = app.test_client().get("/api/v1/explode")
    assert_problem(r, 500, "internal-error")
    assert "secret" not in r.get_data(as_text=True)
    assert "secret internals" in caplog.text
    app.extensions["balise"].shutdown()


@pytest.mark.parametrize("accept", ["text/html", "*/*"])
def test_browsers_get_a_page_not_json_outside_the_api(client, accept):
    r = client.get("/missing-slug", headers={"Accept": accept})
    assert r.status_code == 404
    assert r.mimetype == "text/html"
