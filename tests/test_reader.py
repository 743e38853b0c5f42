"""Reader pages as a browser (or curl) sees them: status, headers, and what the HTML says."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest


class Page(HTMLParser):
    """Collects what a reader would see and what a browser would act on."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.metas: list[dict[str, str]] = []
        self.links: list[dict[str, str]] = []
        self.anchors: list[dict[str, str]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self.lang = ""
        self._in: str | None = None
        self._anchor: dict[str, str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        elif tag == "meta":
            self.metas.append(a)
        elif tag == "link":
            self.links.append(a)
        elif tag == "a":
            self._anchor = a | {"text": ""}
            self.anchors.append(self._anchor)
        elif tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._in = None
        if tag == "a":
            self._anchor = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)
            if self._anchor is not None:
                self._anchor["text"] += data

    @property
    def refresh(self) -> str:
        return next(
            m["content"] for m in self.metas if m.get("http-equiv", "").lower() == "refresh"
        )

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def sha256_source(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def test_reader_page_redirects_with_meta_refresh_script_and_fallback(client, make_link):
    make_link(slug="article", url="https://example.org/news?id=7", title="Un titre", lang="fr")
    r = client.get("/article")
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    page = Page(r.get_data(as_text=True))
    assert page.lang == "fr"
    assert page.refresh == "0;url=https://example.org/news?id=7"
    assert "Redirection en cours..." in page.visible_text
    assert "Un titre" in page.visible_text
    fallback = [a for a in page.anchors if a["href"] == "https://example.org/news?id=7"]
    assert fallback and fallback[0]["text"] == (
        "Si vous n'êtes pas redirigé automatiquement, cliquez ici"
    )
    assert any("location.replace" in script for script in page.scripts)


def test_reader_page_headers_keep_it_private_uncached_and_locked_down(client, make_link):
    make_link(slug="headers")
    r = client.get("/headers")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Robots-Tag"] == "noindex"
    assert r.headers["Referrer-Policy"] == "strict-origin"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    page = Page(r.get_data(as_text=True))
    # The CSP allows exactly the page's own inline script and style, by hash.
    assert all(sha256_source(s) in csp for s in page.scripts)
    assert all(sha256_source(s) in csp for s in page.styles)


def test_the_links_delay_reaches_meta_refresh_and_script(client, make_link):
    make_link(slug="slowly", url="https://example.org/", redirect_delay=4)
    page = Page(client.get("/slowly").get_data(as_text=True))
    assert page.refresh == "4;url=https://example.org/"
    assert [a["data-delay"] for a in page.anchors if a.get("id") == "go"] == ["4"]


@pytest.mark.parametrize(
    ("link_lang", "accept", "expected_lang", "expected_text"),
    [
        ("en", "fr-FR,fr;q=0.9", "en", "If you are not redirected automatically, click here"),
        (None, "en-GB,en;q=0.8", "en", "Redirecting..."),
        (None, "de-DE", "fr", "Redirection en cours..."),
        (None, None, "fr", "Redirection en cours..."),
    ],
)
def test_language_comes_from_the_link_then_accept_language_then_french(
    client, make_link, link_lang, accept, expected_lang, expected_text
):
    make_link(slug="langue", lang=link_lang)
    headers = {"Accept-Language": accept} if accept else {}
    r = client.get("/langue", headers=headers)
    page = Page(r.get_data(as_text=True))
    assert page.lang == expected_lang
    assert r.headers["Content-Language"] == expected_lang
    assert expected_text in page.visible_text


def test_head_sends_the_same_headers_and_no_body(client, make_link):
    make_link(slug="heady")
    get, head = client.get("/heady"), client.head("/heady")
    assert head.status_code == 200
    assert head.get_data() == b""
    for name in ("Cache-Control", "X-Robots-Tag", "Referrer-Policy", "Content-Security-Policy"):
        assert head.headers[name] == get.headers[name]


def test_preview_page_shows_the_target_without_redirecting(client, make_link):
    make_link(slug="peek", url="https://example.org/deep/page", title="Titre")
    r = client.get("/peek+")
    assert r.status_code == 200
    page = Page(r.get_data(as_text=True))
    assert not [m for m in page.metas if m.get("http-equiv", "").lower() == "refresh"]
    assert page.scripts == []
    assert "https://example.org/deep/page" in page.visible_text
    assert "Titre" in page.visible_text
    assert r.headers["Cache-Control"] == "no-store"


def test_unknown_slug_answers_a_localised_404_page(client):
    r = client.get("/nope404", headers={"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert "Link not found" in Page(r.get_data(as_text=True)).visible_text
    r = client.get("/nope404")
    assert "Lien introuvable" in Page(r.get_data(as_text=True)).visible_text


def test_unknown_slug_answers_problem_json_to_api_clients(client):
    r = client.get("/nope404", headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["status"] == 404


def test_disabled_and_expired_links_answer_410(client, make_link):
    make_link(slug="off", disabled=True)
    make_link(slug="old", expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    for slug in ("off", "old", "off+"):
        r = client.get(f"/{slug}", headers={"Accept-Language": "fr"})
        assert r.status_code == 410
        assert "Lien indisponible" in Page(r.get_data(as_text=True)).visible_text
    r = client.get("/old", headers={"Accept": "application/json"})
    assert (r.status_code, r.mimetype) == (410, "application/problem+json")


def test_a_link_expiring_later_still_redirects(client, make_link):
    make_link(slug="later", expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
    assert client.get("/later").status_code == 200


def test_slugs_resolve_whatever_their_case(client, make_link):
    make_link(slug="CamelSlug", url="https://example.org/camel")
    page = Page(client.get("/camelslug").get_data(as_text=True))
    assert page.refresh.endswith("url=https://example.org/camel")


def test_reader_page_is_small(client, make_link):
    make_link(slug="small", title="T" * 300)
    assert len(client.get("/small").get_data()) < 8_000


def test_health_check_reports_the_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "database": "ok"}


def test_every_first_path_segment_the_app_uses_is_a_reserved_slug(app):
    from balise.links.store import RESERVED_SLUGS

    segments = {
        re.split(r"[/<]", rule.rule.lstrip("/"))[0]
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith("/<")
    }
    assert segments - {""} <= RESERVED_SLUGS


def test_a_slug_seen_unknown_works_as_soon_as_the_link_is_created(client, editor_headers):
    assert client.get("/soon-created").status_code == 404
    r = client.post(
        "/api/v1/links",
        json={"url": "https://example.org/", "slug": "soon-created"},
        headers=editor_headers,
    )
    assert r.status_code == 201
    assert client.get("/soon-created").status_code == 200


def test_an_edit_through_the_api_shows_on_the_next_request(client, editor_headers, make_link):
    make_link(slug="edited", url="https://example.org/old")
    assert "example.org/old" in Page(client.get("/edited").get_data(as_text=True)).refresh
    client.patch(
        "/api/v1/links/edited", json={"url": "https://example.org/new"}, headers=editor_headers
    )
    assert Page(client.get("/edited").get_data(as_text=True)).refresh.endswith("example.org/new")
    client.patch("/api/v1/links/edited", json={"disabled": True}, headers=editor_headers)
    assert client.get("/edited").status_code == 410


def test_a_waiting_page_counts_down_offers_to_stay_and_refreshes_only_without_scripts(
    client, make_link
):
    make_link(slug="attente", url="https://example.org/a", redirect_delay=6, lang="fr")
    html = client.get("/attente").get_data(as_text=True)
    page = Page(html)
    # The meta refresh sits in <noscript>: with scripts on, redirect.js redirects (and can stop).
    head = html[: html.index("</head>")]
    assert (
        '<noscript><meta http-equiv="refresh" content="6;url=https://example.org/a"></noscript>'
        in head
    )
    assert "Redirection dans 6 s" in page.visible_text
    assert 'id="stay" hidden>Rester sur cette page</button>' in html  # shown by the script
    assert 'data-tick="Redirection dans {n} s"' in html
    assert 'role="status" id="announce"' in html  # polite, filled by the script, not each second
    # The contract's fallback, countdown or not: it goes at once.
    assert [a["text"] for a in page.anchors if a.get("id") == "go"] == [
        "Si vous n'êtes pas redirigé automatiquement, cliquez ici"
    ]


def test_the_countdown_speaks_english_to_english_readers(client, make_link):
    make_link(slug="waiting", redirect_delay=3, lang="en")
    page = Page(client.get("/waiting").get_data(as_text=True))
    assert "Redirecting in 3 s" in page.visible_text
    assert "Stay on this page" in page.visible_text


def test_a_page_that_does_not_wait_has_no_countdown(client, make_link):
    make_link(slug="vite", redirect_delay=0)
    html = client.get("/vite").get_data(as_text=True)
    assert 'id="stay"' not in html
    assert "Redirection en cours..." in Page(html).visible_text
