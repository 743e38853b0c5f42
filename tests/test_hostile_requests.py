"""Hostile requests from issue 11 (findings 6, 7, 13, 16 and the dashboard's share of 8), walked
against the app on SQLite and on PostgreSQL.

Each answers a 4xx that says what is wrong (problem+json for the API, a localised page for
browsers) or does the right thing, never a 500, and logs no traceback. PostgreSQL refuses NUL
in text and integers beyond 2**31 - 1 where SQLite does not, so both databases are walked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import event, func, select

from balise import create_app
from balise.accounts import shares
from balise.db.tables import links as links_table
from balise.links import store as links
from balise.summaries import store as summaries
from balise.web.context import state
from tests.local_servers import ARTICLE, send, serving

FUTURE = int((datetime.now(timezone.utc) + timedelta(days=30)).timestamp())
DEEP_JSON = '{"urls": ' + "[" * 5000 + "]" * 5000 + "}"
SUMMARY = {"lang": "fr", "title": "Des arbres", "teaser": "La ville plante des arbres."}


@pytest.fixture
def calm(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Fails the test when anything logged an error or a traceback while it ran."""
    caplog.set_level(logging.WARNING)
    yield caplog
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def queries_in_this_thread(app: Any) -> list[str]:
    """SQL statements the request (run by the test client in this thread) sends from now on."""
    seen: list[str] = []
    me = threading.get_ident()

    def spy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == me:
            seen.append(statement)

    event.listen(state(app).engine, "before_cursor_execute", spy)
    return seen


def assert_page(r: Any, status: int, *texts: str) -> str:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    for text in texts:
        assert text in html, text
    return html


def assert_problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field], body
    return body


def count_links(db: Any) -> int:
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(links_table)).scalar_one()


# Finding 6: unauthenticated requests that answered 500.


def test_a_look_up_nested_5000_deep_is_malformed_json(client, calm):
    r = client.post("/api/v1/summaries/lookup", data=DEEP_JSON, content_type="application/json")
    assert_problem(r, 400)
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_a_qr_scale_that_is_not_an_ascii_number_is_a_400(client, make_link, calm):
    make_link(slug="promo")
    for scale in ("²", "٣", "1e3", "-2"):
        r = client.get(
            "/promo/qr.png", query_string={"scale": scale}, headers={"Accept-Language": "en"}
        )
        assert_page(r, 400, "Bad request", "scale must be a whole number")
    assert client.get("/promo/qr.png?scale=3").status_code == 200


@pytest.mark.parametrize("path", ["/ab%00c", "/ab%00c+", "/ab%00c/qr.svg", "/ab%00c/qr.png"])
def test_a_slug_that_cannot_exist_is_the_localised_404(client, app, path, calm):
    sent = queries_in_this_thread(app)
    r = client.get(path, headers={"Accept-Language": "en"})
    assert_page(r, 404, "Link not found")
    assert_problem(client.get(path, headers={"Accept": "application/json"}), 404)
    assert sent == []  # decided without asking the database


def test_look_ups_of_urls_holding_nul_find_nothing(client, calm):
    for url in ("https://s.test/ab%00c", "https://s.test/ab\x00c", "https://news.example/a\x00"):
        assert_problem(client.get("/api/v1/summaries", query_string={"url": url}), 404)
    r = client.post("/api/v1/summaries/lookup", json={"urls": ["https://s.test/ab\x00c"]})
    assert r.status_code == 200 and r.get_json() == {"results": {"https://s.test/ab\x00c": None}}


def forged_share_tokens(link_id: int) -> list[str]:
    """Tokens naming `link_id` that this server did not sign, in the old and the new shape."""
    return [
        URLSafeSerializer("not-the-key", salt=shares.SALT).dumps([link_id, FUTURE, "0" * 16]),
        URLSafeSerializer("not-the-key", salt="balise.share.x").dumps([link_id, FUTURE]),
        URLSafeSerializer("not-the-key").dump_payload([link_id, FUTURE]).decode() + ".x",
    ]


@pytest.mark.parametrize("link_id", [99999999999999999999, 2**31, 2**63, -1, 1])
def test_a_forged_share_token_is_refused_before_touching_the_database(app, link_id, calm):
    client = app.test_client()
    sent = queries_in_this_thread(app)
    for token in forged_share_tokens(link_id):
        assert_page(client.get(f"/share/{token}"), 404, "Lien de partage invalide")
    assert sent == []


def test_a_signed_share_token_naming_an_id_out_of_range_is_a_404(app, client, calm):
    for link_id in (2**31, 99999999999999999999):
        token = shares.make_token(app.config["SECRET_KEY"], link_id, "s", datetime(2100, 1, 1))
        assert_page(client.get(f"/share/{token}"), 404, "Lien de partage invalide")


