"""Recording reader requests: what is stored, what is not, and what is counted."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from balise.db.tables import clicks, daily_visitors, hourly_counts, robot_hits, visitor_salts
from tests.agents import CHROME_ANDROID, FIREFOX_DESKTOP, SAFARI_IPHONE, UNFURLERS
from tests.clickutil import flushed, rows, set_clock

IP = "203.0.113.77"


def visit(client, slug, agent=FIREFOX_DESKTOP, ip=IP, path="", method="get", **headers):
    headers = {"User-Agent": agent, **headers}
    call = getattr(client, method)
    return call(f"/{slug}{path}", headers=headers, environ_base={"REMOTE_ADDR": ip})


def test_a_click_stores_coarse_facts_and_never_the_address_or_user_agent(
    app, client, make_link, db
):
    link = make_link()
    r = visit(
        client,
        link.slug,
        agent=CHROME_ANDROID,
        path="?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
        Referer="https://news.example.com/some/article?id=3",
    )
    assert r.status_code == 200
    flushed(app)
    [click] = rows(db, clicks)
    assert click["link_id"] == link.id
    assert (click["browser"], click["os"], click["device"]) == (
        "Chrome Mobile",
        "Android",
        "mobile",
    )
    assert click["referrer_host"] == "news.example.com"
    assert click["referrer_path"] is None  # another site's path is not kept
    assert (click["utm_source"], click["utm_medium"], click["utm_campaign"]) == (
        "newsletter",
        "email",
        "spring",
    )
    assert click["country"] is None  # no GeoIP database configured
    assert len(click["visitor_hash"]) == 32
    for table in (clicks, robot_hits, daily_visitors, hourly_counts, visitor_salts):
        for row in rows(db, table):
            for value in row.values():
                text = str(value)
                assert IP not in text and "203.0.113" not in text
                assert CHROME_ANDROID not in text and "Pixel 8" not in text


def test_referrer_path_is_kept_only_from_the_short_domain_itself(app, client, make_link, db):
    link = make_link()
    visit(client, link.slug, Referer="https://s.test/other-link+?x=1")
    flushed(app)
    [click] = rows(db, clicks)
    assert (click["referrer_host"], click["referrer_path"]) == ("s.test", "/other-link+?x=1")


@pytest.mark.parametrize("header", [("DNT", "1"), ("Sec-GPC", "1")])
def test_dnt_and_gpc_clicks_are_counted_but_store_nothing_about_the_reader(
    app, client, make_link, db, header
):
    link = make_link()
    r = visit(client, link.slug, path="?utm_source=x", Referer="https://t.co/x", **dict([header]))
    assert r.status_code == 200
    flushed(app)
    [click] = rows(db, clicks)
    assert click["dnt"] is True
    kept = {k: click[k] for k in click if k not in ("id", "uid", "link_id", "ts", "dnt")}
    assert set(kept.values()) == {None}
    assert rows(db, daily_visitors) == []
    assert [r["clicks"] for r in rows(db, hourly_counts)] == [1]


def test_dnt_is_ignored_when_the_setting_is_off(settings, make_link, db):
    from balise import create_app

    application = create_app({**settings, "HONOR_DNT": False})
    try:
        link = make_link()
        visit(application.test_client(), link.slug, DNT="1")
        flushed(application)
        [click] = rows(db, clicks)
        assert click["dnt"] is False and click["browser"] == "Firefox"
    finally:
        application.extensions["balise"].shutdown()


def test_bots_and_prefetches_are_stored_apart_and_never_counted_as_clicks(
    app, client, make_link, db
):
    link = make_link()
    for agent in UNFURLERS.values():
        assert visit(client, link.slug, agent=agent).status_code == 200
    visit(client, link.slug, **{"X-Firefox-AI": "1"})
    visit(client, link.slug, agent=SAFARI_IPHONE, **{"Sec-Purpose": "prefetch"})
    visit(client, link.slug, **{"Purpose": "prefetch"})
    flushed(app)
    assert rows(db, clicks) == []
    hits = rows(db, robot_hits)
    assert sorted(h["agent"] for h in hits if h["kind"] == "bot") == sorted(
        [*UNFURLERS, "firefox-ai"]
    )
    assert sorted(h["agent"] for h in hits if h["kind"] == "prefetch") == [
        "Firefox",
        "Mobile Safari",
    ]
    [counts] = rows(db, hourly_counts)
    assert (counts["clicks"], counts["bots"], counts["prefetches"]) == (0, 10, 2)


def test_bots_get_no_beacon_token_and_people_do(client, make_link):
    link = make_link()
    assert 'data-token=""' in visit(client, link.slug, agent=UNFURLERS["Twitterbot"]).text
    assert 'data-token=""' not in visit(client, link.slug).text


def test_head_and_preview_record_nothing(app, client, make_link, db):
    link = make_link()
    assert visit(client, link.slug, method="head").status_code == 200
    assert visit(client, link.slug, path="+").status_code == 200
    flushed(app)
    assert rows(db, clicks) == [] and rows(db, robot_hits) == [] and rows(db, hourly_counts) == []


def test_unique_visitors_count_once_a_day_and_again_the_next_day(app, client, make_link, db):
    link = make_link()
    clock = set_clock(app, datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc))
    visit(client, link.slug)
    clock.advance(hours=5)
    visit(client, link.slug)  # same reader, same day
    visit(client, link.slug, ip="198.51.100.9")  # another reader
    flushed(app)
    first_salts = rows(db, visitor_salts)
    clock.advance(days=1)
    visit(client, link.slug)  # same reader, next day
    flushed(app)
    by_day = {}
    for row in rows(db, daily_visitors):
        by_day.setdefault(row["day"], set()).add(row["visitor_hash"])
    assert {day: len(hashes) for day, hashes in by_day.items()} == {
        "2026-03-10": 2,
        "2026-03-11": 1,
    }
    assert not by_day["2026-03-10"] & by_day["2026-03-11"]  # not linkable across days
    hashes = [c["visitor_hash"] for c in rows(db, clicks)]
    assert hashes[0] == hashes[1] != hashes[2]
    assert "2026-03-10" in [s["day"] for s in first_salts]
    days_kept = [s["day"] for s in rows(db, visitor_salts)]
    assert "2026-03-11" in days_kept and "2026-03-10" not in days_kept  # past day's salt gone


def test_max_clicks_counts_served_clicks_then_answers_410(app, client, make_link, db):
    link = make_link(max_clicks=2)
    visit(client, link.slug, agent=UNFURLERS["Twitterbot"])  # bots do not use up the limit
    assert visit(client, link.slug).status_code == 200
    assert visit(client, link.slug).status_code == 200
    for path, method in (("", "get"), ("", "head"), ("+", "get")):
        assert visit(client, link.slug, path=path, method=method).status_code == 410
    flushed(app)
    assert len(rows(db, clicks)) == 2


def test_the_api_reports_a_link_that_used_up_its_clicks_as_exhausted(
    app, client, make_link, editor_headers
):
    link = make_link(max_clicks=1)
    assert (
        client.get(f"/api/v1/links/{link.slug}", headers=editor_headers).json["state"] == "active"
    )
    assert visit(client, link.slug).status_code == 200
    flushed(app)
    r = client.get(f"/api/v1/links/{link.slug}", headers=editor_headers)
    assert r.json["state"] == "exhausted"


def test_max_clicks_counts_clicks_stored_before_this_process(settings, make_link, db):
    from balise import create_app

    link = make_link(max_clicks=3)
    first = create_app(settings)
    try:
        for _ in range(2):
            assert visit(first.test_client(), link.slug).status_code == 200
    finally:
        first.extensions["balise"].shutdown()
    second = create_app(settings)
    try:
        client = second.test_client()
        assert visit(client, link.slug).status_code == 200
        assert visit(client, link.slug).status_code == 410
    finally:
        second.extensions["balise"].shutdown()
    assert len(rows(db, clicks)) == 3
