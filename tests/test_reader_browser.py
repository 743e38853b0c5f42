"""The reader page a reader controls, in Debian's Chromium on a real `balise serve`: the
countdown, the stay button, the summary that pauses it, the fallback link, and the page
without JavaScript. Screenshots go to BALISE_ARTIFACTS_DIR."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_summaries_browser import ARTIFACTS, CHROMIUM, SUMMARY, _call, server

__all__ = ["server"]  # a module fixture shared with the summaries browser test

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium"),
]
TARGET = "https://target.example/article"


def _link(server, slug: str, **fields) -> str:
    base, key = server
    _call(base + "/api/v1/links", key, {"url": TARGET, "slug": slug, "lang": "fr"} | fields)
    return f"{base}/{slug}"


def _page(browser, *, javascript: bool = True, locale: str = "fr-FR", scheme: str = "light"):
    context = browser.new_context(
        java_script_enabled=javascript, locale=locale, color_scheme=scheme
    )
    page = context.new_page()
    # The target answers from here, so leaving the reader page is something a test can see.
    page.route(
        "https://target.example/**",
        lambda route: route.fulfill(body="<title>Target</title><h1>Target</h1>"),
    )
    return context, page


def _seconds_left(page) -> int:
    text = page.locator("#countdown-text").inner_text()
    match = re.fullmatch(r"Redirection dans (\d+) s", text)
    assert match, text
    return int(match.group(1))


def test_the_countdown_runs_and_stay_keeps_the_page(server, browser):
    url = _link(server, "compte-a-rebours", redirect_delay=6, summary=SUMMARY)
    context, page = _page(browser)
    try:
        page.goto(url)
        first = _seconds_left(page)
        assert 1 <= first <= 6
        assert page.locator("#stay").inner_text() == "Rester sur cette page"
        assert page.locator("#stay").is_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reader-countdown.png"), full_page=True)
        # The countdown is live: the number goes down while the page waits.
        page.wait_for_function(
            "n => !document.getElementById('countdown-text').textContent.includes(' ' + n + ' s')",
            arg=first,
        )
        page.locator("#stay").click()
        paused = page.locator("#countdown-text").inner_text()
        assert paused == "Redirection arrêtée. Lisez à votre rythme."
        assert page.locator("#announce").inner_text() == paused  # said once, politely
        assert not page.locator("#stay").is_visible()
        page.screenshot(path=str(ARTIFACTS / "reader-paused.png"), full_page=True)
        page.wait_for_timeout(10_000)  # longer than the 6 s the link waits
        assert page.url == url
        assert page.locator("#countdown-text").inner_text() == paused
    finally:
        context.close()


def test_without_javascript_the_page_still_redirects(server, browser):
    url = _link(server, "sans-script", redirect_delay=1)
    context, page = _page(browser, javascript=False)
    try:
        page.goto(url)
        assert not page.locator("#stay").is_visible()  # it could not stop a meta refresh
        page.wait_for_url(TARGET)
        assert page.locator("h1").inner_text() == "Target"
    finally:
        context.close()


def test_the_fallback_link_goes_at_once_even_while_paused(server, browser):
    url = _link(server, "tout-de-suite", redirect_delay=10)
    context, page = _page(browser)
    try:
        page.goto(url)
        page.locator("#stay").click()  # no timer left: only the link can leave the page now
        page.locator("#go").click()
        page.wait_for_url(TARGET)
    finally:
        context.close()


def test_reading_the_summary_pauses_the_countdown_in_english(server, browser):
    url = _link(server, "reading", redirect_delay=8, lang="en", summary=SUMMARY | {"lang": "en"})
    context, page = _page(browser, locale="en-US", scheme="dark")
    try:
        page.goto(url)
        assert re.fullmatch(r"Redirecting in \d s", page.locator("#countdown-text").inner_text())
        page.locator(".summary .teaser").click()
        assert page.locator("#countdown-text").inner_text() == (
            "Redirect stopped. You can read at your own pace."
        )
        assert page.url == url
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_site_root_is_a_page_with_the_way_to_the_dashboard(server, browser, scheme):
    base, _key = server
    context, page = _page(browser, locale="en-US", scheme=scheme)
    try:
        response = page.goto(base + "/")
        assert response is not None and response.status == 200
        assert page.locator("h1").inner_text() == "Balise"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"root-{scheme}.png"), full_page=True)
        page.get_by_role("link", name="Open the dashboard").click()
        page.wait_for_url("**/dashboard/login**")
    finally:
        context.close()
