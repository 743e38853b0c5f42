"""The live view: the clicks of the last hour per minute and the latest clicks, from the
database, so it shows what every instance stored."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from balise import create_app
from tests.agents import SAFARI_IPHONE
from tests.clickutil import flushed, set_clock
from tests.test_dashboard_stats import NOW as HALF_PAST
from tests.test_dashboard_stats import seed

NOW = datetime(2026, 6, 1, 14, 30, 20, tzinfo=timezone.utc)


def test_the_live_view_counts_clicks_made_seconds_before(
    app, client, settings, make_link, viewer_headers
):
    link = make_link(slug="promo", title="Promo")
    clock = set_clock(app, NOW)
    client.get(f"/{link.slug}", headers={"User-Agent": SAFARI_IPHONE, "Referer": "https://t.co/x"})
    other = create_app(settings)  # a second instance, sharing the database
    try:
        set_clock(other, NOW + timedelta(seconds=5))
        clock.advance(seconds=5)
        other.test_client().get(f"/{link.slug}", headers={"User-Agent": SAFARI_IPHONE})
        flushed(app)
        flushed(other)
        r = client.get("/api/v1/stats/live", headers=viewer_headers)
    finally:
        other.extensions["balise"].shutdown()
    assert r.status_code == 200
    body = r.get_json()
    assert len(body["minutes"]) == 60
    assert body["minutes"][-1] == {"start": "2026-06-01T14:30:00Z", "clicks": 2}
    assert sum(m["clicks"] for m in body["minutes"]) == 2
    assert body["recent"] == [
        {"time": "2026-06-01T14:30:25Z", "link": "promo", "referrer": None, "country": None,
         "device": "mobile"},
        {"time": "2026-06-01T14:30:20Z", "link": "promo", "referrer": "t.co", "country": None,
         "device": "mobile"},
    ]  # fmt: skip


def test_the_live_view_forgets_what_is_older_than_an_hour(app, client, make_link, viewer_headers):
    link = make_link()
    clock = set_clock(app, NOW)
    client.get(f"/{link.slug}", headers={"User-Agent": SAFARI_IPHONE})
    flushed(app)
    clock.advance(minutes=61)
    body = client.get("/api/v1/stats/live", headers=viewer_headers).get_json()
    assert body["recent"] == [] and not any(m["clicks"] for m in body["minutes"])
    assert client.get("/api/v1/stats/live").status_code == 401


def test_the_live_page_shows_the_latest_clicks_and_its_refreshable_part(viewer, make_link, db):
    # 3 clicks at the last half past the hour, within the last hour
    seed(
        db,
        make_link(slug="promo"),
        hours_ago=(0 if datetime.now(timezone.utc) >= HALF_PAST else 1,),
    )
    page = viewer.get("/dashboard/live").get_data(as_text=True)
    assert 'data-live-url="/dashboard/live?part=1"' in page
    part = viewer.get("/dashboard/live?part=1").get_data(as_text=True)
    assert "<html" not in part
    for html in (page, part):
        assert html.count('<a class="mono" href="/dashboard/links/promo/stats">promo</a>') == 3
        assert "Direct / inconnu" not in html and "t.co" in html and "news.example" in html
