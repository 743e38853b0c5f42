"""Dashboard details in Chromium: confirmations before revoking a key or removing a summary,
a warning before leaving unsaved changes, and API-key cards that fit a phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard_live import LiveServer, artifacts_dir, live_server

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
EMAIL = "a-rather-long-marketing-address@communication.example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("details")) as live:
        live.balise(
            "users", "create", EMAIL, "--role", "admin", "--lang", "fr",
            "--password-stdin", stdin=PASSWORD,
        )  # fmt: skip
        yield live


def _signed_in(browser: Any, server: LiveServer, **options: Any) -> tuple[Any, Any]:
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", **options)
    page = context.new_page()
    page.goto(server.url + "/dashboard/login")
    page.fill("#f-email", EMAIL)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/links")
    return context, page


def test_revoking_a_key_asks_first_and_its_card_fits_a_phone(browser, server):
    context, page = _signed_in(browser, server, viewport={"width": 390, "height": 844})
    try:
        page.goto(server.url + "/dashboard/keys")
        page.fill("#f-name", "newsletter")
        page.click("form.inline-form button[type=submit]")
        page.goto(server.url + "/dashboard/keys")
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('.list tbody tr:first-child td')]
                 .map(td => { const r = td.getBoundingClientRect();
                              return [r.left, r.top, r.right, r.bottom]; })"""
        )
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                assert apart, f"cells overlap: {a} {b}"
        page.screenshot(path=str(artifacts_dir() / "keys-phone.png"), full_page=True)
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.click(".row-actions button")
        assert page.locator(".badge.active").count() == 1  # said no: nothing revoked
        page.once("dialog", lambda dialog: dialog.accept())
        page.click(".row-actions button")
        page.wait_for_selector(".badge.disabled")
    finally:
        context.close()


def test_leaving_the_summary_editor_with_changes_asks_first(browser, server):
    context, page = _signed_in(browser, server)
    try:
        page.goto(server.url + "/dashboard/links/new")
        page.fill("#f-url", "https://news.example/arbres")
        page.fill("#f-slug", "quitter")
        page.click("main form button[type=submit]")
        page.goto(server.url + "/dashboard/links/quitter/summary")
        page.fill("#f-teaser", "Une accroche pas encore enregistrée.")
        asked: list[str] = []

        def stay(dialog: Any) -> None:
            asked.append(dialog.type)
            dialog.dismiss()

        page.once("dialog", stay)
        page.click("nav a[href='/dashboard/links']", no_wait_after=True)
        page.evaluate("1")  # the page's thread answers only once its dialog is closed
        assert asked == ["beforeunload"]
        assert page.url.endswith("/dashboard/links/quitter/summary")
    finally:
        context.close()
