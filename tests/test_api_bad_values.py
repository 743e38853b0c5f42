"""Values that used to answer 500 (issue 11, findings 8 and 9) answer 4xx, naming the field.

Each runs on SQLite and on PostgreSQL: integers beyond a PostgreSQL INTEGER, NUL in text
(PostgreSQL refuses it), unpaired surrogates (no database stores them), dates that overflow
when converted to UTC or shown in a zone 14 hours away, cursors naming ids beyond INTEGER.
"""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from balise.db.tables import api_keys
from balise.db.tables import links as links_table
from balise.db.tables import summaries as summaries_table

PROBLEM = "application/problem+json"
SUMMARY = {"title": "Un titre", "teaser": "Une phrase."}


def refused(r, field: str, status: int = 422) -> str:
    """The message of the error naming `field` in a problem answer with `status`."""
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == PROBLEM
    errors = {e["field"]: e["message"] for e in r.get_json().get("errors", [])}
    assert field in errors, errors
    return errors[field]


def count(db, table) -> int:
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize("version", [2**31, 10**30])
def test_restoring_a_version_beyond_an_integer_answers_422(
    client, make_link, editor_headers, version
):
    make_link(slug="arbres")
    client.put("/api/v1/links/arbres/summary", json=SUMMARY, headers=editor_headers)
    r = client.post(
        "/api/v1/links/arbres/summary/restore", json={"version": version}, headers=editor_headers
    )
    assert "2147483647" in refused(r, "version")


@pytest.mark.parametrize("clicks", [2**31, 10**30])
def test_max_clicks_beyond_an_integer_answers_422_on_create_and_patch(
    client, make_link, editor_headers, db, clicks
):
    r = client.post(
        "/api/v1/links",
        json={"url": "https://example.org/", "max_clicks": clicks},
        headers=editor_headers,
    )
    refused(r, "max_clicks")
    assert count(db, links_table) == 0
    make_link(slug="arbres", max_clicks=5)
    r = client.patch("/api/v1/links/arbres", json={"max_clicks": clicks}, headers=editor_headers)
    refused(r, "max_clicks")
    assert client.get("/api/v1/links/arbres", headers=editor_headers).get_json()["max_clicks"] == 5


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+14:00",  # overflowed converting to UTC
        "9999-12-31T23:59:59Z",  # overflowed when shown in Pacific/Kiritimati (finding 9)
        "1999-12-31T23:59:59Z",
        "2201-01-01T00:00:00Z",
    ],
)
def test_expiry_outside_years_2000_to_2200_answers_422(client, editor_headers, db, moment):
    r = client.post(
        "/api/v1/links",
        json={"url": "https://example.org/", "expires_at": moment},
        headers=editor_headers,
    )
    assert refused(r, "expires_at") == "must be between the years 2000 and 2200"
    assert count(db, links_table) == 0


def test_the_latest_expiry_accepted_shows_in_every_time_zone(client, editor_headers, editor):
    r = client.post(
        "/api/v1/links",
        json={"url": "https://example.org/", "slug": "tard", "expires_at": "2200-12-31T23:59Z"},
        headers=editor_headers,
    )
    assert r.status_code == 201
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        for page in ("/dashboard/links/tard", "/dashboard/links/tard/edit"):
            assert editor.get(f"{page}?tz={zone}").status_code == 200, (page, zone)


@pytest.mark.parametrize(
    ("moment", "error"),
    [
        ("9999-12-31T23:59", "Doit être entre les années 2000 et 2200"),
        ("2201-01-02T00:00", "Doit être entre les années 2000 et 2200"),
        # Kiritimati's offset in year 1 is -10:29:20, which ISO 8601 cannot write.
        ("0001-01-01T00:00", "Indiquez une date et une heure valides"),
    ],
)
def test_the_dashboard_form_refuses_the_same_expiries(editor, db, moment, error):
    editor.client.set_cookie("balise_tz", "Pacific/Kiritimati", path="/")
    r = editor.post("/dashboard/links/new", {"url": "https://example.org/", "expires_at": moment})
    assert r.status_code == 422
    assert editor.field_errors(r)["expires_at"] == error
    assert count(db, links_table) == 0


