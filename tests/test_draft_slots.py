"""Drafts wait on other people's servers: they get a bounded share of the worker threads, one
at a time per API key or dashboard account, and are refused at once (503, 429) beyond, so a
page that drips its bytes never holds readers up."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable

from balise import create_app
from balise.accounts import keys
from tests.conftest import DashboardClient
from tests.live_server import LiveServer
from tests.local_servers import held, serving

PROBLEM = "application/problem+json"
DRAFTS = 8  # as many as the server has threads
SLOTS = 2  # a quarter of BALISE_THREADS=8


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=90)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def editor_keys(db, count: int) -> list[dict[str, str]]:
    found = []
    with db.begin() as conn:
        for i in range(count):
            _key, plaintext = keys.create_key(conn, f"drafter-{i}", "editor")
            found.append({"Authorization": f"Bearer {plaintext}"})
    return found


def test_stuck_drafts_leave_the_reader_its_threads(settings, make_link, db, tmp_path):
    release = threading.Event()
    draft_path = "/api/v1/links/slowpage/summary/draft"
    answers: dict[int, tuple] = {}
    with serving({"/drip": held(release)}) as page:
        make_link(slug="slowpage", url=page.url + "/drip")
        make_link(slug="reader", url="https://example.org/article")
        credentials = editor_keys(db, DRAFTS)
        server = LiveServer(
            tmp_path / "live", settings["DATABASE_URL"],
            THREADS=8, FETCH_ALLOW_PRIVATE=1, FETCH_TIMEOUT=30,
        )  # fmt: skip

        def ask(i: int) -> None:
            answers[i] = request(server.port, "POST", draft_path, credentials[i])

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(DRAFTS)]
        try:
            for thread in threads:
                thread.start()
            wait_until(lambda: len(answers) >= DRAFTS - SLOTS and len(page.requests) >= SLOTS)
            refused = list(answers.values())
            assert [status for status, _h, _b in refused] == [503] * (DRAFTS - SLOTS)
            for _status, headers, body in refused:
                # At least the draft's 5 s (Flask-Limiter raises it to its own window's reset).
                assert headers["Content-Type"] == PROBLEM and int(headers["Retry-After"]) >= 5
                assert json.loads(body)["type"].endswith("/drafts-busy")
            assert len(page.requests) == SLOTS  # only the admitted drafts reached the page

            # While those drafts are stuck on the dripping page, a reader is served at once...
            status, _headers, body = request(server.port, "GET", "/reader")
            assert status == 200 and b"https://example.org/article" in body
            assert len(answers) == DRAFTS - SLOTS  # ...before any admitted draft has ended.

            # A key whose draft is running gets 429 for the next one.
            running = next(i for i in range(DRAFTS) if i not in answers)
            status, headers, body = request(server.port, "POST", draft_path, credentials[running])
            assert status == 429 and int(headers["Retry-After"]) >= 5
            assert json.loads(body)["type"].endswith("/draft-in-progress")
        finally:
            release.set()
            for thread in threads:
                thread.join(90)
            server.stop()
    assert len(answers) == DRAFTS


def test_the_dashboard_says_when_drafts_are_busy(settings, make_user, make_link):
    app = create_app(
        settings | {"FETCH_ALLOW_PRIVATE": True, "FETCH_TIMEOUT": 30, "DRAFT_CONCURRENCY": 1}
    )
    app.config["TESTING"] = True
    make_user("ed@example.org")
    make_user("other@example.org")
    release = threading.Event()
    form = {"action": "draft", "title": "", "teaser": "", "lang": "fr"}
    path = "/dashboard/links/slowpage/summary"
    try:
        with serving({"/drip": held(release)}) as page:
            make_link(slug="slowpage", url=page.url + "/drip")
            browsers = {}
            for name, email in (("first", "ed"), ("second", "ed"), ("other", "other")):
                browsers[name] = DashboardClient(app.test_client())
                assert browsers[name].login(f"{email}@example.org").status_code == 302
            first = threading.Thread(target=browsers["first"].post, args=(path, form))
            first.start()
            try:
                wait_until(lambda: len(page.requests) >= 1)
                # The same account, in another browser: its draft is still running.
                r = browsers["second"].post(path, form)
                assert r.status_code == 429 and r.headers["Retry-After"] == "5"
                assert "un de vos brouillons est encore en cours" in r.get_data(as_text=True)
                # Another account: the one slot is taken.
                r = browsers["other"].post(path, form, headers={"Accept-Language": "en"})
                assert r.status_code == 503 and r.headers["Retry-After"] == "5"
                assert "the server is already drafting as many" in r.get_data(as_text=True)
            finally:
                release.set()
                first.join(60)
        assert len(page.requests) == 1
    finally:
        app.extensions["balise"].shutdown()


def test_a_generated_draft_holds_its_slot_while_the_model_thinks(settings, db, make_link):
    from tests.local_servers import page

    release = threading.Event()
    first, second = editor_keys(db, 2)
    with serving({"/article": page(), "/v1/chat/completions": held(release)}) as server:
        app = create_app(
            settings
            | {
                "FETCH_ALLOW_PRIVATE": True,
                "DRAFT_CONCURRENCY": 1,
                "LLM_URL": server.url + "/v1",
                "LLM_MODEL": "stub",
                "LLM_TIMEOUT": 30,
            }
        )
        app.config["TESTING"] = True
        make_link(slug="arbres", url=server.url + "/article")
        path = "/api/v1/links/arbres/summary/draft"
        thinking = threading.Thread(
            target=app.test_client().post,
            args=(path,),
            kwargs={"query_string": {"mode": "generated"}, "headers": first},
        )
        thinking.start()
        try:
            wait_until(lambda: any(r["path"].startswith("/v1/") for r in server.requests))
            client = app.test_client()
            assert client.post(path, headers=first).status_code == 429
            r = client.post(path, headers=second)
            assert r.status_code == 503 and r.get_json()["type"].endswith("/drafts-busy")
        finally:
            release.set()
            thinking.join(60)
        try:
            assert client.post(path, headers=second).status_code == 200  # the slot is free again
        finally:
            app.extensions["balise"].shutdown()
