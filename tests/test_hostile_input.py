"""Hostile targets: refused when they are not plain http(s) URLs, escaped wherever they appear."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import render_template
from sqlalchemy import func, select

from balise.db.tables import links as links_table
from tests.test_reader import Page

REFUSED = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01https://example.org/",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.org/file",
    "mailto:someone@example.org",
    "//evil.example/path",
    "evil.example/path",
    "/relative/path",
    "https://",
    "http:///no-host",
    "https://user:secret@example.org/",
    "https://example.org@evil.example/",
    "https://example.org\x00.evil.example/",
    "https://example.org/\u202egpj.exe",
    "https://exa\u200bmple.org/",
    "https://example.org/\u00a0x",
    "https:\\\\evil.example\\path",
    "https://exa mple.org/",
    "https://[::1/",
    "http://example.org:99999/",
    "https://" + "a" * 4100 + ".example/",
    "https://example.org/" + "a" * 4090,
    123,
    None,
]


def count_links(db) -> int:
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(links_table)).scalar_one()


@pytest.mark.parametrize("url", REFUSED, ids=repr)
def test_hostile_targets_are_refused_with_422_and_nothing_is_stored(
    client, editor_headers, db, url
):
    r = client.post("/api/v1/links", json={"url": url}, headers=editor_headers)
    assert r.status_code == 422, r.get_json()
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["errors"][0]["field"] == "url"
    assert count_links(db) == 0


BREAKOUTS = [
    'https://example.org/"><script>alert(1)</script>',
    "https://example.org/'><img src=x onerror=alert(1)>",
    "https://example.org/?q=1;url=javascript:alert(1)",
    "https://example.org/</script><script>alert(1)</script>",
    "https://example.org/?a=1&b=<b>&c=\"'",
    'https://example.org/#");alert(1);//',
]


@pytest.mark.parametrize("url", BREAKOUTS, ids=repr)
def test_accepted_targets_cannot_break_out_of_the_reader_page(client, editor_headers, url):
    r = client.post("/api/v1/links", json={"url": url}, headers=editor_headers)
    assert r.status_code == 201
    stored = r.get_json()["url"]
    assert not set(stored) & set('"<> ')
    for path in (f"/{r.get_json()['slug']}", f"/{r.get_json()['slug']}+"):
        page = Page(client.get(path).get_data(as_text=True))
        assert [a["href"] for a in page.anchors] == [stored]
        assert "alert" not in " ".join(page.scripts)
    page = Page(client.get(f"/{r.get_json()['slug']}").get_data(as_text=True))
    assert page.refresh == f"0;url={stored}"
    assert len(page.scripts) == 2  # the beacon and the redirect, both Balise's own


RAW = [
    'https://x.example/"><script>alert(1)</script>',
    "https://x.example/'onmouseover='alert(1)",
    "https://x.example/</title><script>alert(1)</script>",
    "https://x.example/&quot;&#34;",
]


@pytest.mark.parametrize("url", RAW, ids=repr)
def test_templates_escape_the_target_even_without_validation(app, url):
    """Defence in depth: were validation ever bypassed, every context still escapes the target."""
    link = SimpleNamespace(url=url, title=url, slug="x", lang="fr")
    with app.test_request_context("/x"):
        for template in ("reader/reader.html", "reader/preview.html"):
            html = render_template(
                template,
                link=link,
                target=url,  # the reader page's chosen target (link controls)
                lang="fr",
                delay=0,
                host=url,
                short_url="https://s.test/x",
                beacon_token="token",
            )
            page = Page(html)
            assert len(page.scripts) == (2 if template == "reader/reader.html" else 0)
            assert "alert" not in " ".join(page.scripts)
            assert [a["href"] for a in page.anchors] == [url]
            canonical = [ln["href"] for ln in page.links if ln.get("rel") == "canonical"]
            assert canonical == [url]
            if template == "reader/reader.html":
                assert page.refresh == f"0;url={url}"