def test_the_dashboard_form_refuses_control_characters_and_huge_limits(editor, db):
    r = editor.post(
        "/dashboard/links/new",
        {
            "url": "https://example.org/",
            "title": "a\x00b",
            "tags": "ok, a\x00b",
            "max_clicks": "1e30",
        },
    )
    assert r.status_code == 422
    errors = editor.field_errors(r)
    assert errors["title"] == "Ne doit pas contenir de caractère de contrôle"
    assert "tags" in errors
    r = editor.post(
        "/dashboard/links/new", {"url": "https://example.org/", "max_clicks": str(2**31)}
    )
    assert r.status_code == 422
    assert "2147483647" in editor.field_errors(r)["max_clicks"]
    assert count(db, links_table) == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "0001-01-01"}, "to"),
        ({"from": "0001-01-01T00:00:00+14:00"}, "from"),
        ({"to": "9999-12-31T23:59:59", "tz": "Pacific/Kiritimati"}, "to"),
        ({"tz": "Europe"}, "tz"),
        ({"tz": "Europe/"}, "tz"),
        ({"tz": "Europe/Paris\x00"}, "tz"),
    ],
)
def test_stats_dates_and_zones_that_overflowed_answer_422(
    client, make_link, viewer_headers, params, field
):
    make_link(slug="arbres")
    for path in ("/api/v1/stats", "/api/v1/links/arbres/stats"):
        refused(client.get(path, query_string=params, headers=viewer_headers), field)
    if "tz" not in params:
        r = client.get(
            "/api/v1/links/arbres/clicks.csv", query_string=params, headers=viewer_headers
        )
        refused(r, field)


@pytest.mark.parametrize("text", ["a\x00b", "a\x07b", "a\x9bb", "a\ud800b"])
def test_control_characters_in_link_text_answer_422(client, make_link, editor_headers, db, text):
    for field, value in (("title", text), ("tags", ["ok", text])):
        r = client.post(
            "/api/v1/links",
            json={"url": "https://example.org/", field: value},
            headers=editor_headers,
        )
        assert refused(r, field if field == "title" else "tags.1") == (
            "must not contain control characters"
        )
    assert count(db, links_table) == 0
    make_link(slug="arbres", title="Avant")
    r = client.patch("/api/v1/links/arbres", json={"title": text}, headers=editor_headers)
    refused(r, "title")


def test_tabs_and_line_breaks_are_not_control_characters(client, editor_headers):
    r = client.post(
        "/api/v1/links",
        json={"url": "https://example.org/", "title": "Un\ttitre\r\nsur deux lignes"},
        headers=editor_headers,
    )
    assert r.status_code == 201


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b"])
def test_control_characters_in_a_summary_answer_422(client, make_link, editor_headers, db, text):
    make_link(slug="arbres")
    body = SUMMARY | {"teaser": text, "recap": text}
    r = client.put("/api/v1/links/arbres/summary", json=body, headers=editor_headers)
    refused(r, "teaser")
    refused(r, "recap")
    assert count(db, summaries_table) == 0


def test_nul_in_a_key_name_answers_422_and_stores_nothing(client, admin_headers, db):
    before = count(db, api_keys)
    r = client.post("/api/v1/keys", json={"name": "a\x00b"}, headers=admin_headers)
    refused(r, "name")
    assert count(db, api_keys) == before


@pytest.mark.parametrize("param", ["q", "tag"])
def test_nul_in_a_search_answers_422(client, viewer_headers, param):
    r = client.get("/api/v1/links", query_string={param: "a\x00b"}, headers=viewer_headers)
    refused(r, param)


@pytest.mark.parametrize("raw", ["id:2147483648", "id:9223372036854775808", "id:-1"])
def test_a_cursor_naming_an_id_beyond_an_integer_answers_400(client, viewer_headers, raw):
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    r = client.get("/api/v1/links", query_string={"cursor": cursor}, headers=viewer_headers)
    assert r.status_code == 400
    assert r.mimetype == PROBLEM


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/links/ab%00c",
        "/api/v1/links/ab%00c/summary",
        "/api/v1/links/ab%00c/stats",
        "/api/v1/links/ab%00c/clicks.csv",
    ],
)
def test_nul_in_a_slug_answers_404(client, admin_headers, path):
    r = client.get(path, headers=admin_headers)
    assert r.status_code == 404
    assert r.mimetype == PROBLEM


def test_revoking_a_key_named_with_nul_answers_404(client, admin_headers):
    r = client.delete("/api/v1/keys/a%00b", headers=admin_headers)
    assert r.status_code == 404
    assert r.mimetype == PROBLEM


@pytest.mark.parametrize("ident", [2**31, 10**30])
def test_webhook_ids_out_of_range_answer_404(client, editor_headers, ident):
    for method, path in (
        ("GET", f"/api/v1/webhooks/{ident}"),
        ("DELETE", f"/api/v1/webhooks/{ident}"),
        ("POST", f"/api/v1/webhooks/{ident}/test"),
        ("POST", f"/api/v1/webhooks/{ident}/rotate-secret"),
        ("GET", f"/api/v1/webhooks/{ident}/deliveries"),
        ("POST", f"/api/v1/webhooks/1/deliveries/{ident}/redeliver"),
    ):
        r = client.open(path, method=method, headers=editor_headers)
        assert r.status_code == 404, (method, path)
        assert r.mimetype == "application/problem+json"
