"""With Redis as limiter storage, instances share one budget of requests."""

from __future__ import annotations

import secrets

from balise import create_app


def test_two_instances_share_the_link_creation_limit_through_redis(
    settings, redis_url, editor_headers
):
    shared = settings | {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_CREATE": "3/minute",
        "RATELIMIT_KEY_PREFIX": f"balise-test-{secrets.token_hex(4)}",  # this run's keys only
    }
    first, second = create_app(shared), create_app(shared)
    statuses = []
    for i in range(4):
        app = first if i % 2 == 0 else second
        r = app.test_client().post(
            "/api/v1/links", json={"url": f"https://example.org/{i}"}, headers=editor_headers
        )
        statuses.append(r.status_code)
    assert statuses == [201, 201, 201, 429]
    for app in (first, second):
        app.extensions["balise"].shutdown()


def test_with_the_limit_store_down_the_api_still_answers_and_still_limits(settings, editor_headers):
    app = create_app(
        settings
        | {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0", "RATELIMIT_CREATE": "2/minute"}
    )
    client = app.test_client()
    statuses = [
        client.post(
            "/api/v1/links", json={"url": f"https://example.org/{i}"}, headers=editor_headers
        ).status_code
        for i in range(3)
    ]
    assert statuses == [201, 201, 429]
    app.extensions["balise"].shutdown()