def test_a_sign_in_with_nul_in_the_email_is_a_failed_sign_in(dashboard, make_user, calm):
    make_user("a@b.co", "editor")
    for email in ("a\x00@b.co", "a@b.co\x00", "\u202ea@b.co"):
        r = dashboard.client.post(
            "/dashboard/login",
            data={"email": email, "password": "x" * 12, "csrf_token": dashboard.csrf_token()},
        )
        assert_page(r, 200, "Adresse e-mail ou mot de passe incorrect.")


# Finding 8, the dashboard's share: signed in, values that made pages fail.


@pytest.fixture
def promo(editor, db, make_link) -> links.Link:
    link = make_link(slug="promo")
    with db.begin() as conn:
        summaries.save_summary(conn, link, SUMMARY)
    return link


@pytest.mark.parametrize("query", ["q=a%00b", "tag=a%00b", "q=%00&tag=%00&sort=clicks"])
def test_a_search_holding_nul_finds_nothing(editor, promo, query, calm):
    html = assert_page(editor.get(f"/dashboard/links?{query}"), 200)
    assert "/dashboard/links/promo" not in html
    assert "/dashboard/links/promo" in editor.get("/dashboard/links?q=pro").get_data(as_text=True)


@pytest.mark.parametrize("version", ["²", "½", "-1", ""])
def test_restoring_a_version_that_is_not_a_number_says_so(editor, promo, version, calm):
    r = editor.post("/dashboard/links/promo/summary/restore", {"version": version})
    assert_page(r, 400, "Choisissez une version à restaurer.")


@pytest.mark.parametrize("version", [str(2**31), str(10**30)])
def test_restoring_a_version_out_of_range_is_a_404(editor, promo, version, calm):
    r = editor.post("/dashboard/links/promo/summary/restore", {"version": version})
    assert_page(r, 404)


@pytest.mark.parametrize(
    "form", [{"expires": "²"}, {"expires": "٧"}, {"expires": "custom", "expires_on": "²"}]
)
def test_sharing_with_a_strange_expiry_names_the_field(editor, promo, form, calm):
    r = editor.post("/dashboard/links/promo/share", form)
    assert_page(r, 422, "Choisissez une date d&#39;expiration dans l&#39;année qui vient.")


@pytest.mark.parametrize("query", ["slug=a", "_method=POST", "_external=1", "_anchor=x"])
def test_stats_pages_ignore_arguments_they_do_not_read(editor, promo, query, calm):
    html = assert_page(editor.get(f"/dashboard/links/promo/stats?{query}&range=7d"), 200)
    assert 'href="/dashboard/links/promo/clicks.csv?range=7d"' in html
    assert_page(editor.get(f"/dashboard/stats?{query}"), 200)


@pytest.mark.parametrize(
    "target", ["/dashboard%0d%0ax", "/dashboard%0aLocation:%20//evil", "/dashboard\u202e"]
)
def test_a_signed_in_visit_to_login_with_a_broken_next_goes_to_the_links(editor, target, calm):
    r = editor.get(f"/dashboard/login?next={target}")
    assert r.status_code == 302
    assert r.headers["Location"] == "/dashboard/links"


def draft_routes() -> dict[str, Any]:
    utf8 = ARTICLE.encode("utf-8")
    return {
        "/empty": lambda h: send(h, 200, b""),
        "/blank": lambda h: send(h, 200, b"  <!-- nothing -->  "),
        "/idna-header": lambda h: send(h, 200, utf8, "text/html; charset=idna"),
        "/idna-meta": lambda h: send(h, 200, utf8.replace(b'"utf-8"', b"idna"), "text/html"),
        "/rot13": lambda h: send(h, 200, utf8, "text/html; charset=rot13"),
        "/rfc2231": lambda h: send(h, 200, utf8, "text/html; charset*=utf-8''utf-8"),
    }


@pytest.fixture
def drafting(settings, make_user, make_link) -> Iterator[tuple[Any, Any, Any]]:
    """An editor (dashboard and API key) on an app allowed to fetch the local test pages."""
    from tests.conftest import DashboardClient, _key

    with serving(draft_routes()) as server:
        app = create_app(settings | {"FETCH_ALLOW_PRIVATE": True})
        app.config["TESTING"] = True
        try:
            editor = DashboardClient(app.test_client())
            make_user("editor@example.org", "editor")
            editor.login("editor@example.org")
            for path in draft_routes():
                make_link(slug=path.strip("/").replace("-", "_"), url=server.url + path)
            headers = {"Authorization": f"Bearer {_key(state(app).engine, 'editor')}"}
            yield editor, app.test_client(), headers
        finally:
            app.extensions["balise"].shutdown()


