"""The CSV import, duplication and link states in Debian's Chromium (Playwright), against a
real `balise serve` on 127.0.0.1."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard_live import LiveServer, artifacts_dir, live_server
from tests.test_a11y_browser import AXE, _violations
from tests.test_dashboard_browser import PASSWORD, sign_in

pytestmark = pytest.mark.browser
EMAIL = "importer@example.org"

CSV = (
    "\ufeffurl;slug;title;tags\n"
    "https://example.org/printemps;printemps-26;Soldes de printemps;mail|printemps\n"
    "ftp://example.org/file;mauvais;Cible refusée;\n"
    "https://example.org/ete;ete-26;Soldes d'été;mail\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("upload")) as live:
        live.balise(
            "users", "create", EMAIL, "--role", "editor", "--password-stdin", stdin=PASSWORD
        )
        yield live


def axe(page: Any) -> list[str]:
    """Serious or critical axe-core violations of the page (none checked without axe-core)."""
    return _violations(page) if AXE.exists() else []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_csv_file_is_checked_then_its_valid_rows_become_links(browser, server, tmp_path, scheme):  # noqa: F811
    # bypass_csp: axe-core is injected for the audit, as tests/test_a11y_browser.py does.
    context, page = sign_in(browser, server, EMAIL, color_scheme=scheme, bypass_csp=True)
    # Each run imports its own slugs.
    csv_text = CSV.replace("-26;", f"-{scheme};")
    page.click("text=Importer un CSV")
    page.wait_for_url("**/dashboard/import")
    csv_file = tmp_path / "campagne.csv"
    csv_file.write_text(csv_text, encoding="utf-8")
    page.set_input_files("#f-file", str(csv_file))
    page.click("main button[type=submit]")
    page.wait_for_selector("#preview")
    assert "2 lignes peuvent être créées." in page.locator("#upload-summary").inner_text()
    refused = page.locator("tr.refused")
    assert refused.count() == 1
    assert refused.get_attribute("data-line") == "3"
    assert "Doit être une URL complète en http:// ou https://" in refused.inner_text()
    assert page.locator("tr.valid").count() == 2
    assert axe(page) == []
    page.screenshot(path=str(artifacts_dir() / f"import-preview-{scheme}.png"), full_page=True)

    page.click("text=Créer 2 liens")
    page.wait_for_selector("#result")
    assert page.locator("#upload-result").inner_text() == "2 liens créés."
    assert page.locator("tr.created").count() == 2
    skipped = page.locator("tr.skipped")
    assert skipped.count() == 1 and "Ignorée" in skipped.inner_text()
    assert axe(page) == []
    page.screenshot(path=str(artifacts_dir() / f"import-result-{scheme}.png"), full_page=True)

    page.click("text=Voir les liens")
    page.wait_for_url("**/dashboard/links")
    listing = page.locator("main table").inner_text()
    assert f"printemps-{scheme}" in listing and f"ete-{scheme}" in listing
    assert "Cible refusée" not in listing
    # The links answer readers, on this real server.
    preview = f"{server.url}/printemps-{scheme}+"
    with urllib.request.urlopen(preview, timeout=10) as answer:  # noqa: S310
        assert "https://example.org/printemps" in answer.read().decode()
    context.close()


def test_duplicate_opens_the_copy_and_a_used_up_link_says_so(browser, server):  # noqa: F811
    context, page = sign_in(browser, server, EMAIL)
    page.goto(server.url + "/dashboard/links/new")
    page.fill("#f-url", "https://example.org/once")
    page.fill("#f-slug", "une-fois")
    page.fill("#f-title", "Une seule fois")
    page.fill("#f-max_clicks", "1")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/dashboard/links/une-fois")
    assert page.locator(".page-head .badge").inner_text() == "Actif"

    # One reader uses the link's only click; the next one gets 410, and the page says it.
    agent = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}
    request = urllib.request.Request(server.url + "/une-fois", headers=agent)
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert refused.value.code == 410
    for _ in range(50):  # the click is stored within the flush interval
        page.reload()
        if page.locator(".page-head .badge").inner_text() == "Épuisé":
            break
        page.wait_for_timeout(200)
    assert page.locator(".page-head .badge").inner_text() == "Épuisé"

    page.click("text=Dupliquer")
    page.wait_for_url("**/edit")
    assert "créée" in page.locator(".flash").inner_text()
    assert page.input_value("#f-title") == "Une seule fois"
    page.fill("#f-slug", "une-fois-bis")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/dashboard/links/une-fois-bis")
    assert page.locator(".page-head .badge").inner_text() == "Actif"  # its clicks are its own
    context.close()
