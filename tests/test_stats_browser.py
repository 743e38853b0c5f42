"""Stats pages in Chromium against a real `balise serve`: the live page updating without a
reload, and a new share link in sight."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard_live import screenshots
from tests.test_dashboard_browser import (  # noqa: F401 - fixtures
    AGENTS,
    article,
    fetch,
    server,
    sign_in,
)

pytestmark = pytest.mark.browser


def create_link(page: Any, live: Any, article_url: str, slug: str) -> None:
    page.goto(live.url + "/dashboard/links/new")
    page.fill("#f-url", article_url)
    page.fill("#f-slug", slug)
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/dashboard/links/{slug}")


def test_the_live_page_shows_new_clicks_without_a_reload(browser, server, article):  # noqa: F811
    context, page = sign_in(browser, server)
    create_link(page, server, article, "en-direct")
    page.goto(server.url + "/dashboard/stats?range=24h")
    page.click("main >> text=En direct")
    page.wait_for_url("**/dashboard/live")
    assert "en-direct" not in page.locator("#live").inner_text()
    page.evaluate("window.balise_marker = 'same page'")  # gone if the page reloads

    for i in range(3):
        fetch(server.url + "/en-direct", {"User-Agent": AGENTS[i], "Referer": "https://t.co/x"})
    rows = page.locator("#live .live-clicks tbody tr", has_text="en-direct")
    rows.first.wait_for(timeout=30_000)  # the next polls bring them
    page.wait_for_function("document.querySelectorAll('#live tbody tr').length === 3")
    assert "t.co" in rows.first.inner_text()
    assert page.evaluate("window.balise_marker") == "same page"
    assert "3 clics ces 60 dernières minutes" in page.locator(".live-now").inner_text()
    screenshots(browser, page.url, "stats-live", context.storage_state())
    context.close()


def test_a_new_share_link_is_in_sight(browser, server, article):  # noqa: F811
    context, page = sign_in(browser, server)
    create_link(page, server, article, "partage-vu")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(server.url + "/dashboard/links/partage-vu/stats?range=7d")
    page.click("text=Créer un lien de partage")
    field = page.locator("#share-url")
    field.wait_for()
    top = page.evaluate("document.getElementById('share-url').getBoundingClientRect().top")
    assert 0 <= top <= 800
    context.close()
