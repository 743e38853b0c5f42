"""Cards for every link: the target page's own og: tags, fetched in the background, serve the
social cards of a link without a summary; a summary replaces them."""

from __future__ import annotations

import time

import pytest

from balise import create_app
from tests.agents import UNFURLERS
from tests.local_servers import page, serving
from tests.test_summaries_reader import FRENCH, opengraph

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Plain title</title>
<meta property="og:title" content="Ten thousand trees by 2030">
<meta property="og:description" content="The city's biggest planting plan in its history.">
<meta property="og:image" content="/img/trees.jpg">
<meta property="og:site_name" content="City News">
</head><body><p>Article.</p></body></html>"""
AGENTS = ("facebookexternalhit/1.1", "Twitterbot/1.0")


@pytest.fixture
def card_client(settings):
    """An app that fetches cards, allowed to reach the local test server."""
    app = create_app(settings | {"FETCH_METADATA": True, "FETCH_ALLOW_PRIVATE": True})
    yield app.test_client()
    app.extensions["balise"].shutdown()


def tags_when(client, slug: str, agent: str, ready, seconds: float = 15.0) -> dict[str, str]:
    """The reader page's og: tags as `agent` sees them, once `ready(tags)` (bounded wait)."""
    deadline = time.monotonic() + seconds
    while True:
        r = client.get(f"/{slug}", headers={"User-Agent": agent})
        assert r.status_code == 200
        tags = opengraph(r.get_data(as_text=True))
        if ready(tags) or time.monotonic() > deadline:
            return tags
        time.sleep(0.2)


def test_a_link_without_summary_gets_the_pages_own_card_then_its_summary_wins(
    card_client, editor_headers
):
    with serving({"/article": page(ARTICLE)}) as site:
        body = {"url": site.url + "/article", "slug": "arbres"}
        assert (
            card_client.post("/api/v1/links", json=body, headers=editor_headers).status_code == 201
        )
        for agent in AGENTS:
            tags = tags_when(card_client, "arbres", agent, lambda t: "og:description" in t)
            assert tags["og:title"] == "Ten thousand trees by 2030"
            assert tags["og:description"] == "The city's biggest planting plan in its history."
            assert tags["og:image"] == site.url + "/img/trees.jpg"
            assert tags["og:site_name"] == "City News"
        twitter = card_client.get("/arbres", headers={"User-Agent": AGENTS[1]}).text
        assert '<meta name="twitter:card" content="summary_large_image">' in twitter
        assert '<meta name="twitter:title" content="Ten thousand trees by 2030">' in twitter
        put = card_client.put("/api/v1/links/arbres/summary", json=FRENCH, headers=editor_headers)
        assert put.status_code == 201
        for agent in AGENTS:
            tags = opengraph(card_client.get("/arbres", headers={"User-Agent": agent}).text)
            assert tags["og:title"] == FRENCH["title"]
            assert tags["og:description"] == FRENCH["teaser"]
            assert "og:image" not in tags  # the summary has none; the page's is not mixed in


def test_the_dashboard_names_the_link_by_the_pages_title(
    card_client, editor_headers, dashboard, make_user
):
    with serving({"/article": page(ARTICLE)}) as site:
        body = {"url": site.url + "/article", "slug": "untitled"}
        card_client.post("/api/v1/links", json=body, headers=editor_headers)
        tags_when(card_client, "untitled", UNFURLERS["Twitterbot"], lambda t: "og:description" in t)
    make_user(email="ed@example.org", role="editor", lang="en")
    dashboard.login("ed@example.org")
    html = dashboard.get("/dashboard/links/untitled").text
    assert '<h1 class="break">Ten thousand trees by 2030</h1>' in html
    assert "Ten thousand trees by 2030" in dashboard.get("/dashboard/links").text


def test_a_page_that_cannot_be_fetched_leaves_a_working_link_and_a_reason(
    settings, editor_headers, dashboard, make_user
):
    # Private addresses refused (the default): the local server is out of bounds.
    app = create_app(settings | {"FETCH_METADATA": True})
    client = app.test_client()
    try:
        with serving({"/article": page(ARTICLE)}) as site:
            body = {"url": site.url + "/article", "slug": "prive"}
            assert (
                client.post("/api/v1/links", json=body, headers=editor_headers).status_code == 201
            )
            deadline = time.monotonic() + 15
            make_user(email="ed@example.org", role="editor", lang="fr")
            dashboard.login("ed@example.org")
            while True:
                html = dashboard.get("/dashboard/links/prive").text
                if "Non récupérée." not in html or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert "Ce serveur ne peut pas récupérer la page à cette adresse" in html
            for internal in ("127.0.0.1 resolves", "loopback", "BALISE_", "Errno"):
                assert internal not in html
            r = client.get("/prive", headers={"User-Agent": AGENTS[0]})
            assert r.status_code == 200
            assert "og:description" not in opengraph(r.text)
    finally:
        app.extensions["balise"].shutdown()
