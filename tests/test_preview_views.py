"""Preview views (issue 11, finding 12): one per link, visitor and UTC day, whoever asks.

A flood of look-ups from one visitor (wrk on GET /api/v1/summaries added 391 views in 3 s)
counts one view; the visitor is the daily-salted hash of address and user agent.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from balise.analytics.clicks import purge_expired
from balise.analytics.previews import count_preview_views
from balise.analytics.visitors import SaltStore
from balise.db.tables import hourly_counts, preview_viewers
from balise.summaries import store as summaries
from tests.clickutil import rows

TARGET = "https://news.example/2026/arbres"
SUMMARY = {"lang": "fr", "title": "Des arbres", "teaser": "La ville plante 10 000 arbres."}
MORNING = datetime(2026, 4, 2, 9, 0, tzinfo=timezone.utc)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"


def with_summary(db, make_link, slug, url):
    link = make_link(slug=slug, url=url)
    with db.begin() as conn:
        summaries.save_summary(conn, link, SUMMARY)
    return link


def views(db) -> dict[int, int]:
    """Preview views per link, over every hour."""
    total = func.sum(hourly_counts.c.preview_views)
    query = select(hourly_counts.c.link_id, total).group_by(hourly_counts.c.link_id)
    with db.connect() as conn:
        return {link_id: int(n) for link_id, n in conn.execute(query) if n}


def test_a_flood_of_look_ups_from_one_visitor_counts_one_view_per_link(client, db, make_link):
    first = with_summary(db, make_link, "arbres", TARGET)
    second = with_summary(db, make_link, "velos", "https://news.example/velos")
    firefox = {"User-Agent": FIREFOX}
    for _ in range(20):
        r = client.get("/api/v1/summaries", query_string={"url": TARGET}, headers=firefox)
        assert r.status_code == 200
    batch = {"urls": [TARGET, "https://s.test/velos", "https://s.test/arbres+"]}
    for _ in range(5):
        r = client.post("/api/v1/summaries/lookup", json=batch, headers=firefox)
        assert r.status_code == 200
    assert views(db) == {first.id: 1, second.id: 1}
    # Another browser, or another address, is another visitor.
    client.get("/api/v1/summaries", query_string={"url": TARGET}, headers={"User-Agent": CHROME})
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    other.get("/api/v1/summaries", query_string={"url": TARGET}, headers=firefox)
    assert views(db) == {first.id: 3, second.id: 1}


def test_a_visitor_counts_again_the_next_utc_day(db, make_link):
    link = make_link(slug="arbres", url=TARGET)
    with db.begin() as conn:
        assert count_preview_views(conn, [link.id, link.id], "v1", MORNING) == {link.id}
        assert count_preview_views(conn, [link.id], "v1", MORNING + timedelta(hours=3)) == set()
        assert count_preview_views(conn, [link.id], "v2", MORNING) == {link.id}
        assert count_preview_views(conn, [link.id], "v1", MORNING + timedelta(days=1)) == {link.id}
    assert views(db) == {link.id: 3}


def test_past_days_viewers_go_with_the_past_days_salts(db, make_link):
    link = make_link(slug="arbres", url=TARGET)
    with db.begin() as conn:
        count_preview_views(conn, [link.id], "v1", MORNING - timedelta(days=1))
        count_preview_views(conn, [link.id], "v1", MORNING)
    # The writer rotates the salts at midnight...
    SaltStore(db.begin).salt_for("2026-04-02", MORNING)
    assert [r["day"] for r in rows(db, preview_viewers)] == ["2026-04-02"]
    # ...and the daily retention purge deletes them too, whatever the retention.
    with db.begin() as conn:
        purge_expired(conn, MORNING + timedelta(days=1), retention_days=0)
    assert rows(db, preview_viewers) == []
    assert views(db) == {link.id: 2}  # the counts stay


def test_links_that_used_up_their_max_clicks_are_never_answered(app, client, db, make_link):
    link = make_link(slug="limited", url=TARGET, max_clicks=2)
    with db.begin() as conn:
        summaries.save_summary(conn, link, SUMMARY)
    assert client.get("/api/v1/summaries", query_string={"url": TARGET}).status_code == 200
    browser = {"User-Agent": FIREFOX}
    assert [client.get("/limited", headers=browser).status_code for _ in range(3)] == [
        200,
        200,
        410,
    ]
    assert app.extensions["balise"].services["clicks"].flush(10)
    for url in (TARGET, "https://s.test/limited"):
        assert client.get("/api/v1/summaries", query_string={"url": url}).status_code == 404
    r = client.post("/api/v1/summaries/lookup", json={"urls": [TARGET]})
    assert r.get_json() == {"results": {TARGET: None}}
