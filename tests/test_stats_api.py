"""The statistics API and CSV export: numbers that match exactly what readers did."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from balise.analytics.clicks import Hit
from balise.db.counters import increment_hourly
from tests.agents import CHROME_ANDROID, FIREFOX_DESKTOP, SAFARI_IPHONE, UNFURLERS
from tests.clickutil import flushed, recorder, set_clock, token_in

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc


def at(text):
    """A Paris wall-clock time as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def visit(client, slug, agent=FIREFOX_DESKTOP, ip="192.0.2.1", query="", **headers):
    return client.get(
        f"/{slug}{query}",
        headers={"User-Agent": agent, **headers},
        environ_base={"REMOTE_ADDR": ip},
    )


def get_stats(client, headers, slug=None, **params):
    path = f"/api/v1/links/{slug}/stats" if slug else "/api/v1/stats"
    r = client.get(path, query_string=params, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_stats_report_exactly_what_readers_did(app, client, make_link, viewer_headers, db):
    link = make_link()
    clock = set_clock(app, at("2026-05-04T10:15"))
    token = token_in(visit(client, link.slug, query="?utm_source=mastodon").text)
    visit(client, link.slug, query="?utm_source=mastodon")  # same visitor again
    visit(client, link.slug, agent=SAFARI_IPHONE, ip="192.0.2.2", Referer="https://t.co/abc")
    visit(client, link.slug, agent=CHROME_ANDROID, ip="192.0.2.3", DNT="1")
    visit(client, link.slug, agent=UNFURLERS["Slackbot-LinkExpanding"])
    visit(client, link.slug, **{"Sec-Purpose": "prefetch"})
    client.head(f"/{link.slug}")
    client.get(f"/{link.slug}+")
    assert client.post(f"/{link.slug}/beacon", data=token).status_code == 204
    flushed(app)
    clock.advance(days=1)
    visit(client, link.slug)  # the first visitor, the next day: a new unique visitor
    flushed(app)
    with db.begin() as conn:  # preview views come from the summaries look-up API
        increment_hourly(
            conn, [{"link_id": link.id, "hour": at("2026-05-05T09:00"), "preview_views": 4}]
        )

    body = get_stats(
        client,
        viewer_headers,
        link.slug,
        **{"from": "2026-05-03", "to": "2026-05-06", "tz": "Europe/Paris"},
    )
    assert body["link"] == link.slug
    assert body["totals"] == {
        "clicks": 5,
        "confirmed": 1,
        "unique_visitors": 3,  # two people on May 4 (DNT not counted), one on May 5
        "bots": 1,
        "prefetches": 1,
        "preview_views": 4,
    }
    assert [(p["start"], p["clicks"], p["unique_visitors"]) for p in body["series"]] == [
        ("2026-05-03T00:00:00+02:00", 0, 0),
        ("2026-05-04T00:00:00+02:00", 4, 2),
        ("2026-05-05T00:00:00+02:00", 1, 1),
    ]
    top = body["top"]
    # Clicks without a value count in a row of their own: every list adds up to the 5 clicks.
    assert top["utm_source"] == [{"value": None, "clicks": 3}, {"value": "mastodon", "clicks": 2}]
    assert top["referrers"] == [{"value": None, "clicks": 4}, {"value": "t.co", "clicks": 1}]
    assert top["browsers"] == [
        {"value": "Firefox", "clicks": 3},
        {"value": None, "clicks": 1},  # the DNT click keeps nothing
        {"value": "Mobile Safari", "clicks": 1},
    ]
    assert top["devices"] == [
        {"value": "desktop", "clicks": 3},
        {"value": None, "clicks": 1},
        {"value": "mobile", "clicks": 1},
    ]
    assert top["countries"] == [{"value": None, "clicks": 5}]
    assert top["utm_campaign"] == [{"value": None, "clicks": 5}]


def test_day_series_is_gap_free_across_the_spring_daylight_saving_change(
    app, client, make_link, viewer_headers
):
    link = make_link()
    rec = recorder(app)
    for moment in ("2026-03-28T12:00", "2026-03-29T23:30", "2026-03-30T00:30", "2026-03-30T23:59"):
        rec.record(Hit("click", link.id, at(moment).astimezone(UTC), uid=secrets.token_hex(16)))
    flushed(app)
    set_clock(app, at("2026-04-10T00:00"))
    body = get_stats(
        client,
        viewer_headers,
        link.slug,
        **{"from": "2026-03-27", "to": "2026-04-01", "tz": "Europe/Paris"},
    )
    assert [(p["start"], p["clicks"]) for p in body["series"]] == [
        ("2026-03-27T00:00:00+01:00", 0),
        ("2026-03-28T00:00:00+01:00", 1),
        ("2026-03-29T00:00:00+01:00", 1),  # 23 hours long
        ("2026-03-30T00:00:00+02:00", 2),
        ("2026-03-31T00:00:00+02:00", 0),
    ]
    assert body["from"] == "2026-03-27T00:00:00+01:00"
    assert body["to"] == "2026-04-01T00:00:00+02:00"


def test_hour_series_has_25_hours_on_the_autumn_change(app, client, make_link, viewer_headers):
    link = make_link()
    rec = recorder(app)
    # 02:30 happens twice in Paris that night: once in summer time, once in winter time.
    for utc_time in ("2026-10-25T00:30", "2026-10-25T01:30"):
        moment = datetime.fromisoformat(utc_time).replace(tzinfo=UTC)
        rec.record(Hit("click", link.id, moment, uid=secrets.token_hex(16)))
    flushed(app)
    body = get_stats(
        client,
        viewer_headers,
        link.slug,
        **{"from": "2026-10-25", "to": "2026-10-26", "interval": "hour", "tz": "Europe/Paris"},
    )
    starts = [p["start"] for p in body["series"]]
    assert len(starts) == 25
    assert starts[2:4] == ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    assert [p["clicks"] for p in body["series"][2:4]] == [1, 1]
    assert sum(p["clicks"] for p in body["series"]) == 2


def test_week_series_starts_on_monday(app, client, make_link, viewer_headers):
    link = make_link()
    set_clock(app, at("2026-06-10T12:00"))
    visit(client, link.slug)
    flushed(app)
    body = get_stats(
        client,
        viewer_headers,
        link.slug,
        **{"from": "2026-06-03", "to": "2026-06-20", "interval": "week", "tz": "Europe/Paris"},
    )
    assert [(p["start"], p["clicks"]) for p in body["series"]] == [
        ("2026-06-01T00:00:00+02:00", 0),
        ("2026-06-08T00:00:00+02:00", 1),
        ("2026-06-15T00:00:00+02:00", 0),
    ]


def test_all_links_stats_add_up_and_rank_the_links(app, client, make_link, viewer_headers):
    first, second = make_link(slug="first"), make_link(slug="second")
    set_clock(app, at("2026-07-01T08:00"))
    for _ in range(3):
        visit(client, second.slug)
    visit(client, first.slug, ip="192.0.2.50")
    visit(client, first.slug, agent=UNFURLERS["Discordbot"])
    flushed(app)
    body = get_stats(client, viewer_headers, **{"from": "2026-07-01", "to": "2026-07-02"})
    assert body["link"] is None
    assert body["totals"]["clicks"] == 4 and body["totals"]["bots"] == 1
    assert body["totals"]["unique_visitors"] == 2  # the same person on two links counts once
    assert body["top"]["links"] == [
        {"value": "second", "title": None, "clicks": 3},
        {"value": "first", "title": None, "clicks": 1},
    ]


def test_visitors_and_top_lists_survive_the_retention_purge(app, client, make_link, viewer_headers):
    link = make_link()
    clock = set_clock(app, datetime(2025, 1, 10, 12, tzinfo=UTC))
    visit(client, link.slug, ip="192.0.2.1")
    visit(client, link.slug, ip="192.0.2.2")
    flushed(app)
    clock.advance(days=400)
    assert recorder(app).purge() == (2, 0)
    body = get_stats(
        client, viewer_headers, link.slug, **{"from": "2025-01-01", "to": "2025-02-01"}
    )
    assert body["totals"]["clicks"] == 2
    assert body["totals"]["unique_visitors"] == 2
    # Raw clicks are gone; the rollups still answer the top lists.
    assert body["top"]["browsers"] == [{"value": "Firefox", "clicks": 2}]
    assert body["top"]["referrers"] == [{"value": None, "clicks": 2}]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "month"}, "interval"),
        ({"tz": "Mars/Olympus_Mons"}, "tz"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "from"),
        ({"from": "2000-01-01", "to": "2026-01-01", "interval": "hour"}, "interval"),
        ({"top": "0"}, "top"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_stats_parameters_answer_422_naming_the_field(
    client, make_link, viewer_headers, params, field
):
    link = make_link()
    r = client.get(f"/api/v1/links/{link.slug}/stats", query_string=params, headers=viewer_headers)
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert [e["field"] for e in r.get_json()["errors"]] == [field]


def test_stats_need_a_key_and_a_known_link(client, viewer_headers):
    assert client.get("/api/v1/stats").status_code == 401
    assert client.get("/api/v1/links/nope/stats", headers=viewer_headers).status_code == 404
    assert client.get("/api/v1/links/nope/clicks.csv", headers=viewer_headers).status_code == 404


def test_csv_export_has_a_header_and_one_row_per_stored_click(
    app, client, make_link, viewer_headers
):
    link, other = make_link(), make_link()
    rec = recorder(app)
    start = datetime(2026, 2, 1, tzinfo=UTC)
    for i in range(2345):  # several chunks of the streamed query
        rec.record(Hit("click", link.id, start + timedelta(seconds=i), uid=secrets.token_hex(16)))
    rec.record(Hit("click", other.id, start, uid=secrets.token_hex(16)))
    rec.record(Hit("bot", link.id, start, agent="Twitterbot"))
    flushed(app)
    r = client.get(f"/api/v1/links/{link.slug}/clicks.csv", headers=viewer_headers)
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith(f'attachment; filename="{link.slug}-clicks')
    table = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert table[0][:3] == ["time", "link", "referrer_host"]
    assert len(table) == 1 + 2345
    assert table[1][0] == "2026-02-01T00:00:00Z" and table[1][1] == link.slug
    r = client.get(
        f"/api/v1/links/{link.slug}/clicks.csv",
        query_string={"from": "2026-02-01T00:10:00Z", "to": "2026-02-01T00:20:00Z"},
        headers=viewer_headers,
    )
    assert len(r.get_data(as_text=True).splitlines()) == 1 + 600


def test_csv_cells_cannot_run_as_spreadsheet_formulas(app, client, make_link, viewer_headers):
    link = make_link()
    visit(client, link.slug, query="?utm_source=%3DHYPERLINK(%22http://evil%22)&utm_medium=-2")
    flushed(app)
    r = client.get(f"/api/v1/links/{link.slug}/clicks.csv", headers=viewer_headers)
    header, row = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    values = dict(zip(header, row, strict=True))
    assert values["utm_source"] == '\'=HYPERLINK("http://evil")'
    assert values["utm_medium"] == "'-2"
    assert "192.0.2.1" not in r.get_data(as_text=True)


def test_the_openapi_document_describes_the_stats_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/links/{slug}/stats" in paths
    assert "/api/v1/stats" in paths
    assert "/api/v1/links/{slug}/clicks.csv" in paths
    params = {p["name"] for p in paths["/api/v1/stats"]["get"]["parameters"]}
    assert {"from", "to", "interval", "tz", "top"} <= params
