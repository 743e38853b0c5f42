"""Bulk creation (POST /api/v1/links/bulk) as a client sees it, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from balise import create_app
from balise.db.tables import link_tags, webhook_events
from balise.db.tables import links as links_table
from balise.errors import ValidationFailed
from balise.integrations import webhooks
from balise.links import bulk
from balise.links import store as links

PROBLEM = "application/problem+json"


def slugs_in(db) -> set[str]:
    with db.connect() as conn:
        return set(conn.execute(select(links_table.c.slug)).scalars())


def created_events(db) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(
            select(webhook_events.c.data).where(webhook_events.c.type == "link.created")
        )
        return sorted(row.data["link"]["slug"] for row in rows)


def subscribe(db) -> None:
    """A webhook endpoint receiving link.created, so such events are written to the outbox."""
    with db.begin() as conn:
        webhooks.create_endpoint(
            conn, {"url": "http://127.0.0.1:9/hook", "events": ["link.created"]}, allow_private=True
        )


def test_valid_items_are_created_and_the_others_say_why_in_order(client, editor_headers, db):
    subscribe(db)
    items = [
        {"url": "https://example.org/a", "slug": "promo-a", "tags": ["spring", "mail"]},
        {"url": "javascript:alert(1)", "slug": "bad-target"},
        {"url": "https://example.org/b", "slug": "promo-a"},  # same slug as the first item
        {"title": "no url"},
        {"url": "https://example.org/c", "max_clicks": 0, "lang": "de"},
        "not an object",
        {"url": "https://example.org/d"},
    ]
    r = client.post("/api/v1/links/bulk", json={"links": items}, headers=editor_headers)
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [res["status"] for res in results] == [201, 422, 409, 422, 422, 422, 201]
    first, last = results[0]["link"], results[6]["link"]
    assert first["slug"] == "promo-a" and first["tags"] == ["mail", "spring"]
    assert first["short_url"] == "https://s.test/promo-a" and first["state"] == "active"
    assert last["url"] == "https://example.org/d" and len(last["slug"]) == 7
    assert results[1]["errors"] == [
        {"field": "url", "message": "must be an absolute http:// or https:// URL"}
    ]
    assert results[2]["errors"] == [
        {"field": "slug", "message": "The slug 'promo-a' is already taken."}
    ]
    assert results[3]["errors"][0]["field"] == "url"
    assert {e["field"] for e in results[4]["errors"]} == {"max_clicks", "lang"}
    assert results[5]["errors"] == [{"field": "body", "message": "must be a link object"}]
    assert slugs_in(db) == {"promo-a", last["slug"]}
    # Each created link is a link.created webhook event, as a single create makes.
    assert created_events(db) == sorted(["promo-a", last["slug"]])


def test_the_single_create_gives_the_same_field_errors(client, editor_headers):
    item = {"url": "https://example.org/c", "max_clicks": 0, "lang": "de"}
    single = client.post("/api/v1/links", json=item, headers=editor_headers).get_json()
    many = client.post("/api/v1/links/bulk", json={"links": [item]}, headers=editor_headers)
    assert many.get_json()["results"][0]["errors"] == single["errors"]


def test_a_slug_taken_before_or_in_another_case_is_a_409(client, editor_headers, make_link, db):
    make_link(slug="Taken")
    items = [{"url": "https://example.org/1", "slug": "taken"}, {"url": "https://a.example"}]
    r = client.post("/api/v1/links/bulk", json={"links": items}, headers=editor_headers)
    assert [res["status"] for res in r.get_json()["results"]] == [409, 201]
    assert len(slugs_in(db)) == 2


def test_an_item_with_an_invalid_summary_creates_nothing(client, editor_headers, db):
    items = [
        {"url": "https://example.org/s", "slug": "with-summary", "summary": {"title": "T"}},
        {
            "url": "https://example.org/t",
            "slug": "good-summary",
            "summary": {"title": "Titre", "teaser": "Une phrase."},
        },
    ]
    r = client.post("/api/v1/links/bulk", json={"links": items}, headers=editor_headers)
    results = r.get_json()["results"]
    assert results[0]["status"] == 422
    assert results[0]["errors"][0]["field"] == "summary.teaser"
    assert results[1]["status"] == 201
    assert results[1]["link"]["summary"]["teaser"] == "Une phrase."
    assert slugs_in(db) == {"good-summary"}


def test_a_thousand_items_are_created_in_order(settings, editor_headers, db):
    app = create_app(settings | {"RATELIMIT_CREATE": "5000/minute"})
    items = [{"url": f"https://example.org/{i}", "slug": f"item-{i:04d}"} for i in range(1000)]
    r = app.test_client().post("/api/v1/links/bulk", json={"links": items}, headers=editor_headers)
    app.extensions["balise"].shutdown()
    results = r.get_json()["results"]
    assert [res["link"]["slug"] for res in results] == [f"item-{i:04d}" for i in range(1000)]
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(links_table)).scalar_one() == 1000


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"links": [{"url": "https://example.org"}] * 1001}, 422),
        ({"links": []}, 422),
        ({"links": {"url": "https://example.org"}}, 422),
        ({"items": [{"url": "https://example.org"}]}, 422),
        ([{"url": "https://example.org"}], 422),
    ],
)
def test_a_malformed_envelope_is_a_problem_and_creates_nothing(
    client, editor_headers, db, body, status
):
    r = client.post("/api/v1/links/bulk", json=body, headers=editor_headers)
    assert r.status_code == status and r.mimetype == PROBLEM
    assert r.get_json()["errors"]
    assert slugs_in(db) == set()


def test_a_body_that_is_not_json_is_a_400(client, editor_headers):
    r = client.post(
        "/api/v1/links/bulk",
        data=b'{"links": [',
        headers=editor_headers | {"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.mimetype == PROBLEM


def test_viewers_cannot_create_in_bulk(client, viewer_headers):
    r = client.post(
        "/api/v1/links/bulk", json={"links": [{"url": "https://a.example"}]}, headers=viewer_headers
    )
    assert r.status_code == 403


def test_items_spend_the_creation_limit_the_single_create_spends(settings, editor_headers, db):
    app = create_app(settings | {"RATELIMIT_CREATE": "6/minute"})
    client = app.test_client()

    def many(n: int, start: int):
        items = [{"url": f"https://example.org/{start + i}"} for i in range(n)]
        return client.post("/api/v1/links/bulk", json={"links": items}, headers=editor_headers)

    assert [x["status"] for x in many(3, 0).get_json()["results"]] == [201, 201, 201]
    one = client.post("/api/v1/links", json={"url": "https://a.example"}, headers=editor_headers)
    assert one.status_code == 201
    # Two left of six: two items are created, the rest are told to come back later.
    results = many(4, 10).get_json()["results"]
    assert [x["status"] for x in results] == [201, 201, 429, 429]
    assert results[2]["errors"][0]["field"] == "item"
    # None left: the whole call is a 429, like a single create.
    r = many(2, 20)
    assert r.status_code == 429 and r.mimetype == PROBLEM
    assert r.get_json()["type"].endswith("rate-limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    single = client.post("/api/v1/links", json={"url": "https://b.example"}, headers=editor_headers)
    assert single.status_code == 429
    assert len(slugs_in(db)) == 6
    app.extensions["balise"].shutdown()


def test_instances_share_the_items_budget_through_redis(settings, redis_url, editor_headers):
    import secrets

    shared = settings | {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_CREATE": "5/minute",
        "RATELIMIT_KEY_PREFIX": f"balise-test-{secrets.token_hex(4)}",
    }
    first, second = create_app(shared), create_app(shared)
    items = [{"url": f"https://example.org/{i}"} for i in range(4)]
    r = first.test_client().post(
        "/api/v1/links/bulk", json={"links": items}, headers=editor_headers
    )
    assert [x["status"] for x in r.get_json()["results"]] == [201] * 4
    r = second.test_client().post(
        "/api/v1/links/bulk", json={"links": items[:2]}, headers=editor_headers
    )
    assert [x["status"] for x in r.get_json()["results"]] == [201, 429]
    r = first.test_client().post("/api/v1/links", json=items[0], headers=editor_headers)
    assert r.status_code == 429
    for app in (first, second):
        app.extensions["balise"].shutdown()


def test_with_the_limit_store_down_bulk_still_answers_and_still_limits(settings, editor_headers):
    app = create_app(
        settings
        | {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0", "RATELIMIT_CREATE": "2/minute"}
    )
    items = [{"url": f"https://example.org/{i}"} for i in range(3)]
    r = app.test_client().post("/api/v1/links/bulk", json={"links": items}, headers=editor_headers)
    assert [x["status"] for x in r.get_json()["results"]] == [201, 201, 429]
    app.extensions["balise"].shutdown()


def test_chunks_commit_one_by_one_and_a_failure_loses_only_the_chunk_under_way(db):
    """Domain level: a database failure in the third chunk keeps the two chunks before."""
    items = [{"url": f"https://example.org/{i}", "slug": f"chunk-{i}"} for i in range(7)]

    def create(conn, values):
        if values["slug"] == "chunk-5":
            conn.execute(select(func.no_such_function()))  # the database refuses
        return links.create_link(conn, values, base_url="https://s.test")

    with pytest.raises(Exception, match="no_such_function"):
        bulk.create_all(db.begin, items, create, chunk_size=2)
    assert slugs_in(db) == {"chunk-0", "chunk-1", "chunk-2", "chunk-3"}
    with db.connect() as conn:  # no half link: every stored link has its row and no orphans
        assert conn.execute(select(func.count()).select_from(link_tags)).scalar_one() == 0


def test_a_refused_item_keeps_the_chunk_going(db):
    items = [
        {"url": "https://example.org/1", "slug": "same"},
        {"url": "https://example.org/2", "slug": "same"},
        bulk.Outcome(422, errors=[{"field": "url", "message": "is required"}]),
        {"url": "https://example.org/3", "slug": "other"},
    ]
    outcomes = bulk.create_all(
        db.begin,
        items,
        lambda conn, values: links.create_link(conn, values, base_url="https://s.test").slug,
        chunk_size=10,
    )
    assert [(o.status, o.created) for o in outcomes] == [
        (201, "same"),
        (409, None),
        (422, None),
        (201, "other"),
    ]
    assert slugs_in(db) == {"same", "other"}
    assert isinstance(bulk.refusal(ValidationFailed.field("x", "y")).errors, list)
