"""The dashboard in Debian's Chromium (Playwright) against a real `balise serve` on 127.0.0.1.

Each test saves full-page screenshots (light and dark, desktop and phone) of the pages it covers
in BALISE_ARTIFACTS_DIR/dashboard, for people to look at.
"""

from __future__ import annotations

import csv
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard_live import LiveServer, live_server, screenshots
from tests.local_servers import page, serving

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
EMAIL = "marketer@example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {"TRUSTED_PROXIES": "1", "CLICK_FLUSH_INTERVAL": "0.2"}
    with live_server(tmp_path_factory.mktemp("live"), **settings) as live:
        live.balise(
            "users", "create", EMAIL, "--role", "editor", "--password-stdin", stdin=PASSWORD
        )
        live.balise(
            "users", "create", "viewer@example.org", "--role", "viewer", "--lang", "en",
            "--password-stdin", stdin=PASSWORD,
        )  # fmt: skip
        yield live


def sign_in(browser: Any, server: LiveServer, email: str = EMAIL, **options: Any) -> Any:
    context = browser.new_context(
        locale=options.pop("locale", "fr-FR"), timezone_id="Europe/Paris", **options
    )
    page = context.new_page()
    page.goto(server.url + "/dashboard/")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/links")
    return context, page


def test_login_page_refuses_a_wrong_password_and_lets_the_right_one_in(browser, server):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(server.url + "/dashboard/login")
    page.fill("#f-email", EMAIL)
    page.fill("#f-password", "not the password")
    page.click("main button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Adresse e-mail ou mot de passe incorrect."
    screenshots(browser, server.url + "/dashboard/login", "login")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/links")
    assert page.locator("h1").inner_text() == "Liens"
    context.close()


def test_marketer_creates_edits_copies_and_deletes_a_link(browser, server):
    context, page = sign_in(browser, server, permissions=["clipboard-read", "clipboard-write"])
    page.click("text=Nouveau lien")

    def submit_bad_values(page: Any) -> None:
        page.fill("#f-url", "javascript:alert(1)")
        page.fill("#f-slug", "api")
        page.fill("#f-redirect_delay", "12")
        page.click("main button[type=submit]")

    submit_bad_values(page)
    assert "URL complète" in page.locator("#e-url").inner_text()
    assert "réservé" in page.locator("#e-slug").inner_text()
    assert "au plus 10" in page.locator("#e-redirect_delay").inner_text()
    state = context.storage_state()
    screenshots(browser, page.url, "link-form-errors", state, prepare=submit_bad_values)

    page.fill("#f-url", "https://example.org/articles/la-mer")
    page.fill("#f-slug", "la-mer")
    page.fill("#f-title", "La mer monte plus vite que prévu")
    page.fill("#f-tags", "climat, presse")
    page.fill("#f-redirect_delay", "")
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/links/la-mer")
    assert page.locator("#short-url").input_value() == server.url + "/la-mer"
    page.click("button[data-copy]")
    assert page.evaluate("navigator.clipboard.readText()") == server.url + "/la-mer"
    qr = page.locator(".qr img")
    assert qr.evaluate("img => img.naturalWidth") > 0
    screenshots(browser, page.url, "link", state)

    for i in range(3):
        server_link = {"url": f"https://example.org/n/{i}", "title": f"Brève numéro {i}"}
        page.goto(server.url + "/dashboard/links/new")
        page.fill("#f-url", server_link["url"])
        page.fill("#f-title", server_link["title"])
        page.fill("#f-tags", "brèves")
        page.click("main button[type=submit]")
    page.goto(server.url + "/dashboard/links?tag=climat")
    assert page.locator("tbody tr").count() == 1
    page.goto(server.url + "/dashboard/links")
    assert page.locator("tbody tr").count() == 4
    screenshots(browser, page.url, "links", state, locale="en-GB")

    page.goto(server.url + "/dashboard/links/la-mer/edit")
    page.fill("#f-title", "La mer monte")
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/links/la-mer")
    assert page.locator("h1").inner_text() == "La mer monte"

    page.click("text=Supprimer…")
    screenshots(browser, page.url, "link-delete", state)
    page.click("text=Supprimer définitivement")
    page.wait_for_url("**/dashboard/links")
    assert "Lien la-mer supprimé." in page.locator(".flash").inner_text()
    context.close()


@pytest.fixture(scope="module")
def article() -> Iterator[str]:
    """A local article page the links point to (readers are redirected to it)."""
    with serving({"/article": page()}) as site:
        yield site.url + "/article"


def test_summary_editor_previews_live_and_the_reader_page_shows_it(browser, server, article):
    context, page_ = sign_in(browser, server)
    page_.goto(server.url + "/dashboard/links/new")
    page_.fill("#f-url", article)
    page_.fill("#f-slug", "arbres")
    page_.fill("#f-redirect_delay", "10")
    page_.click("main button[type=submit]")
    page_.wait_for_url("**/dashboard/links/arbres")
    page_.click("text=Écrire le résumé")
    page_.fill("#f-title", "La ville plantera 10 000 arbres")
    page_.fill("#f-teaser", "Le plus grand plan de plantation de son histoire.")
    page_.fill("#f-recap", "10 000 arbres d'ici 2030.\n\nBudget : 12 millions d'euros.")
    page_.fill("#f-optimistic", "Plus de fraîcheur en été.")
    reader = page_.locator("#reader-preview")
    assert reader.locator(".rp-title").inner_text() == "La ville plantera 10 000 arbres"
    assert reader.locator('[data-paras="recap"] p').count() == 2
    assert (
        page_.locator("#card-preview .hc-title").inner_text() == "La ville plantera 10 000 arbres"
    )
    assert page_.locator("#c-title span").inner_text() == "31"
    page_.select_option("#f-lang", "en")
    assert reader.locator('[data-heading="recap"]').inner_text() == "FACTUAL RECAP"
    page_.select_option("#f-lang", "fr")
    page_.fill("#f-teaser", "x" * 501)
    assert "over" in (page_.locator("#c-teaser").get_attribute("class") or "")
    page_.fill("#f-teaser", "Le plus grand plan de plantation de son histoire.")
    page_.click("button[value=save]")
    page_.wait_for_url("**/dashboard/links/arbres/summary")
    assert "Résumé enregistré." in page_.locator(".flash").inner_text()

    def fill_draft(p: Any) -> None:
        p.fill("#f-pessimistic", "Le calendrier est jugé trop lent.")

    screenshots(
        browser,
        page_.url,
        "summary-editor",
        context.storage_state(),
        prepare=fill_draft,
    )

    reader_page = context.new_page()
    reader_page.goto(server.url + "/arbres")
    assert reader_page.locator("h1").inner_text() == "La ville plantera 10 000 arbres"
    assert "Budget : 12 millions d'euros." in reader_page.locator(".summary").inner_text()
    context.close()


AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
]
REFERRERS = [
    "https://t.co/x",
    "https://www.linkedin.com/feed/",
    "https://news.ycombinator.com/",
    "",
]
SOURCES = ["mastodon", "newsletter", "linkedin"]


