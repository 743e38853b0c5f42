"""Link controls (issue 16): UTM values, query forwarding, rules, fallback URL, opening date and
password, through the API and the reader path (lean path and Flask), on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from balise.db.tables import clicks, links
from balise.links.controls import Facts, choose_target, with_params
from tests.agents import CHROME_ANDROID, FIREFOX_DESKTOP, SAFARI_IPAD, SAFARI_IPHONE
from tests.clickutil import flushed, rows
from tests.test_clicks import visit

TARGET = "https://shop.example/article?ref=home&utm_source=old"


def target_of(response) -> str:
    """Where the reader page sends its reader: the fallback link (the script follows it too)."""
    found = re.search(r'<a class="go" id="go" href="([^"]+)"', response.text)
    assert found, response.text[:500]
    return html.unescape(found.group(1))


def refresh_of(response) -> str:
    found = re.search(r'http-equiv="refresh" content="\d+;url=([^"]+)"', response.text)
    assert found
    return html.unescape(found.group(1))


def create(client, headers, **fields):
    return client.post("/api/v1/links", json={"url": TARGET} | fields, headers=headers)


# The pure choice -------------------------------------------------------------------------------


def test_parameters_the_link_sets_win_over_forwarded_ones_which_win_over_the_targets():
    url = "https://a.example/p?x=1&utm_source=old&keep=%20y#frag"
    out = with_params(url, [("x", "2"), ("new", "a b")], [("utm_source", "mail")])
    assert out == "https://a.example/p?keep=%20y&x=2&new=a%20b&utm_source=mail#frag"
    assert with_params(url, [], []) == url  # nothing to add: the target as it is, byte for byte


class _Link:
    url = "https://a.example/"
    forward_query = False
    utm_source = utm_medium = utm_campaign = utm_term = utm_content = None
    rules = (
        {"url": "https://ios.example/", "device": "ios"},
        {"url": "https://fr.example/", "lang": "fr", "query": {"v": "2"}},
        {"url": "https://de.example/", "country": "DE"},
        {"url": "https://tablet.example/", "device": "tablet"},
    )


@pytest.mark.parametrize(
    ("device", "os", "lang", "query", "country", "expected"),
    [
        ("mobile", "iOS", "fr", "v=2", None, "https://ios.example/"),  # first match wins
        ("desktop", "Windows", "fr-ca,en;q=0.5", "v=2", None, "https://fr.example/"),
        ("desktop", "Windows", "en,fr;q=0.9", "v=2", None, "https://a.example/"),  # fr second
        ("desktop", "Windows", "fr", "v=3", None, "https://a.example/"),  # every condition
        ("desktop", "Windows", "", "", "DE", "https://de.example/"),
        ("tablet", "Android", "", "", None, "https://tablet.example/"),
        ("mobile", "Android", "", "", None, "https://a.example/"),
    ],
)
def test_the_first_rule_whose_every_condition_holds_chooses_the_url(
    device, os, lang, query, country, expected
):
    facts = Facts(
        query=query, accept_language=lang, agent=lambda: (device, os), country=lambda: country
    )
    assert choose_target(_Link(), facts) == expected


# API ----------------------------------------------------------------------------------------


def test_the_api_stores_and_returns_every_control_but_never_the_password(
    client, editor_headers, db
):
    start = datetime.now(timezone.utc) + timedelta(days=1)
    r = create(
        client,
        editor_headers,
        slug="controlled",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="spring",
        utm_term="shoes",
        utm_content="top",
        forward_query=True,
        fallback_url="https://shop.example/ended",
        valid_from=start.isoformat(),
        expires_at=(start + timedelta(days=7)).isoformat(),
        password="sesame-42",
        rules=[{"url": "https://m.shop.example/", "device": "mobile", "country": "FR"}],
    )
    assert r.status_code == 201, r.json
    body = client.get("/api/v1/links/controlled", headers=editor_headers).json
    assert body["utm_campaign"] == "spring" and body["forward_query"] is True
    assert body["fallback_url"] == "https://shop.example/ended"
    assert body["password_protected"] is True
    assert body["state"] == "scheduled"
    assert body["rules"] == [
        {"url": "https://m.shop.example/", "device": "mobile", "country": "FR"}
    ]
    assert "password" not in body and "password_hash" not in body
    assert "sesame-42" not in r.text
    with db.connect() as conn:
        stored = conn.execute(select(links.c.password_hash).where(links.c.slug == "controlled"))
        assert stored.scalar_one().startswith("$argon2id$")
    cleared = client.patch(
        "/api/v1/links/controlled",
        json={"password": None, "rules": None, "valid_from": None, "utm_term": None},
        headers=editor_headers,
    ).json
    assert cleared["password_protected"] is False and cleared["rules"] is None
    assert cleared["state"] == "active" and cleared["utm_term"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"fallback_url": "javascript:alert(1)"}, "fallback_url"),
        ({"rules": [{"url": "javascript:alert(1)", "device": "mobile"}]}, "rules.0.url"),
        ({"rules": [{"url": "https://b.example/", "device": "phone"}]}, "rules.0.device"),
        ({"rules": [{"url": "https://b.example/", "device": "ios"}] * 21}, "rules"),
        ({"rules": [{"url": "https://b.example/"}]}, "rules.0"),
        ({"rules": [{"url": "https://b.example/", "country": "fr"}]}, "rules.0.country"),
        ({"utm_source": "news\r\nSet-Cookie: x=1"}, "utm_source"),
        ({"utm_campaign": "x" * 256}, "utm_campaign"),
        ({"password": "abc"}, "password"),
        ({"forward_query": None}, "forward_query"),
        (
            {"valid_from": "2031-01-02T00:00:00+00:00", "expires_at": "2031-01-01T00:00:00+00:00"},
            "valid_from",
        ),
    ],
)
def test_hostile_or_wrong_controls_get_a_field_error(client, editor_headers, fields, field):
    r = create(client, editor_headers, **fields)
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert field in [e["field"] for e in r.json["errors"]], r.json


def test_a_rule_pointing_back_at_balise_is_refused(client, editor_headers):
    r = create(client, editor_headers, rules=[{"url": "https://s.test/x", "lang": "fr"}])
    assert r.status_code == 422
    assert r.json["errors"][0]["field"] == "rules.0.url"


def test_valid_from_after_the_existing_expiry_is_refused_on_update(client, editor_headers):
    create(client, editor_headers, slug="window", expires_at="2031-01-01T00:00:00+00:00")
    r = client.patch(
        "/api/v1/links/window",
        json={"valid_from": "2031-06-01T00:00:00+00:00"},
        headers=editor_headers,
    )
    assert r.status_code == 422
    assert r.json["errors"] == [{"field": "valid_from", "message": "must be before expires_at"}]


# Reader path --------------------------------------------------------------------------------


def test_utm_values_are_added_to_the_target_on_every_path(client, make_link):
    make_link(slug="utm", url=TARGET, utm_source="newsletter", utm_campaign="spring sale")
    wanted = (
        "https://shop.example/article?ref=home&utm_source=newsletter&utm_campaign=spring%20sale"
    )
    for _ in range(2):  # Flask first (slug not cached), then the lean path
        r = visit(client, "utm")
        assert target_of(r) == refresh_of(r) == wanted
    make_link(slug="utm-direct", url=TARGET, utm_source="newsletter", redirect_mode="direct")
    for _ in range(2):
        r = visit(client, "utm-direct")
        assert (
            r.headers["Location"] == "https://shop.example/article?ref=home&utm_source=newsletter"
        )


def test_clicks_count_under_the_utm_values_the_reader_was_sent_with(
    app, client, db, make_link, admin_headers
):
    make_link(slug="camp", url=TARGET, utm_campaign="spring", utm_medium="email")
    make_link(slug="plain", url=TARGET)
    for _ in range(2):  # Flask first (slug not cached), then the lean path
        visit(client, "camp")
    # The short URL's own values fill in what the link leaves unset; the link's values win.
    visit(client, "camp", path="?utm_source=news&utm_campaign=other")
    visit(client, "plain", path="?utm_campaign=other")
    flushed(app)
    stored = sorted(
        (r["utm_source"] or "", r["utm_medium"] or "", r["utm_campaign"] or "")
        for r in rows(db, clicks)
    )
    assert stored == [
        ("", "", "other"),
        ("", "email", "spring"),
        ("", "email", "spring"),
        ("news", "email", "spring"),
    ]
    spring = client.get("/api/v1/stats?utm_campaign=spring", headers=admin_headers).get_json()
    assert spring["totals"]["clicks"] == 3


def test_the_short_urls_query_is_forwarded_only_when_asked(client, make_link):
    make_link(slug="fwd", url=TARGET, forward_query=True, utm_source="mail")
    make_link(slug="nofwd", url=TARGET)
    for _ in range(2):
        r = visit(client, "fwd", path="?ref=ad&utm_source=reader&q=a+b")
        assert target_of(r) == "https://shop.example/article?ref=ad&q=a%20b&utm_source=mail"
        assert target_of(visit(client, "nofwd", path="?ref=ad")) == TARGET


def test_rules_choose_the_target_per_reader_and_the_page_is_kept_per_target(client, make_link):
    make_link(
        slug="rules",
        url="https://desk.example/",
        rules=[
            {"url": "https://apps.apple.example/app", "device": "ios"},
            {"url": "https://play.example/app", "device": "android"},
            {"url": "https://tablet.example/", "device": "tablet"},
            {"url": "https://fr.example/", "lang": "fr", "query": {"src": "qr"}},
        ],
    )
    for _ in range(2):
        assert target_of(visit(client, "rules", agent=SAFARI_IPHONE)).startswith("https://apps.")
        assert target_of(visit(client, "rules", agent=CHROME_ANDROID)) == "https://play.example/app"
        assert (
            target_of(visit(client, "rules", agent=SAFARI_IPAD)) == "https://apps.apple.example/app"
        )
        fr = visit(client, "rules", path="?src=qr", **{"Accept-Language": "fr-FR,fr;q=0.9"})
        assert target_of(fr) == "https://fr.example/"
        assert target_of(visit(client, "rules", path="?src=qr")) == "https://desk.example/"


def test_a_rule_on_the_country_never_matches_without_geoip(client, make_link):
    make_link(
        slug="geo",
        url="https://all.example/",
        rules=[{"url": "https://fr.example/", "country": "FR"}],
    )
    assert target_of(visit(client, "geo")) == "https://all.example/"


def test_disabled_expired_and_used_up_links_send_readers_to_the_fallback_uncounted(
    app, client, make_link, db
):
    fallback = "https://shop.example/ended"
    make_link(slug="off", disabled=True, fallback_url=fallback)
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    make_link(slug="old", expires_at=past, fallback_url=fallback)
    make_link(slug="once", max_clicks=1, fallback_url=fallback)
    make_link(slug="plain-off", disabled=True)
    for slug in ("off", "old"):
        r = visit(client, slug)
        assert (r.status_code, r.headers["Location"]) == (302, fallback)
        assert r.headers["Cache-Control"] == "no-store"
    assert visit(client, "once").status_code == 200
    flushed(app)
    r = visit(client, "once")
    assert (r.status_code, r.headers["Location"]) == (302, fallback)
    assert visit(client, "plain-off").status_code == 410  # no fallback: the 410 page as before
    flushed(app)
    assert len(rows(db, clicks)) == 1  # the one click before the limit; fallbacks count none


def test_before_valid_from_readers_get_a_localised_not_yet_page(client, make_link):
    soon = datetime.now(timezone.utc) + timedelta(hours=2)
    make_link(slug="later", url="https://secret.example/launch", valid_from=soon)
    for path in ("", "", "+"):
        r = visit(client, "later", path=path, **{"Accept-Language": "fr"})
        assert r.status_code == 403
        assert "pas encore disponible" in r.text
        assert "secret.example" not in r.text
    en = visit(client, "later", **{"Accept-Language": "en"})
    assert "not available yet" in en.text
    api = client.get("/later", headers={"Accept": "application/json"})
    assert api.mimetype == "application/problem+json" and api.json["reason"] == "scheduled"


def test_a_protected_link_asks_for_its_password_and_counts_the_click_after(
    app, client, make_link, db
):
    make_link(
        slug="locked",
        url="https://secret.example/doc",
        password="sesame-42",
        title="Secret title",
        utm_source="mail",
    )
    for path in ("", "", "+"):
        page = visit(client, "locked", path=path, **{"Accept-Language": "fr"})
        assert page.status_code == 200
        assert "Lien protégé" in page.text
        assert "secret.example" not in page.text and "Secret title" not in page.text
        assert "og:" not in page.text and "data-token" not in page.text
        assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    wrong = client.post(
        "/locked",
        data={"password": "nope"},
        headers={"User-Agent": FIREFOX_DESKTOP, "Accept-Language": "en"},
    )
    assert wrong.status_code == 403 and "Wrong password" in wrong.text
    assert "secret.example" not in wrong.text
    right = client.post(
        "/locked", data={"password": "sesame-42"}, headers={"User-Agent": FIREFOX_DESKTOP}
    )
    assert right.status_code == 200
    assert target_of(right) == "https://secret.example/doc?utm_source=mail"
    flushed(app)
    assert len(rows(db, clicks)) == 1


def test_a_password_hashed_by_an_earlier_version_still_opens_its_link(app, client, make_link, db):
    """Link passwords are now hashed lighter (OWASP's minimum); a hash stored with
    argon2-cffi's defaults, as earlier versions did, keeps working."""
    make_link(slug="older", url="https://secret.example/old", password="sesame-42")
    with db.begin() as conn:
        stored = conn.execute(select(links.c.password_hash).where(links.c.slug == "older"))
        assert "$m=19456,t=2,p=1$" in stored.scalar_one()
        conn.execute(
            links.update()
            .where(links.c.slug == "older")
            .values(password_hash=PasswordHasher().hash("open-sesame"))
        )
    # (the link was never read, so no cache holds the former hash)
    assert (
        client.post(
            "/older", data={"password": "sesame-42"}, headers={"User-Agent": FIREFOX_DESKTOP}
        ).status_code
        == 403
    )
    right = client.post(
        "/older", data={"password": "open-sesame"}, headers={"User-Agent": FIREFOX_DESKTOP}
    )
    assert right.status_code == 200
    assert target_of(right) == "https://secret.example/old"


def test_wrong_passwords_are_limited_per_address(app, client, make_link):
    app.config["BALISE"]["RATELIMIT_LINK_PASSWORD"] = "3 per 15 minutes"
    make_link(slug="guard", password="sesame-42")
    statuses = [
        client.post(
            "/guard", data={"password": f"guess{i}"}, environ_base={"REMOTE_ADDR": "10.1.1.1"}
        ).status_code
        for i in range(4)
    ]
    assert statuses == [403, 403, 403, 429]
    refused = client.post(
        "/guard", data={"password": "sesame-42"}, environ_base={"REMOTE_ADDR": "10.1.1.1"}
    )
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    other = client.post(
        "/guard",
        data={"password": "sesame-42"},
        headers={"User-Agent": FIREFOX_DESKTOP},
        environ_base={"REMOTE_ADDR": "10.1.1.2"},
    )
    assert other.status_code == 200


def test_the_look_up_never_answers_a_protected_or_scheduled_link(client, make_link, editor_headers):
    summary = {"lang": "fr", "title": "Titre secret", "teaser": "Une phrase secrète."}
    for slug, extra in (
        ("open", {}),
        ("shut", {"password": "sesame-42"}),
        ("soon", {"valid_from": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()}),
    ):
        body = {"url": f"https://news.example/{slug}", "slug": slug, "summary": summary} | extra
        assert client.post("/api/v1/links", json=body, headers=editor_headers).status_code == 201
    urls = [f"https://s.test/{s}" for s in ("open", "shut", "soon")]
    urls += ["https://news.example/shut", "https://news.example/soon"]
    answer = client.post("/api/v1/summaries/lookup", json={"urls": urls}).json["results"]
    assert answer[urls[0]]["title"] == "Titre secret"
    assert [answer[u] for u in urls[1:]] == [None] * 4
    assert client.get("/api/v1/summaries", query_string={"url": urls[1]}).status_code == 404


# Migration ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0009_adds_and_removes_the_control_columns_keeping_links(
    request, tmp_path, backend
):
    from alembic import command
    from sqlalchemy import inspect

    from balise.db import make_engine, upgrade
    from balise.db.migrate import alembic_config, current, head
    from balise.links import store
    from tests.databases import scratch_database

    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url, drop = scratch_database(request.getfixturevalue("postgres_url"), "balise_controls")
    engine = make_engine(url)
    columns = {
        "utm_source",
        "forward_query",
        "fallback_url",
        "valid_from",
        "password_hash",
        "rules",
    }
    try:
        upgrade(engine, "0008_imported")
        now = datetime.now(timezone.utc)
        with engine.begin() as conn:
            conn.execute(
                links.insert().values(
                    id=1,
                    slug="kept",
                    slug_key="kept",
                    url="https://a.example/",
                    url_key="k",
                    reading_delay=False,
                    disabled=False,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )  # fmt: skip
            )
            conn.execute(
                clicks.insert(),
                [{"uid": f"u{i}", "link_id": 1, "ts": now, "dnt": False} for i in range(3)],
            )
        upgrade(engine)
        assert current(engine) == head()
        assert columns <= {c["name"] for c in inspect(engine).get_columns("links")}
        with engine.begin() as conn:
            assert len(conn.execute(select(clicks.c.uid)).all()) == 3
            kept = store.get_link_by_slug(conn, "kept")
            assert kept.forward_query is False and kept.rules is None and kept.state() == "active"
            store.update_link(
                conn,
                kept,
                {"rules": [{"url": "https://b.example/", "lang": "fr"}]},
                base_url="https://s.test",
            )
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0008_imported")
        engine.dispose()
        assert not columns & {c["name"] for c in inspect(engine).get_columns("links")}
        with engine.connect() as conn:
            assert conn.execute(select(links.c.url).where(links.c.slug == "kept")).scalar_one()
            # No table was copied and dropped: rows referring to links are all still there.
            assert len(conn.execute(select(clicks.c.uid)).all()) == 3
        upgrade(engine)
        assert current(engine) == head()
    finally:
        engine.dispose()
        if drop is not None:
            drop()


