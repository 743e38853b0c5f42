"""The webhooks pages in Debian's Chromium against a real `balise serve`, with screenshots
(light and dark, desktop and phone) in BALISE_ARTIFACTS_DIR/dashboard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dashboard_live import LiveServer, live_server, screenshots
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
EMAIL = "hooks@example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {"FETCH_ALLOW_PRIVATE": "1", "WEBHOOK_POLL_INTERVAL": "0.1"}
    with live_server(tmp_path_factory.mktemp("live"), **settings) as live:
        live.balise(
            "users", "create", EMAIL, "--role", "editor", "--password-stdin", stdin=PASSWORD
        )
        yield live


def test_an_editor_adds_an_endpoint_sends_a_test_event_and_reads_the_log(browser, server):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    page.goto(server.url + "/dashboard/login")
    page.fill("#f-email", EMAIL)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/links")
    page.click("nav >> text=Webhooks")
    with Receiver() as receiver:
        page.fill("#f-url", receiver.url)
        page.fill("#f-description", "CRM de l'équipe marketing")
        page.check("text=Lien créé")
        page.check("text=Clics (anonymisés, groupés)")
        page.click("text=Ajouter la destination")
        receiver.secret = page.locator("#new-secret").input_value()
        assert receiver.secret.startswith("whsec_")
        page.click("text=Ouvrir la destination")
        page.click("text=Envoyer un événement de test")
        assert receiver.wait_for(lambda r: r.events)
        for _ in range(100):  # the log says "Remis" once the worker has recorded the answer
            if page.locator("td >> text=Remis").count():
                break
            page.wait_for_timeout(100)
            page.reload()
        assert page.locator("td >> text=Remis").count() == 1
        assert receiver.requests[0]["verified"]
        state = context.storage_state()
        screenshots(browser, server.url + "/dashboard/webhooks", "webhooks", state)
        screenshots(browser, page.url, "webhook", state)
    context.close()
