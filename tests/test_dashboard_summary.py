"""The summary editor: save every section, errors beside fields, preview, drafts, history."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from balise import create_app
from balise.db.tables import summary_versions
from balise.summaries import store as summaries
from tests.conftest import DashboardClient
from tests.local_servers import chat_completion, page, serving

FULL = {
    "lang": "fr",
    "title": "La ville plantera 10 000 arbres",
    "teaser": "Le plus grand plan de plantation de son histoire.",
    "recap": "10 000 arbres d'ici 2030.\n\nBudget : 12 M€.",
    "neutral": "Un plan parmi d'autres.",
    "example": "Comme un jardin partagé, à l'échelle d'une ville.",
    "optimistic": "Plus de fraîcheur en été.",
    "pessimistic": "Le calendrier est lent.",
    "source_url": "https://example.org/source",
    "image_url": "",
}


errors_of = DashboardClient.field_errors


def current(db, link):
    with db.connect() as conn:
        return summaries.get_summary(conn, link.id)


def test_editor_saves_every_section_and_a_version_is_kept(editor, make_link, db):
    link = make_link(slug="trees")
    r = editor.post("/dashboard/links/trees/summary", FULL | {"action": "save"})
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/links/trees/summary"
    saved = current(db, link)
    assert (
        saved.title == FULL["title"]
        and saved.recap == "10 000 arbres d'ici 2030.\n\nBudget : 12 M€."
    )
    assert (saved.origin, saved.source_url, saved.image_url) == ("author", FULL["source_url"], None)
    with db.connect() as conn:
        assert (
            conn.execute(select(summary_versions.c.saved_by)).scalar_one() == "editor@example.org"
        )
    page_html = editor.get("/dashboard/links/trees/summary").get_data(as_text=True)
    assert "Résumé enregistré." in page_html
    assert "<p>Budget : 12 M€.</p>" in page_html  # the reader preview keeps paragraphs
    assert "Première version" in page_html


def test_missing_or_too_long_fields_are_shown_beside_them_and_nothing_is_saved(
    editor, make_link, db
):
    link = make_link(slug="trees")
    r = editor.post(
        "/dashboard/links/trees/summary",
        FULL
        | {
            "title": "",
            "teaser": "  ",
            "recap": "x" * 5001,
            "source_url": "ftp://x",
            "action": "save",
        },
    )
    assert r.status_code == 422
    errors = errors_of(r)
    assert errors["title"] == "Est obligatoire"
    assert errors["teaser"] == "Est obligatoire"
    assert errors["recap"] == "Doit faire au plus 5000 caractères"
    assert "source_url" in errors
    assert "x" * 5001 in r.get_data(as_text=True)  # the text is kept for correction
    assert current(db, link) is None


def test_character_counts_are_shown_against_the_limits(editor, make_link):
    make_link(slug="trees")
    html = editor.post("/dashboard/links/trees/summary", FULL | {"action": "preview"}).get_data(
        as_text=True
    )
    assert re.search(r'id="c-title"[^>]*data-limit="300"[^>]*><span>31</span> / 300', html)
    assert re.search(r'id="c-recap"[^>]*data-limit="5000"', html)


def test_preview_shows_unsaved_text_and_saves_nothing(editor, make_link, db):
    link = make_link(slug="trees")
    r = editor.post("/dashboard/links/trees/summary", FULL | {"lang": "en", "action": "preview"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "ces modifications ne sont pas enregistrées" in html
    assert ">Factual recap</h4>" in html  # headings follow the summary's language
    assert "Plus de fraîcheur en été." in html
    assert current(db, link) is None


def test_hostile_text_is_escaped_in_the_editor_and_previews(editor, make_link):
    make_link(slug="trees")
    hostile = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'
    html = editor.post(
        "/dashboard/links/trees/summary",
        FULL | {"teaser": hostile, "recap": hostile, "action": "preview"},
    ).get_data(as_text=True)
    assert "<script>alert(2)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_restore_brings_an_old_version_back_as_a_new_one(editor, make_link, db):
    link = make_link(slug="trees")
    editor.post("/dashboard/links/trees/summary", FULL | {"action": "save"})
    editor.post(
        "/dashboard/links/trees/summary", FULL | {"title": "Second title", "action": "save"}
    )
    html = editor.get("/dashboard/links/trees/summary").get_data(as_text=True)
    assert "Modifié : Titre de l&#39;article" in html
    with db.connect() as conn:
        first = conn.execute(select(summary_versions.c.id).order_by(summary_versions.c.id)).first()
    r = editor.post("/dashboard/links/trees/summary/restore", {"version": str(first.id)})
    assert r.status_code == 302
    assert current(db, link).title == FULL["title"]
    with db.connect() as conn:
        assert len(conn.execute(select(summary_versions.c.id)).all()) == 3


def test_removing_the_summary_keeps_its_history(editor, make_link, db, client):
    link = make_link(slug="trees")
    editor.post("/dashboard/links/trees/summary", FULL | {"action": "save"})
    r = editor.post("/dashboard/links/trees/summary", {"action": "delete"})
    assert r.status_code == 302
    assert current(db, link) is None
    html = editor.get("/dashboard/links/trees/summary").get_data(as_text=True)
    assert "Pas encore de résumé" in html and "Rétablir" in html


def test_a_viewer_reads_the_summary_but_cannot_change_it(viewer, make_link, db):
    link = make_link(slug="trees")
    with db.begin() as conn:
        summaries.save_summary(conn, link, {k: v for k, v in FULL.items() if v})
    html = viewer.get("/dashboard/links/trees/summary").get_data(as_text=True)
    assert "<fieldset disabled>" in html and 'value="save"' not in html
    for data in (FULL | {"action": "save", "title": "Changed"}, {"action": "delete"}):
        assert viewer.post("/dashboard/links/trees/summary", data).status_code == 403
    assert (
        viewer.post("/dashboard/links/trees/summary/restore", {"version": "1"}).status_code == 403
    )
    assert current(db, link).title == FULL["title"]


def test_the_link_page_shows_the_summary_or_invites_to_write_one(editor, make_link, db):
    link = make_link(slug="trees")
    assert "Écrire le résumé" in editor.get("/dashboard/links/trees").get_data(as_text=True)
    with db.begin() as conn:
        summaries.save_summary(conn, link, {k: v for k, v in FULL.items() if v})
    html = editor.get("/dashboard/links/trees").get_data(as_text=True)
    assert FULL["teaser"] in html and "Modifier le résumé" in html


@pytest.fixture
def drafting_editor(settings, make_user) -> Iterator:
    """An editor on an app allowed to fetch local pages, with a stub language model."""
    answer = {
        "title": "Titre généré",
        "teaser": "Accroche générée.",
        "recap": "Récapitulatif généré.",
        "neutral": "Neutre.",
        "example": "Exemple.",
        "optimistic": "Optimiste.",
        "pessimistic": "Pessimiste.",
    }
    routes = {"/article": page(), "/v1/chat/completions": chat_completion(json.dumps(answer))}
    with serving(routes) as server:
        app = create_app(
            settings | {"FETCH_ALLOW_PRIVATE": True, "LLM_URL": server.url, "LLM_MODEL": "stub"}
        )
        app.config["TESTING"] = True
        try:
            client = DashboardClient(app.test_client())
            make_user("editor@example.org", "editor")
            client.login("editor@example.org")
            yield client, server
        finally:
            app.extensions["balise"].shutdown()


def test_draft_from_the_page_fills_the_form_without_saving(drafting_editor, make_link, db):
    editor, server = drafting_editor
    link = make_link(slug="trees", url=server.url + "/article")
    r = editor.post("/dashboard/links/trees/summary", {"action": "draft"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'value="La ville plantera 10 000 arbres d&#39;ici 2030"' in html
    assert 'name="origin" value="extracted"' in html
    assert "Brouillon prêt" in html
    assert current(db, link) is None
    title = re.search(r'<input id="f-title" name="title" type="text" value="([^"]*)"', html)
    teaser = re.search(r'<textarea id="f-teaser"[^>]*>([^<]*)</textarea>', html)
    form = {"title": title.group(1).replace("&#39;", "'"), "teaser": teaser.group(1)}
    editor.post(
        "/dashboard/links/trees/summary",
        form | {"lang": "fr", "origin": "extracted", "action": "save"},
    )
    assert current(db, link).origin == "extracted"


def test_draft_with_the_language_model(drafting_editor, make_link, db):
    editor, server = drafting_editor
    link = make_link(slug="trees", url=server.url + "/article")
    html = editor.get("/dashboard/links/trees/summary").get_data(as_text=True)
    assert 'value="generate"' in html
    html = editor.post("/dashboard/links/trees/summary", {"action": "generate"}).get_data(
        as_text=True
    )
    assert 'value="Titre généré"' in html and "Récapitulatif généré." in html
    assert 'name="origin" value="generated"' in html
    assert current(db, link) is None


def test_a_refused_draft_says_why_and_keeps_the_form(editor, make_link):
    make_link(slug="local", url="http://127.0.0.1:9/article")
    r = editor.post("/dashboard/links/local/summary", FULL | {"action": "draft"})
    html = r.get_data(as_text=True)
    assert "Impossible de rédiger un brouillon" in html
    assert FULL["teaser"] in html
    assert 'value="generate"' not in html  # no model configured: no button


def test_preview_splits_paragraphs_sent_with_browser_line_endings(editor, make_link):
    make_link(slug="trees")
    html = editor.post(
        "/dashboard/links/trees/summary",
        FULL | {"recap": "Premier.\r\n\r\nSecond.", "action": "preview"},
    ).get_data(as_text=True)
    paras = html.split('data-paras="recap">')[1].split("</div>")[0]
    assert paras == "<p>Premier.</p><p>Second.</p>"
    assert re.search(r'id="c-recap"[^>]*><span>17</span>', html)
