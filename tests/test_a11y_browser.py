"""Accessibility of every page, audited by axe-core in Debian's Chromium: reader page, `+`
preview, 404, 410, the site root and every dashboard page, in French and English, light and
dark, with zero serious or critical violations; and with the keyboard alone, every control
is reached and visibly focused (walked in the light scheme: see _audit).

axe-core comes from npm (tests/a11y/package.json; `make test` installs it).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard_live import ROOT, LiveServer, live_server

pytestmark = pytest.mark.browser
AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery"
LANGS = {"fr": "fr-FR", "en": "en-US"}
SUMMARY = {
    "lang": "fr",
    "title": "La ville plantera 10 000 arbres d'ici 2030",
    "teaser": "La mairie lance le plus grand plan de plantation de son histoire.",
    "recap": "Un plan de 10 000 arbres.\n\nBudget : 12 millions d'euros.",
    "optimistic": "Des rues plus fraîches l'été.",
    "pessimistic": "Un calendrier jugé trop lent.",
}
READER_PAGES = {
    "reader": "/lecture",
    "preview": "/lecture+",
    "not-found": "/introuvable",
    "gone": "/eteint",
    "password": "/coffre",  # link controls: the password page
    "not-yet": "/bientot",  # and the page before valid_from
    "root": "/",
}
DASHBOARD_PAGES = {
    "links": "/dashboard/links",
    "link": "/dashboard/links/lecture",
    "new-link": "/dashboard/links/new",
    "edit-link": "/dashboard/links/lecture/edit",
    "summary": "/dashboard/links/lecture/summary",
    "link-stats": "/dashboard/links/lecture/stats",
    "all-stats": "/dashboard/stats",
    "keys": "/dashboard/keys",
    "account": "/dashboard/account",
    "delete": "/dashboard/links/lecture/delete",
    "import": "/dashboard/import",
    "dashboard-404": "/dashboard/links/introuvable",
    "share-error": "/share/not-a-token",
}
AUDIT = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} -> `
      + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # A long reading time: the reader page must still be there while it is audited.
    with live_server(tmp_path_factory.mktemp("a11y"), SUMMARY_REDIRECT_DELAY="30") as live:
        for lang in LANGS:
            live.balise(
                "users", "create", f"admin-{lang}@example.org", "--role", "admin", "--lang", lang,
                "--password-stdin", stdin=PASSWORD,
            )  # fmt: skip
        key = live.balise("keys", "create", "--name", "a11y", "--role", "admin").split()[-1]
        _api(
            live, key, {"url": "https://news.example/arbres", "slug": "lecture", "summary": SUMMARY}
        )
        _api(live, key, {"url": "https://news.example/old", "slug": "eteint", "disabled": True})
        _api(live, key, {"url": "https://news.example/c", "slug": "coffre", "password": "sesame"})
        later = {"slug": "bientot", "valid_from": "2199-01-01T00:00:00+00:00"}
        _api(live, key, {"url": "https://news.example/b"} | later)
        yield live


def _api(live: LiveServer, key: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        live.url + "/api/v1/links",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - 127.0.0.1


@pytest.fixture(scope="module")
def browser(browser: Any) -> Any:
    """The shared Chromium (conftest.py), once axe-core is there to audit with."""
    if not AXE.exists():
        pytest.skip("axe-core not installed: run `make test` (npm ci in tests/a11y)")
    return browser


def _context(browser: Any, lang: str, scheme: str) -> Any:
    # bypass_csp: the pages allow only their own scripts by hash; axe is injected for the audit.
    context = browser.new_context(
        locale=LANGS[lang], color_scheme=scheme, bypass_csp=True, timezone_id="Europe/Paris"
    )
    context.route("https://news.example/**", lambda route: route.abort())
    return context


def _sign_in(context: Any, server: LiveServer, lang: str) -> None:
    page = context.new_page()
    page.goto(server.url + "/dashboard/login")
    page.fill("#f-email", f"admin-{lang}@example.org")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/links")
    page.close()


def _violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return list(page.evaluate(AUDIT))


FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  // A date field's own calendar button (in its shadow tree) gets Chromium's native ring.
  if (!e.matches(":focus")) return {what: e.outerHTML.slice(0, 90), ring: true, visible: true};
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0)
    || s.boxShadow !== "none";
  return {what: e.outerHTML.slice(0, 90), ring, visible: r.width > 0 && r.height > 0};
}"""
CONTROLS = """() => [...document.querySelectorAll(
  'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea,'
  + ' summary'
)].filter(e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden")
 .filter(e => !(e.closest("details:not([open])") && !e.closest("summary")))  // its summary opens it
 .map(e => e.outerHTML.slice(0, 90))"""


def _keyboard(page: Any) -> list[str]:
    """Tab through the page: every control reached, each one visibly focused.

    The walk stops when the focus leaves the page after every control has been reached: the
    Tabs after that would go round the same controls again. Otherwise at most 3 Tabs per
    control (date fields take a Tab per part).
    """
    controls = page.evaluate(CONTROLS)
    wanted = set(controls)
    problems, reached = [], set()
    for _ in range(3 * len(controls) + 5):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        if focus is None:
            if wanted <= reached:
                break
            continue
        reached.add(focus["what"])
        if not (focus["ring"] and focus["visible"]):
            problems.append(f"no visible focus on {focus['what']}")
    problems += [f"Tab never reaches {what}" for what in controls if what not in reached]
    return sorted(set(problems))


def _audit(context: Any, base: str, pages: dict[str, str], label: str, scheme: str) -> list[str]:
    """axe on every page in both schemes; the keyboard walk in the light scheme only.

    Under prefers-color-scheme: dark, both stylesheets (dashboard.css, the reader's
    page.css) change colours only: the focus ring's colour, never its outline or
    box-shadow, nor what is shown; and no script reads the scheme. Tab order and "a ring
    is there and visible", all the walk checks, are the same in both schemes, so a second
    walk would only double the test's time. Should a dark rule ever touch outline,
    box-shadow, display or visibility, walk in both again.
    """
    found = []
    page = context.new_page()
    for name, path in pages.items():
        page.goto(base + path)
        found += [f"{label} {name}: {v}" for v in _violations(page)]
        if scheme == "light":
            page.goto(base + path)  # a fresh page for the keyboard walk
            found += [f"{label} {name}: {p}" for p in _keyboard(page)]
    page.close()
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("lang", LANGS)
def test_reader_pages_pass_axe_and_the_keyboard(server, browser, lang, scheme):
    context = _context(browser, lang, scheme)
    try:
        found = _audit(context, server.url, READER_PAGES, f"{lang}/{scheme}", scheme)
    finally:
        context.close()
    assert not found, "\n".join(found)


def _share_path(context: Any, server: LiveServer) -> str:
    """A read-only report's path, made through the stats page's share form."""
    page = context.new_page()
    page.goto(server.url + DASHBOARD_PAGES["link-stats"])
    page.click(".share-form button[type=submit]")
    url = str(page.locator("#share-url").input_value())
    page.close()
    return url.removeprefix(server.url)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("lang", LANGS)
def test_dashboard_pages_pass_axe_and_the_keyboard(server, browser, lang, scheme):
    context = _context(browser, lang, scheme)
    try:
        label = f"{lang}/{scheme}"
        login = _audit(context, server.url, {"login": "/dashboard/login"}, label, scheme)
        _sign_in(context, server, lang)
        found = login + _audit(context, server.url, DASHBOARD_PAGES, label, scheme)
        shared = {"share": _share_path(context, server)}
        found += _audit(context, server.url, shared, label, scheme)
    finally:
        context.close()
    assert not found, "\n".join(found)
