"""The extension's own pages in Debian's Chromium: the options page and the marketers' popup.

The popup is opened as a page of its own (popup.html in a tab): it then acts on the tab that
was active before it, which is how a test reaches it without clicking the toolbar."""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.extension.chromium import shoot
from tests.extension.conftest import CHROMIUM, worker
from tests.extension.harness import Balise, page_html, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"
    ),
]

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def stored(page: Any, key: str) -> Any:
    return page.evaluate("k => chrome.storage.local.get(k).then(r => r[k] ?? null)", key)


def save_and_wait(page: Any) -> str:
    page.evaluate("document.getElementById('status').textContent = ''")
    page.click("button[type=submit]")
    page.wait_for_function(
        "() => { const t = document.getElementById('status').textContent;"
        " return t && !/…$/.test(t); }"
    )
    return str(page.text_content("#status"))


def new_key(balise: Balise, name: str, role: str = "editor") -> str:
    status, body = balise.api("POST", "/api/v1/keys", {"name": name, "role": role})
    assert status == 201, body
    return str(body["key"])


def test_the_options_page_shows_and_checks_the_settings(balise, configure, page, extension_id):
    configure(mode="known", fetch=200)
    page.goto(f"chrome-extension://{extension_id}/src/options/options.html")
    assert page.input_value("#servers") == balise.base
    assert page.is_checked("input[name=mode][value=known]")
    assert page.input_value("#delay-fetch") == "200"
    # Chromium's extension stylesheet sets body to 75 %: the page's text is 15 px all the same.
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "15px"
    assert page.evaluate("getComputedStyle(document.querySelector('legend')).fontSize") == "15px"

    page.fill("#servers", "javascript:alert(1)")
    assert "javascript:alert(1)" in save_and_wait(page)
    assert stored(page, "settings")["servers"] == [balise.base], "nothing saved when invalid"

    # Plain http elsewhere than this machine: a warning first, and nothing saved.
    page.fill("#servers", "http://balise.example.test")
    message = save_and_wait(page)
    assert "plain http" in message and "Save again" in message
    assert page.get_attribute("#status", "class") == "warning"
    assert stored(page, "settings")["servers"] == [balise.base]

    # A bare host:port on this machine is plain http; a cleared delay takes its default.
    page.fill("#servers", balise.base.removeprefix("http://"))
    page.check("input[name=mode][value=short]")
    page.fill("#disabled", "example.com")
    page.fill("#delay-hide", "")
    assert save_and_wait(page) == "Saved."
    assert stored(page, "settings") == {
        "servers": [balise.base],
        "mode": "short",
        "disabledSites": ["example.com"],
        "delays": {"fetch": 200, "show": 500, "hide": 300},
    }
    assert page.input_value("#servers") == balise.base
    assert page.input_value("#delay-hide") == "300"
    shoot(page, "options_page")


def test_the_options_page_checks_and_keeps_the_api_key(balise, configure, page, extension_id):
    configure()
    page.goto(f"chrome-extension://{extension_id}/src/options/options.html")
    assert page.input_value("#key-server") == balise.base
    page.fill("#api-key", "blz_not_a_real_key_at_all")
    assert "refused the API key" in save_and_wait(page)
    assert stored(page, "apiKey") is None

    key = new_key(balise, "options-e2e")
    page.fill("#api-key", key)
    assert save_and_wait(page) == "Saved."
    assert stored(page, "apiKey") == {"server": balise.base, "key": key}
    assert page.input_value("#api-key") == key
    assert page.get_attribute("#api-key", "type") == "password"

    page.fill("#api-key", "")
    assert save_and_wait(page) == "Saved."
    assert stored(page, "apiKey") is None, "an emptied field forgets the key"


def open_popup(context: Any, extension_id: str) -> Any:
    popup = context.new_page()
    popup.goto(f"chrome-extension://{extension_id}/src/popup/popup.html")
    return popup


def test_the_popup_without_a_key_explains_how_to_get_one(
    balise, configure, browser_context, extension_id
):
    configure()
    popup = open_popup(browser_context, extension_id)
    try:
        popup.locator("#need-key").wait_for(state="visible")
        text = popup.text_content("#need-key")
        assert "API key" in text and "editor" in text
        assert popup.locator("#shorten").is_hidden()
        shoot(popup, "popup_without_key")
    finally:
        popup.close()


