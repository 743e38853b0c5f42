"""End to end: the unpacked extension in Debian's Chromium against a real `balise serve`.

The server runs on 127.0.0.1 with a temporary data directory and holds links with
summaries created through its API. Test pages are served from another port. A small
counting proxy sits in front of the server (the short links' BASE_URL points at it),
so the tests count the requests the server was sent: waitress keeps no access log.
Each test saves a screenshot of the card under BALISE_ARTIFACTS_DIR (default
test-artifacts/ at the repository root).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extension"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Debian's Chromium is not installed at {CHROMIUM}"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

ARTIFACTS = Path(os.environ.get("BALISE_ARTIFACTS_DIR") or ROOT / "test-artifacts")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=en-US",  # the options page's messages are asserted in English
    f"--disable-extensions-except={EXTENSION}",
    f"--load-extension={EXTENSION}",
]
VIEWPORT = {"width": 1000, "height": 720}

FR_SUMMARY = {
    "lang": "fr",
    "title": "Le climat s'emballe : ce que disent les dernières mesures",
    "teaser": "Les températures moyennes ont dépassé 1,5 °C sur une année complète, une première.",
    "recap": "Les relevés de l'année montrent une hausse moyenne de 1,6 °C.\n\n"
    "Les océans ont eux aussi battu des records de chaleur.",
    "neutral": "Le seuil de 1,5 °C de l'accord de Paris se mesure sur vingt ans, "
    "pas sur une année.",
    "example": "Comme une fièvre qui dure : un jour à 38 °C ne fait pas une maladie, un mois si.",
    "optimistic": "Les énergies renouvelables progressent plus vite que prévu.",
    "pessimistic": "La tendance s'accélère et les engagements restent insuffisants.",
    "source_url": "https://www.lemonde.fr/planete/article/climat-mesures.html",
}
EN_SUMMARY = {
    "lang": "en",
    "title": "Why the night train is back in Europe",
    "teaser": "New sleeper lines open every season, pushed by climate goals and airport fatigue.",
    "recap": "Operators opened a dozen sleeper routes in two years.",
    "neutral": "Night trains remain a small share of travel.",
    "pessimistic": "Rolling stock is scarce and tickets are expensive.",
}
KNOWN_TARGET = "https://news.example.org/2024/night-trains"


# ---- the server ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def balise_command() -> list[str]:
    found = shutil.which("balise", path=str(Path(sys.executable).parent)) or shutil.which("balise")
    if not found:
        pytest.skip("the `balise` command is not installed (pip install -e '.[test]')")
    return [found]


class CountingProxy:
    """Forwards every request to the server and records method and path on the way."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def forward(self) -> None:
                with proxy.lock:
                    proxy.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("connection", "keep-alive")
                }
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                finally:
                    conn.close()
                self.send_response_only(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in (
                        "connection",
                        "keep-alive",
                        "transfer-encoding",
                        "content-length",
                    ):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def summary_requests(self) -> list[tuple[str, str]]:
        with self.lock:
            return [r for r in self.requests if r[1].startswith("/api/v1/summaries")]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def call(
    port: int, method: str, path: str, body: Any = None, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, raw.decode(errors="replace")


@dataclass
class Balise:
    base: str  # the public base URL (through the counting proxy)
    proxy: CountingProxy
    links: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def balise() -> Iterator[Balise]:
    command = balise_command()
    data_dir = tempfile.mkdtemp(prefix="balise-e2e-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    proxy = CountingProxy(port)
    base = f"http://127.0.0.1:{proxy.port}"
    env.update(
        BALISE_DATA_DIR=data_dir,
        BALISE_HOST="127.0.0.1",
        BALISE_PORT=str(port),
        BALISE_BASE_URL=base,
        BALISE_LOG_LEVEL="WARNING",
    )
    subprocess.run(
        [*command, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120
    )
    created = subprocess.run(
        [*command, "keys", "create", "--name", "e2e", "--role", "admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    key = created.stdout.strip().splitlines()[-1].strip()
    log = open(Path(data_dir) / "serve.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([*command, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"balise serve did not start: {Path(data_dir, 'serve.log').read_text()}"
                )
            time.sleep(0.2)

        status, _ = call(port, "POST", "/api/v1/summaries/lookup", {"urls": []})
        if status in (404, 405):
            pytest.skip(
                "the server lacks the summaries look-up API "
                f"(POST /api/v1/summaries/lookup answered {status})"
            )

        server = Balise(base=base, proxy=proxy)
        for name, slug, url, summary in (
            (
                "fr",
                "climat-fr",
                "https://www.lemonde.fr/planete/article/climat-mesures.html",
                FR_SUMMARY,
            ),
            ("en", "night-trains", KNOWN_TARGET, EN_SUMMARY),
            # Asked about by one test only: the browser's HTTP cache keeps answers for max-age.
            (
                "pass",
                "climat-pass",
                "https://www.lemonde.fr/planete/article/climat-pass.html",
                FR_SUMMARY,
            ),
        ):
            status, body = call(
                port,
                "POST",
                "/api/v1/links",
                {"url": url, "slug": slug, "lang": summary["lang"]},
                key,
            )
            assert status == 201, body
            status, answer = call(port, "PUT", f"/api/v1/links/{slug}/summary", summary, key)
            if status in (404, 405):
                pytest.skip(
                    f"the server lacks PUT /api/v1/links/<slug>/summary (answered {status})"
                )
            assert status in (200, 201), answer
            server.links[name] = body
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        proxy.close()
        shutil.rmtree(data_dir, ignore_errors=True)


# ---- the test pages ------------------------------------------------------------------


class Pages:
    """Serves pages registered by path, each with its own headers, from another port."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes, dict[str, str]]] = {}
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                route = pages.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                    return
                ctype, body, headers = route
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(
        self, path: str, html: str, headers: dict[str, str] | None = None, script: str | None = None
    ) -> str:
        self.routes[path] = ("text/html; charset=utf-8", html.encode(), headers or {})
        if script is not None:
            self.routes[path + ".js"] = ("text/javascript; charset=utf-8", script.encode(), {})
        return self.origin + path


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    served = Pages()
    yield served
    served.server.shutdown()
    served.server.server_close()


def page_html(body: str, *, head: str = "", script_path: str | None = None) -> str:
    script = f'<script src="{script_path}"></script>' if script_path else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Balise e2e</title>'
        "<style>body{font:17px/1.6 Georgia,serif;max-width:680px;margin:48px auto;"
        "padding:0 16px}</style>"
        f"{head}</head><body>{body}{script}</body></html>"
    )


# ---- the browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_context(balise: Balise) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        user_data = tempfile.mkdtemp(prefix="balise-chromium-")
        context = p.chromium.launch_persistent_context(
            user_data,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(user_data, ignore_errors=True)


def worker(context: Any) -> Any:
    if context.service_workers:
        return context.service_workers[0]
    return context.wait_for_event("serviceworker", timeout=15000)


@pytest.fixture
def configure(browser_context: Any, balise: Balise):
    """Write `settings` as the options page would; a change also empties the worker's cache."""

    def apply(mode: str = "short", disabled: tuple[str, ...] = (), **delays: int) -> None:
        settings = {
            "servers": [balise.base],
            "mode": mode,
            "disabledSites": list(disabled),
            "delays": {"fetch": 150, "show": 500, "hide": 300, **delays},
        }
        worker(browser_context).evaluate("s => chrome.storage.local.set({settings: s})", settings)
        balise.proxy.reset()

    return apply


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    tab = browser_context.new_page()
    yield tab
    tab.close()


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(250)  # let the card's 120 ms fade-in finish
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def wait_for_card(page: Any, timeout: float = 5000) -> Any:
    host = page.locator("balise-card")
    host.wait_for(state="visible", timeout=timeout)
    return host


def card_content(page: Any) -> dict[str, Any]:
    """Read the card through its closed shadow root, as the DevTools protocol sees it."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    finally:
        cdp.detach()

    def children(node: dict[str, Any]) -> list[dict[str, Any]]:
        return node.get("shadowRoots", []) + node.get("children", [])

    def find(node: dict[str, Any], pred: Any) -> dict[str, Any] | None:
        if pred(node):
            return node
        for child in children(node):
            hit = find(child, pred)
            if hit:
                return hit
        return None

    def text(node: dict[str, Any] | None) -> str:
        if node is None:
            return ""
        if node.get("nodeType") == 3:
            return str(node.get("nodeValue", ""))
        return "".join(text(child) for child in children(node))

    def classes(node: dict[str, Any]) -> list[str]:
        attrs = node.get("attributes", [])
        values = dict(zip(attrs[::2], attrs[1::2], strict=False))
        return values.get("class", "").split()

    def all_with(node: dict[str, Any], name: str) -> list[dict[str, Any]]:
        out = [node] if name in classes(node) else []
        for child in children(node):
            out += all_with(child, name)
        return out

    host = find(root, lambda n: n.get("localName") == "balise-card")
    assert host is not None, "no card host in the page"
    shadow = host.get("shadowRoots", [])
    assert shadow and shadow[0].get("shadowRootType") == "closed", (
        "the card is not in a closed shadow root"
    )
    card = shadow[0]
    return {
        "title": text(find(card, lambda n: "title" in classes(n))),
        "teaser": text(find(card, lambda n: "teaser" in classes(n))),
        "domain": text(find(card, lambda n: "domain" in classes(n))),
        "headings": [text(n) for n in all_with(card, "heading")],
        "links": [
            dict(zip(n["attributes"][::2], n["attributes"][1::2], strict=False)).get("href")
            for n in all_with(card, "source") + all_with(card, "preview")
        ],
    }


def card_element_center(page: Any, class_name: str) -> tuple[float, float]:
    """Viewport centre of the first `.class_name` inside the card's closed shadow root."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        stack = [root]
        while stack:
            node = stack.pop(0)
            attrs = node.get("attributes", [])
            if (
                class_name
                in dict(zip(attrs[::2], attrs[1::2], strict=False)).get("class", "").split()
            ):
                quad = cdp.send("DOM.getBoxModel", {"nodeId": node["nodeId"]})["model"]["border"]
                return (quad[0] + quad[2]) / 2, (quad[1] + quad[5]) / 2
            stack.extend(node.get("shadowRoots", []) + node.get("children", []))
    finally:
        cdp.detach()
    raise AssertionError(f"no .{class_name} in the card")


def short(balise: Balise, name: str) -> str:
    return str(balise.links[name]["short_url"])


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
    assert host.get_attribute("role") == "tooltip"
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
    configure(fetch=600, show=800)
    url = pages.add(
        "/pass",
        page_html(
            '<p style="margin-top:200px">Pass over '
            f'<a id="fr" href="{short(balise, "pass")}">this link</a> quickly.</p>'
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


def test_keyboard_tab_opens_below_the_link_and_escape_closes(balise, pages, configure, page):
    configure()
    url = pages.add(
        "/keyboard",
        page_html(
            '<p><button id="before">Before</button> then '
            f'<a id="fr" href="{short(balise, "fr")}">a short link</a>.</p>',
            script_path="/keyboard.js",
        ),
        script="window.escapes = 0; document.addEventListener('keydown', "
        "e => { if (e.key === 'Escape') window.escapes++; });",
    )
    page.goto(url)
    page.focus("#before")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "fr"
    host = wait_for_card(page)
    box = host.bounding_box()
    link = page.locator("#fr").bounding_box()
    assert box["y"] >= link["y"] + link["height"], "keyboard focus opens the card below the link"
    assert abs(box["x"] - link["x"]) < 2, "aligned with the link"
    shoot(page, "keyboard_focus_card")
    page.keyboard.press("Escape")
    host.wait_for(state="detached", timeout=1000)
    assert page.evaluate("window.escapes") == 1, "the page still receives its Escape key"


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
      [role=tooltip] { display: none !important; } p { visibility: visible; }
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
    requests = balise.proxy.summary_requests()
    assert [r for r in requests if r[0] != "OPTIONS"] == [("POST", "/api/v1/summaries/lookup")]
    shoot(page, "known_mode_card")
    # Other links of the first batch are answered from the cache: no new request.
    page.hover("text=Story 3")
    page.wait_for_timeout(900)
    assert page.locator("balise-card").count() == 0
    assert [r for r in balise.proxy.summary_requests() if r[0] != "OPTIONS"] == [
        ("POST", "/api/v1/summaries/lookup")
    ]


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


def test_the_options_page_shows_and_checks_the_settings(balise, browser_context, configure, page):
    configure(mode="known", fetch=200)
    extension_id = worker(browser_context).url.split("/")[2]
    page.goto(f"chrome-extension://{extension_id}/src/options/options.html")
    assert page.input_value("#servers") == balise.base
    assert page.is_checked("input[name=mode][value=known]")
    assert page.input_value("#delay-fetch") == "200"

    page.fill("#servers", "javascript:alert(1)")
    page.click("button[type=submit]")
    page.wait_for_function("document.getElementById('status').textContent.length > 0")
    assert "javascript:alert(1)" in page.text_content("#status")
    assert page.evaluate("() => chrome.storage.local.get('settings')")["settings"]["servers"] == [
        balise.base
    ], "nothing is saved when an address is invalid"

    # With no server there is no permission to ask: the save goes straight through.
    page.fill("#servers", "")
    page.check("input[name=mode][value=short]")
    page.fill("#disabled", "example.com")
    page.click("button[type=submit]")
    page.wait_for_function("document.getElementById('status').textContent === 'Saved.'")
    saved = page.evaluate("() => chrome.storage.local.get('settings')")["settings"]
    assert saved == {
        "servers": [],
        "mode": "short",
        "disabledSites": ["example.com"],
        "delays": {"fetch": 200, "show": 500, "hide": 300},
    }
    shoot(page, "options_page")
