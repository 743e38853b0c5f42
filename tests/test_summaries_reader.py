"""The summary on the reader and preview pages, and the social cards crawlers unfurl."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import extruct
import pytest

from balise.summaries import store as summaries

HOSTILE = '</p><script>alert(1)</script><img src=x onerror="alert(2)">'
FRENCH = {
    "lang": "fr",
    "title": "La ville plante 10 000 arbres",
    "teaser": "La mairie lance le plus grand plan de plantation de son histoire.",
    "recap": "La mairie plantera 10 000 arbres d'ici 2030.\n\nLe budget est de 12 M€.",
    "neutral": "Les villes voisines ont des plans semblables.",
    "example": "Comme un jardin partagé, mais à l'échelle d'une ville.",
    "optimistic": "Plus d'ombre l'été.",
    "pessimistic": "L'entretien coûtera cher.",
}
CRAWLERS = {
    "facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "x": "Twitterbot/1.0",
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "discord": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "linkedin": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "whatsapp": "WhatsApp/2.23.20.0 A",
}
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)


class MetaTags(HTMLParser):
    """Every <meta name=...> of a page, as the stdlib parser reads it (Twitter cards)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.names: dict[str, str] = {}
        self.canonical: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and "name" in a:
            self.names.setdefault(a["name"], a.get("content"))
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href")


def opengraph(html: str) -> dict[str, str]:
    """og:* properties read by extruct, a real Open Graph parser."""
    (found,) = extruct.extract(html, syntaxes=["opengraph"], uniform=False)["opengraph"]
    return dict(found["properties"])


def summary_html(html: str) -> str:
    match = re.search(r'<article class="summary".*?</article>', html, re.S)
    assert match, "no summary on the page"
    return match.group(0)


@pytest.fixture
def with_summary(db, make_link):
    def make(content=FRENCH, **link_values):
        values = {"slug": "arbres", "url": "https://news.example/arbres?id=7"} | link_values
        link = make_link(**values)
        with db.begin() as conn:
            summaries.save_summary(conn, link, content)
        return link

    return make


def test_reader_page_shows_each_section_under_its_french_heading(client, with_summary):
    with_summary()
    r = client.get("/arbres")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Redirection dans 6 s" in html  # a summary to read: the reading time
    body = summary_html(html)
    assert html.index("Redirection dans 6 s") < html.index(body)
    headings = re.findall(r"<h2>(.*?)</h2>", body)
    assert headings == [
        "Récapitulatif factuel",
        "Point de vue neutre",
        "Exemple",
        "Point de vue optimiste",
        "Point de vue pessimiste",
        "Article en référence",
    ]
    assert '<p class="teaser">La mairie lance' in body
    assert "<p>La mairie plantera 10 000 arbres d&#39;ici 2030.</p>" in body
    assert "<p>Le budget est de 12 M€.</p>" in body
    assert 'href="https://news.example/arbres?id=7"' in body.split("Article en référence")[1]
    assert '<h1 lang="fr">La ville plante 10 000 arbres</h1>' in html


