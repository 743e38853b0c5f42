"""`balise stats` and `balise clicks purge` as an operator uses them."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone

from balise.analytics.clicks import Hit
from balise.db.tables import clicks, hourly_counts
from tests.clickutil import flushed, recorder, rows

NOW = datetime.now(timezone.utc)


def record(app, link, *moments, kind="click"):
    for moment in moments:
        uid = secrets.token_hex(16) if kind == "click" else None
        recorder(app).record(Hit(kind, link.id, moment, uid=uid))
    flushed(app)


def test_balise_stats_prints_a_links_totals(app, runner, make_link):
    link = make_link(slug="promo")
    record(app, link, NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    record(app, link, NOW - timedelta(hours=1), kind="bot")
    result = runner("stats", "promo")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines() if line)
    assert lines["link"] == "promo -> https://example.org/article"
    assert lines["clicks"] == "2"
    assert lines["bots"] == "1"
    assert "unique visitors  1" in result.output  # the same (unknown) visitor twice


def test_balise_stats_without_a_slug_covers_all_links_and_can_print_json(app, runner, make_link):
    first, second = make_link(), make_link()
    record(app, first, NOW - timedelta(minutes=5))
    record(app, second, NOW - timedelta(minutes=5), NOW - timedelta(minutes=4))
    result = runner("stats", "--json", "--tz", "Europe/Paris")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["totals"]["clicks"] == 3
    assert body["tz"] == "Europe/Paris"


def test_balise_stats_refuses_an_unknown_slug_or_zone(runner, make_link):
    make_link()
    assert runner("stats", "nope").exit_code != 0
    result = runner("stats", "--tz", "Nowhere/City")
    assert result.exit_code == 2 and "unknown time zone" in result.output


def test_balise_clicks_purge_deletes_old_raw_clicks_and_keeps_counts(app, runner, make_link, db):
    link = make_link()
    record(app, link, NOW - timedelta(days=40), NOW - timedelta(days=2))
    result = runner("clicks", "purge", "--days", "30")
    assert result.exit_code == 0, result.output
    assert "deleted 1 clicks and 0 robot hits" in result.output
    assert len(rows(db, clicks)) == 1
    assert sum(r["clicks"] for r in rows(db, hourly_counts)) == 2
