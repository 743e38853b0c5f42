"""Keyboard and screen readers in Debian's Chromium: the card is a non-modal dialog that sits
after its link in the focus order, and axe-core finds no serious or critical violation in it.

axe-core cannot see into a closed shadow root, so the audit runs on a second test copy of the
extension whose card's shadow root is opened (harness.extension_copy(open_shadow=True)): the
same card, built by the same code, only readable by the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.extension.chromium import focused_in_card, in_card, shoot, wait_for_card
from tests.extension.conftest import CHROMIUM, launch_chromium, settings_for, worker
from tests.extension.harness import AXE, FR_SUMMARY, page_html, screenshot_path, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"
    ),
]

ACTIVE_ID = """(() => {
  const el = document.activeElement;
  return el.localName === 'balise-card' ? 'balise-card' : el.id || el.localName;
})()"""


def keyboard_page(balise: Any, pages: Any, path: str, slug: str) -> str:
    return pages.add(
        path,
        page_html(
            '<p><button id="before">Before</button> then '
            f'<a id="fr" href="{balise.short(slug)}">a short link</a>, '
            '<a id="after" href="https://example.net/next">the next link</a>.</p>',
            script_path=f"{path}.js",
        ),
        script="window.escapes = 0; document.addEventListener('keydown', "
        "e => { if (e.key === 'Escape') window.escapes++; });",
    )


def test_keyboard_reaches_every_control_of_the_card_and_comes_back(balise, pages, configure, page):
    balise.add_link("cr-keys", "https://www.lemonde.fr/planete/article/keys.html", FR_SUMMARY)
    configure()
    page.goto(keyboard_page(balise, pages, "/keys", "cr-keys"))
    page.focus("#before")
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE_ID) == "fr"
    host = wait_for_card(page)
    assert page.get_attribute("#fr", "aria-describedby") == host.get_attribute("id")

    # Tab goes into the card, on its first control; the card stays while focus is in it.
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE_ID) == "balise-card"
    first = focused_in_card(page)
    assert first["cls"] == "toggle" and "Récapitulatif factuel" in first["text"]
    assert first["expanded"] == "false"
    page.keyboard.press("Enter")
    assert focused_in_card(page)["expanded"] == "true", "Enter opens the section"
    page.wait_for_timeout(600)  # longer than the hide delay: focus holds the card open
    assert host.is_visible()
    shoot(page, "keyboard_inside_card")

    # Every control in turn: the four other toggles, the source, the + preview.
    seen = [first["text"]]
    for _ in range(6):
        page.keyboard.press("Tab")
        seen.append(focused_in_card(page)["text"])
    assert [s.lstrip("›") for s in seen[:5]] == [
        "Récapitulatif factuel",
        "Point de vue neutre",
        "Exemple",
        "Point de vue optimiste",
        "Point de vue pessimiste",
    ]
    assert seen[5] == "Article en référencelemonde.fr"
    assert seen[6] == "Aperçu Balise"
    page.keyboard.press("Shift+Tab")
    assert focused_in_card(page)["text"] == seen[5], "Shift+Tab moves back within the card"
    page.keyboard.press("Tab")

    # Tab past the last control: on to what follows the link in the page; the card goes.
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE_ID) == "after"
    host.wait_for(state="detached", timeout=3000)

    # Back onto the link, into the card, and Shift+Tab out of it: back on the link, card open.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(ACTIVE_ID) == "fr"
    wait_for_card(page)
    page.keyboard.press("Tab")
    assert focused_in_card(page)["cls"] == "toggle"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(ACTIVE_ID) == "fr"
    page.wait_for_timeout(600)
    assert page.locator("balise-card").is_visible()

    # Escape from inside the card: closed, focus back on the link, the page saw its key.
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    page.locator("balise-card").wait_for(state="detached", timeout=1000)
    assert page.evaluate(ACTIVE_ID) == "fr"
    assert page.evaluate("window.escapes") == 1
    page.wait_for_timeout(800)
    assert page.locator("balise-card").count() == 0, "Escape keeps it closed on its link"


def test_keyboard_tab_opens_below_the_link_and_escape_closes(balise, pages, configure, page):
    configure()
    page.goto(keyboard_page(balise, pages, "/keyboard", "fr"))
    page.focus("#before")
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE_ID) == "fr"
    host = wait_for_card(page)
    box = host.bounding_box()
    link = page.locator("#fr").bounding_box()
    assert box["y"] >= link["y"] + link["height"], "keyboard focus opens the card below the link"
    assert abs(box["x"] - link["x"]) < 2, "aligned with the link"
    shoot(page, "keyboard_focus_card")
    page.keyboard.press("Escape")
    host.wait_for(state="detached", timeout=1000)
    assert page.evaluate("window.escapes") == 1, "the page still receives its Escape key"


def test_a_page_without_a_card_keeps_its_own_tab_order(balise, pages, configure, page):
    configure()
    url = pages.add(
        "/plain-tabs",
        page_html(
            '<p><button id="one">One</button> <a id="two" href="https://example.net/2">two</a> '
            '<button id="three">Three</button></p>'
        ),
    )
    page.goto(url)
    page.focus("#one")
    order = []
    for _ in range(2):
        page.keyboard.press("Tab")
        order.append(page.evaluate(ACTIVE_ID))
    assert order == ["two", "three"]


# ---- the accessibility audit ------------------------------------------------------------


@pytest.fixture(scope="module")
def open_context(playwright: Any) -> Iterator[Any]:
    yield from launch_chromium(playwright, open_shadow=True)


# axe-core finds no background for elements outside <body> (it reports every colour as
# "unable to determine"), and the card's host hangs from <html> so that no transform or filter
# on <body> can move it. The audit moves the host into <body> first: same card, same place.
AXE_RUN = """async () => {
  const host = document.querySelector('balise-card');
  document.body.append(host);
  await new Promise(r => setTimeout(r, 400)); // moving it restarts its 120 ms fade-in
  const result = await axe.run(host);
  const nodes = (id) => (result.passes.find(p => p.id === id) || {nodes: []}).nodes.length;
  return {
    violations: result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target)})),
    incomplete: result.incomplete.map(v => ({id: v.id, impact: v.impact,
      nodes: v.nodes.map(n => n.target)})),
    // Proof that the audit saw inside the shadow root: the five toggles, the text.
    checked: {buttons: nodes('button-name'), contrast: nodes('color-contrast'),
              links: nodes('link-name'), dialog: nodes('aria-dialog-name')},
  };
}"""


def test_axe_finds_no_serious_or_critical_violation_in_the_open_card(balise, pages, open_context):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci` in extension/")
    worker(open_context).evaluate(
        "s => chrome.storage.local.set({settings: s})", settings_for(balise, "short", (), {})
    )
    url = pages.add(
        "/axe",
        page_html(
            f'<p>À lire : <a id="fr" href="{balise.short("fr")}">le climat</a>.</p>',
            head='<script src="/axe.min.js"></script>',
        ),
    )
    page = open_context.new_page()
    try:
        report = {}
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.goto(url)
            page.hover("#fr")
            wait_for_card(page)
            page.locator("balise-card .toggle").first.click()  # a section open too
            page.wait_for_timeout(300)
            assert page.locator("balise-card .body:not([hidden])").count() == 1
            report[scheme] = page.evaluate(AXE_RUN)
            page.mouse.move(5, 5)
            page.locator("balise-card").wait_for(state="detached", timeout=3000)
        screenshot_path("axe").with_suffix(".json").write_text(json.dumps(report, indent=2))
        for found in report.values():
            assert found["checked"]["buttons"] == 5
            assert found["checked"]["links"] == 2
            assert found["checked"]["dialog"] == 1
            assert found["checked"]["contrast"] >= 10
        grave = [
            v
            for found in report.values()
            for v in found["violations"] + found["incomplete"]
            if v["impact"] in ("serious", "critical")
        ]
        assert grave == [], grave
    finally:
        page.close()


def test_the_card_is_announced_as_a_named_dialog(balise, pages, configure, page):
    configure()
    page.goto(keyboard_page(balise, pages, "/announce", "fr"))
    page.focus("#before")
    page.keyboard.press("Tab")
    wait_for_card(page)
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    dialogs = [
        n
        for n in nodes
        if n.get("role", {}).get("value") == "dialog" and not n.get("ignored", False)
    ]
    assert len(dialogs) == 1
    assert dialogs[0]["name"]["value"] == f"Aperçu Balise : {FR_SUMMARY['title']}"
    link = next(n for n in nodes if n.get("name", {}).get("value") == "a short link")
    description = link.get("description", {}).get("value", "")
    assert FR_SUMMARY["title"] in description
    expanded = wait_until(
        lambda: in_card(page, "function () { return this.querySelectorAll('.toggle').length; }")
    )
    assert expanded == 5
