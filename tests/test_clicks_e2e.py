"""End to end: a real `balise serve`, real HTTP, SIGTERM, and a real browser's beacon."""

from __future__ import annotations

import http.client
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from balise.db.tables import clicks, daily_visitors, hourly_counts, metadata, robot_hits
from tests.agents import BROWSERS, UNFURLERS
from tests.clickutil import rows
from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def database_url(db):
    return db.url.render_as_string(hide_password=False)


def plan(persons=240):
    """What each request is: (kind, method, headers); persons come from distinct addresses."""
    requests = []
    for i in range(persons):
        headers = {
            "User-Agent": BROWSERS[i % len(BROWSERS)],
            "X-Forwarded-For": f"10.9.{i // 200}.{i % 200}",
        }
        if i % 10 == 0:
            headers["Sec-GPC"] = "1"
        requests.append(("click", "GET", headers))
    for agent in UNFURLERS.values():
        requests += [("bot", "GET", {"User-Agent": agent})] * 3
    requests += [("prefetch", "GET", {"User-Agent": BROWSERS[0], "Sec-Purpose": "prefetch"})] * 12
    requests += [("none", "HEAD", {"User-Agent": BROWSERS[1]})] * 12
    return requests


def fire(port, path, requests, threads=8):
    """Send every request from `threads` keep-alive connections; returns the statuses."""
    statuses = []
    lock = threading.Lock()

    def worker(share):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _kind, method, headers in share:
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            response.read()
            with lock:
                statuses.append(response.status)
        conn.close()

    pool = [threading.Thread(target=worker, args=(requests[i::threads],)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return statuses


def test_sigterm_right_after_a_burst_leaves_every_click_in_the_database(db, make_link, tmp_path):
    link = make_link()
    requests = plan()
    # A long flush interval: the clicks are still buffered when SIGTERM arrives.
    server = LiveServer(
        tmp_path / "data",
        database_url(db),
        TRUSTED_PROXIES=1,
        CLICK_FLUSH_INTERVAL=60,
        CLICK_BATCH_SIZE=100_000,
    )
    try:
        statuses = fire(server.port, f"/{link.slug}", requests)
    finally:
        code = server.stop()
    assert code == 0, server.output()
    assert statuses == [200] * len(requests)
    sent = {
        kind: sum(1 for k, _m, _h in requests if k == kind) for kind in ("click", "bot", "prefetch")
    }
    stored = rows(db, clicks)
    assert len(stored) == sent["click"] == 240
    robots = rows(db, robot_hits)
    assert sum(r["kind"] == "bot" for r in robots) == sent["bot"]
    assert sum(r["kind"] == "prefetch" for r in robots) == sent["prefetch"]
    [counts] = rows(db, hourly_counts)
    assert (counts["clicks"], counts["bots"], counts["prefetches"]) == (240, 27, 12)
    assert sum(c["dnt"] for c in stored) == 24
    assert len(rows(db, daily_visitors)) == 216  # one per address, GPC readers excluded
    _assert_no_address_or_user_agent(db, requests)


def _assert_no_address_or_user_agent(db, requests):
    addresses = {h["X-Forwarded-For"] for _k, _m, h in requests if "X-Forwarded-For" in h}
    agents = {h["User-Agent"] for _k, _m, h in requests}
    secrets = [a.encode() for a in addresses | agents | {"127.0.0.1"}]
    dump = repr([rows(db, t) for t in metadata.sorted_tables]).encode()
    assert [s for s in secrets if s in dump] == []
    if db.dialect.name == "sqlite":
        # Every byte of the file and its WAL, free pages included. Close this process's
        # connections first: closing a file SQLite has open would drop its POSIX locks.
        db.dispose()
        path = Path(db.url.database)
        blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert [s for s in secrets if s in blob] == []


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not at {CHROMIUM}")
@pytest.mark.parametrize("delay", [0, 2])
def test_the_reader_pages_beacon_fired_by_chromium_confirms_the_click(
    db, make_link, tmp_path, delay
):
    sync_api = pytest.importorskip("playwright.sync_api")
    link = make_link(url="https://example.org/landing", redirect_delay=delay, title="Un article")
    artifacts = Path(os.environ.get("BALISE_ARTIFACTS_DIR", ROOT / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    with LiveServer(tmp_path / "data", database_url(db), CLICK_FLUSH_INTERVAL=0.05) as server:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                # Headless Chromium says "HeadlessChrome", which is rightly a bot: speak as the
                # desktop Chrome it is.
                page = browser.new_page(user_agent=BROWSERS[0])
                page.route(
                    "https://example.org/**",
                    lambda route: route.fulfill(body="<h1>landed</h1>", content_type="text/html"),
                )
                beacons, answers = [], []
                page.on("request", lambda r: r.url.endswith("/beacon") and beacons.append(r))
                page.on(
                    "response", lambda r: r.url.endswith("/beacon") and answers.append(r.status)
                )
                page.goto(f"{server.base_url}/{link.slug}")
                if delay:
                    page.screenshot(path=str(artifacts / "reader-page-beacon.png"))
                page.wait_for_url("https://example.org/landing", timeout=15_000)
                assert page.inner_text("h1") == "landed"
            finally:
                browser.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with db.connect() as conn:
                confirmed = conn.execute(
                    select(func.count()).where(clicks.c.confirmed_at.is_not(None))
                ).scalar_one()
            if confirmed:
                break
            time.sleep(0.05)
    assert len(beacons) == 1 and beacons[0].method == "POST"
    assert confirmed == 1, (answers, server.output())
    assert len(rows(db, clicks)) == 1
    assert sum(r["confirmed"] for r in rows(db, hourly_counts)) == 1
