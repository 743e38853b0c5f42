"""The public look-up API the extension calls: URL forms, batch, caching, CORS, preview views."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from balise.db.tables import hourly_counts
from balise.links import store as links
from balise.summaries import store as summaries
from balise.summaries.seen import SeenTokens

TARGET = "https://news.example/2026/arbres?id=7&page=2"
SUMMARY = {
    "lang": "fr",
    "title": "La ville plante 10 000 arbres",
    "teaser": "La mairie lance le plus grand plan de plantation de son histoire.",
    "recap": "Les faits.",
}
CONTRACT_KEYS = {
    "slug",
    "short_url",
    "target_url",
    "lang",
    "title",
    "teaser",
    "recap",
    "neutral",
    "example",
    "optimistic",
    "pessimistic",
    "source_url",
    "image_url",
    "origin",
    "updated_at",
    "seen_token",
}


@pytest.fixture
def known(db, make_link):
    def make(slug="Arbres", url=TARGET, content=SUMMARY, **values):
        link = make_link(slug=slug, url=url, **values)
        with db.begin() as conn:
            summaries.save_summary(conn, link, content)
        return link

    return make


def get(client, url, **headers):
    return client.get("/api/v1/summaries", query_string={"url": url}, headers=headers)


def preview_views(db) -> dict[int, int]:
    with db.connect() as conn:
        rows = conn.execute(select(hourly_counts.c.link_id, hourly_counts.c.preview_views))
        return {r.link_id: r.preview_views for r in rows}


@pytest.mark.parametrize(
    "form",
    [
        "https://s.test/Arbres",
        "https://s.test/arbres",
        "https://S.TEST/Arbres",
        "https://s.test/Arbres/",
        "https://s.test/Arbres+",
        "https://s.test/Arbres+/",
        "https://s.test:443/Arbres",
        "http://s.test/Arbres",
        "s.test/Arbres",
        "S.Test/Arbres+",
        "//s.test/Arbres",
        "https://s.test/Arbres?utm_source=x#top",
        "https://s.test/Arbres%2B",
    ],
)
def test_short_url_in_any_form_finds_the_summary(client, known, form):
    known()
    r = get(client, form)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert set(body) == CONTRACT_KEYS
    assert body["slug"] == "Arbres"
    assert body["short_url"] == "https://s.test/Arbres"
    assert body["target_url"] == TARGET
    assert body["source_url"] == TARGET
    assert body["teaser"] == SUMMARY["teaser"]


@pytest.mark.parametrize(
    "form",
    [
        TARGET,
        "https://NEWS.example:443/2026/arbres/?page=2&id=7",
        "https://news.example/2026/arbres?utm_source=fb&id=7&utm_medium=social&page=2&fbclid=abc",
        "https://news.example/2026/arbres?gclid=1&page=2&id=7#comments",
    ],
)
def test_target_url_matches_after_normalisation(client, known, form):
    known()
    r = get(client, form)
    assert r.status_code == 200
    assert r.get_json()["slug"] == "Arbres"


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/2026/arbres?id=8&page=2",
        "http://news.example/2026/arbres?id=7&page=2",
        "https://s.test/Other",
        "https://s.test/api/v1/links",
        "https://elsewhere.test/Arbres",
        "http://s.test:8080/Arbres",
        "not a url",
        "javascript:alert(1)",
    ],
)
def test_unknown_urls_answer_404_problem(client, known, url):
    known()
    r = get(client, url)
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Cache-Control"] == "public, max-age=60"


def test_link_without_summary_is_not_answered(client, make_link):
    make_link(slug="bare", url=TARGET)
    assert get(client, "https://s.test/bare").status_code == 404
    assert get(client, TARGET).status_code == 404


@pytest.mark.parametrize(
    "values",
    [{"disabled": True}, {"expires_at": datetime.now(timezone.utc) - timedelta(minutes=1)}],
    ids=["disabled", "expired"],
)
def test_disabled_or_expired_links_are_never_answered(client, known, values, db):
    known(**values)
    assert get(client, "https://s.test/Arbres").status_code == 404
    assert get(client, TARGET).status_code == 404
    r = client.post("/api/v1/summaries/lookup", json={"urls": [TARGET, "s.test/Arbres"]})
    assert r.get_json() == {"results": {TARGET: None, "s.test/Arbres": None}}
    assert preview_views(db) == {}


def test_target_with_several_links_answers_the_newest_summary(client, known):
    known(slug="old1", content=SUMMARY | {"teaser": "Ancienne."})
    known(slug="new2", content=SUMMARY | {"teaser": "Récente."})
    known(slug="off3", content=SUMMARY | {"teaser": "Désactivée."}, disabled=True)
    assert get(client, TARGET).get_json()["teaser"] == "Récente."


def test_batch_answers_every_url_as_sent(client, known, make_link):
    known()
    other = "https://blog.example/post"
    known(slug="post", url=other, content=SUMMARY | {"lang": "en", "title": "Post"})
    urls = [
        "https://s.test/Arbres+",
        TARGET + "&utm_campaign=x",
        "https://blog.example/post/",
        "https://unknown.example/",
        "s.test/nope",
        "https://s.test/Arbres+",  # duplicates are answered once
    ]
    r = client.post("/api/v1/summaries/lookup", json={"urls": urls})
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert list(results) == urls[:5]
    assert results[urls[0]]["slug"] == "Arbres"
    assert results[urls[1]]["slug"] == "Arbres"
    assert results[urls[2]]["title"] == "Post"
    assert set(results[urls[2]]) == CONTRACT_KEYS
    assert results[urls[3]] is None and results[urls[4]] is None


def test_batch_of_more_than_100_urls_is_refused(client):
    urls = [f"https://news.example/{i}" for i in range(101)]
    r = client.post("/api/v1/summaries/lookup", json={"urls": urls})
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "urls"
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_batch_body_must_be_json_with_urls(client):
    assert client.post("/api/v1/summaries/lookup", data="x").status_code == 415
    assert client.post("/api/v1/summaries/lookup", json={"url": "x"}).status_code == 422
    assert client.post("/api/v1/summaries/lookup", json={"urls": "x"}).status_code == 422


def test_answers_are_cacheable_and_if_none_match_gives_304(client, known, db):
    known()
    r = get(client, "https://s.test/Arbres")
    assert r.headers["Cache-Control"] == "public, max-age=300"
    etag = r.headers["ETag"]
    assert etag.startswith('"')
    first_etag = etag
    again = get(client, "s.test/arbres/", **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Access-Control-Allow-Origin"] == "*"

    batch = {"urls": [TARGET, "https://x.example/"]}
    r = client.post("/api/v1/summaries/lookup", json=batch)
    etag = r.headers["ETag"]
    assert r.headers["Cache-Control"] == "public, max-age=300"
    again = client.post("/api/v1/summaries/lookup", json=batch, headers={"If-None-Match": etag})
    assert again.status_code == 304

    with db.begin() as conn:  # the summary changes: so does the ETag
        found = links.get_link_by_slug(conn, "Arbres")
        summaries.save_summary(conn, found, SUMMARY | {"teaser": "Changé."})
    changed = get(client, "https://s.test/Arbres", **{"If-None-Match": first_etag})
    assert changed.status_code == 200
    assert changed.get_json()["teaser"] == "Changé."


def test_cors_allows_any_origin_and_preflight(client, known):
    known()
    r = get(client, TARGET, Origin="https://news.example")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in r.headers["Access-Control-Expose-Headers"]
    pre = client.options(
        "/api/v1/summaries/lookup",
        headers={
            "Origin": "https://news.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status_code in (200, 204)
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in pre.headers["Access-Control-Allow-Headers"]


def test_no_api_key_is_needed_and_a_bad_one_is_ignored(client, known):
    known()
    r = get(client, TARGET, Authorization="Bearer blz_wrong")
    assert r.status_code == 200


def test_each_visitor_counts_one_preview_view_per_link_and_day(client, known, db):
    first = known()
    second = known(slug="post", url="https://blog.example/post")
    get(client, TARGET)
    get(client, "https://s.test/Arbres+")
    get(client, "https://unknown.example/")
    client.post(
        "/api/v1/summaries/lookup",
        json={"urls": [TARGET, "s.test/Arbres", "https://blog.example/post", "https://x.test/"]},
    )
    assert preview_views(db) == {first.id: 1, second.id: 1}  # see test_preview_views.py


def test_a_prefetch_batch_counts_no_preview_view(client, known, db):
    known()
    r = client.post("/api/v1/summaries/lookup", json={"urls": [TARGET], "prefetch": True})
    assert r.status_code == 200 and r.get_json()["results"][TARGET] is not None
    assert preview_views(db) == {}


def test_an_etag_weakened_by_a_gzip_proxy_still_gives_304(client, known):
    known()
    etag = get(client, TARGET).headers["ETag"]
    again = get(client, TARGET, **{"If-None-Match": f"W/{etag}"})
    assert again.status_code == 304


def seen(client, token, **headers):
    return client.post("/api/v1/summaries/seen", json={"token": token}, headers=headers)


def test_a_card_shown_counts_one_preview_view_through_its_seen_token(client, known, db):
    first = known()
    second = known(slug="post", url="https://blog.example/post")
    urls = [TARGET, "https://blog.example/post", "https://unknown.example/"]
    r = client.post("/api/v1/summaries/lookup", json={"urls": urls, "prefetch": True})
    results = r.get_json()["results"]
    assert preview_views(db) == {}, "asking ahead counts nothing"

    shown = seen(client, results[TARGET]["seen_token"], Origin="chrome-extension://abc")
    assert shown.status_code == 204
    assert shown.headers["Access-Control-Allow-Origin"] == "*"
    assert preview_views(db) == {first.id: 1}
    assert seen(client, results[urls[1]]["seen_token"]).status_code == 204
    assert preview_views(db) == {first.id: 1, second.id: 1}


def test_the_seen_report_carries_nothing_but_the_token(client):
    r = client.post("/api/v1/summaries/seen", json={"token": "x", "url": "https://page.example/"})
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    pre = client.options(
        "/api/v1/summaries/seen",
        headers={"Origin": "moz-extension://x", "Access-Control-Request-Method": "POST"},
    )
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    "token",
    [
        "Arbres.123456",
        "Arbres.999999.forged-signature",
        "not a token at all",
        "x" * 201,
    ],
)
def test_a_forged_or_malformed_seen_token_is_refused_and_counts_nothing(client, known, db, token):
    known()
    r = seen(client, token)
    assert r.status_code in (400, 422)
    assert r.mimetype == "application/problem+json"
    assert preview_views(db) == {}


def test_an_expired_seen_token_is_refused(app, client, known, db):
    known()
    tokens = SeenTokens(app.config["SECRET_KEY"])
    old = tokens.sign("Arbres", datetime.now(timezone.utc) - timedelta(hours=5))
    r = seen(client, old)
    assert r.status_code == 400
    assert "expired" in r.get_json()["detail"]
    recent = tokens.sign("Arbres", datetime.now(timezone.utc) - timedelta(hours=2))
    assert seen(client, recent).status_code == 204
    assert len(preview_views(db)) == 1


def test_a_seen_token_of_a_link_since_disabled_counts_nothing(client, known, db):
    link = known()
    token = get(client, TARGET).get_json()["seen_token"]
    before = preview_views(db)
    with db.begin() as conn:
        links.update_link(conn, link, {"disabled": True}, base_url="https://s.test")
    assert seen(client, token).status_code == 204
    assert preview_views(db) == before


def test_the_openapi_document_describes_the_seen_report(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    report = doc["paths"]["/api/v1/summaries/seen"]["post"]
    assert {"204", "400", "422"} <= set(report["responses"])
    ref = report["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["required"] == ["token"]
    answer = doc["components"]["schemas"]["LookedUpSummary"]
    assert "seen_token" in answer["required"]
