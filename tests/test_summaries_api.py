"""Writing summaries through the API and the CLI: limits, per-field errors, versions, restore."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from balise.db.tables import links as links_table
from balise.db.tables import summaries as summaries_table
from balise.db.tables import summary_versions

PROBLEM = "application/problem+json"

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


def put(client, slug, body, headers):
    return client.put(f"/api/v1/links/{slug}/summary", json=body, headers=headers)


def count(db, table):
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_put_creates_then_updates_the_summary_and_get_reads_it(
    client, make_link, editor_headers, viewer_headers
):
    make_link(slug="arbres", url="https://news.example/arbres", lang="fr")
    r = put(client, "arbres", FRENCH, editor_headers)
    assert r.status_code == 201
    body = r.get_json()
    assert body["slug"] == "arbres"
    assert body["short_url"] == "https://s.test/arbres"
    assert body["target_url"] == "https://news.example/arbres"
    assert body["source_url"] == "https://news.example/arbres"  # defaults to the target
    assert body["recap"] == FRENCH["recap"]
    assert body["origin"] == "author"
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")

    r = put(client, "arbres", FRENCH | {"teaser": "Nouveau teaser."}, editor_headers)
    assert r.status_code == 200
    r = client.get("/api/v1/links/arbres/summary", headers=viewer_headers)
    assert r.status_code == 200
    assert r.get_json()["teaser"] == "Nouveau teaser."


def test_viewer_cannot_write_and_anonymous_cannot_read(client, make_link, viewer_headers):
    make_link(slug="arbres")
    assert put(client, "arbres", FRENCH, viewer_headers).status_code == 403
    assert client.get("/api/v1/links/arbres/summary").status_code == 401


def test_text_is_normalised_and_paragraphs_are_kept(client, make_link, editor_headers):
    make_link(slug="arbres")
    body = FRENCH | {
        "title": "  Un   titre\nsur deux lignes ",
        "recap": "Premier paragraphe,\nsur deux lignes.\r\n\r\n\r\n\n  Second.  \n\n",
        "neutral": "   ",
    }
    data = put(client, "arbres", body, editor_headers).get_json()
    assert data["title"] == "Un titre sur deux lignes"
    assert data["recap"] == "Premier paragraphe,\nsur deux lignes.\n\nSecond."
    assert data["neutral"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "x" * 301, "300"),
        ("teaser", "x" * 501, "500"),
        ("recap", "x" * 5001, "5000"),
        ("pessimistic", "x" * 5001, "5000"),
        ("lang", "de", ""),
        ("source_url", "javascript:alert(1)", "http"),
        ("image_url", "ftp://x.example/a.png", "http"),
        ("origin", "robot", ""),
        ("colour", "blue", ""),
    ],
)
def test_invalid_field_answers_422_naming_it(
    client, make_link, editor_headers, db, field, value, message
):
    make_link(slug="arbres")
    r = put(client, "arbres", FRENCH | {field: value}, editor_headers)
    assert r.status_code == 422
    assert r.mimetype == PROBLEM
    errors = r.get_json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert message in errors[0]["message"]
    assert count(db, summaries_table) == 0


def test_missing_title_and_teaser_are_both_reported(client, make_link, editor_headers):
    make_link(slug="arbres")
    r = put(client, "arbres", {"recap": "Seulement un récapitulatif."}, editor_headers)
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.get_json()["errors"]) == ["teaser", "title"]


def test_blank_title_and_control_characters_are_refused(client, make_link, editor_headers):
    make_link(slug="arbres")
    r = put(client, "arbres", FRENCH | {"title": "   ", "recap": "a\x00b"}, editor_headers)
    assert r.status_code == 422
    assert {e["field"]: e["message"] for e in r.get_json()["errors"]} == {
        "title": "is required",
        "recap": "must not contain control characters",
    }


def test_summary_of_unknown_link_is_404(client, editor_headers):
    assert put(client, "nope", FRENCH, editor_headers).status_code == 404


def test_delete_removes_the_summary_but_keeps_versions_to_restore(
    client, make_link, editor_headers, db
):
    make_link(slug="arbres")
    put(client, "arbres", FRENCH, editor_headers)
    assert client.delete("/api/v1/links/arbres/summary", headers=editor_headers).status_code == 204
    assert client.get("/api/v1/links/arbres/summary", headers=editor_headers).status_code == 404
    assert client.delete("/api/v1/links/arbres/summary", headers=editor_headers).status_code == 404
    versions = client.get("/api/v1/links/arbres/summary/versions", headers=editor_headers)
    (only,) = versions.get_json()["items"]
    assert only["current"] is False
    r = client.post(
        "/api/v1/links/arbres/summary/restore", json={"version": only["id"]}, headers=editor_headers
    )
    assert r.status_code == 200 and r.get_json()["title"] == FRENCH["title"]


def test_versions_list_changes_newest_first_and_restore_brings_one_back(
    client, make_link, editor_headers, viewer_headers
):
    make_link(slug="arbres")
    put(client, "arbres", FRENCH, editor_headers)
    put(client, "arbres", FRENCH | {"teaser": "Deuxième version."}, editor_headers)
    put(client, "arbres", FRENCH | {"teaser": "Troisième.", "example": None}, editor_headers)
    put(client, "arbres", FRENCH | {"teaser": "Troisième.", "example": None}, editor_headers)

    items = client.get("/api/v1/links/arbres/summary/versions", headers=viewer_headers)
    items = items.get_json()["items"]
    assert len(items) == 3  # saving the same content twice records one version
    assert [i["summary"]["teaser"] for i in items] == [
        "Troisième.",
        "Deuxième version.",
        FRENCH["teaser"],
    ]
    assert [i["current"] for i in items] == [True, False, False]
    assert items[0]["changed"] == ["teaser", "example"]
    assert items[1]["changed"] == ["teaser"]
    assert items[2]["changed"] is None
    assert items[0]["saved_by"].startswith("editor-")

    first = items[2]["id"]
    r = client.post(
        "/api/v1/links/arbres/summary/restore", json={"version": first}, headers=editor_headers
    )
    assert r.status_code == 200
    assert r.get_json()["teaser"] == FRENCH["teaser"]
    assert r.get_json()["example"] == FRENCH["example"]
    items = client.get("/api/v1/links/arbres/summary/versions", headers=viewer_headers)
    assert items.get_json()["items"][0]["summary"]["teaser"] == FRENCH["teaser"]


def test_restore_of_a_version_of_another_link_is_404(client, make_link, editor_headers):
    make_link(slug="arbres")
    make_link(slug="autre")
    put(client, "autre", FRENCH, editor_headers)
    other = client.get("/api/v1/links/autre/summary/versions", headers=editor_headers)
    version = other.get_json()["items"][0]["id"]
    r = client.post(
        "/api/v1/links/arbres/summary/restore", json={"version": version}, headers=editor_headers
    )
    assert r.status_code == 404 and r.mimetype == PROBLEM


def test_only_the_newest_versions_are_kept(client, make_link, editor_headers, db):
    link = make_link(slug="arbres")
    for i in range(25):
        put(client, "arbres", FRENCH | {"teaser": f"Version {i}."}, editor_headers)
    with db.connect() as conn:
        kept = conn.execute(
            select(summary_versions.c.data)
            .where(summary_versions.c.link_id == link.id)
            .order_by(summary_versions.c.id)
        ).all()
    assert len(kept) == 20
    assert kept[0].data["teaser"] == "Version 5."
    assert kept[-1].data["teaser"] == "Version 24."


def test_create_link_with_summary_saves_both(client, editor_headers, viewer_headers, db):
    r = client.post(
        "/api/v1/links",
        json={"url": "https://news.example/arbres", "slug": "arbres", "summary": FRENCH},
        headers=editor_headers,
    )
    assert r.status_code == 201
    assert r.get_json()["summary"]["teaser"] == FRENCH["teaser"]
    r = client.get("/api/v1/links/arbres/summary", headers=viewer_headers)
    assert r.get_json()["title"] == FRENCH["title"]


def test_create_link_with_invalid_summary_creates_nothing(client, editor_headers, db):
    body = {"url": "https://news.example/a", "summary": FRENCH | {"title": "x" * 301}}
    r = client.post("/api/v1/links", json=body, headers=editor_headers)
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "summary.title"
    body = {"url": "https://news.example/a", "summary": FRENCH | {"title": " "}}
    r = client.post("/api/v1/links", json=body, headers=editor_headers)
    assert r.status_code == 422
    assert count(db, links_table) == 0 and count(db, summaries_table) == 0


def test_summary_language_defaults_to_the_links(client, make_link, editor_headers):
    make_link(slug="news", lang="en")
    body = {k: v for k, v in FRENCH.items() if k != "lang"}
    assert put(client, "news", body, editor_headers).get_json()["lang"] == "en"


def test_openapi_documents_the_summary_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/links/{slug}/summary",
        "/api/v1/links/{slug}/summary/versions",
        "/api/v1/links/{slug}/summary/restore",
        "/api/v1/links/{slug}/summary/draft",
        "/api/v1/summaries",
        "/api/v1/summaries/lookup",
    ):
        assert path in paths, path


def test_cli_sets_and_shows_a_summary(runner, make_link, tmp_path):
    make_link(slug="arbres", url="https://news.example/arbres")
    source = tmp_path / "summary.json"
    source.write_text(json.dumps(FRENCH), encoding="utf-8")
    result = runner("summaries", "set", "arbres", "--from-file", str(source))
    assert result.exit_code == 0, result.output
    assert "created the summary of 'arbres'" in result.output

    shown = runner("summaries", "show", "arbres")
    assert shown.exit_code == 0
    assert "RÉCAPITULATIF FACTUEL" in shown.output
    assert "Le budget est de 12 M€." in shown.output
    assert "https://news.example/arbres" in shown.output

    as_json = runner("summaries", "show", "arbres", "--json")
    source.write_text(as_json.output, encoding="utf-8")
    again = runner("summaries", "set", "arbres", "--from-file", str(source))
    assert again.exit_code == 0, again.output


def test_cli_reports_per_field_errors(runner, make_link, tmp_path):
    make_link(slug="arbres")
    source = tmp_path / "summary.json"
    source.write_text(json.dumps({"title": "x" * 301}), encoding="utf-8")
    result = runner("summaries", "set", "arbres", "--from-file", str(source))
    assert result.exit_code == 1
    assert "title: must be at most 300 characters" in result.output
    assert "teaser: is required" in result.output


def test_writing_a_summary_marks_the_link_changed_for_page_caches(
    client, make_link, editor_headers, db
):
    link = make_link(slug="arbres")
    put(client, "arbres", FRENCH, editor_headers)
    client.delete("/api/v1/links/arbres/summary", headers=editor_headers)
    with db.connect() as conn:
        version = conn.execute(
            select(links_table.c.version).where(links_table.c.id == link.id)
        ).scalar_one()
    assert version == link.version + 2
