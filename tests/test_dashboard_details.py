"""Dashboard details a marketer tripped over: drafts that respect typed fields, errors without
internals, every form error at once, a missing https://, a prefilled summary title, and
confirmations before destroying something."""

from __future__ import annotations

import re

from tests.test_dashboard_summary import FULL, current, drafting_editor

__all__ = ["drafting_editor"]  # the fixture, shared with the summary editor's tests


def _value(html: str, name: str) -> str:
    found = re.search(rf'<input id="f-{name}" name="{name}" type="[a-z]+" value="([^"]*)"', html)
    assert found, name
    return found.group(1).replace("&#39;", "'")


def _textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea id="f-{name}"[^>]*>([^<]*)</textarea>', html)
    assert found, name
    return found.group(1).replace("&#39;", "'")


def test_a_draft_fills_only_the_fields_left_empty(drafting_editor, make_link, db):
    editor, server = drafting_editor
    link = make_link(slug="trees", url=server.url + "/article")
    typed = {"lang": "fr", "title": "Mon titre à moi", "teaser": "", "action": "draft"}
    html = editor.post("/dashboard/links/trees/summary", typed).get_data(as_text=True)
    assert _value(html, "title") == "Mon titre à moi"  # typed: kept
    assert _textarea(html, "teaser")  # empty: drafted from the page
    assert "les 1 champs que vous aviez saisis sont conservés" in html
    assert "data-unsaved" in html  # leaving now would lose the draft: the page asks first
    assert current(db, link) is None


def test_a_refused_draft_says_why_without_internals(editor, make_link):
    make_link(slug="local", url="http://127.0.0.1:9/article")
    html = editor.post("/dashboard/links/local/summary", FULL | {"action": "draft"}).text
    assert "Ce serveur ne peut pas récupérer la page à cette adresse." in html
    for internal in ("resolves", "loopback", "BALISE_", "Errno", "ALLOW_PRIVATE"):
        assert internal not in html


def test_slug_taken_is_reported_with_the_other_errors(editor, make_link):
    make_link(slug="pris")
    r = editor.post("/dashboard/links/new", {"url": "", "slug": "pris", "redirect_delay": "99"})
    assert r.status_code == 422
    errors = editor.field_errors(r)
    assert set(errors) >= {"url", "slug", "redirect_delay"}
    assert "pris" in errors["slug"]


def test_a_missing_scheme_means_https(editor, db):
    r = editor.post("/dashboard/links/new", {"url": "example.org/article", "slug": "sans-schema"})
    assert r.status_code == 302, editor.field_errors(r)
    page = editor.get("/dashboard/links/sans-schema").text
    assert 'href="https://example.org/article"' in page


def test_the_summary_title_starts_from_the_link_title(editor, make_link):
    make_link(slug="titre", title="Dix mille arbres")
    html = editor.get("/dashboard/links/titre/summary").text
    assert _value(html, "title") == "Dix mille arbres"


def test_revoking_a_key_and_removing_a_summary_ask_first(editor, make_link, db):
    from balise.summaries import store as summaries

    link = make_link(slug="resume")
    with db.begin() as conn:
        summaries.save_summary(conn, link, {k: v for k, v in FULL.items() if v})
    html = editor.get("/dashboard/links/resume/summary").text
    assert re.search(r'value="delete"[^>]*data-confirm="Retirer ce résumé \?', html)
    r = editor.post("/dashboard/keys", {"name": "script", "role": "editor"})
    assert r.status_code == 201
    keys = editor.get("/dashboard/keys").text
    assert 'data-confirm="Révoquer la clé script ?' in keys
