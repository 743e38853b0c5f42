"""Direct links: an HTTP redirect instead of the reader page, counted exactly like one."""

from __future__ import annotations

import pytest

from balise.db.tables import clicks, hourly_counts, robot_hits
from tests.agents import CHROME_ANDROID, FIREFOX_DESKTOP, SAFARI_IPHONE, UNFURLERS
from tests.clickutil import flushed, rows
from tests.test_clicks import visit

TARGET = "https://example.org/article?id=7"


def test_a_direct_link_answers_302_to_browsers_and_crawlers_alike(client, make_link):
    make_link(slug="direct", url=TARGET, redirect_mode="direct")
    # The first request goes through Flask (slug not cached yet), the next ones the lean path.
    for agent in (FIREFOX_DESKTOP, FIREFOX_DESKTOP, *UNFURLERS.values()):
        r = visit(client, "direct", agent=agent)
        assert r.status_code == 302, agent
        assert r.headers["Location"] == TARGET
        assert r.headers["Cache-Control"] == "no-store"  # every click comes back to be counted
        assert r.get_data() == b""
        assert "data-token" not in r.text  # no page, no beacon to confirm


def test_a_direct_click_is_counted_once_and_bots_and_prefetches_apart(app, client, make_link, db):
    link = make_link(slug="direct", url=TARGET, redirect_mode="direct")
    assert visit(client, "direct", agent=CHROME_ANDROID).status_code == 302
    for agent in UNFURLERS.values():
        visit(client, "direct", agent=agent)
    visit(client, "direct", agent=SAFARI_IPHONE, **{"Sec-Purpose": "prefetch"})
    assert visit(client, "direct", method="head").status_code == 302
    flushed(app)
    [click] = rows(db, clicks)
    assert click["link_id"] == link.id
    assert click["device"] == "mobile"
    assert click["confirmed_at"] is None  # nothing can confirm a redirect
    kinds = sorted(h["kind"] for h in rows(db, robot_hits))
    assert kinds == ["bot"] * len(UNFURLERS) + ["prefetch"]
    [counts] = rows(db, hourly_counts)
    assert (counts["clicks"], counts["bots"], counts["prefetches"]) == (1, len(UNFURLERS), 1)


@pytest.mark.parametrize("status", [301, 307, 308])
def test_the_redirect_status_is_the_links_choice_and_still_never_cached(client, make_link, status):
    make_link(slug="moved", url=TARGET, redirect_mode="direct", redirect_status=status)
    for _ in range(2):  # Flask, then the lean path
        r = visit(client, "moved")
        assert r.status_code == status
        assert r.headers["Location"] == TARGET
        assert r.headers["Cache-Control"] == "no-store"


def test_a_direct_link_still_has_its_preview_and_its_limits(app, client, make_link):
    make_link(slug="once", url=TARGET, redirect_mode="direct", max_clicks=1)
    assert "example.org/article" in visit(client, "once", path="+").text
    assert visit(client, "once").status_code == 302
    flushed(app)
    assert visit(client, "once").status_code == 410


def test_the_api_sets_and_reports_the_redirect_mode(client, editor_headers):
    body = {"url": TARGET, "slug": "api-direct", "redirect_mode": "direct", "redirect_status": 307}
    created = client.post("/api/v1/links", json=body, headers=editor_headers)
    assert created.status_code == 201
    assert (created.json["redirect_mode"], created.json["redirect_status"]) == ("direct", 307)
    assert client.get("/api-direct").status_code == 307
    back = client.patch(
        "/api/v1/links/api-direct", json={"redirect_mode": "interstitial"}, headers=editor_headers
    )
    assert back.json["redirect_mode"] == "interstitial"
    assert client.get("/api-direct").status_code == 200  # the reader page again, at once
    plain = client.post("/api/v1/links", json={"url": TARGET}, headers=editor_headers)
    assert (plain.json["redirect_mode"], plain.json["redirect_status"]) == ("interstitial", 302)


@pytest.mark.parametrize(
    "body", [{"redirect_mode": "frame"}, {"redirect_status": 303}, {"redirect_mode": None}]
)
def test_the_api_refuses_other_modes_and_statuses(client, editor_headers, body):
    r = client.post("/api/v1/links", json={"url": TARGET} | body, headers=editor_headers)
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"


def test_the_dashboard_form_makes_a_direct_link_and_its_stats_say_so(dashboard, make_user):
    make_user(email="ed@example.org", role="editor")
    dashboard.login("ed@example.org")
    r = dashboard.post(
        "/dashboard/links/new",
        {"url": TARGET, "slug": "form-direct", "redirect_mode": "direct", "redirect_status": "301"},
    )
    assert r.status_code in (302, 303), dashboard.field_errors(r)
    page = dashboard.get("/dashboard/links/form-direct")
    assert "HTTP 301" in page.text
    stats = dashboard.get("/dashboard/links/form-direct/stats")
    assert 'id="direct-note"' in stats.text
