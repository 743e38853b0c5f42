"""The public look-up for links without a summary: the target page's own card (issue 12, item 3).

The card is stored as the background fetcher stores it (cards.save_card); the look-up answers
its title and description as `origin: "page"`, never sections, and a summary always wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, insert, select

from balise.db.tables import hourly_counts
from balise.summaries import cards
from balise.summaries import lookup as summary_lookup
from balise.summaries import store as summaries
from balise.summaries.article import PageMeta

TARGET = "https://news.example/2026/arbres"
META = PageMeta(
    title="Dix mille arbres pour la ville",
    description="La mairie lance le plus grand plan de plantation de son histoire.",
    image="https://news.example/arbres.jpg",
    site_name="News",
    lang="fr",
)
SUMMARY = {"lang": "fr", "title": "Le résumé", "teaser": "Écrit par l'équipe.", "recap": "Faits."}
PAGE_KEYS = {
    "slug",
    "short_url",
    "target_url",
    "lang",
    "title",
    "teaser",
    "origin",
    "updated_at",
    "seen_token",
}


@pytest.fixture
def carded(db, make_link):
    """A link whose target page's card was fetched (and, optionally, a summary)."""

    def make(slug="Arbres", url=TARGET, meta=META, summary=None, card_url=None, **values):
        link = make_link(slug=slug, url=url, **values)
        with db.begin() as conn:
            error = None if meta else "unreachable"
            cards.save_card(conn, link.id, card_url or link.url, meta, error)
            if summary:
                summaries.save_summary(conn, link, summary)
        return link

    return make


def get(client, url):
    return client.get("/api/v1/summaries", query_string={"url": url})


def batch(client, urls, **extra):
    r = client.post("/api/v1/summaries/lookup", json={"urls": urls, **extra})
    assert r.status_code == 200
    return r.get_json()["results"]


def preview_views(db) -> dict[int, int]:
    with db.connect() as conn:
        rows = conn.execute(select(hourly_counts.c.link_id, hourly_counts.c.preview_views))
        return {r.link_id: r.preview_views for r in rows}


def test_a_link_without_summary_answers_its_page_card(client, carded):
    carded()
    for url in ("https://s.test/Arbres", "s.test/arbres+", TARGET + "?utm_source=x"):
        r = get(client, url)
        assert r.status_code == 200, url
        body = r.get_json()
        assert set(body) == PAGE_KEYS
        assert body["origin"] == "page"
        assert body["title"] == META.title
        assert body["teaser"] == META.description
        assert body["lang"] == "fr"
        assert body["slug"] == "Arbres"
        assert body["short_url"] == "https://s.test/Arbres"
        assert body["target_url"] == TARGET
        assert r.headers["Cache-Control"] == "public, max-age=300"
        assert r.headers["Access-Control-Allow-Origin"] == "*"
    results = batch(client, [TARGET, "https://unknown.example/"])
    assert results[TARGET]["origin"] == "page"
    assert results[TARGET]["teaser"] == META.description
    assert results["https://unknown.example/"] is None


def test_the_links_own_title_wins_over_the_pages_as_on_social_cards(client, carded):
    carded(title="Notre titre", meta=PageMeta(None, "Une description.", None, None, None))
    body = get(client, TARGET).get_json()
    assert (body["title"], body["teaser"], body["lang"]) == (
        "Notre titre",
        "Une description.",
        None,
    )


def test_a_stored_summary_wins_over_the_page_card(client, carded):
    carded(summary=SUMMARY)
    body = get(client, "https://s.test/Arbres").get_json()
    assert body["origin"] == "author"
    assert (body["title"], body["teaser"], body["recap"]) == (
        "Le résumé",
        "Écrit par l'équipe.",
        "Faits.",
    )


def test_a_summarised_link_wins_over_a_newer_carded_link_to_the_same_article(client, carded):
    carded(slug="resume", summary=SUMMARY)
    carded(slug="carte")
    assert get(client, TARGET).get_json()["slug"] == "resume"
    assert get(client, "https://s.test/carte").get_json()["origin"] == "page"


@pytest.mark.parametrize(
    "card",
    [
        {"meta": None},  # the fetch failed
        {"meta": PageMeta("Un titre", None, None, None, "fr")},  # no description to show
        {"card_url": "https://news.example/ancienne-cible"},  # fetched for the old target
    ],
    ids=["failed", "no-description", "old-target"],
)
def test_no_usable_card_and_no_summary_answers_404_or_null(client, carded, card):
    carded(**card)
    assert get(client, "https://s.test/Arbres").status_code == 404
    assert get(client, TARGET).status_code == 404
    assert batch(client, [TARGET]) == {TARGET: None}


def test_no_card_and_no_summary_answers_404_or_null(client, make_link):
    make_link(slug="bare", url=TARGET)
    assert get(client, "https://s.test/bare").status_code == 404
    assert batch(client, ["s.test/bare"]) == {"s.test/bare": None}


@pytest.mark.parametrize(
    "values",
    [
        {"disabled": True},
        {"expires_at": datetime.now(timezone.utc) - timedelta(minutes=1)},
        {"max_clicks": 2, "clicks": 2},
    ],
    ids=["disabled", "expired", "used-up"],
)
def test_disabled_expired_or_used_up_links_never_answer_their_card(client, carded, db, values):
    values = dict(values)  # the parameters are shared by the SQLite and PostgreSQL runs
    clicks = values.pop("clicks", 0)
    link = carded(**values)
    if clicks:
        with db.begin() as conn:
            hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
            conn.execute(insert(hourly_counts).values(link_id=link.id, hour=hour, clicks=clicks))
    assert get(client, "https://s.test/Arbres").status_code == 404
    assert batch(client, [TARGET, "s.test/Arbres"]) == {TARGET: None, "s.test/Arbres": None}


def test_a_page_card_shown_counts_one_preview_view_through_its_seen_token(client, carded, db):
    link = carded()
    results = batch(client, [TARGET], prefetch=True)
    assert preview_views(db) == {}
    r = client.post("/api/v1/summaries/seen", json={"token": results[TARGET]["seen_token"]})
    assert r.status_code == 204
    assert preview_views(db) == {link.id: 1}
    get(client, TARGET)  # an answered look-up counts once per visitor and day, as for summaries
    assert preview_views(db) == {link.id: 1}


def test_summaries_and_cards_of_many_links_come_in_one_query(db, carded):
    urls = []
    for i in range(12):
        url = f"https://news.example/{i}"
        carded(slug=f"lien{i}", url=url, summary=SUMMARY if i % 2 else None)
        urls += [url, f"s.test/lien{i}"]
    statements: list[str] = []

    def seen_statement(conn, cursor, statement, *args):
        statements.append(statement)

    with db.connect() as conn:
        event.listen(db, "before_cursor_execute", seen_statement)
        try:
            found = summary_lookup.lookup(conn, urls, base_url="https://s.test")
        finally:
            event.remove(db, "before_cursor_execute", seen_statement)
    assert len(statements) == 1
    origins = [(f.summary.origin if f.summary else "page") for f in found.values() if f]
    assert origins == [("author" if i % 2 else "page") for i in range(12) for _ in (0, 1)]


def test_the_openapi_document_describes_page_cards(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    page = next(v for k, v in doc["components"]["schemas"].items() if k.startswith("LookedUpPage"))
    assert page["properties"]["origin"]["const"] == "page"
    assert "recap" not in page["properties"]
