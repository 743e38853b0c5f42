"""Two real `balise serve` instances sharing one database (and Redis) behave as one service."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from balise.accounts import keys
from balise.cli import main
from balise.db import make_engine, upgrade
from balise.db.tables import clicks, hourly_counts, visitor_salts
from tests.databases import scratch_database
from tests.live_server import LiveServer

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@pytest.fixture
def shared_database(postgres_url):
    """A database of its own for the instances (they outlive any one test transaction)."""
    url, drop = scratch_database(postgres_url, "balise_multi")
    yield url
    drop()


def call(server, method, path, body=None, key=None, ua=BROWSER):
    request = urllib.request.Request(
        server.base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"User-Agent": ua, "Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {key}"} if key else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - 127.0.0.1
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def eventually(check, seconds: float = 3.0):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


@pytest.mark.postgres
def test_two_instances_share_links_invalidation_limits_clicks_and_salt(
    shared_database, redis_url, tmp_path
):
    engine = make_engine(shared_database)
    upgrade(engine)
    with engine.begin() as conn:
        _key, key = keys.create_key(conn, "multi", "editor")
        _key, other_key = keys.create_key(conn, "multi-other", "editor")
    settings = {
        "SECRET_KEY": secrets.token_hex(24),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"balise-multi-{secrets.token_hex(4)}",
        "RATELIMIT_CREATE": "4/minute",
        # Long enough that only Redis can explain a change showing at once on the other one.
        "CACHE_TTL": 300,
        "CACHE_POLL": 60,
        "CLICK_FLUSH_INTERVAL": 0.2,
    }
    a = LiveServer(tmp_path / "a", shared_database, **settings)
    b = LiveServer(tmp_path / "b", shared_database, **settings)
    try:
        # A link created through one instance is served by the other.
        status, body = call(
            a, "POST", "/api/v1/links", {"url": "https://example.org/one", "slug": "shared"}, key
        )
        assert status == 201
        status, page = call(b, "GET", "/shared+")
        assert status == 200 and "https://example.org/one" in page

        # B caches the link; an edit and then a disabling through A show on B at once.
        assert call(b, "GET", "/shared", ua="Twitterbot/1.0")[0] == 200
        status, _ = call(
            a, "PATCH", "/api/v1/links/shared", {"url": "https://example.org/two"}, key
        )
        assert status == 200
        assert eventually(
            lambda: "example.org/two" in call(b, "GET", "/shared", ua="Twitterbot/1.0")[1]
        )
        call(a, "PATCH", "/api/v1/links/shared", {"disabled": True}, key)
        assert eventually(lambda: call(b, "GET", "/shared", ua="Twitterbot/1.0")[0] == 410)
        call(b, "PATCH", "/api/v1/links/shared", {"disabled": False}, key)
        assert eventually(lambda: call(a, "GET", "/shared", ua="Twitterbot/1.0")[0] == 200)

        # The link-creation limit (4 a minute per key) is one budget across both instances.
        statuses = [
            call(server, "POST", "/api/v1/links", {"url": f"https://example.org/{i}"}, key)[0]
            for i, server in enumerate([a, b, a, b, a])
        ]
        assert statuses == [201, 201, 201, 429, 429]  # the first creation above counted too

        # A slug B found unknown (and keeps as unknown for CACHE_TTL) is served by B as soon
        # as A creates it.
        assert call(b, "GET", "/later", ua="Twitterbot/1.0")[0] == 404
        body = {"url": "https://example.org/later", "slug": "later"}
        assert call(a, "POST", "/api/v1/links", body, other_key)[0] == 201
        assert eventually(lambda: call(b, "GET", "/later", ua="Twitterbot/1.0")[0] == 200)

        # Clicks served by both add up exactly, hashed with the same daily salt.
        def browse(server):
            return call(server, "GET", "/shared")[0]

        with ThreadPoolExecutor(8) as pool:
            served = list(pool.map(browse, [a] * 30 + [b] * 20))
        assert served == [200] * 50
    finally:
        codes = (a.stop(), b.stop())
    assert codes == (0, 0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(clicks)).scalar_one() == 50
        assert conn.execute(select(func.sum(hourly_counts.c.clicks))).scalar_one() == 50
        visitors = conn.execute(
            select(func.count(func.distinct(clicks.c.visitor_hash)))
        ).scalar_one()
        assert visitors == 1  # one reader (same address and browser) on two instances
        assert conn.execute(select(func.count()).select_from(visitor_salts)).scalar_one() == 1
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_shared_database(request, tmp_path):
    """A database of its own for the instances, on each backend (SQLite: one file for both)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    url, drop = scratch_database(request.getfixturevalue("postgres_url"), "balise_feed")
    yield url
    drop()


