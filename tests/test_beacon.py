"""Beacon confirmations: counted once per served click; forged or expired tokens change nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from itsdangerous import Signer

from balise.analytics.beacon import MAX_AGE, BeaconTokens
from balise.db.tables import clicks, hourly_counts
from tests.agents import FIREFOX_DESKTOP
from tests.clickutil import flushed, recorder, rows, token_in

PROBLEM = "application/problem+json"


def read(client, slug):
    r = client.get(f"/{slug}", headers={"User-Agent": FIREFOX_DESKTOP})
    assert r.status_code == 200
    return token_in(r.text)


def send(client, slug, token):
    return client.post(
        f"/{slug}/beacon", data=token, headers={"Content-Type": "text/plain;charset=UTF-8"}
    )


def confirmed_counts(db):
    return sum(r["confirmed"] for r in rows(db, hourly_counts))


def test_the_reader_page_carries_the_beacon_script_allowed_by_its_csp(client, make_link):
    link = make_link()
    r = client.get(f"/{link.slug}", headers={"User-Agent": FIREFOX_DESKTOP})
    assert "navigator.sendBeacon" in r.text
    csp = r.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in csp
    assert csp.count("'sha256-") == 3  # beacon.js, redirect.js and the stylesheet


def test_a_beacon_confirms_its_click_once_however_often_it_is_replayed(app, client, make_link, db):
    link = make_link()
    token = read(client, link.slug)
    read(client, link.slug)  # a second click, never confirmed
    for _ in range(3):
        assert send(client, link.slug, token).status_code == 204
    flushed(app)
    stored = rows(db, clicks)
    assert [c["confirmed_at"] is not None for c in stored] == [True, False]
    assert confirmed_counts(db) == 1
    assert sum(r["clicks"] for r in rows(db, hourly_counts)) == 2


def test_a_forged_token_is_refused_with_400_and_changes_nothing(app, client, make_link, db):
    link = make_link()
    token = read(client, link.slug)
    flushed(app)
    payload, _, signature = token.rpartition(".")
    forged_by_other_key = BeaconTokens("not-the-secret").sign(
        rows(db, clicks)[0]["uid"], link.id, rows(db, clicks)[0]["ts"]
    )
    other_click = token.replace(token[:4], "0000", 1)  # another uid under the same signature
    bad_tokens = (
        payload + ".AAAA" + signature[4:],
        other_click,
        forged_by_other_key,
        "garbage",
        "",
        "x" * 5000,
    )
    for bad in bad_tokens:
        r = send(client, link.slug, bad)
        assert r.status_code == 400, bad
        assert r.mimetype == PROBLEM
        assert r.get_json()["status"] == 400
    flushed(app)
    assert rows(db, clicks)[0]["confirmed_at"] is None
    assert confirmed_counts(db) == 0


def test_an_expired_token_is_refused_with_400(app, client, make_link, db):
    link = make_link()
    token = read(client, link.slug)
    flushed(app)
    clicked_at = rows(db, clicks)[0]["ts"]
    late = clicked_at + timedelta(seconds=MAX_AGE + 5)
    recorder(app).clock = lambda: late
    r = send(client, link.slug, token)
    assert r.status_code == 400
    assert "expired" in r.get_json()["detail"]
    flushed(app)
    assert rows(db, clicks)[0]["confirmed_at"] is None


def test_dnt_clicks_can_be_confirmed_too(app, client, make_link, db):
    link = make_link()
    r = client.get(f"/{link.slug}", headers={"User-Agent": FIREFOX_DESKTOP, "DNT": "1"})
    assert send(client, link.slug, token_in(r.text)).status_code == 204
    flushed(app)
    assert rows(db, clicks)[0]["confirmed_at"] is not None


def test_a_token_is_the_one_itsdangerous_signs_for_the_same_key_and_salt():
    """Tokens are signed without Signer.sign (a keyed HMAC copied per token), yet are exactly
    what itsdangerous makes and checks: a change of secret, salt or digest would show here."""
    secret = "a secret of the server " * 2
    clicked_at = datetime(2026, 12, 1, 6, 0, 7, tzinfo=UTC)
    token = BeaconTokens(secret).sign("0123456789abcdef" * 2, 42, clicked_at)
    signer = Signer(secret, salt="beacon", digest_method=hashlib.sha256)
    payload = f"{'0123456789abcdef' * 2}.42.{int(clicked_at.timestamp())}"
    assert token == signer.sign(payload).decode("ascii")
    assert signer.unsign(token).decode("ascii") == payload
    assert BeaconTokens("another secret").sign("0123456789abcdef" * 2, 42, clicked_at) != token
