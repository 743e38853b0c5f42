"""Concurrent wrong passwords against a real `balise serve`: each sign-in is counted before its
password is checked, so no more than the limit are ever checked, however many arrive at once."""

from __future__ import annotations

import http.client
import re
import secrets
import threading
from urllib.parse import urlencode

import pytest

from tests.conftest import DASHBOARD_PASSWORD
from tests.live_server import LiveServer

ACCOUNT_LIMIT = 10
CONCURRENT = 40


def get_form(port: int) -> tuple[str, str]:
    """The session cookie and CSRF token of a fresh sign-in form."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/dashboard/login")
        response = conn.getresponse()
        html = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    finally:
        conn.close()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return cookie, token


def post_sign_in(port: int, cookie: str, token: str, password: str) -> int:
    body = urlencode({"email": "target@example.org", "password": password, "csrf_token": token})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            "/dashboard/login",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.fixture(params=["memory", "redis"])
def limit_storage(request) -> dict[str, str]:
    if request.param == "memory":
        return {"RATELIMIT_STORAGE_URI": "memory://"}
    return {
        "RATELIMIT_STORAGE_URI": request.getfixturevalue("redis_url"),
        "RATELIMIT_KEY_PREFIX": f"race-{secrets.token_hex(4)}",
    }


def test_concurrent_wrong_passwords_are_checked_at_most_limit_times(
    settings, make_user, limit_storage, tmp_path
):
    make_user("target@example.org")
    with LiveServer(
        tmp_path / "live",
        settings["DATABASE_URL"],
        RATELIMIT_LOGIN_ACCOUNT=f"{ACCOUNT_LIMIT} per 15 minutes",
        RATELIMIT_LOGIN_ADDRESS="1000 per 15 minutes",
        **limit_storage,
    ) as server:
        cookie, token = get_form(server.port)
        start = threading.Barrier(CONCURRENT)
        statuses: list[int] = []

        def guess(i: int) -> None:
            start.wait(30)
            statuses.append(post_sign_in(server.port, cookie, token, f"wrong guess {i}"))

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(CONCURRENT)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sorted(statuses) == [200] * ACCOUNT_LIMIT + [429] * (CONCURRENT - ACCOUNT_LIMIT)
        # The limit is used up by failures: the right password waits too.
        assert post_sign_in(server.port, cookie, token, DASHBOARD_PASSWORD) == 429


def _client(settings, **overrides):
    from balise import create_app

    app = create_app(settings | overrides)
    app.config["TESTING"] = True
    return app


def _sign_in(client, email, password):
    html = client.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client.post(
        "/dashboard/login", data={"email": email, "password": password, "csrf_token": token}
    )


def test_with_the_limit_store_down_sign_ins_are_still_limited(settings, make_user):
    make_user("target@example.org")
    app = _client(
        settings,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
        RATELIMIT_LOGIN_ACCOUNT="2 per 15 minutes",
    )
    try:
        client = app.test_client()
        statuses = [_sign_in(client, "target@example.org", "guess").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
    finally:
        app.extensions["balise"].shutdown()


def test_successes_and_refusals_do_not_use_the_limits_up(settings, make_user):
    make_user("target@example.org")
    make_user("other@example.org")
    app = _client(
        settings,
        RATELIMIT_LOGIN_ACCOUNT="2 per 15 minutes",
        RATELIMIT_LOGIN_ADDRESS="3 per 15 minutes",
    )
    try:
        client = app.test_client()
        for _ in range(5):  # right passwords are handed back
            assert _sign_in(client, "target@example.org", DASHBOARD_PASSWORD).status_code == 302
            client.delete_cookie("balise_session", path="/dashboard")
        for expected in (200, 200, 429, 429, 429):  # refused ones count for the address neither
            assert _sign_in(client, "target@example.org", "guess").status_code == expected
        assert _sign_in(client, "other@example.org", "guess").status_code == 200
        # The address has now failed 3 times (its limit); the other account only once (of 2).
        assert _sign_in(client, "other@example.org", DASHBOARD_PASSWORD).status_code == 429
    finally:
        app.extensions["balise"].shutdown()