def test_without_redis_every_change_through_one_instance_shows_on_the_other_within_the_poll(
    any_shared_database, tmp_path
):
    """No Redis and a 300-s TTL (the default): only the change feed can explain B serving
    what A (or a command) changed. The feed is read every 0.2 s here rather than every second
    (the default), so the ten waits below end sooner; each still waits on what B serves."""
    url = any_shared_database
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        _key, key = keys.create_key(conn, "feed", "editor")
    engine.dispose()
    settings = {
        "SECRET_KEY": secrets.token_hex(24),
        "RATELIMIT_NOT_FOUND": "1000/minute",
        "CACHE_POLL": 0.2,
    }
    a = LiveServer(tmp_path / "a", url, **settings)
    b = LiveServer(tmp_path / "b", url, **settings)

    def on_b(path):
        return call(b, "GET", path, ua="Twitterbot/1.0")

    def within_the_poll(check):
        return eventually(check, 5)  # a poll every 0.2 s, on a loaded machine

    def command(*args):
        env = {"BALISE_DATABASE_URL": url, "BALISE_BASE_URL": a.base_url}
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code == 0, result.output

    try:
        body = {"url": "https://example.org/one", "slug": "fed"}
        assert call(a, "POST", "/api/v1/links", body, key)[0] == 201
        assert "example.org/one" in on_b("/fed")[1]  # B holds it now, for 300 s

        # The target, then the summary, edited through A.
        assert call(a, "PATCH", "/api/v1/links/fed", {"url": "https://example.org/two"}, key)[0]
        assert within_the_poll(lambda: "example.org/two" in on_b("/fed")[1])
        summary = {"title": "Premier titre", "teaser": "Un résumé.", "lang": "fr"}
        assert call(a, "PUT", "/api/v1/links/fed/summary", summary, key)[0] == 201
        assert within_the_poll(lambda: "Premier titre" in on_b("/fed")[1])
        summary["title"] = "Second titre"
        assert call(a, "PUT", "/api/v1/links/fed/summary", summary, key)[0] == 200
        assert within_the_poll(lambda: "Second titre" in on_b("/fed")[1])

        # Disabled, enabled again, renamed, deleted.
        call(a, "PATCH", "/api/v1/links/fed", {"disabled": True}, key)
        assert within_the_poll(lambda: on_b("/fed")[0] == 410)
        call(a, "PATCH", "/api/v1/links/fed", {"disabled": False}, key)
        assert within_the_poll(lambda: on_b("/fed")[0] == 200)
        assert on_b("/renamed")[0] == 404  # B holds the new slug as unknown
        assert call(a, "PATCH", "/api/v1/links/fed", {"slug": "renamed"}, key)[0] == 200
        assert within_the_poll(lambda: on_b("/fed")[0] == 404 and on_b("/renamed")[0] == 200)
        assert call(a, "DELETE", "/api/v1/links/renamed", None, key)[0] == 204
        assert within_the_poll(lambda: on_b("/renamed")[0] == 404)

        # Commands: an import (a new slug B held as unknown, a link B holds, updated) and a
        # summary written from the command line.
        body = {"url": "https://example.org/kept-old", "slug": "kept"}
        assert call(a, "POST", "/api/v1/links", body, key)[0] == 201
        assert "example.org/kept-old" in on_b("/kept")[1]
        assert on_b("/imported")[0] == 404
        records = tmp_path / "links.jsonl"
        records.write_text(
            json.dumps({"slug": "imported", "url": "https://example.org/imported"})
            + "\n"
            + json.dumps({"slug": "kept", "url": "https://example.org/kept-new"})
            + "\n"
        )
        command("import", "--update", str(records))
        assert within_the_poll(lambda: "example.org/imported" in on_b("/imported")[1])
        assert within_the_poll(lambda: "example.org/kept-new" in on_b("/kept")[1])
        written = tmp_path / "summary.json"
        written.write_text(json.dumps({"title": "Écrit en ligne de commande", "teaser": "T."}))
        command("summaries", "set", "kept", "--from-file", str(written))
        assert within_the_poll(lambda: "Écrit en ligne de commande" in on_b("/kept")[1])
    finally:
        assert (a.stop(), b.stop()) == (0, 0)