def produce_clicks(server: LiveServer, slug: str, people: int) -> None:
    """`people` reader requests (varied browsers, referrers, UTM, addresses), plus 5 bots and
    3 prefetches that must not count as clicks."""
    for i in range(people):
        headers = {
            "User-Agent": AGENTS[i % len(AGENTS)],
            "X-Forwarded-For": f"198.51.100.{i % 60}",
            "Accept": "text/html",
        }
        if REFERRERS[i % len(REFERRERS)]:
            headers["Referer"] = REFERRERS[i % len(REFERRERS)]
        query = f"?utm_source={SOURCES[i % len(SOURCES)]}&utm_medium=social" if i % 2 else ""
        fetch(server.url + f"/{slug}{query}", headers)
    for _ in range(5):
        fetch(server.url + f"/{slug}", {"User-Agent": "Twitterbot/1.0"})
    for _ in range(3):
        fetch(server.url + f"/{slug}", {"User-Agent": AGENTS[0], "Sec-Purpose": "prefetch"})


def fetch(url: str, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def total(page: Any, label: str) -> int:
    item = page.locator(".total", has_text=label).first.locator(".value").inner_text()
    return int(re.sub(r"\D", "", item))


def test_clicks_show_on_the_stats_page_export_as_csv_and_share_read_only(
    browser, server, article, tmp_path
):
    context, page_ = sign_in(browser, server)
    page_.goto(server.url + "/dashboard/links/new")
    page_.fill("#f-url", article)
    page_.fill("#f-slug", "rapport")
    page_.fill("#f-title", "Rapport de campagne")
    page_.click("main button[type=submit]")
    page_.wait_for_url("**/dashboard/links/rapport")

    reader = browser.new_context(user_agent=AGENTS[0], locale="fr-FR")
    for _ in range(2):  # real page views: the page confirms its click by beacon
        visit = reader.new_page()
        visit.goto(server.url + "/rapport")
        visit.wait_for_url(article)
        visit.close()
    reader.close()
    produce_clicks(server, "rapport", 238)

    deadline = time.monotonic() + 60
    while True:  # clicks are written in batches: wait for the writer (prefetches come last)
        page_.goto(server.url + "/dashboard/links/rapport/stats?range=24h")
        stored = total(page_, "Clics") == 240 and total(page_, "Préchargements") == 3
        if stored or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert total(page_, "Clics") == 240
    assert total(page_, "Confirmés") == 2
    assert total(page_, "Robots") == 5
    assert total(page_, "Préchargements") == 3
    assert total(page_, "Visiteurs uniques") >= 60
    assert "t.co" in page_.locator("#h-top-referrers + table").inner_text()
    assert "mastodon" in page_.locator("#h-top-utm_source + table").inner_text()
    page_.locator(".chart-card").first.locator(".chart-wide .bucket").last.hover()
    assert "Clics : " in page_.locator(".chart-tip").inner_text()
    state = context.storage_state()
    screenshots(browser, page_.url, "stats-link", state)

    with page_.expect_download() as download_info:
        page_.click("text=Exporter en CSV")
    saved = tmp_path / "clicks.csv"
    download_info.value.save_as(saved)
    with saved.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["time", "link"]
    assert len(rows) == 1 + 240

    page_.select_option("#s-expires", "30")
    page_.click("text=Créer un lien de partage")
    share_url = page_.locator("#share-url").input_value()
    assert share_url.startswith(server.url + "/share/")

    page_.goto(server.url + "/dashboard/stats?range=7d")
    assert total(page_, "Clics") >= 240
    screenshots(browser, page_.url, "stats-all", state, locale="en-GB")
    context.close()

    stranger = browser.new_context(locale="fr-FR", timezone_id="America/Montreal")
    shared = stranger.new_page()
    shared.goto(share_url)
    assert "Rapport de campagne" in shared.locator("h1").inner_text()
    assert total(shared, "Clics") == 240
    assert shared.locator("a[href^='/dashboard']").count() == 0
    assert shared.locator("form[method=post]").count() == 0
    shared.goto(server.url + "/dashboard/links")
    assert "/dashboard/login" in shared.url  # the share link opens nothing else
    shared.goto(share_url[:-4] + "AAAA")
    assert "Lien de partage invalide" in shared.locator("h1").inner_text()
    stranger.close()
    screenshots(browser, share_url, "share")
    screenshots(browser, share_url[:-4] + "AAAA", "share-invalid")


def test_the_dashboard_works_without_javascript(browser, server, article):
    context, page_ = sign_in(browser, server, java_script_enabled=False)
    page_.goto(server.url + "/dashboard/links/new")
    page_.fill("#f-url", article)
    page_.fill("#f-slug", "sans-js")
    page_.click("main button[type=submit]")
    page_.wait_for_url("**/dashboard/links/sans-js")
    assert page_.locator("button[data-copy]").is_hidden()  # copy needs a script: select instead
    page_.goto(server.url + "/dashboard/links/sans-js/summary")
    page_.fill("#f-title", "Sans JavaScript")
    page_.fill("#f-teaser", "Tout marche quand même.")
    page_.fill("#f-recap", "Premier paragraphe.\n\nSecond paragraphe.")
    page_.click("button[value=preview]")
    assert "ne sont pas enregistrées" in page_.locator(".flash").inner_text()
    assert page_.locator("#reader-preview .rp-title").inner_text() == "Sans JavaScript"
    assert page_.locator('#reader-preview [data-paras="recap"] p').count() == 2
    page_.click("button[value=save]")
    assert "Résumé enregistré." in page_.locator(".flash").inner_text()
    page_.goto(server.url + "/dashboard/links/sans-js/stats?range=7d")
    assert page_.locator(".chart-card svg.chart-wide").count() == 2
    page_.click("text=Voir les chiffres >> nth=0")
    assert page_.locator("table.numbers").first.is_visible()
    page_.goto(server.url + "/dashboard/links/sans-js/delete")
    page_.click("text=Supprimer définitivement")
    page_.wait_for_url("**/dashboard/links")
    context.close()


def test_api_keys_and_account_pages(browser, server):
    context, page = sign_in(browser, server)
    page.goto(server.url + "/dashboard/keys")
    page.fill("#f-name", "newsletter")
    page.click("text=Créer la clé")
    key = page.locator("#new-key").input_value()
    assert key.startswith("blz_")
    screenshots(browser, server.url + "/dashboard/keys", "keys", context.storage_state())
    screenshots(browser, server.url + "/dashboard/account", "account", context.storage_state())
    context.close()


def test_a_viewer_sees_links_in_english_without_edit_buttons(browser, server):
    context, page = sign_in(browser, server, email="viewer@example.org")
    assert page.locator("h1").inner_text() == "Links"
    assert page.locator("text=New link").count() == 0
    context.close()
