"""Exports of every link's clicks: the API's clicks.csv and the all-links stats page's."""

from __future__ import annotations

import csv
import io

from tests.agents import SAFARI_IPHONE
from tests.clickutil import flushed, set_clock
from tests.test_dashboard_stats import seed
from tests.test_stats_live import NOW


def test_every_links_clicks_export_as_one_csv(app, client, make_link, viewer_headers):
    make_link(slug="first"), make_link(slug="second")
    set_clock(app, NOW)
    client.get("/first?utm_source=%3DHYPERLINK(1)", headers={"User-Agent": SAFARI_IPHONE})
    client.get("/second", headers={"User-Agent": SAFARI_IPHONE})
    flushed(app)
    r = client.get("/api/v1/clicks.csv", headers=viewer_headers)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="clicks-')
    header, *rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert header[:3] == ["time", "link", "referrer_host"] and len(header) == 14
    values = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(v["link"], v["utm_source"]) for v in values] == [
        ("first", "'=HYPERLINK(1)"),
        ("second", ""),
    ]
    later = {"from": "2026-06-01T15:00:00Z"}
    r = client.get("/api/v1/clicks.csv", query_string=later, headers=viewer_headers)
    assert r.get_data(as_text=True).count("\n") == 1  # the header only
    assert client.get("/api/v1/clicks.csv").status_code == 401


def test_the_all_links_page_exports_its_range(viewer, make_link, db):
    seed(db, make_link(slug="aaa"), hours_ago=(1, 24 * 40))
    seed(db, make_link(slug="bbb"), hours_ago=(2,))
    page = viewer.get("/dashboard/stats?range=7d").get_data(as_text=True)
    assert 'href="/dashboard/clicks.csv?range=7d" download' in page
    r = viewer.get("/dashboard/clicks.csv?range=7d")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = r.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 1 + 6  # the clicks of 40 days ago are outside the range
