"""Changing a link's slug (PATCH) and duplicating a link, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from balise import create_app
from balise.db.tables import links as links_table
from balise.summaries import store as summaries
from tests.clickutil import flushed

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}


def patch(client, headers, slug, body):
    return client.patch(f"/api/v1/links/{slug}", json=body, headers=headers)


def test_a_new_slug_answers_and_the_old_one_is_404_with_the_statistics_kept(
    app, client, editor_headers, make_link
):
    link = make_link(slug="old-name", title="Promo")
    for _ in range(3):
        assert client.get("/old-name", headers=BROWSER).status_code == 200
    flushed(app)
    r = patch(client, editor_headers, "old-name", {"slug": "new-name"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["slug"] == "new-name" and body["short_url"] == "https://s.test/new-name"
    assert body["title"] == "Promo"
    # The reader (whose cache held the old slug) and the API both forget the old slug.
    assert client.get("/old-name", headers=BROWSER).status_code == 404
    assert client.get("/api/v1/links/old-name", headers=editor_headers).status_code == 404
    assert client.get("/new-name", headers=BROWSER).status_code == 200
    # The clicks stay with the link (they key on its id): 3 before, 1 after the change.
    flushed(app)
    stats = client.get("/api/v1/links/new-name/stats", headers=editor_headers).get_json()
    assert stats["totals"]["clicks"] == 4
    with app.extensions["balise"].engine.connect() as conn:
        assert conn.execute(select(links_table.c.id)).scalar_one() == link.id


def test_a_taken_or_reserved_slug_is_refused_and_nothing_changes(client, editor_headers, make_link):
    make_link(slug="first")
    make_link(slug="Second")
    r = patch(client, editor_headers, "first", {"slug": "second", "title": "changed"})
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    r = patch(client, editor_headers, "first", {"slug": "dashboard"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == [
        {"field": "slug", "message": "'dashboard' is reserved by Balise"}
    ]
    assert patch(client, editor_headers, "first", {"slug": "a b"}).status_code == 422
    assert patch(client, editor_headers, "first", {"slug": None}).status_code == 422
    kept = client.get("/api/v1/links/first", headers=editor_headers).get_json()
    assert kept["title"] is None
    # Only the case of its own slug: allowed.
    r = patch(client, editor_headers, "first", {"slug": "FIRST"})
    assert r.status_code == 200 and r.get_json()["slug"] == "FIRST"


def test_duplicate_copies_every_field_tags_and_summary_but_not_clicks(
    app, client, editor_headers, make_link, db
):
    link = make_link(
        slug="spring",
        url="https://example.org/sale",
        title="Soldes",
        tags=["mail", "spring"],
        lang="en",
        redirect_delay=4,
        reading_delay=True,
        expires_at=None,
        max_clicks=50,
        redirect_mode="direct",
        redirect_status=307,
    )
    with db.begin() as conn:
        summaries.save_summary(conn, link, {"title": "Titre", "teaser": "Une phrase."})
    assert client.get("/spring", headers=BROWSER).status_code == 307
    flushed(app)
    r = client.post("/api/v1/links/spring/duplicate", json={}, headers=editor_headers)
    assert r.status_code == 201
    copy = r.get_json()
    assert copy["slug"] != "spring" and len(copy["slug"]) == 7
    assert r.headers["Location"] == copy["short_url"]
    original = client.get("/api/v1/links/spring", headers=editor_headers).get_json()
    same = ("url", "title", "tags", "lang", "redirect_delay", "reading_delay", "max_clicks")
    assert {k: copy[k] for k in same} == {k: original[k] for k in same}
    assert (copy["redirect_mode"], copy["redirect_status"]) == ("direct", 307)
    assert copy["summary"]["teaser"] == "Une phrase."
    summary = client.get(f"/api/v1/links/{copy['slug']}/summary", headers=editor_headers)
    assert summary.get_json()["title"] == "Titre"
    stats = client.get(f"/api/v1/links/{copy['slug']}/stats", headers=editor_headers).get_json()
    assert stats["totals"]["clicks"] == 0
    assert client.get(f"/{copy['slug']}", headers=BROWSER).status_code == 307


def test_duplicate_under_a_given_slug_and_refusals(client, editor_headers, make_link):
    make_link(slug="source")
    r = client.post(
        "/api/v1/links/source/duplicate", json={"slug": "copy-1"}, headers=editor_headers
    )
    assert r.status_code == 201 and r.get_json()["slug"] == "copy-1"
    r = client.post(
        "/api/v1/links/source/duplicate", json={"slug": "COPY-1"}, headers=editor_headers
    )
    assert r.status_code == 409
    r = client.post("/api/v1/links/source/duplicate", json={"slug": "api"}, headers=editor_headers)
    assert r.status_code == 422
    r = client.post("/api/v1/links/nothing/duplicate", json={}, headers=editor_headers)
    assert r.status_code == 404
    r = client.post("/api/v1/links/source/duplicate", headers=editor_headers)
    assert r.status_code == 201  # no body: a random slug


def test_duplicates_spend_the_creation_budget(settings, editor_headers, make_link):
    make_link(slug="source")
    app = create_app(settings | {"RATELIMIT_CREATE": "2/minute"})
    client = app.test_client()
    path = "/api/v1/links/source/duplicate"
    statuses = [client.post(path, json={}, headers=editor_headers).status_code for _ in range(2)]
    r = client.post(
        "/api/v1/links/bulk", json={"links": [{"url": "https://a.example"}]}, headers=editor_headers
    )
    assert statuses == [201, 201] and r.status_code == 429
    app.extensions["balise"].shutdown()


def test_a_rename_tells_webhooks_the_previous_slug(client, editor_headers, make_link, db):
    from balise.db.tables import webhook_events
    from balise.integrations import webhooks

    with db.begin() as conn:
        webhooks.create_endpoint(
            conn, {"url": "http://127.0.0.1:9/hook", "events": ["link.updated"]}, allow_private=True
        )
    make_link(slug="first-name")
    patch(client, editor_headers, "first-name", {"title": "Titre"})
    patch(client, editor_headers, "first-name", {"slug": "second-name"})
    with db.connect() as conn:
        rows = conn.execute(select(webhook_events.c.data).order_by(webhook_events.c.id)).all()
    assert [(r.data["link"]["slug"], r.data.get("previous_slug")) for r in rows] == [
        ("first-name", None),
        ("second-name", "first-name"),
    ]
