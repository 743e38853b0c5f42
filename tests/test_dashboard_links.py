"""Dashboard link pages: list, search, sort, pages, create, edit, disable, delete, roles."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from balise.db.counters import increment_hourly
from balise.db.tables import links as links_table
from balise.links import store as links
from tests.conftest import DashboardClient

FULL_FORM = {
    "url": "https://example.org/articles/1",
    "slug": "promo",
    "title": "Une promo",
    "tags": "presse, mars , presse",
    "lang": "en",
    "redirect_delay": "3",
    "reading_delay": "1",
    "expires_at": "2030-06-01T12:30",
    "max_clicks": "500",
}


errors_of = DashboardClient.field_errors


def stored(db, slug):
    with db.connect() as conn:
        return links.get_link_by_slug(conn, slug)


def add_clicks(db, link, n):
    with db.begin() as conn:
        increment_hourly(
            conn, [{"link_id": link.id, "hour": datetime.now(timezone.utc), "clicks": n}]
        )


def test_editor_creates_a_link_with_every_field(editor, db):
    editor.client.set_cookie("balise_tz", "Europe/Paris", path="/")
    r = editor.post("/dashboard/links/new", FULL_FORM)
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/links/promo"
    link = stored(db, "promo")
    assert link.url == "https://example.org/articles/1"
    assert (link.title, link.tags, link.lang) == ("Une promo", ("mars", "presse"), "en")
    assert (link.redirect_delay, link.reading_delay, link.max_clicks) == (3, True, 500)
    assert link.expires_at == datetime(2030, 6, 1, 10, 30, tzinfo=timezone.utc)  # Paris, summer
    assert link.disabled is False
    with db.connect() as conn:
        owner = conn.execute(select(links_table.c.user_id)).scalar_one()
    assert owner is not None
    page = editor.get("/dashboard/links/promo").get_data(as_text=True)
    assert "https://s.test/promo" in page
    assert "Lien promo créé." in page


def test_invalid_fields_are_shown_beside_each_field_and_nothing_is_stored(editor, db):
    r = editor.post(
        "/dashboard/links/new",
        {
            "url": "javascript:alert(1)",
            "slug": "dashboard",
            "redirect_delay": "eleven",
            "max_clicks": "0",
            "expires_at": "tomorrow",
            "title": "x" * 301,
        },
    )
    assert r.status_code == 422
    errors = errors_of(r)
    assert set(errors) == {"url", "slug", "redirect_delay", "max_clicks", "expires_at", "title"}
    assert errors["url"] == "Doit être une URL complète en http:// ou https://"
    assert errors["slug"] == "« dashboard » est réservé par Balise"
    assert errors["redirect_delay"] == "Indiquez un nombre entier"
    assert errors["max_clicks"] == "Doit être au moins 1"
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    assert 'value="javascript:alert(1)"' in r.get_data(as_text=True)  # kept for correction
    with db.connect() as conn:
        assert conn.execute(select(links_table.c.id)).first() is None


def test_the_form_refuses_what_the_api_refuses(editor, client, editor_headers):
    for body in [
        {"url": "https://example.org", "redirect_delay": "11"},
        {"url": "https://s.test/loop"},
        {"url": "https://example.org", "tags": ",".join(f"t{i}" for i in range(21))},
        {"url": "https://example.org", "tags": "x" * 51},
        {"url": "https://exa mple.org\u200b/"},
    ]:
        assert editor.post("/dashboard/links/new", body).status_code == 422, body
        api_body = dict(body)
        if "redirect_delay" in api_body:
            api_body["redirect_delay"] = int(api_body["redirect_delay"])
        if "tags" in api_body:
            api_body["tags"] = api_body["tags"].split(",")
        r = client.post("/api/v1/links", json=api_body, headers=editor_headers)
        assert r.status_code == 422, body


def test_a_taken_slug_is_reported_beside_the_slug(editor, make_link):
    make_link(slug="Taken")
    r = editor.post("/dashboard/links/new", {"url": "https://example.org", "slug": "taken"})
    assert r.status_code == 422
    assert errors_of(r) == {"slug": "Le slug « taken » est déjà pris."}


def test_editing_changes_and_clears_fields(editor, make_link, db):
    make_link(slug="edit-me", title="Old", tags=["a"], max_clicks=9, redirect_delay=4)
    page = editor.get("/dashboard/links/edit-me/edit").get_data(as_text=True)
    assert 'value="Old"' in page and 'value="9"' in page
    r = editor.post(
        "/dashboard/links/edit-me/edit",
        {
            "url": "https://example.org/new",
            "title": "",
            "tags": "b",
            "max_clicks": "",
            "disabled": "1",
        },
    )
    assert r.status_code == 302
    link = stored(db, "edit-me")
    assert (link.url, link.title, link.tags, link.max_clicks) == (
        "https://example.org/new",
        None,
        ("b",),
        None,
    )
    assert link.redirect_delay is None and link.disabled is True


def test_editing_with_a_bad_target_keeps_the_old_one(editor, make_link, db):
    make_link(slug="keep", url="https://example.org/ok")
    r = editor.post("/dashboard/links/keep/edit", {"url": "ftp://example.org/"})
    assert r.status_code == 422 and "url" in errors_of(r)
    r = editor.post("/dashboard/links/keep/edit", {"url": ""})
    assert errors_of(r) == {"url": "Ce champ est obligatoire"}
    assert stored(db, "keep").url == "https://example.org/ok"


def test_disable_and_enable(editor, make_link, db, client):
    make_link(slug="toggle")
    assert editor.post("/dashboard/links/toggle/state", {"disabled": "1"}).status_code == 302
    assert stored(db, "toggle").disabled is True
    assert client.get("/toggle").status_code == 410
    editor.post("/dashboard/links/toggle/state", {"disabled": "0"})
    assert stored(db, "toggle").disabled is False
    assert editor.post("/dashboard/links/toggle/state", {"disabled": "maybe"}).status_code == 400


def test_delete_asks_for_confirmation_first(editor, make_link, db):
    make_link(slug="bye")
    page = editor.get("/dashboard/links/bye/delete")
    assert page.status_code == 200 and "Supprimer le lien bye ?" in page.get_data(as_text=True)
    assert stored(db, "bye") is not None
    r = editor.post("/dashboard/links/bye/delete")
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/links"
    assert stored(db, "bye") is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/dashboard/links/new"),
        ("post", "/dashboard/links/new"),
        ("get", "/dashboard/links/readonly/edit"),
        ("post", "/dashboard/links/readonly/edit"),
        ("post", "/dashboard/links/readonly/state"),
        ("get", "/dashboard/links/readonly/delete"),
        ("post", "/dashboard/links/readonly/delete"),
    ],
)
def test_a_viewer_cannot_change_links(viewer, make_link, db, method, path):
    make_link(slug="readonly", title="Read only")
    data = {"url": "https://example.org/x", "disabled": "1"}
    r = viewer.post(path, data) if method == "post" else viewer.get(path)
    assert r.status_code == 403
    assert "Accès refusé" in r.get_data(as_text=True)
    link = stored(db, "readonly")
    assert (link.title, link.disabled, link.url) == (
        "Read only",
        False,
        "https://example.org/article",
    )


def test_a_viewer_reads_the_list_and_a_link_without_edit_buttons(viewer, make_link):
    make_link(slug="seen", title="Visible")
    page = viewer.get("/dashboard/links").get_data(as_text=True)
    assert "Visible" in page and "/dashboard/links/new" not in page
    page = viewer.get("/dashboard/links/seen").get_data(as_text=True)
    assert "/dashboard/links/seen/edit" not in page and "/dashboard/links/seen/delete" not in page


def _titles(response) -> list[str]:
    return re.findall(r'class="title" href="[^"]+">([^<]+)</a>', response.get_data(as_text=True))


def test_list_searches_filters_by_tag_and_pages_with_cursors(viewer, make_link):
    for i in range(30):
        make_link(
            url=f"https://example.org/{i}", title=f"Article {i:02d}", tags=["odd"] if i % 2 else []
        )
    r = viewer.get("/dashboard/links")
    assert _titles(r) == [f"Article {i:02d}" for i in range(29, 4, -1)]
    cursor = re.search(r'rel="next" href="[^"]*cursor=([^"&]+)', r.get_data(as_text=True)).group(1)
    r = viewer.get(f"/dashboard/links?cursor={cursor}")
    assert _titles(r) == [f"Article {i:02d}" for i in range(4, -1, -1)]
    assert 'rel="next"' not in r.get_data(as_text=True)
    assert _titles(viewer.get("/dashboard/links?q=article%2007")) == ["Article 07"]
    assert len(_titles(viewer.get("/dashboard/links?tag=odd"))) == 15
    assert "odd (15)" in viewer.get("/dashboard/links").get_data(as_text=True)


def test_list_sorts_by_clicks_across_pages(viewer, make_link, db):
    made = [make_link(url=f"https://example.org/{i}", title=f"L{i}") for i in range(30)]
    for i, link in enumerate(made):
        add_clicks(db, link, (i * 7) % 11)  # ties included
    expected = [
        link.title for link in sorted(made, key=lambda x: (-((made.index(x) * 7) % 11), -x.id))
    ]
    r = viewer.get("/dashboard/links?sort=clicks")
    first = _titles(r)
    cursor = re.search(r'rel="next" href="[^"]*cursor=([^"&]+)', r.get_data(as_text=True)).group(1)
    second = _titles(viewer.get(f"/dashboard/links?sort=clicks&cursor={cursor}"))
    assert first + second == expected


@pytest.mark.parametrize("raw", [b"nope", b"99999999999999999999999", b"-5", b"1:2:3"])
def test_a_forged_cursor_is_a_400_page(viewer, raw):
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for sort in ("newest", "clicks"):
        assert viewer.get(f"/dashboard/links?sort={sort}&cursor={cursor}").status_code == 400


def test_unknown_link_is_a_dashboard_404(viewer):
    r = viewer.get("/dashboard/links/nothing-here")
    assert r.status_code == 404
    assert "Introuvable" in r.get_data(as_text=True)


def test_hostile_titles_and_targets_are_escaped(editor, make_link):
    make_link(slug="xss", title='<script>alert("t")</script>', url='https://e.org/"><svg onload=x>')
    for path in ("/dashboard/links", "/dashboard/links/xss", "/dashboard/links/xss/edit"):
        page = editor.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<svg onload" not in page, path
        assert "&lt;script&gt;" in page
