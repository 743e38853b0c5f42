"""End to end in Debian's Chromium: the card as a reader meets it, against a real server.

The server, the page server and the test copy of the extension come from harness.py and
conftest.py. Each test saves a screenshot of the card under BALISE_ARTIFACTS_DIR (default
test-artifacts/ at the repository root).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.extension.chromium import (
    card_content,
    card_element_center,
    shoot,
    wait_for_card,
)
from tests.extension.conftest import CHROMIUM, VIEWPORT
from tests.extension.harness import EN_SUMMARY, FR_SUMMARY, KNOWN_TARGET, page_html, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"
    ),
]


def short(balise, name: str) -> str:
    return balise.short(name)


# ---- the tests -------------------------------------------------------------------------


def test_hover_shows_the_card_with_title_and_teaser(balise, pages, configure, page):
    configure()
    url = pages.add(
        "/hover",
        page_html(
            "<h1>Revue de presse</h1><p>À lire : "
            f'<a id="fr" title="Titre natif" href="{short(balise, "fr")}">'
            f"le climat s'emballe</a>, et d'autres nouvelles.</p>"
        ),
    )
    page.goto(url)
    page.hover("#fr")
    host = wait_for_card(page)
    content = card_content(page)
    assert content["title"] == FR_SUMMARY["title"]
    assert content["teaser"] == FR_SUMMARY["teaser"]
    assert content["domain"] == "lemonde.fr"
    assert content["headings"] == [
        "Récapitulatif factuel",
        "Point de vue neutre",
        "Exemple",
        "Point de vue optimiste",
        "Point de vue pessimiste",
    ]
    assert f"{short(balise, 'fr')}+" in content["links"]
    # A non-modal dialog named after the article, described to the link it belongs to.
    assert host.get_attribute("role") == "dialog"
    assert host.get_attribute("aria-label") == f"Aperçu Balise : {FR_SUMMARY['title']}"
    assert host.get_attribute("aria-modal") is None
    assert page.get_attribute("#fr", "aria-describedby") == host.get_attribute("id")
    assert page.get_attribute("#fr", "title") is None, "the native tooltip must be suppressed"
    box = host.bounding_box()
    link = page.locator("#fr").bounding_box()
    assert box["y"] >= link["y"] + link["height"], "the card goes below the link"
    assert 300 <= box["width"] <= 330
    shoot(page, "hover_fr_card")

    page.mouse.move(5, VIEWPORT["height"] - 5)
    host.wait_for(state="detached", timeout=3000)
    assert page.get_attribute("#fr", "title") == "Titre natif"
    assert page.get_attribute("#fr", "aria-describedby") is None
    assert len(balise.proxy.summary_requests()) == 1


def test_english_card_in_dark_mode_with_sections_on_demand(balise, pages, configure, page):
    configure()
    page.emulate_media(color_scheme="dark")
    url = pages.add(
        "/dark",
        page_html(
            f'<p>Travel: <a id="en" href="{short(balise, "en")}">night trains</a>.</p>',
            head="<style>body{background:#111;color:#ddd}a{color:#8ab4f8}</style>",
        ),
    )
    page.goto(url)
    page.hover("#en")
    host = wait_for_card(page)
    content = card_content(page)
    assert content["title"] == EN_SUMMARY["title"]
    assert content["headings"] == ["Factual recap", "Neutral view", "Pessimistic view"]
    closed = host.bounding_box()
    # Open the first section: move onto the card (it stays open) and click its heading.
    x, y = card_element_center(page, "toggle")
    page.mouse.move(x, y, steps=8)
    page.mouse.click(x, y)
    page.wait_for_timeout(400)
    assert host.is_visible(), "moving onto the card keeps it open"
    assert host.bounding_box()["height"] > closed["height"], "a section opened inside the card"
    shoot(page, "dark_en_card_open_section")


def test_a_pass_shorter_than_the_fetch_delay_sends_nothing(balise, pages, configure, page):
    balise.add_link("cr-pass", "https://www.lemonde.fr/planete/article/pass.html", FR_SUMMARY)
    configure(fetch=600, show=800)
    url = pages.add(
        "/pass",
        page_html(
            '<p style="margin-top:200px">Pass over '
            f'<a id="fr" href="{short(balise, "cr-pass")}">this link</a> quickly.</p>'
        ),
    )
    page.goto(url)
    for _ in range(3):
        page.hover("#fr")
        page.wait_for_timeout(100)
        page.mouse.move(5, 5)
    page.wait_for_timeout(1500)
    assert balise.proxy.summary_requests() == []
    assert page.locator("balise-card").count() == 0

    # The same link, rested on: exactly one request, and the card.
    page.hover("#fr")
    wait_for_card(page)
    assert len(balise.proxy.summary_requests()) == 1
    shoot(page, "short_pass_then_rest")


def test_a_page_with_a_strict_csp(balise, pages, configure, page):
    configure()
    url = pages.add(
        "/csp",
        page_html(f'<p>Strict page, <a id="fr" href="{short(balise, "fr")}">short link</a>.</p>'),
        headers={"Content-Security-Policy": "default-src 'self'"},
    )
    page.goto(url)
    page.hover("#fr")
    host = wait_for_card(page)
    assert card_content(page)["title"] == FR_SUMMARY["title"]
    assert 300 <= host.bounding_box()["width"] <= 330, (
        "the card's own styles apply under the page's CSP"
    )
    shoot(page, "strict_csp_card")


def test_links_added_after_load_and_in_shadow_roots(balise, pages, configure, page):
    configure()
    script = f"""
    setTimeout(() => {{
      const p = document.createElement('p');
      const a = document.createElement('a');
      a.id = 'late'; a.href = {json.dumps(short(balise, "fr"))};
      a.textContent = 'a link added later';
      p.append('Now: ', a); document.body.append(p);
      const host = document.createElement('div'); host.id = 'widget';
      const root = host.attachShadow({{mode: 'open'}});
      const b = document.createElement('a');
      b.id = 'shadowed'; b.href = {json.dumps(short(balise, "en"))};
      b.textContent = 'a link in a shadow root';
      root.append(b); document.body.append(host);
    }}, 400);
    """
    url = pages.add(
        "/late", page_html("<p>Links arrive later.</p>", script_path="/late.js"), script=script
    )
    page.goto(url)
    page.wait_for_selector("#late")
    page.hover("#late")
    wait_for_card(page)
    assert card_content(page)["title"] == FR_SUMMARY["title"]
    page.mouse.move(5, 5)
    page.locator("balise-card").wait_for(state="detached", timeout=3000)
    page.locator("#widget #shadowed").hover()
    page.wait_for_function(
        "() => document.getElementById('widget').shadowRoot.querySelector('balise-card')"
    )
    shoot(page, "late_and_shadow_links")


PAGE_STATE_JS = """() => {
  const s = getComputedStyle(document.getElementById('box'));
  const link = document.getElementById('fr').getBoundingClientRect();
  return [s.display, s.backgroundColor, s.fontFamily, link.height];
}"""


def test_a_page_with_aggressive_css_neither_breaks_nor_is_broken(balise, pages, configure, page):
    configure()
    css = """<style>
      * { font-family: "Comic Sans MS", cursive !important; color: #c00 !important;
          letter-spacing: 3px !important;
          box-sizing: content-box !important; margin: 12px !important; line-height: 3 !important; }
      div { display: inline !important; position: static !important; width: 20px !important;
            height: 20px !important; background: yellow !important;
            border: 6px dashed green !important; padding: 20px !important;
            transform: rotate(3deg) !important; opacity: 0.5 !important; }
      a { font-size: 30px !important; text-transform: uppercase !important;
          display: block !important; }
      [role=tooltip], [role=dialog] { display: none !important; }
      p { visibility: visible; }
    </style>"""
    url = pages.add(
        "/css",
        page_html(
            f'<div id="box">box</div><p><a id="fr" href="{short(balise, "fr")}">short link</a></p>',
            head=css,
        ),
    )
    page.goto(url)
    before = page.evaluate(PAGE_STATE_JS)
    page.hover("#fr")
    host = wait_for_card(page)
    style = host.evaluate(
        "h => { const s = getComputedStyle(h);"
        " return [s.position, s.display, s.opacity, s.transform]; }"
    )
    assert style == ["fixed", "block", "1", "none"]
    box = host.bounding_box()
    assert 300 <= box["width"] <= 330
    assert box["height"] > 100, "the card keeps its own layout"
    assert card_content(page)["title"] == FR_SUMMARY["title"]
    after = page.evaluate(PAGE_STATE_JS)
    assert after == before, "the card's styles do not leak into the page"
    shoot(page, "aggressive_css_card")


def test_the_pages_own_click_handlers_still_fire(balise, pages, configure, page):
    configure()
    script = """
    window.clicks = [];
    document.getElementById('fr').addEventListener('click', e => {
      e.preventDefault(); window.clicks.push('link');
    });
    document.addEventListener('click', () => window.clicks.push('document'));
    document.getElementById('btn').addEventListener('click', () => window.clicks.push('button'));
    """
    url = pages.add(
        "/clicks",
        page_html(
            '<p><button id="btn">Button</button></p>'
            f'<p><a id="fr" href="{short(balise, "fr")}">short link</a></p>',
            script_path="/clicks.js",
        ),
        script=script,
    )
    page.goto(url)
    page.hover("#fr")
    wait_for_card(page)
    shoot(page, "click_handlers_card")
    page.click("#fr")
    page.click("#btn")
    assert page.evaluate("window.clicks") == ["link", "document", "button", "document"]
    assert page.url == url, "the page's preventDefault was honoured"


def test_an_unknown_short_link_shows_no_card_and_is_asked_once(balise, pages, configure, page):
    configure()
    url = pages.add(
        "/unknown",
        page_html(
            f'<p><a id="nope" href="{balise.base}/no-such-link">nothing here</a></p>'
            '<p id="away">away</p>'
        ),
    )
    page.goto(url)
    for _ in range(2):
        page.hover("#nope")
        page.wait_for_timeout(900)
        page.hover("#away")
    assert page.locator("balise-card").count() == 0
    assert len(balise.proxy.summary_requests()) == 1, "the unknown answer is cached"
    shoot(page, "unknown_link_no_card")


def test_a_link_without_summary_shows_its_pages_own_card_marked_as_such(
    balise, pages, configure, page
):
    """Issue 12, item 3: no summary but a fetched page card: title and teaser, marked, no
    sections; with neither, no card at all."""
    configure()
    balise.add_link("page-card", "https://news.example.org/2024/bees", None)
    balise.add_link("bare-link", "https://news.example.org/2024/bare", None)
    description = "Les abeilles sauvages reviennent dans les parcs de la ville."
    balise.store_page_card("page-card", "Le retour des abeilles", description, "fr")
    url = pages.add(
        "/page-card",
        page_html(
            f'<p><a id="bare" href="{short(balise, "bare-link")}">sans rien</a></p>'
            f'<p><a id="carded" href="{short(balise, "page-card")}">les abeilles</a></p>'
            '<p id="away">away</p>'
        ),
    )
    page.goto(url)
    page.hover("#bare")
    page.wait_for_timeout(900)
    assert page.locator("balise-card").count() == 0, "no summary and no page card: no card"
    page.hover("#away")

    page.hover("#carded")
    host = wait_for_card(page)
    content = card_content(page)
    assert content["title"] == "Le retour des abeilles"
    assert content["teaser"] == description
    assert content["mark"] == "Description de la page"
    assert content["headings"] == [], "a page's own card has no sections"
    assert content["domain"] == "news.example.org"
    assert host.get_attribute("aria-label") == "Aperçu Balise : Le retour des abeilles"
    shoot(page, "page_card_marked")
    wait_until(lambda: balise.preview_views("page-card") == 1)


def test_known_mode_asks_about_a_page_of_links_in_one_batch(balise, pages, configure, page):
    configure(mode="known")
    others = "".join(
        f'<li><a href="https://example.net/story/{i}">Story {i}</a></li>' for i in range(250)
    )
    url = pages.add(
        "/known",
        page_html(
            f'<p>Article: <a id="article" href="{KNOWN_TARGET}">night trains</a></p>'
            f"<ul>{others}</ul>"
        ),
    )
    page.goto(url)
    page.hover("#article")
    wait_for_card(page)
    assert card_content(page)["title"] == EN_SUMMARY["title"]
    assert balise.proxy.summary_requests() == [("POST", "/api/v1/summaries/lookup")]
    shoot(page, "known_mode_card")
    # Other links of the first batch are answered from the cache: no new request.
    page.hover("text=Story 3")
    page.wait_for_timeout(900)
    assert page.locator("balise-card").count() == 0
    assert balise.proxy.summary_requests() == [("POST", "/api/v1/summaries/lookup")]


def test_a_disabled_site_gets_no_card_and_sends_nothing(balise, pages, configure, page):
    configure(disabled=("127.0.0.1",))
    url = pages.add(
        "/disabled", page_html(f'<p><a id="fr" href="{short(balise, "fr")}">link</a></p>')
    )
    page.goto(url)
    page.hover("#fr")
    page.wait_for_timeout(1200)
    assert page.locator("balise-card").count() == 0
    assert balise.proxy.summary_requests() == []
    shoot(page, "disabled_site_no_card")
