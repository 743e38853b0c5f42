"""The links API as a client sees it: statuses, bodies, and rows in the database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from balise.db.tables import links as links_table
from balise.links.store import SLUG_ALPHABET

PROBLEM = "application/problem+json"


def count_links(db) -> int:
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(links_table)).scalar_one()


def test_create_link_answers_201_with_short_url_and_every_field(client, editor_headers):
    body = {
        "url": "https://example.org/news/1?ref=a",
        "title": "Un article",
        "tags": ["news", "fr"],
        "lang": "fr",
        "redirect_delay": 2,
        "expires_at": "2099-01-01T00:00:00+01:00",
        "max_clicks": 10,
    }
    r = client.post("/api/v1/links", json=body, headers=editor_headers)
    assert r.status_code == 201
    data = r.get_json()
    assert re.fullmatch(f"[{SLUG_ALPHABET}]{{7}}", data["slug"])
    assert data["short_url"] == f"https://s.test/{data['slug']}"
    assert r.headers["Location"] == data["short_url"]
    assert data["preview_url"] == data["short_url"] + "+"
    assert data["url"] == body["url"]
    assert data["title"] == "Un article"
    assert data["tags"] == ["fr", "news"]
    assert data["lang"] == "fr"
    assert data["redirect_delay"] == 2
    assert data["expires_at"] == "2098-12-31T23:00:00Z"
    assert data["max_clicks"] == 10
    assert data["disabled"] is False
    assert data["state"] == "active"
    assert data["created_at"].endswith("Z")


def test_custom_slug_is_kept_and_a_case_variant_is_refused_with_409(client, editor_headers, db):
    r = client.post(
        "/api/v1/links",
        json={"url": "https://a.example", "slug": "Promo-2026"},
        headers=editor_headers,
    )
    assert r.status_code == 201 and r.get_json()["slug"] == "Promo-2026"
    r = client.post(
        "/api/v1/links",
        json={"url": "https://b.example", "slug": "promo-2026"},
        headers=editor_headers,
    )
    assert r.status_code == 409
    assert r.mimetype == PROBLEM
    assert r.get_json()["type"].endswith("/slug-taken")
    assert count_links(db) == 1


@pytest.mark.parametrize("slug", ["ab", "x" * 65, "with space", "accént", "a/b", "a+b", "a.b"])
def test_malformed_custom_slug_answers_422(client, editor_headers, slug):
    r = client.post(
        "/api/v1/links", json={"url": "https://a.example", "slug": slug}, headers=editor_headers
    )
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "slug"


@pytest.mark.parametrize("slug", ["api", "dashboard", "static", "healthz", "Robots.txt", "API"])
def test_reserved_slugs_are_refused(client, editor_headers, slug):
    r = client.post(
        "/api/v1/links", json={"url": "https://a.example", "slug": slug}, headers=editor_headers
    )
    assert r.status_code == 422
    assert "reserved" in r.get_json()["errors"][0]["message"] or slug == "Robots.txt"


def test_internationalised_host_is_stored_in_ascii(client, editor_headers):
    r = client.post(
        "/api/v1/links", json={"url": "https://Bücher.Example/été?q=1"}, headers=editor_headers
    )
    assert r.status_code == 201
    assert r.get_json()["url"] == "https://xn--bcher-kva.example/%C3%A9t%C3%A9?q=1"


def test_target_on_balise_itself_is_refused_to_avoid_loops(client, editor_headers):
    r = client.post("/api/v1/links", json={"url": "https://S.test/abc"}, headers=editor_headers)
    assert r.status_code == 422
    assert "loop" in r.get_json()["errors"][0]["message"]


def test_validation_errors_are_reported_per_field(client, editor_headers, db):
    r = client.post(
        "/api/v1/links",
        json={"url": "ftp://x.example", "redirect_delay": 11, "lang": "de", "bogus": 1},
        headers=editor_headers,
    )
    assert r.status_code == 422
    assert r.mimetype == PROBLEM
    fields = {e["field"] for e in r.get_json()["errors"]}
    assert {"redirect_delay", "lang", "bogus"} <= fields
    assert count_links(db) == 0


def test_list_links_pages_with_a_cursor_and_filters(client, viewer_headers, make_link):
    for i in range(5):
        make_link(
            url=f"https://example.org/{i}", title=f"Article {i}", tags=["odd"] if i % 2 else []
        )
    r = client.get("/api/v1/links?limit=2", headers=viewer_headers)
    page1 = r.get_json()
    assert [i["title"] for i in page1["items"]] == ["Article 4", "Article 3"]
    r = client.get(f"/api/v1/links?limit=2&cursor={page1['next_cursor']}", headers=viewer_headers)
    page2 = r.get_json()
    assert [i["title"] for i in page2["items"]] == ["Article 2", "Article 1"]
    r = client.get(f"/api/v1/links?limit=2&cursor={page2['next_cursor']}", headers=viewer_headers)
    assert [i["title"] for i in r.get_json()["items"]] == ["Article 0"]
    assert r.get_json()["next_cursor"] is None
    r = client.get("/api/v1/links?tag=odd", headers=viewer_headers)
    assert [i["title"] for i in r.get_json()["items"]] == ["Article 3", "Article 1"]
    r = client.get("/api/v1/links?q=article%202", headers=viewer_headers)
    assert [i["title"] for i in r.get_json()["items"]] == ["Article 2"]


def test_search_treats_percent_and_underscore_literally(client, viewer_headers, make_link):
    make_link(title="100% vrai")
    make_link(title="100 faux")
    r = client.get("/api/v1/links?q=100%25", headers=viewer_headers)
    assert [i["title"] for i in r.get_json()["items"]] == ["100% vrai"]


def test_a_forged_cursor_answers_400(client, viewer_headers):
    r = client.get("/api/v1/links?cursor=nonsense", headers=viewer_headers)
    assert r.status_code == 400
    assert r.mimetype == PROBLEM


def test_get_patch_delete_a_link(client, editor_headers, make_link, db):
    link = make_link(slug="mylink", title="Old")
    r = client.get("/api/v1/links/MYLINK", headers=editor_headers)
    assert r.status_code == 200 and r.get_json()["slug"] == "mylink"
    r = client.patch(
        "/api/v1/links/mylink",
        json={"title": "New", "disabled": True, "tags": ["a"]},
        headers=editor_headers,
    )
    data = r.get_json()
    assert r.status_code == 200
    assert (data["title"], data["disabled"], data["state"], data["tags"]) == (
        "New",
        True,
        "disabled",
        ["a"],
    )
    assert data["url"] == link.url
    r = client.patch("/api/v1/links/mylink", json={"title": None}, headers=editor_headers)
    assert r.get_json()["title"] is None
    assert client.delete("/api/v1/links/mylink", headers=editor_headers).status_code == 204
    assert client.get("/api/v1/links/mylink", headers=editor_headers).status_code == 404
    assert count_links(db) == 0


def test_patch_refuses_a_hostile_target_and_keeps_the_old_one(client, editor_headers, make_link):
    make_link(slug="keepme", url="https://example.org/ok")
    r = client.patch(
        "/api/v1/links/keepme", json={"url": "javascript:alert(1)"}, headers=editor_headers
    )
    assert r.status_code == 422
    assert client.get("/api/v1/links/keepme", headers=editor_headers).get_json()["url"] == (
        "https://example.org/ok"
    )


def test_roles_viewers_read_editors_write(client, viewer_headers, make_link):
    make_link(slug="roles")
    assert client.get("/api/v1/links/roles", headers=viewer_headers).status_code == 200
    r = client.post("/api/v1/links", json={"url": "https://x.example"}, headers=viewer_headers)
    assert r.status_code == 403
    assert r.mimetype == PROBLEM
    assert client.delete("/api/v1/links/roles", headers=viewer_headers).status_code == 403


def test_missing_or_revoked_key_answers_401(client, runner, db):
    r = client.get("/api/v1/links")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    key = runner("keys", "create", "--name", "temp", "--role", "viewer").output.splitlines()[-1]
    assert (
        client.get("/api/v1/links", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    runner("keys", "revoke", "temp")
    assert (
        client.get("/api/v1/links", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    )


def test_changes_are_announced_after_commit_and_failed_ones_are_not(
    app, client, editor_headers, make_link
):
    announced: list[set[str]] = []
    app.extensions["balise"].on_links_changed(announced.append)
    make_link(slug="Watched")
    client.patch("/api/v1/links/watched", json={"title": "x"}, headers=editor_headers)
    client.patch("/api/v1/links/watched", json={"url": "javascript:x"}, headers=editor_headers)
    client.delete("/api/v1/links/watched", headers=editor_headers)
    assert announced == [{"watched"}, {"watched"}]


def test_a_unit_of_work_that_fails_after_creating_a_link_leaves_nothing(db):
    from balise.links import store as links

    with pytest.raises(RuntimeError), db.begin() as conn:
        links.create_link(
            conn, {"url": "https://example.org/a", "slug": "atomic"}, base_url="https://s.test"
        )
        links.create_link(conn, {"url": "https://example.org/b"}, base_url="https://s.test")
        raise RuntimeError("a later step of the same request failed")
    assert count_links(db) == 0