def test_a_rule_on_the_country_follows_the_geoip_database(settings, make_link, tmp_path):
    mmdb_writer = pytest.importorskip("mmdb_writer", reason="mmdb-writer builds the test database")
    netaddr = pytest.importorskip("netaddr")
    from balise import create_app

    writer = mmdb_writer.MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country"
    )
    writer.insert_network(netaddr.IPSet(["192.0.2.0/24"]), {"country": {"iso_code": "FR"}})
    path = tmp_path / "countries.mmdb"
    writer.to_db_file(str(path))
    app = create_app({**settings, "GEOIP_DB": str(path)})
    try:
        make_link(
            slug="pays",
            url="https://all.example/",
            rules=[{"url": "https://fr.example/", "country": "FR"}],
        )
        client = app.test_client()
        for _ in range(2):  # Flask, then the lean path
            assert target_of(visit(client, "pays", ip="192.0.2.9")) == "https://fr.example/"
            assert target_of(visit(client, "pays", ip="203.0.113.9")) == "https://all.example/"
    finally:
        app.extensions["balise"].shutdown()


# Dashboard ----------------------------------------------------------------------------------


def test_the_dashboard_form_sets_every_control_and_the_link_page_shows_them(editor, db):
    form = {
        "url": "https://shop.example/a",
        "slug": "form-controls",
        "utm_source": "newsletter",
        "utm_campaign": "spring",
        "forward_query": "1",
        "fallback_url": "https://shop.example/over",
        "valid_from": "2030-05-01T09:00",
        "password": "sesame-42",
        "rules": '[{"url": "https://apps.example/", "device": "ios"}]',
    }
    r = editor.post("/dashboard/links/new", form)
    assert r.status_code == 302, editor.field_errors(r)
    with db.connect() as conn:
        from balise.links import store

        link = store.get_link_by_slug(conn, "form-controls")
    assert link.password_protected and link.forward_query and link.utm_campaign == "spring"
    assert link.rules == ({"url": "https://apps.example/", "device": "ios", "lang": None,
                           "country": None, "query": None},)  # fmt: skip
    assert link.state() == "scheduled"
    page = editor.get("/dashboard/links/form-controls").get_data(as_text=True)
    assert "Contrôles du lien" in page and "utm_source=newsletter" in page
    assert "1 règle" in page and "sesame-42" not in page
    edit = editor.get("/dashboard/links/form-controls/edit").get_data(as_text=True)
    assert "sesame-42" not in edit and "Ce lien est protégé" in edit
    kept = editor.post("/dashboard/links/form-controls/edit", form | {"password": ""})
    assert kept.status_code == 302
    removed = editor.post(
        "/dashboard/links/form-controls/edit",
        form | {"password": "", "protected": "1", "remove_password": "1"},
    )
    assert removed.status_code == 302
    with db.connect() as conn:
        assert store.get_link_by_slug(conn, "form-controls").password_protected is False


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"rules": "[{"}, "rules", "Écrivez les règles sous forme de liste JSON"),
        ({"rules": '[{"url": "https://a.example/", "device": "fridge"}]'}, "rules", "Règle 1 : "),
        ({"rules": '[{"url": "javascript:alert(1)", "lang": "fr"}]'}, "rules", "Règle 1 : "),
        ({"fallback_url": "javascript:alert(1)"}, "fallback_url", "URL"),
        ({"valid_from": "2030-05-01T09:00", "expires_at": "2030-04-01T09:00"}, "valid_from",
         "Doit précéder la date d'expiration"),
        ({"password": "abc"}, "password", "4"),
    ],
)  # fmt: skip
def test_the_dashboard_form_says_what_is_wrong_in_french(editor, fields, field, message):
    r = editor.post("/dashboard/links/new", {"url": "https://shop.example/a"} | fields)
    assert r.status_code == 422
    errors = editor.field_errors(r)
    assert message in html.unescape(errors.get(field, "")), errors