def test_english_summary_gets_english_headings_and_page(client, with_summary):
    with_summary(FRENCH | {"lang": "en", "title": "Trees"})
    html = client.get("/arbres", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert re.findall(r"<h2>(.*?)</h2>", summary_html(html))[0] == "Factual recap"
    assert "Source article" in html
    assert '<html lang="en">' in html  # the summary's language when the link names none


def test_sections_left_out_are_not_shown(client, with_summary):
    with_summary({"title": "Titre", "teaser": "Accroche.", "optimistic": "Bien."})
    body = summary_html(client.get("/arbres").get_data(as_text=True))
    assert re.findall(r"<h2>(.*?)</h2>", body) == ["Point de vue optimiste", "Article en référence"]


def test_hostile_summary_text_is_shown_as_text(client, with_summary):
    hostile = {k: v + HOSTILE for k, v in FRENCH.items() if k != "lang"}
    with_summary(hostile | {"lang": "fr"})
    for path in ("/arbres", "/arbres+"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert html.count("<script>") <= 1  # only the page's own redirect script
        og = opengraph(html)
        assert og["og:description"].endswith(HOSTILE)  # the card carries it as text


def test_preview_page_shows_the_summary_without_redirecting(client, with_summary):
    with_summary()
    html = client.get("/arbres+").get_data(as_text=True)
    assert "Récapitulatif factuel" in html
    assert 'http-equiv="refresh"' not in html
    assert opengraph(html)["og:title"] == FRENCH["title"]


def test_social_cards_carry_the_summary(client, with_summary):
    with_summary()
    html = client.get("/arbres").get_data(as_text=True)
    og = opengraph(html)
    assert og == {
        "og:type": "article",
        "og:title": FRENCH["title"],
        "og:url": "https://s.test/arbres",
        "og:site_name": "Balise",
        "og:locale": "fr_FR",
        "og:description": FRENCH["teaser"],
    }
    meta = MetaTags(html)
    assert meta.names["twitter:card"] == "summary"
    assert meta.names["twitter:title"] == FRENCH["title"]
    assert meta.names["twitter:description"] == FRENCH["teaser"]
    assert meta.canonical == "https://news.example/arbres?id=7"


def test_an_image_makes_a_large_card(client, with_summary):
    with_summary(FRENCH | {"lang": "en", "image_url": "https://news.example/a.jpg"})
    html = client.get("/arbres").get_data(as_text=True)
    og = opengraph(html)
    assert og["og:image"] == "https://news.example/a.jpg"
    assert og["og:locale"] == "en_US"
    assert MetaTags(html).names["twitter:card"] == "summary_large_image"
    assert MetaTags(html).names["twitter:image"] == "https://news.example/a.jpg"


def test_link_without_summary_still_has_a_plain_card(client, make_link):
    make_link(slug="nosum", url="https://news.example/x", title="Un lien")
    html = client.get("/nosum").get_data(as_text=True)
    og = opengraph(html)
    assert og["og:title"] == "Un lien" and og["og:url"] == "https://s.test/nosum"
    assert "og:description" not in og
    assert 'class="summary"' not in html


@pytest.mark.parametrize("crawler", sorted(CRAWLERS))
def test_crawlers_get_the_same_page_as_browsers(client, with_summary, crawler):
    with_summary(FRENCH | {"image_url": "https://news.example/a.jpg"})
    seen = client.get("/arbres", headers={"User-Agent": BROWSER})
    bot = client.get("/arbres", headers={"User-Agent": CRAWLERS[crawler]})
    assert bot.status_code == seen.status_code == 200
    bot_html, seen_html = bot.get_data(as_text=True), seen.get_data(as_text=True)
    assert opengraph(bot_html) == opengraph(seen_html)
    assert opengraph(bot_html)["og:description"] == FRENCH["teaser"]
    assert MetaTags(bot_html).names == MetaTags(seen_html).names
    assert summary_html(bot_html) == summary_html(seen_html)
    assert bot.headers["Content-Language"] == seen.headers["Content-Language"] == "fr"


@pytest.mark.parametrize(
    ("reading_delay", "redirect_delay", "has_summary", "expected"),
    [
        (True, None, True, 6),  # BALISE_SUMMARY_REDIRECT_DELAY
        (True, 9, True, 9),  # a longer delay of the link's own wins
        (True, None, False, 0),  # nothing to read
        (False, None, True, 6),  # a summary to read: its reading time by default
        (False, 0, True, 0),  # the marketer's own delay wins
        (False, 2, True, 2),
    ],
)
def test_reading_delay_waits_longer_when_there_is_a_summary(
    client, make_link, db, reading_delay, redirect_delay, has_summary, expected
):
    link = make_link(slug="lent", reading_delay=reading_delay, redirect_delay=redirect_delay)
    if has_summary:
        with db.begin() as conn:
            summaries.save_summary(conn, link, FRENCH)
    html = client.get("/lent").get_data(as_text=True)
    assert f'<noscript><meta http-equiv="refresh" content="{expected};url=' in html
    assert f'data-delay="{expected}"' in html
    assert 'id="go" href="https://example.org/article"' in html  # click through at once


def test_summary_redirect_delay_setting_is_used(settings, make_link, db):
    from balise import create_app

    link = make_link(slug="lent", reading_delay=True)
    with db.begin() as conn:
        summaries.save_summary(conn, link, FRENCH)
    app = create_app(settings | {"SUMMARY_REDIRECT_DELAY": 15})
    try:
        html = app.test_client().get("/lent").get_data(as_text=True)
    finally:
        app.extensions["balise"].shutdown()
    assert 'content="15;url=' in html
