"""Two real `balise serve` instances (PostgreSQL, Redis): a slug change shows on both at once,
and a bulk creation through one is served by the other."""

from __future__ import annotations

import json
import secrets

import pytest

from balise.accounts import keys
from balise.db import make_engine, upgrade
from tests.databases import scratch_database
from tests.live_server import LiveServer
from tests.test_multi_instance import call, eventually

pytestmark = pytest.mark.postgres
BOT = "Twitterbot/1.0"  # answered from the cache, recording no click


@pytest.fixture
def shared_database(postgres_url):
    url, drop = scratch_database(postgres_url, "balise_slugs")
    yield url
    drop()


def test_a_changed_slug_stops_answering_on_every_instance_at_once(
    shared_database, redis_url, tmp_path
):
    engine = make_engine(shared_database)
    upgrade(engine)
    with engine.begin() as conn:
        _key, key = keys.create_key(conn, "slugs", "editor")
    engine.dispose()
    settings = {
        "SECRET_KEY": secrets.token_hex(24),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"balise-slugs-{secrets.token_hex(4)}",
        # Only Redis can explain a change showing at once on the other one (not the TTL, nor
        # the change feed, read once a minute here).
        "CACHE_TTL": 300,
        "CACHE_POLL": 60,
    }
    a = LiveServer(tmp_path / "a", shared_database, **settings)
    b = LiveServer(tmp_path / "b", shared_database, **settings)
    try:
        items = [
            {"url": "https://example.org/one", "slug": "before"},
            {"url": "https://example.org/two", "slug": "before"},
        ]
        status, body = call(a, "POST", "/api/v1/links/bulk", {"links": items}, key)
        assert status == 200
        assert [r["status"] for r in json.loads(body)["results"]] == [201, 409]
        # B caches the link under its slug, and the future slug as unknown.
        assert call(b, "GET", "/before", ua=BOT)[0] == 200
        assert call(b, "GET", "/after", ua=BOT)[0] == 404
        status, _ = call(a, "PATCH", "/api/v1/links/before", {"slug": "after"}, key)
        assert status == 200
        assert eventually(lambda: call(b, "GET", "/before", ua=BOT)[0] == 404)
        assert eventually(lambda: call(b, "GET", "/after", ua=BOT)[0] == 200)
        assert call(a, "GET", "/before", ua=BOT)[0] == 404
        assert "https://example.org/one" in call(b, "GET", "/after+")[1]
    finally:
        a.stop()
        b.stop()