@pytest.mark.parametrize("slug", ["empty", "blank"])
def test_a_draft_of_an_empty_page_says_there_is_nothing_to_draft(drafting, slug, calm):
    editor, api, headers = drafting
    r = editor.post(f"/dashboard/links/{slug}/summary", {"action": "draft"})
    assert_page(r, 422, "Impossible de rédiger un brouillon", "The page is empty")
    body = assert_problem(api.post(f"/api/v1/links/{slug}/summary/draft", headers=headers), 422)
    assert body["type"].endswith("/fetch-unsupported")


@pytest.mark.parametrize("slug", ["idna_header", "idna_meta", "rot13", "rfc2231"])
def test_a_page_declaring_a_charset_that_is_no_web_encoding_is_read_as_utf8(drafting, slug, calm):
    editor, api, headers = drafting
    r = editor.post(f"/dashboard/links/{slug}/summary", {"action": "draft"})
    assert_page(r, 200, "Brouillon prêt", "La ville plantera 10 000 arbres d&#39;ici 2030")
    r = api.post(f"/api/v1/links/{slug}/summary/draft", headers=headers)
    assert r.status_code == 200 and r.get_json()["title"].startswith("La ville plantera")


# Finding 7: targets that lead back to this server are refused, in every spelling.

LOOPS = [
    "http://localhost:8080/promo",
    "http://LocalHost.:8080/promo",
    "http://app.localhost:8080/promo",
    "http://127.0.0.1.:8080/promo",
    "http://0x7f000001:8080/promo",
    "http://2130706433:8080/promo",
    "http://127.1:8080/promo",
    "http://0177.0.0.1:8080/promo",
    "http://127.0.0.2:8080/promo",
    "http://0.0.0.0:8080/promo",
    "http://[::1]:8080/promo",
    "http://[::ffff:127.0.0.1]:8080/promo",
    "http://[0:0:0:0:0:ffff:7f00:1]:8080/promo",
    "http://127。0。0。1:8080/promo",
    "https://s.example.org/promo",
    "https://s.example.org./promo",
    "https://S.EXAMPLE.ORG:443/promo",
    "http://s.example.org/promo",
    "https://ｓ.example.org/promo",
]
NOT_LOOPS = [
    "http://localhost:9090/promo",
    "http://127.0.0.1/promo",
    "https://example.org/promo",
    "https://s.example.org:8443/promo",
    "https://t.example.org/promo",
]


@pytest.fixture
def own_server_api(settings, editor_headers) -> Iterator[tuple[Any, dict[str, str]]]:
    """The API of a server whose short links are https://s.example.org, listening on :8080."""
    app = create_app(settings | {"BASE_URL": "https://s.example.org", "PORT": 8080})
    app.config["TESTING"] = True
    try:
        yield app.test_client(), editor_headers
    finally:
        app.extensions["balise"].shutdown()


@pytest.mark.parametrize("url", LOOPS)
def test_a_target_that_loops_back_is_refused_in_every_spelling(own_server_api, db, url, calm):
    client, headers = own_server_api
    r = client.post("/api/v1/links", json={"url": url}, headers=headers)
    assert assert_problem(r, 422, "url")["errors"][0]["message"].endswith("(it would loop)")
    r = client.post("/api/v1/links", json={"url": "https://example.org/"}, headers=headers)
    assert (
        client.patch(
            f"/api/v1/links/{r.get_json()['slug']}", json={"url": url}, headers=headers
        ).status_code
        == 422
    )
    assert count_links(db) == 1


@pytest.mark.parametrize("url", NOT_LOOPS)
def test_other_servers_on_the_same_names_are_accepted(own_server_api, url, calm):
    client, headers = own_server_api
    assert client.post("/api/v1/links", json={"url": url}, headers=headers).status_code == 201


def test_the_dashboard_refuses_a_loop_beside_the_field(editor, calm):
    r = editor.post("/dashboard/links/new", {"url": "http://0x7f000001:8080/x"})
    assert r.status_code == 422
    assert "cela ferait une boucle" in editor.field_errors(r)["url"]


# Finding 13: internationalised names as browsers send them (UTS-46, non-transitional).

IDN = [
    ("https://faß.de/", "https://xn--fa-hia.de/"),
    ("https://βόλος.gr/", "https://xn--nxasmm1c.gr/"),
    ("https://Ｅｘａｍｐｌｅ。org/a", "https://example.org/a"),
    ("https://münchen.de/", "https://xn--mnchen-3ya.de/"),
    ("http://0x7f.1/", "http://127.0.0.1/"),
    ("http://[0:0::1]/", "http://[::1]/"),
]


