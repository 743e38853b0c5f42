"""Link controls in Debian's Chromium against a real `balise serve`: the dashboard's UTM builder
(live final URL, the same the reader is sent to) and the reader's password page. Screenshots go
to BALISE_ARTIFACTS_DIR/dashboard."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.agents import BROWSERS
from tests.dashboard_live import artifacts_dir, screenshots
from tests.test_dashboard_browser import server, sign_in

__all__ = ["server"]  # a module fixture shared with the dashboard's browser tests
pytestmark = pytest.mark.browser


def api(server, key, method, path, body=None):
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        return json.loads(response.read())


@pytest.fixture(scope="module")
def key(server):
    return server.balise("keys", "create", "--name", "controls", "--role", "editor").split()[-1]


def test_the_utm_builder_shows_the_final_url_live_and_the_reader_goes_there(browser, server, key):
    context, page = sign_in(browser, server)
    errors: list[str] = []
    # CSP refusals are console errors; the form's 422 answer ("failed to load") is not one.
    page.on(
        "console",
        lambda m: m.type == "error" and "to load resource" not in m.text and errors.append(m.text),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/dashboard/links/new")
    final = page.locator("#utm-final-url")
    assert not page.locator("#utm-final").is_visible()  # nothing typed yet
    page.fill("#f-url", "shop.example/soldes?ref=home&utm_source=old")
    assert final.inner_text() == "https://shop.example/soldes?ref=home&utm_source=old"
    page.fill("#f-utm_source", "newsletter")
    page.fill("#f-utm_campaign", "soldes d'été")
    wanted = (
        "https://shop.example/soldes?ref=home&utm_source=newsletter"
        "&utm_campaign=soldes%20d%27%C3%A9t%C3%A9"
    )
    assert final.inner_text() == wanted  # updated as the marketer types
    page.fill("#f-rules", '[{"url": "https://apps.example/", "device": "phone"}]')
    page.fill("#f-slug", "soldes")
    page.click("main button[type=submit]")
    assert page.locator("#e-rules").inner_text().startswith("Règle 1 : ")
    page.wait_for_load_state()  # #e-rules shows while the page loads, before its script runs
    assert final.inner_text() == wanted  # the builder runs again on the page with errors
    state = context.storage_state()

    def bad_rules(p) -> None:
        p.fill("#f-url", "https://shop.example/soldes")
        p.fill("#f-utm_source", "newsletter")
        p.fill("#f-rules", "[{")
        p.click("main button[type=submit]")

    screenshots(browser, server.url + "/dashboard/links/new", "link-controls", state, bad_rules)
    page.fill("#f-rules", "")
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/links/soldes")
    assert api(server, key, "GET", "/api/v1/links/soldes")["utm_campaign"] == "soldes d'été"
    reader = context.new_page()
    reader.route("https://shop.example/**", lambda route: route.fulfill(body="<h1>Soldes</h1>"))
    reader.goto(server.url + "/soldes?ignored=1")
    reader.wait_for_url("https://shop.example/**", timeout=15_000)
    assert reader.url == wanted  # the reader arrives where the builder said
    assert errors == []  # no CSP refusal or script error
    context.close()


def test_the_password_page_asks_refuses_and_lets_the_right_reader_through_once(
    browser, server, key
):
    target = "https://secret.example/plans"
    api(server, key, "POST", "/api/v1/links", {
        "url": target, "slug": "coffre", "password": "sésame ouvre-toi", "redirect_delay": 0,
    })  # fmt: skip
    context = browser.new_context(locale="fr-FR", user_agent=BROWSERS[0])
    page = context.new_page()
    page.route(
        "https://secret.example/**",
        lambda route: route.fulfill(body="<h1>Arrived</h1>", content_type="text/html"),
    )
    page.goto(server.url + "/coffre")
    assert page.locator("h1").inner_text() == "Lien protégé"
    assert "secret.example" not in page.content()
    page.screenshot(path=str(artifacts_dir() / "password-page.png"), full_page=True)
    page.fill("#password", "mauvais")
    page.click("button[type=submit]")
    assert page.locator("#password-error").inner_text() == "Mot de passe incorrect. Réessayez."
    assert "secret.example" not in page.content()
    page.screenshot(path=str(artifacts_dir() / "password-page-wrong.png"), full_page=True)
    page.fill("#password", "sésame ouvre-toi")
    page.click("button[type=submit]")
    page.wait_for_url(target, timeout=15_000)
    assert page.locator("h1").inner_text() == "Arrived"
    context.close()
    clicks = None
    for _ in range(50):  # the writer stores the click within its flush interval
        clicks = api(server, key, "GET", "/api/v1/links/coffre/stats")["totals"]["clicks"]
        if clicks:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    assert api(server, key, "GET", "/api/v1/links/coffre/stats")["totals"]["clicks"] == 1