def reader_click(balise: Balise, slug: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", balise.port, timeout=30)
    try:
        conn.request("GET", f"/{slug}", headers={"User-Agent": CHROME_UA})
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def links_to(balise: Balise, url: str) -> list[dict[str, Any]]:
    status, body = balise.api("GET", f"/api/v1/links?q={quote(url, safe='')}")
    assert status == 200, body
    return [link for link in body["items"] if link["url"] == url]


def test_the_popup_shortens_the_page_then_shows_its_link_and_clicks(
    balise, pages, configure, browser_context, extension_id
):
    configure()
    key = new_key(balise, "popup-e2e")
    worker(browser_context).evaluate(
        "k => chrome.storage.local.set({apiKey: k})", {"server": balise.base, "key": key}
    )
    article = pages.add(
        "/article-popup",
        page_html(
            '<h1>Un article</h1><p>À raccourcir.</p><textarea id="paste"></textarea>',
            title="Un article à raccourcir",
        ),
    )
    tab = browser_context.new_page()
    tab.goto(article)
    popup = open_popup(browser_context, extension_id)
    try:
        popup.locator("#shorten").wait_for(state="visible")
        assert popup.text_content("#page-title") == "Un article à raccourcir"
        assert links_to(balise, article) == []
        popup.click("#shorten-button")
        popup.locator("#result").wait_for(state="visible")
        short_url = popup.input_value("#short-url")
        listed = links_to(balise, article)
        assert [link["short_url"] for link in listed] == [short_url], "the API lists the link"
        assert listed[0]["title"] == "Un article à raccourcir"
        slug = listed[0]["slug"]
        assert popup.text_content("#result-note") == "Short link created."
        assert popup.get_attribute("#edit-summary", "href") == (
            f"{balise.base}/dashboard/links/{slug}/summary"
        )
        popup.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
        assert popup.get_attribute("#qr", "src") == f"{short_url}/qr.svg"
        popup.wait_for_function("() => document.getElementById('clicks').textContent !== ''")
        assert popup.text_content("#clicks") == "Clicks so far: 0"
        popup.click("#copy")
        popup.wait_for_function("() => document.getElementById('status').textContent === 'Copied.'")
        shoot(popup, "popup_created")
        tab.focus("#paste")
        tab.keyboard.press("Control+V")
        assert tab.input_value("#paste") == short_url, "the short link was copied"

        # Someone follows the link; the popup, opened again, shows it and its clicks.
        reader_click(balise, slug)
        wait_until(lambda: balise.totals(slug)["clicks"] == 1)
        popup.reload()
        popup.locator("#result").wait_for(state="visible")
        assert popup.text_content("#result-note") == "This page already has a short link."
        assert popup.input_value("#short-url") == short_url
        popup.wait_for_function("() => document.getElementById('clicks').textContent !== ''")
        assert popup.text_content("#clicks") == "Clicks so far: 1"
        assert len(links_to(balise, article)) == 1, "no second link"
        shoot(popup, "popup_existing")
    finally:
        popup.close()
        tab.close()


def test_the_popup_says_when_the_key_cannot_create_links(
    balise, pages, configure, browser_context, extension_id
):
    configure()
    key = new_key(balise, "popup-viewer", role="viewer")
    worker(browser_context).evaluate(
        "k => chrome.storage.local.set({apiKey: k})", {"server": balise.base, "key": key}
    )
    article = pages.add("/article-viewer", page_html("<p>x</p>", title="Lecture seule"))
    tab = browser_context.new_page()
    tab.goto(article)
    popup = open_popup(browser_context, extension_id)
    try:
        popup.locator("#shorten").wait_for(state="visible")
        popup.click("#shorten-button")
        popup.wait_for_function("() => document.getElementById('status').className === 'error'")
        assert "editor role" in popup.text_content("#status")
        assert links_to(balise, article) == []
    finally:
        popup.close()
        tab.close()


def content_script_world(contexts: list[dict[str, Any]]) -> int:
    """The execution context of the extension's content script (its isolated world), or 0."""
    ours = [c for c in contexts if c.get("name", "").startswith("Balise")]
    return int(ours[-1]["id"]) if ours else 0


def test_content_scripts_can_read_no_storage_and_get_no_key(
    balise, pages, configure, browser_context, page
):
    configure()
    worker(browser_context).evaluate(
        "k => chrome.storage.local.set({apiKey: k})",
        {"server": balise.base, "key": "blz_never_in_a_content_script"},
    )
    cdp = browser_context.new_cdp_session(page)
    contexts: list[dict[str, Any]] = []
    cdp.on("Runtime.executionContextCreated", lambda e: contexts.append(e["context"]))
    cdp.send("Runtime.enable")
    page.goto(pages.add("/worlds", page_html("<p>A page.</p>")))
    world = wait_until(lambda: content_script_world(contexts))

    def run(expression: str) -> Any:
        answer = cdp.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "contextId": world,
                "awaitPromise": True,
                "returnByValue": True,
            },
        )
        return answer["result"].get("value")

    assert run(
        "chrome.storage.local.get(null).then(r => JSON.stringify(r), e => 'refused: ' + e.message)"
    ).startswith("refused")
    settings = run("chrome.runtime.sendMessage({type: 'settings'}).then(r => JSON.stringify(r))")
    assert balise.base in settings
    assert "blz_" not in settings and "apiKey" not in settings
    cdp.detach()
