"""Dashboard sign-in, sessions, CSRF, rate limits, languages and security headers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from balise import create_app
from balise.db.tables import links as links_table
from tests.conftest import DASHBOARD_PASSWORD


def count_links(db) -> int:
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(links_table)).scalar_one()


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    r = client.get("/dashboard/links?tag=x")
    assert r.status_code == 302
    assert r.headers["Location"] == "/dashboard/login?next=/dashboard/links?tag%3Dx"


def test_session_cookie_is_httponly_lax_secure_and_limited_to_the_dashboard(dashboard, make_user):
    make_user("ed@example.org")
    r = dashboard.login("ed@example.org")
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("balise_session=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/dashboard"):
        assert attribute in cookie


def test_session_cookie_is_not_secure_when_base_url_is_http(settings, make_user):
    app = create_app(settings | {"BASE_URL": "http://127.0.0.1:8080"})
    try:
        client = app.test_client()
        html = client.get("/dashboard/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        make_user("ed@example.org")
        r = client.post(
            "/dashboard/login",
            data={"email": "ed@example.org", "password": DASHBOARD_PASSWORD, "csrf_token": token},
        )
        assert r.status_code == 302
        assert "Secure" not in r.headers["Set-Cookie"]
    finally:
        app.extensions["balise"].shutdown()


def test_right_password_signs_in_and_goes_to_next(dashboard, make_user):
    make_user("ed@example.org")
    token = dashboard.csrf_token()
    r = dashboard.client.post(
        "/dashboard/login",
        data={
            "email": "  ED@example.org ",
            "password": DASHBOARD_PASSWORD,
            "csrf_token": token,
            "next": "/dashboard/keys",
        },
    )
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/keys"
    assert dashboard.get("/dashboard/keys").status_code == 200


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/dashboard", "/\\evil.example", "/api/v1"]
)
def test_next_never_leads_off_the_dashboard(dashboard, make_user, target):
    make_user("ed@example.org")
    token = dashboard.csrf_token()
    r = dashboard.client.post(
        "/dashboard/login",
        data={
            "email": "ed@example.org",
            "password": DASHBOARD_PASSWORD,
            "csrf_token": token,
            "next": target,
        },
    )
    assert r.headers["Location"] == "/dashboard/links"


def test_wrong_password_or_unknown_email_is_refused_with_one_message(dashboard, make_user):
    make_user("ed@example.org")
    for email, password in [("ed@example.org", "wrong password"), ("nobody@x.org", "whatever")]:
        r = dashboard.login(email, password)
        assert r.status_code == 200
        assert "Adresse e-mail ou mot de passe incorrect." in r.get_data(as_text=True)
        assert dashboard.get("/dashboard/links").status_code == 302


def test_an_unknown_email_costs_a_password_check_as_a_known_one_does(db, monkeypatch):
    """No timing tells which e-mails have an account: an unknown one's password is checked
    against a hash of the current cost, made before the look-up (the first check after start
    pays for making it, whichever e-mail it is)."""
    from argon2 import PasswordHasher

    from balise.accounts import users

    steps: list[str] = []

    class Recording(PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            steps.append("hash")
            return super().hash(password, salt=salt)

        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            steps.append(f"verify {hash!s}")
            return super().verify(hash, password)

    recording = Recording(time_cost=1, memory_cost=2048)
    monkeypatch.setattr(users, "hasher", recording)
    monkeypatch.setattr(users, "get_user_by_email", lambda *_: steps.append("look-up"))
    for _ in range(2):
        with db.connect() as conn:
            assert users.check_credentials(conn, "nobody@x.org", "whatever") is None
    assert steps[:2] == ["hash", "look-up"] and steps[3] == "look-up"
    assert steps[2] == steps[4] and steps[2].startswith("verify $argon2id$")
    assert not recording.check_needs_rehash(steps[2].removeprefix("verify "))


def test_a_disabled_account_cannot_sign_in(dashboard, make_user):
    make_user("gone@example.org", disabled=True)
    r = dashboard.login("gone@example.org")
    assert r.status_code == 200
    assert "Ce compte est désactivé" in r.get_data(as_text=True)
    assert dashboard.get("/dashboard/links").status_code == 302


def test_disabling_an_account_ends_its_open_sessions(editor, runner):
    assert editor.get("/dashboard/links").status_code == 200
    assert runner("users", "disable", "editor@example.org").exit_code == 0
    r = editor.get("/dashboard/links")
    assert r.status_code == 302 and r.headers["Location"].startswith("/dashboard/login")


def test_changing_the_password_ends_open_sessions(editor, runner):
    result = runner(
        "users", "set-password", "editor@example.org", "--password-stdin", input="a new password\n"
    )
    assert result.exit_code == 0
    assert editor.get("/dashboard/links").status_code == 302
    assert editor.login("editor@example.org", "a new password").status_code == 302


def test_posts_without_a_csrf_token_are_refused(editor, db):
    for path, data in [
        ("/dashboard/links/new", {"url": "https://example.org/a"}),
        ("/dashboard/logout", {}),
        ("/dashboard/keys", {"name": "k", "role": "viewer"}),
    ]:
        r = editor.client.post(path, data=data)
        assert r.status_code == 400, path
        assert "Formulaire expiré" in r.get_data(as_text=True)
    assert count_links(db) == 0
    assert editor.get("/dashboard/links").status_code == 200  # still signed in


def test_a_forged_csrf_token_is_refused(editor, db):
    r = editor.client.post(
        "/dashboard/links/new", data={"url": "https://example.org/a", "csrf_token": "forged.x.y"}
    )
    assert r.status_code == 400
    assert count_links(db) == 0


def test_the_login_form_itself_needs_a_csrf_token(dashboard, make_user):
    make_user("ed@example.org")
    r = dashboard.client.post(
        "/dashboard/login", data={"email": "ed@example.org", "password": DASHBOARD_PASSWORD}
    )
    assert r.status_code == 400
    assert dashboard.get("/dashboard/links").status_code == 302


def test_the_json_api_is_not_subject_to_csrf(client, editor_headers):
    r = client.post("/api/v1/links", json={"url": "https://example.org/a"}, headers=editor_headers)
    assert r.status_code == 201


def test_sign_out_needs_a_post_and_ends_the_session(editor):
    assert editor.get("/dashboard/logout").status_code == 405
    r = editor.post("/dashboard/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/login"
    assert editor.get("/dashboard/links").status_code == 302


@pytest.fixture
def strict_limits(settings):
    return settings | {
        "RATELIMIT_LOGIN_ACCOUNT": "3 per 15 minutes",
        "RATELIMIT_LOGIN_ADDRESS": "5 per 15 minutes",
    }


def _strict_client(strict_limits):
    app = create_app(strict_limits)
    app.config["TESTING"] = True
    return app


def _login(client, email, password):
    html = client.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client.post(
        "/dashboard/login", data={"email": email, "password": password, "csrf_token": token}
    )


def test_failed_sign_ins_are_limited_per_account(strict_limits, make_user):
    make_user("target@example.org")
    make_user("other@example.org")
    app = _strict_client(strict_limits)
    try:
        client = app.test_client()
        for _ in range(3):
            assert _login(client, "target@example.org", "guess").status_code == 200
        r = _login(client, "target@example.org", DASHBOARD_PASSWORD)
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
        assert "Trop de tentatives" in r.get_data(as_text=True)
        assert client.get("/dashboard/links").status_code == 302  # not signed in
        # Another account from the same address is not locked out by it.
        assert _login(client, "other@example.org", DASHBOARD_PASSWORD).status_code == 302
    finally:
        app.extensions["balise"].shutdown()


def test_failed_sign_ins_are_limited_per_address(strict_limits, make_user):
    make_user("ed@example.org")
    app = _strict_client(strict_limits)
    try:
        client = app.test_client()
        for i in range(5):
            assert _login(client, f"user{i}@example.org", "guess").status_code == 200
        assert _login(client, "ed@example.org", DASHBOARD_PASSWORD).status_code == 429
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        assert _login(other, "ed@example.org", DASHBOARD_PASSWORD).status_code == 302
    finally:
        app.extensions["balise"].shutdown()


def test_successful_sign_ins_are_not_counted(strict_limits, make_user):
    make_user("ed@example.org")
    app = _strict_client(strict_limits)
    try:
        client = app.test_client()
        for _ in range(6):
            assert _login(client, "ed@example.org", DASHBOARD_PASSWORD).status_code == 302
            client.delete_cookie("balise_session", path="/dashboard")
    finally:
        app.extensions["balise"].shutdown()


def test_language_follows_accept_language_then_the_account_choice(dashboard, make_user):
    r = dashboard.get("/dashboard/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en"' in r.get_data(as_text=True)
    assert "Sign in" in r.get_data(as_text=True)
    make_user("fr@example.org", lang="fr")
    dashboard.login("fr@example.org")
    r = dashboard.get("/dashboard/links", headers={"Accept-Language": "en"})
    assert '<html lang="fr"' in r.get_data(as_text=True)
    assert "<h1>Liens</h1>" in r.get_data(as_text=True)


def test_dashboard_pages_send_strict_security_headers(editor):
    r = editor.get("/dashboard/links")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in r.get_data(as_text=True)  # no inline script at all


def test_reader_pages_never_get_the_session_cookie(editor, make_link):
    make_link(slug="plain")
    r = editor.get("/plain")
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers
