"""The dashboard's CSV import, slug changes, duplication and link states, over plain HTTP."""

from __future__ import annotations

import html as entities
import io
import re
from datetime import datetime, timezone

from flask_babel import force_locale

from balise.db.counters import increment_hourly
from balise.links import controls, fields
from balise.links import store as links
from balise.links.controls import verify_password
from balise.web.dashboard import forms
from balise.web.dashboard import upload as upload_module
from balise.web.dashboard.labels import label
from tests.conftest import DashboardClient

errors_of = DashboardClient.field_errors
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}


def stored(db, slug):
    with db.connect() as conn:
        return links.get_link_by_slug(conn, slug)


def upload(editor, content: bytes, name: str = "links.csv"):
    return editor.post(
        "/dashboard/import",
        {"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def carried_rows(html: str) -> str:
    found = re.search(r'name="rows" value="([^"]*)"', html)
    assert found, "no confirm form"
    return entities.unescape(found.group(1))


CSV = (
    "\ufeffURL;slug;title;tags;max_clicks;expires_at\n"
    "https://example.org/a;spring-a;Printemps A;mail|spring;;2030-06-01T12:00+02:00\n"
    "javascript:alert(1);bad-one;;;;\n"
    "example.org/b;spring-b;;;0;\n"
    "https://example.org/c;spring-a;;;;\n"
    "https://example.org/d;taken;;;;\n"
    "\n"
    "https://example.org/e;;Sans slug;;;\n"
).encode()


def test_preview_shows_each_rows_errors_then_confirm_creates_the_valid_rows(editor, db, make_link):
    make_link(slug="Taken")
    r = upload(editor, CSV)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "2 lignes peuvent être créées." in html
    found = re.findall(r'<tr class="(valid|refused)" data-line="(\d+)"', html)
    states = {line: kind for kind, line in found}
    assert states == {
        "2": "valid",
        "3": "refused",
        "4": "refused",
        "5": "refused",
        "6": "refused",
        "8": "valid",
    }
    assert "Doit être une URL complète en http:// ou https://" in html
    assert "Une ligne précédente du fichier utilise déjà ce slug" in html
    assert "Le slug « taken » est déjà pris" in html
    assert stored(db, "spring-a") is None  # nothing before the confirmation

    r = editor.post("/dashboard/import", {"confirm": "1", "rows": carried_rows(html)})
    assert r.status_code == 200
    result = r.get_data(as_text=True)
    assert "2 liens créés." in result
    created = stored(db, "spring-a")
    assert created.title == "Printemps A" and created.tags == ("mail", "spring")
    assert created.expires_at == datetime(2030, 6, 1, 10, 0, tzinfo=timezone.utc)
    assert created.user_id is not None
    assert stored(db, "spring-b") is None and stored(db, "bad-one") is None
    assert len(re.findall(r'<tr class="created"', result)) == 2
    assert len(re.findall(r'<tr class="skipped"', result)) == 4
    listing = editor.get("/dashboard/links").get_data(as_text=True)
    assert "Printemps A" in listing and "Sans slug" in listing


def test_a_comma_separated_file_without_bom_and_english_pages(editor, db):
    editor.post("/dashboard/account", {"lang": "en", "timezone": "UTC"})
    content = b'url,slug,tags\nhttps://example.org/x,comma-x,"a, b"\n'
    html = upload(editor, content).get_data(as_text=True)
    r = editor.post("/dashboard/import", {"confirm": "1", "rows": carried_rows(html)})
    assert "1 link created." in r.get_data(as_text=True)
    assert stored(db, "comma-x").tags == ("a", "b")


def test_unreadable_files_are_refused_with_a_reason_and_create_nothing(editor, db):
    cases = [
        (b"slug;title\nabc;def\n", "« url »"),
        ("url;slug\nhttps://example.org/é;x1x\n".encode("latin-1"), "UTF-8"),
        (b"", "vide"),
        (b"url;colour\nhttps://example.org;red\n", "colour"),
        (b"url\n" + b"https://example.org/1\n" * 1001, "1000"),
        (b"url;slug\n", "aucune ligne"),
    ]
    for content, words in cases:
        r = upload(editor, content)
        assert r.status_code == 422, words
        problem = re.search(r'id="upload-problem">([^<]+)<', r.get_data(as_text=True))
        assert problem and words in problem.group(1), (words, problem and problem.group(1))
    r = editor.post("/dashboard/import", {}, content_type="multipart/form-data")
    assert r.status_code == 422


def test_import_needs_the_editor_role_and_a_csrf_token(viewer, client):
    assert viewer.get("/dashboard/import").status_code == 403
    r = client.post("/dashboard/import", data={"confirm": "1", "rows": "[]"})
    assert r.status_code in (302, 400)


def test_an_altered_confirmation_is_a_400_page(editor):
    altered = [
        "not json",
        "[]",
        '{"columns": ["url", "colour"], "rows": [[2, "https://a.example", "red"]]}',
        '{"columns": ["url"], "rows": [[2, "https://a.example", "extra"]]}',
        '{"columns": ["url"], "rows": []}',
    ]
    for rows in altered:
        r = editor.post("/dashboard/import", {"confirm": "1", "rows": rows})
        assert r.status_code == 400, rows


def test_csrf_is_checked_on_the_import(editor):
    r = editor.client.post(
        "/dashboard/import",
        data={"file": (io.BytesIO(b"url\nhttps://example.org\n"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400


def test_the_links_page_leads_to_the_import(editor):
    assert 'href="/dashboard/import"' in editor.get("/dashboard/links").get_data(as_text=True)


def test_the_edit_form_changes_the_slug(editor, db, make_link, client):
    make_link(slug="before", title="Titre")
    make_link(slug="other")
    form = {"url": "https://example.org/article", "slug": "other", "title": "Titre"}
    r = editor.post("/dashboard/links/before/edit", form)
    assert r.status_code == 422 and "slug" in errors_of(r)
    r = editor.post("/dashboard/links/before/edit", form | {"slug": "api"})
    assert errors_of(r)["slug"] == "« api » est réservé par Balise"
    r = editor.post("/dashboard/links/before/edit", form | {"slug": "after"})
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/links/after"
    assert stored(db, "before") is None and stored(db, "after").title == "Titre"
    assert client.get("/before", headers=BROWSER).status_code == 404
    assert client.get("/after", headers=BROWSER).status_code == 200


def test_the_duplicate_button_copies_the_link_and_opens_the_copy(editor, db, make_link):
    source = make_link(slug="source", title="Campagne", tags=["mail"], max_clicks=9)
    page = editor.get("/dashboard/links/source").get_data(as_text=True)
    assert 'action="/dashboard/links/source/duplicate"' in page and "Dupliquer" in page
    r = editor.post("/dashboard/links/source/duplicate")
    assert r.status_code == 302
    slug = r.headers["Location"].split("/")[-2]
    copy = stored(db, slug)
    assert copy.id != source.id and slug != "source"
    assert (copy.title, copy.tags, copy.max_clicks, copy.url) == (
        "Campagne",
        ("mail",),
        9,
        source.url,
    )


def test_a_link_that_used_up_its_clicks_reads_used_up(editor, db, make_link):
    link = make_link(slug="limited", max_clicks=2)
    make_link(slug="plenty", max_clicks=5)
    with db.begin() as conn:
        increment_hourly(
            conn, [{"link_id": link.id, "hour": datetime.now(timezone.utc), "clicks": 2}]
        )
    listing = editor.get("/dashboard/links").get_data(as_text=True)
    assert listing.count('class="badge exhausted">Épuisé</span>') == 1
    assert listing.count('class="badge active">Actif</span>') == 1
    page = editor.get("/dashboard/links/limited").get_data(as_text=True)
    assert '<span class="badge exhausted">Épuisé</span>' in page


def test_a_scheduled_link_reads_scheduled(app):
    """Link.state() answers "scheduled" for a link not valid yet (valid_from): named so."""

    class NotYetValid(links.Link):
        def state(self, now=None):
            return "scheduled"

    now = datetime.now(timezone.utc)
    link = NotYetValid(
        1,
        "later",
        "https://example.org",
        None,
        (),
        None,
        None,
        False,
        None,
        None,
        False,
        1,
        now,
        now,
    )
    with app.test_request_context("/dashboard/links"):
        template = app.jinja_env.from_string(
            '{% from "dashboard/_macros.html" import state_badge %}{{ state_badge(link, 0) }}'
        )
        with force_locale("fr"):
            assert template.render(link=link) == '<span class="badge scheduled">Programmé</span>'
        with force_locale("en"):
            assert label("state", "scheduled") == "Scheduled"
            assert label("state", "exhausted") == "Used up"


def test_a_file_beyond_the_body_limit_gets_a_localised_page(settings, make_user):
    from balise import create_app

    app = create_app(settings | {"MAX_BODY_BYTES": 4096})
    try:
        editor = DashboardClient(app.test_client())
        make_user("editor@example.org", "editor")
        editor.login("editor@example.org")
        content = b"url\n" + b"https://example.org/a-rather-long-path\n" * 200
        r = upload(editor, content)
        assert r.status_code == 413
        html = r.get_data(as_text=True)
        assert "Fichier trop volumineux" in html and "4\u202f096" in html
    finally:
        app.extensions["balise"].shutdown()


def test_the_columns_are_every_field_a_create_takes_and_the_form_reads_each(editor):
    assert set(upload_module.COLUMNS) == {"slug", *fields.EDITABLE, *controls.FIELDS}
    assert set(upload_module.COLUMNS) <= set(forms.blank_form())  # no column read for nothing
    page = editor.get("/dashboard/import").get_data(as_text=True)
    listed = re.search(r"Colonnes : ([^<]*)\.</li>", page).group(1).split(", ")
    assert listed == list(upload_module.COLUMNS)
    assert {"utm_source", "forward_query", "valid_from", "rules", "password"} <= set(listed)


CONTROLS_CSV = (
    b"url;slug;utm_source;utm_campaign;forward_query;fallback_url;valid_from;expires_at;"
    b"password;rules;max_clicks\n"
    b"https://example.org/a;ctl-ok;news;spring;oui;https://example.org/over;"
    b'2030-01-01T00:00Z;2031-01-01T00:00Z;open sesame;"[{""url"": ""https://example.org/fr"", '
    b'""lang"": ""fr""}]";10\n'
    b"https://example.org/b;ctl-window;;;;;2031-01-01T00:00Z;2030-01-01T00:00Z;;;\n"
    b'https://example.org/c;ctl-loop;;;;;;;;"[{""url"": ""https://s.test/x"", '
    b'""lang"": ""fr""}]";\n'
    b"https://example.org/d;ctl-fallback;;;;javascript:alert(1);;;;;\n"
    b"https://example.org/e;ctl-short;;;;;;;abc;;\n"
    b"https://example.org/f;ctl-bad-date;;;non;;demain;;;;\n"
)


def test_control_columns_are_checked_as_the_api_checks_them_and_imported(editor, db, client):
    r = upload(editor, CONTROLS_CSV)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    found = re.findall(r'<tr class="(?:valid|refused)" data-line="(\d+)">(.*?)</tr>', html, re.S)
    rows = {line: entities.unescape(cells) for line, cells in found}
    assert "Prêt" in rows["2"]
    # Rules the API applies on creation only, now said in the preview, beside their field.
    assert "valid_from</span>: Doit précéder la date d'expiration" in rows["3"]
    assert "rules</span>: Règle 1 :" in rows["4"]
    assert "fallback_url</span>:" in rows["5"]
    assert "password</span>:" in rows["6"]
    assert "valid_from</span>: Indiquez une date et une heure valides" in rows["7"]
    assert "1 ligne peut être créée." in html
    # The password is not shown in the preview.
    assert "open sesame" not in rows["2"] and "(masqué)" in rows["2"]

    r = editor.post("/dashboard/import", {"confirm": "1", "rows": carried_rows(html)})
    assert "1 lien créé." in r.get_data(as_text=True)
    link = stored(db, "ctl-ok")
    assert (link.utm_source, link.utm_campaign, link.forward_query) == ("news", "spring", True)
    assert link.fallback_url == "https://example.org/over" and link.max_clicks == 10
    assert link.valid_from == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert link.rules[0]["url"] == "https://example.org/fr" and link.rules[0]["lang"] == "fr"
    assert verify_password(link.password_hash, "open sesame")
    assert stored(db, "ctl-window") is None and stored(db, "ctl-loop") is None
