"""Floods of public requests (issue 11: findings 1, 11 and 14) meet per-address limits.

Look-ups, QR codes and 404s are limited per client address; failed API authentications
are limited on every API route; a flood of unknown slugs stops reading the database.
"""

from __future__ import annotations

import http.client
import json
import secrets
import struct
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import segno
from sqlalchemy import event

from balise import create_app
from balise.web.context import state
from tests.live_server import LiveServer

JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html", "Accept-Language": "en"}


@pytest.fixture
def make_app(settings: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """create_app with this test's database and the given settings; shut down afterwards."""
    apps: list[Any] = []

    def make(**overrides: Any) -> Any:
        application = create_app(settings | overrides)
        apps.append(application)
        return application

    yield make
    for application in apps:
        application.extensions["balise"].shutdown()


def assert_429(response: Any, *, page: bool = False) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    if page:
        assert response.mimetype == "text/html"
        assert "Too many requests" in response.get_data(as_text=True)
    else:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["type"].endswith("/rate-limited")


def from_address(app: Any, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def link_reads(app: Any) -> list[str]:
    """Every statement the app sends that reads the links table, as it happens."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM links" in statement:
            seen.append(statement)

    event.listen(state(app).engine, "before_cursor_execute", record)
    return seen


# -- finding 1: public look-ups and QR codes ------------------------------------------------


def test_look_ups_share_one_budget_per_address_then_answer_429(make_app):
    app = make_app(RATELIMIT_LOOKUP="3/minute")
    client = app.test_client()
    url = {"url": "https://example.org/a"}
    assert client.get("/api/v1/summaries", query_string=url).status_code == 404
    assert client.post("/api/v1/summaries/lookup", json={"urls": ["a.example"]}).status_code == 200
    assert client.get("/api/v1/summaries", query_string=url).status_code == 404
    r = client.post("/api/v1/summaries/lookup", json={"urls": ["a.example"]})
    assert_429(r)
    assert r.headers["Access-Control-Allow-Origin"] == "*"  # the extension can read it
    assert_429(client.get("/api/v1/summaries", query_string=url))
    # Another address has its own budget; preflights are never counted.
    other = from_address(app, "192.0.2.9")
    assert other.get("/api/v1/summaries", query_string=url).status_code == 404
    assert client.options("/api/v1/summaries/lookup").status_code == 200


def test_a_look_up_batch_over_64_kib_answers_413_and_a_full_ordinary_batch_fits(client):
    long_urls = [f"https://example.org/{i}/" + "a" * 4070 for i in range(100)]
    r = client.post("/api/v1/summaries/lookup", json={"urls": long_urls})
    assert r.status_code == 413
    assert r.mimetype == "application/problem+json"
    assert "65,536" in r.get_json()["detail"]
    ordinary = [f"https://news.example/{i}/" + "b" * 560 for i in range(100)]
    assert len(json.dumps({"urls": ordinary})) > 57_000
    assert client.post("/api/v1/summaries/lookup", json={"urls": ordinary}).status_code == 200


def test_qr_codes_are_limited_per_address(make_app, make_link):
    make_link(slug="promo")
    app = make_app(RATELIMIT_QR="2/minute")
    client = app.test_client()
    assert client.get("/promo/qr.svg").status_code == 200
    assert client.get("/promo/qr.png").status_code == 200
    assert_429(client.get("/promo/qr.png", headers=BROWSER), page=True)
    assert_429(client.get("/promo/qr.svg", headers=JSON))
    assert from_address(app, "192.0.2.9").get("/promo/qr.png").status_code == 200


def _png_side(response: Any) -> int:
    return int(struct.unpack(">II", response.get_data()[16:24])[0])


def test_qr_sizes_are_bounded_png_to_scale_20_and_svg_to_40(client, make_link):
    make_link(slug="promo")
    code = segno.make("https://s.test/promo", error="m", micro=False)
    for asked, expected in (("40", 20), ("999999", 20), ("9" * 5000, 20), ("0", 1), ("", 8)):
        r = client.get(f"/promo/qr.png?scale={asked}")
        assert r.status_code == 200, asked[:10]
        assert _png_side(r) == code.symbol_size(scale=expected)[0]
    assert client.get("/promo/qr.png?scale=x").status_code == 400  # not digits: said, not guessed
    svg = client.get("/promo/qr.svg?scale=40").get_data(as_text=True)
    side = code.symbol_size(scale=40)[0]
    assert f'viewBox="0 0 {side} {side}"' in svg


# -- finding 11: failed API authentications on every API route ------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/links", {"url": "https://example.org/"}),  # has its own limit
        ("GET", "/api/v1/links", None),
        ("PUT", "/api/v1/links/abc/summary", {"title": "t", "teaser": "t"}),
    ],
)
def test_failed_authentications_are_limited_on_every_api_route(make_app, method, path, body):
    app = make_app(RATELIMIT_AUTH_FAILURES="3/minute")
    client = app.test_client()
    wrong = {"Authorization": "Bearer blz_wrong"}
    statuses = [
        client.open(path, method=method, json=body, headers=wrong).status_code for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]
    assert_429(client.open(path, method=method, json=body, headers=wrong))


def test_80_link_creations_with_a_wrong_key_meet_the_default_limit(client):
    wrong = {"Authorization": "Bearer blz_wrong"}
    statuses = [
        client.post("/api/v1/links", json={"url": "https://e.example/"}, headers=wrong).status_code
        for _ in range(80)
    ]
    assert statuses[:20] == [401] * 20  # BALISE_RATELIMIT_AUTH_FAILURES: 20/minute
    assert set(statuses[20:]) == {429}


# -- finding 14: slug probing -----------------------------------------------------------------


def _probe(n: int) -> list[str]:
    return [f"/zz{secrets.token_hex(3)}" for _ in range(n)]


def test_404s_are_limited_per_address_with_the_localised_page(make_app, make_link):
    make_link(slug="known")
    app = make_app(RATELIMIT_NOT_FOUND="3/minute")
    client = app.test_client()
    assert client.get("/known").status_code == 200  # cached from now on
    assert [client.get(p).status_code for p in _probe(3)] == [404, 404, 404]
    assert_429(client.get(_probe(1)[0], headers=BROWSER), page=True)
    assert_429(client.get(_probe(1)[0] + "+", headers=JSON))
    assert_429(client.get("/nothing/qr.svg", headers=JSON))
    # A known, cached link is still served to that address, by the lean path.
    assert client.get("/known").status_code == 200
    assert from_address(app, "192.0.2.9").get(_probe(1)[0]).status_code == 404


def test_a_flood_of_unknown_slugs_stops_reading_the_database_at_the_limit(make_app):
    app = make_app(RATELIMIT_NOT_FOUND="10/minute")
    client = app.test_client()
    reads = link_reads(app)
    statuses = [client.get(p).status_code for p in _probe(60)]
    assert statuses == [404] * 10 + [429] * 50
    assert len(reads) == 10  # one read per 404, none once limited


def test_past_the_404_limit_a_link_not_in_memory_is_neither_read_nor_served(make_app, make_link):
    """The lean path reads a slug it does not hold only within the 404 budget, which it tests
    on Flask-Limiter's own storage and keys: spent through Flask, it is spent for it too."""
    make_link(slug="later")
    app = make_app(RATELIMIT_NOT_FOUND="3/minute")
    client = app.test_client()
    assert [client.get(p).status_code for p in _probe(3)] == [404, 404, 404]
    reads = link_reads(app)
    assert_429(client.get("/later", headers=BROWSER), page=True)
    assert reads == []
    assert from_address(app, "192.0.2.10").get("/later").status_code == 200  # another budget
    assert len(reads) == 1
    assert client.get("/later").status_code == 200  # held now: served whatever the budget


def test_an_unknown_slug_asked_again_is_answered_from_memory(make_app, editor_headers):
    app = make_app(CACHE_TTL=600)
    client = app.test_client()
    reads = link_reads(app)
    assert [client.get("/twice-asked").status_code for _ in range(5)] == [404] * 5
    assert len(reads) == 1
    # Created meanwhile: served at once on this instance.
    r = client.post(
        "/api/v1/links",
        json={"url": "https://e.example/", "slug": "twice-asked"},
        headers=editor_headers,
    )
    assert r.status_code == 201
    assert client.get("/twice-asked").status_code == 200


def test_instances_share_the_404_budget_through_redis(make_app, redis_url):
    shared = {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_NOT_FOUND": "4/minute",
        "RATELIMIT_KEY_PREFIX": f"balise-test-{secrets.token_hex(4)}",
    }
    first, second = make_app(**shared), make_app(**shared)
    statuses = [
        (first if i % 2 else second).test_client().get(p).status_code
        for i, p in enumerate(_probe(6))
    ]
    assert statuses == [404, 404, 404, 404, 429, 429]


def test_with_the_limit_store_down_404s_are_still_answered_and_limited(make_app):
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", RATELIMIT_NOT_FOUND="2/minute")
    client = app.test_client()
    assert [client.get(p).status_code for p in _probe(3)] == [404, 404, 429]


# -- the same through a real server (waitress, the lean path in front of Flask) -------------


def _send(server: LiveServer, method: str, path: str, body: bytes | None = None, **headers: str):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        if body is not None and headers.get("Transfer-Encoding") == "chunked":
            conn.putrequest(method, path)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            for start in range(0, len(body), 8192):
                piece = body[start : start + 8192]
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_a_real_server_limits_probes_and_chunked_batches(db, make_link, tmp_path):
    make_link(slug="known")
    url = db.url.render_as_string(hide_password=False)
    with LiveServer(tmp_path / "data", url, RATELIMIT_NOT_FOUND="5/minute") as server:
        assert _send(server, "GET", "/known")[0] == 200
        statuses = [_send(server, "GET", p)[0] for p in _probe(8)]
        assert statuses == [404] * 5 + [429] * 3
        status, headers, body = _send(server, "GET", _probe(1)[0], **BROWSER)
        assert status == 429 and int(headers["Retry-After"]) > 0
        assert b"Too many requests" in body
        assert _send(server, "GET", "/known")[0] == 200  # the lean path still serves it
        batch = json.dumps({"urls": ["https://example.org/" + "a" * 4000] * 20}).encode()
        status, headers, body = _send(
            server,
            "POST",
            "/api/v1/summaries/lookup",
            batch,
            **{"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        )
        assert status == 413
        assert headers["Content-Type"] == "application/problem+json"