@pytest.mark.parametrize(("sent", "stored"), IDN)
def test_hosts_are_stored_as_browsers_go_to_them(client, editor_headers, sent, stored, calm):
    r = client.post("/api/v1/links", json={"url": sent}, headers=editor_headers)
    assert r.status_code == 201 and r.get_json()["url"] == stored


def test_an_idn_target_is_found_under_both_spellings(client, editor_headers, calm):
    body = {"url": "https://faß.de/artikel", "summary": SUMMARY}
    assert client.post("/api/v1/links", json=body, headers=editor_headers).status_code == 201
    for url in (
        "https://faß.de/artikel",
        "https://xn--fa-hia.de/artikel",
        "https://FASS.de/artikel",
    ):
        r = client.get("/api/v1/summaries", query_string={"url": url})
        assert (r.status_code == 200) == ("fass" not in url.lower()), url


# Finding 16: invisible format characters (bidi controls first) in every text field.

BIDI = "\u202e"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": f"Promo {BIDI}9102"}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"tags": ["ok", f"x{BIDI}y"]}, "tags"),
        ({"tags": ["a\x00"]}, "tags"),
        ({"summary": SUMMARY | {"title": f"{BIDI}txet"}}, "title"),
        ({"summary": SUMMARY | {"teaser": "zero\u200bwidth"}}, "teaser"),
        ({"summary": SUMMARY | {"recap": "isolate \u2067x\u2069"}}, "recap"),
    ],
)
def test_invisible_formatting_in_link_texts_is_refused(
    client, editor_headers, db, body, field, calm
):
    r = client.post(
        "/api/v1/links", json={"url": "https://example.org/"} | body, headers=editor_headers
    )
    errors = assert_problem(r, 422, field)["errors"]
    assert "invisible" in errors[0]["message"] or "control" in errors[0]["message"]
    assert count_links(db) == 0


def test_invisible_formatting_in_a_summary_or_a_key_name_is_refused(
    client, editor_headers, admin_headers, make_link, calm
):
    make_link(slug="promo")
    r = client.put(
        "/api/v1/links/promo/summary",
        json=SUMMARY | {"neutral": f"a{BIDI}b"},
        headers=editor_headers,
    )
    message = assert_problem(r, 422, "neutral")["errors"][0]["message"]
    assert (
        message
        == "must not contain invisible formatting characters (U+202E RIGHT-TO-LEFT OVERRIDE)"
    )
    for name in (f"ci{BIDI}", "ci\x00"):
        r = client.post(
            "/api/v1/keys", json={"name": name, "role": "viewer"}, headers=admin_headers
        )
        assert_problem(r, 422, "name")


def test_joiners_inside_words_and_emoji_are_kept(client, editor_headers, calm):
    texts = {
        "title": "Famille 👨‍👩‍👧 et drapeau 🏳️‍🌈",
        "tags": ["می‌خواهم"],  # Persian needs the zero-width non-joiner
        "summary": SUMMARY | {"recap": "क्‍ष and می‌خواهم"},
    }
    r = client.post(
        "/api/v1/links", json={"url": "https://example.org/"} | texts, headers=editor_headers
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["title"] == texts["title"] and r.get_json()["tags"] == texts["tags"]
    for lone in ("\u200dstart", "end\u200d", "a \u200c b", "a\u200d\u200db"):
        r = client.post(
            "/api/v1/links",
            json={"url": "https://example.org/", "title": lone},
            headers=editor_headers,
        )
        assert_problem(r, 422, "title")


def test_the_dashboard_names_the_field_in_french(editor, make_link, calm):
    r = editor.post(
        "/dashboard/links/new", {"url": "https://example.org/", "title": f"a{BIDI}b", "tags": "ok"}
    )
    assert r.status_code == 422
    assert editor.field_errors(r)["title"] == (
        "Ne doit pas contenir de caractère de mise en forme invisible "
        "(U+202E RIGHT-TO-LEFT OVERRIDE)"
    )
    make_link(slug="promo")
    r = editor.post(
        "/dashboard/links/promo/summary", SUMMARY | {"teaser": f"{BIDI}x", "action": "save"}
    )
    assert r.status_code == 422 and "U+202E" in editor.field_errors(r)["teaser"]
    r = editor.post("/dashboard/keys", {"name": f"ci{BIDI}", "role": "viewer"})
    assert r.status_code == 422 and "U+202E" in editor.field_errors(r)["name"]


def test_an_account_email_with_invisible_formatting_is_refused(runner, calm):
    result = runner(
        "users", "create", f"a{BIDI}@b.co", "--role", "viewer", "--password-stdin", input="x" * 12
    )
    assert result.exit_code != 0
    assert "U+202E" in result.output
