"""End to end in Firefox ESR (Debian's firefox-esr, driven through Marionette) against a real
server: the hover card and its counted view, the keyboard path, ahead-of-time batches, a
stalled server, the options page and the popup. See firefox.py for how Firefox is driven."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest

from tests.extension.harness import (
    EN_SUMMARY,
    FR_SUMMARY,
    Balise,
    page_html,
    until_asked,
    wait_until,
)

pytestmark = [pytest.mark.browser]

# WebDriver key codes (marionette_driver.keys.Keys), spelt out: without the package, the
# `firefox` fixture skips these tests rather than this import failing.
TAB, ENTER, ESCAPE = "\ue004", "\ue007", "\ue00c"
ORDER = [
    "Récapitulatif factuel",
    "Point de vue neutre",
    "Exemple",
    "Point de vue optimiste",
    "Point de vue pessimiste",
    "Article en référencelemonde.fr",
    "Aperçu Balise",
]


def configure(firefox: Any, balise: Balise, mode: str = "short", **delays: int) -> None:
    settings = {
        "servers": [balise.base],
        "mode": mode,
        "disabledSites": [],
        "delays": {"fetch": 150, "show": 500, "hide": 300, **delays},
    }
    firefox.storage_set({"settings": settings}, remove=("apiKey", "settings"))
    balise.proxy.reset()


def test_firefox_hover_card_counts_one_view_and_a_pass_none(firefox, balise, pages):
    balise.add_link("fx-hover", "https://news.example.org/fx/hover", FR_SUMMARY)
    balise.add_link("fx-pass", "https://news.example.org/fx/pass", EN_SUMMARY)
    configure(firefox, balise)
    url = pages.add(
        "/fx-hover",
        page_html(
            f'<p style="margin-top:120px"><a id="pass" href="{balise.short("fx-pass")}">pass</a>'
            f' and <a id="fr" title="Titre natif" href="{balise.short("fx-hover")}">read</a>.</p>'
        ),
    )
    firefox.m.navigate(url)
    # No file of the extension is web-accessible: the page cannot fetch one.
    probe = firefox.extension_url("src/lib/card.js")
    assert (
        firefox.js_async(
            "fetch(arguments[0]).then(r => done(r.status), () => done('refused'))", probe
        )
        == "refused"
    )

    def pass_over() -> None:
        firefox.hover("#pass")
        time.sleep(0.25)
        firefox.move_away()

    until_asked(balise.proxy, pass_over)
    time.sleep(0.7)
    assert firefox.cards() == 0
    assert balise.preview_views("fx-pass") == 0

    firefox.hover("#fr")
    firefox.wait_for_card()
    assert firefox.in_card("return root.querySelector('.title').textContent") == FR_SUMMARY["title"]
    assert firefox.in_card("return host.getAttribute('role')") == "dialog"
    assert firefox.js("return document.getElementById('fr').getAttribute('title')") is None
    assert firefox.js("return typeof document.querySelector('balise-card').shadowRoot") == (
        "object"
    )
    assert firefox.js("return document.querySelector('balise-card').shadowRoot") is None, (
        "closed: the page cannot read the card"
    )
    firefox.shoot("hover_card")
    wait_until(lambda: balise.preview_views("fx-hover") == 1)
    firefox.move_away()
    firefox.wait_no_card()
    assert firefox.js("return document.getElementById('fr').getAttribute('title')") == "Titre natif"
    assert balise.proxy.seen_reports() == [("POST", "/api/v1/summaries/seen")]
    assert balise.preview_views("fx-hover") == 1
    assert balise.preview_views("fx-pass") == 0


def test_firefox_keyboard_reaches_every_control_and_comes_back(firefox, balise, pages):
    balise.add_link("fx-keys", "https://news.example.org/fx/keys", FR_SUMMARY)
    configure(firefox, balise)
    url = pages.add(
        "/fx-keys",
        page_html(
            '<p><button id="before">Before</button> then '
            f'<a id="fr" href="{balise.short("fx-keys")}">a short link</a>, '
            '<a id="after" href="https://example.net/next">the next link</a>.</p>',
            script_path="/fx-keys.js",
        ),
        script="window.escapes = 0; document.addEventListener('keydown', "
        "e => { if (e.key === 'Escape') window.escapes++; });",
    )
    firefox.m.navigate(url)
    firefox.move_away()
    firefox.js("document.getElementById('before').focus()")
    firefox.press(TAB)
    assert firefox.active() == "fr"
    firefox.wait_for_card()

    firefox.press(TAB)
    assert firefox.active() == "balise-card"
    assert firefox.focused_in_card()["text"].endswith(ORDER[0])
    firefox.press(ENTER)
    assert firefox.focused_in_card()["expanded"] == "true"
    time.sleep(0.6)
    assert firefox.cards() == 1, "keyboard focus holds the card open"
    firefox.shoot("keyboard_inside_card")
    seen = [firefox.focused_in_card()["text"]]
    for _ in range(6):
        firefox.press(TAB)
        seen.append(firefox.focused_in_card()["text"])
    assert [s.lstrip("›") for s in seen] == ORDER
    wait_until(lambda: balise.preview_views("fx-keys") == 1)

    firefox.press(TAB)
    assert firefox.active() == "after"
    firefox.wait_no_card()
    firefox.press(TAB, shift=True)
    assert firefox.active() == "fr"
    firefox.wait_for_card()
    firefox.press(TAB)
    firefox.press(TAB, shift=True)
    assert firefox.active() == "fr"
    firefox.press(TAB)
    firefox.press(ESCAPE)
    firefox.wait_no_card(timeout=1)
    assert firefox.active() == "fr"
    assert firefox.js("return window.escapes") == 1


def test_firefox_ahead_of_time_batch_counts_no_view(firefox, balise, pages):
    targets = [f"https://news.example.org/fx/batch-{i}" for i in range(3)]
    for i, target in enumerate(targets):
        balise.add_link(f"fx-batch-{i}", target, EN_SUMMARY)
    configure(firefox, balise, mode="known")
    links = "".join(f'<li><a id="b{i}" href="{u}">story</a></li>' for i, u in enumerate(targets))
    url = pages.add(
        "/fx-batch",
        page_html(
            f'<p><a id="unknown" href="https://example.net/x">unknown</a></p><ul>{links}</ul>'
        ),
    )
    firefox.m.navigate(url)

    def rest_on_unknown() -> None:
        firefox.move_away()
        firefox.hover("#unknown")

    until_asked(balise.proxy, rest_on_unknown)
    time.sleep(1.5)
    assert firefox.cards() == 0
    assert balise.proxy.summary_requests() == [("POST", "/api/v1/summaries/lookup")]
    assert [balise.preview_views(f"fx-batch-{i}") for i in range(3)] == [0, 0, 0]
    firefox.hover("#b2")
    firefox.wait_for_card()
    wait_until(lambda: balise.preview_views("fx-batch-2") == 1)
    assert [balise.preview_views(f"fx-batch-{i}") for i in range(3)] == [0, 0, 1]


def test_firefox_stalled_look_up_times_out_and_the_link_works_again(firefox, balise, pages):
    balise.add_link("fx-stall", "https://news.example.org/fx/stall", FR_SUMMARY)
    configure(firefox, balise)
    url = pages.add(
        "/fx-stall", page_html(f'<p><a id="fr" href="{balise.short("fx-stall")}">a link</a></p>')
    )
    firefox.m.navigate(url)
    balise.proxy.stall()
    try:
        until_asked(balise.proxy, lambda: (firefox.move_away(), firefox.hover("#fr")))
        time.sleep(6)  # past the 5 s time-out
        assert firefox.cards() == 0
    finally:
        balise.proxy.release()
    firefox.move_away()
    firefox.m.refresh()

    def card_after_hover() -> bool:
        firefox.hover("#fr")
        time.sleep(1.2)
        if firefox.cards() == 1:
            return True
        firefox.move_away()
        return False

    wait_until(card_after_hover, timeout=20, step=0.5)
    assert len(balise.proxy.summary_requests()) == 2


def status_after_save(firefox: Any) -> str:
    firefox.js("document.getElementById('status').textContent = ''")
    firefox.element("button[type=submit]").click()
    return str(
        wait_until(
            lambda: (
                (text := firefox.js("return document.getElementById('status').textContent"))
                and not text.endswith("…")
                and text
            )
        )
    )


def test_firefox_options_page(firefox, balise):
    configure(firefox, balise, fetch=200)
    firefox.m.navigate(firefox.extension_url("src/options/options.html"))
    assert firefox.js("return getComputedStyle(document.body).fontSize") == "15px"
    assert firefox.js("return document.getElementById('delay-fetch').value") == "200"
    firefox.fill("#servers", "http://balise.example.test")
    assert "plain http" in status_after_save(firefox)
    assert firefox.storage_get("settings")["servers"] == [balise.base]

    firefox.fill("#servers", balise.base.removeprefix("http://"))
    firefox.fill("#delay-show", "")
    firefox.fill("#api-key", "blz_not_a_real_key_at_all")
    assert "refused the API key" in status_after_save(firefox)
    firefox.fill("#api-key", "")
    assert status_after_save(firefox) == "Saved."
    settings = firefox.storage_get("settings")
    assert settings["servers"] == [balise.base]
    assert settings["delays"] == {"fetch": 200, "show": 500, "hide": 300}
    firefox.shoot("options_page")


def test_firefox_popup_creates_a_link_that_the_api_lists(firefox, balise, pages):
    configure(firefox, balise)
    article = pages.add("/fx-article", page_html("<p>Un article.</p>", title="Article Firefox"))
    m = firefox.m
    m.navigate(article)
    first = m.current_window_handle
    popup = m.open(type="tab", focus=True)["handle"]
    m.switch_to_window(popup)
    try:
        m.navigate(firefox.extension_url("src/popup/popup.html"))
        wait_until(lambda: firefox.js("return !document.getElementById('need-key').hidden"))
        assert "editor" in firefox.js("return document.getElementById('need-key').textContent")

        status, body = balise.api("POST", "/api/v1/keys", {"name": "fx-popup", "role": "editor"})
        assert status == 201, body
        assert firefox.js_async(
            "browser.storage.local.set({apiKey: arguments[0]}).then(() => done(1))",
            {"server": balise.base, "key": body["key"]},
        )
        m.refresh()
        wait_until(lambda: firefox.js("return !document.getElementById('shorten').hidden"))
        assert firefox.js("return document.getElementById('page-title').textContent") == (
            "Article Firefox"
        )
        firefox.element("#shorten-button").click()
        wait_until(lambda: firefox.js("return !document.getElementById('result').hidden"))
        short_url = firefox.js("return document.getElementById('short-url').value")
        status, listed = balise.api("GET", f"/api/v1/links?q={quote(article, safe='')}")
        assert [link["short_url"] for link in listed["items"] if link["url"] == article] == [
            short_url
        ]
        wait_until(lambda: firefox.js("return document.getElementById('qr').naturalWidth > 0"))
        firefox.shoot("popup_created")
    finally:
        m.close()
        m.switch_to_window(first)


def own_address() -> str | None:
    """This machine's address on its network (not loopback), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_firefox_does_not_upgrade_a_plain_http_server_to_https(firefox):
    """Firefox's default extension CSP would turn http:// into https:// for every server but
    this machine's: the manifest's own policy leaves that choice to the options page (which
    warns first), as in Chromium."""
    address = own_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")

    class Healthy(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer((address, 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        firefox.m.navigate(firefox.extension_url("src/options/options.html"))
        url = f"http://{address}:{server.server_address[1]}/healthz"
        answer = firefox.js_async(
            "fetch(arguments[0]).then(r => done([r.status, r.url]), e => done(String(e)))", url
        )
        assert answer == [200, url]
    finally:
        server.shutdown()
        server.server_close()
