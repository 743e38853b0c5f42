"""What both browser suites share: a real `balise serve` behind a counting proxy, test pages
served from another port, and the test copy of the extension.

The server runs on 127.0.0.1 with a temporary data directory and holds links with summaries
created through its API. A small proxy sits in front of it (the short links' BASE_URL points
at it), so the tests count the requests the server was sent (waitress keeps no access log)
and can make it stall: accept a look-up and never answer.

The test copy of the extension (`extension_copy`) is the source tree with one manifest change,
`host_permissions` for 127.0.0.1 (what the options page asks the user to grant for a
configured server), and, for the accessibility audit only, the card's shadow root opened
so that axe-core can see into it.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extension"
AXE = EXTENSION / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("BALISE_ARTIFACTS_DIR") or ROOT / "test-artifacts")
TEST_HOSTS = ["http://127.0.0.1/*", "http://localhost/*"]
SHADOW_LINE = 'SHADOW_MODE = "closed";'

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def balise_command() -> list[str]:
    found = shutil.which("balise", path=str(Path(sys.executable).parent)) or shutil.which("balise")
    if not found:
        pytest.skip("the `balise` command is not installed (pip install -e '.[test]')")
    return [found]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy (and return it); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {predicate}")
        time.sleep(step)


def until_asked(proxy: CountingProxy, gesture: Callable[[], None], attempts: int = 5) -> None:
    """Repeat `gesture` (a hover) until it sends a look-up. The content script starts once the
    page has loaded and the worker has answered with the settings: a pointer that arrived
    before that is not seen until it moves onto a link again."""
    for _ in range(attempts):
        gesture()
        try:
            wait_until(lambda: proxy.summary_requests(), timeout=2)
            return
        except AssertionError:
            continue
    raise AssertionError(f"no look-up after {attempts} tries")


class CountingProxy:
    """Forwards every request to the server and records method and path on the way.

    While `stalled` is set, look-ups are read and never answered (until `release()`):
    what a server does when it accepts a connection and then hangs."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[tuple[str, str]] = []
        self.batches: list[Any] = []  # bodies of the look-ups sent
        self.lock = threading.Lock()
        self.stalled = threading.Event()
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    proxy.requests.append((self.command, self.path))
                    if self.path.startswith("/api/v1/summaries/lookup") and body:
                        proxy.batches.append(json.loads(body))
                if proxy.stalled.is_set() and self.path.startswith("/api/v1/summaries/lookup"):
                    proxy.released.wait(60)
                    self.close_connection = True
                    return
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
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stall(self) -> None:
        self.released.clear()
        self.stalled.set()

    def release(self) -> None:
        self.stalled.clear()
        self.released.set()

    def summary_requests(self) -> list[tuple[str, str]]:
        """The look-ups sent (preflights and seen reports apart)."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r[1].startswith("/api/v1/summaries")
                and r[0] != "OPTIONS"
                and not r[1].startswith("/api/v1/summaries/seen")
            ]

    def seen_reports(self) -> list[tuple[str, str]]:
        with self.lock:
            return [r for r in self.requests if r == ("POST", "/api/v1/summaries/seen")]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.batches.clear()

    def close(self) -> None:
        self.release()
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
    port: int  # the server itself
    key: str  # an admin API key
    proxy: CountingProxy
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_dir: str = ""

    def store_page_card(self, slug: str, title: str, description: str, lang: str) -> None:
        """Store a link's target page card as the background fetcher would (the server here
        runs with BALISE_FETCH_METADATA=0): straight into its SQLite database."""
        from sqlalchemy import create_engine

        from balise.links.store import get_link_by_slug
        from balise.summaries import cards
        from balise.summaries.article import PageMeta

        engine = create_engine(f"sqlite:///{Path(self.data_dir) / 'balise.db'}")
        try:
            with engine.begin() as conn:
                link = get_link_by_slug(conn, slug)
                assert link is not None, slug
                meta = PageMeta(title, description, None, None, lang)
                cards.save_card(conn, link.id, link.url, meta, None)
        finally:
            engine.dispose()

    def add_link(self, slug: str, url: str, summary: dict[str, Any] | None) -> dict[str, Any]:
        lang = (summary or {}).get("lang", "en")
        status, body = call(
            self.port, "POST", "/api/v1/links", {"url": url, "slug": slug, "lang": lang}, self.key
        )
        assert status == 201, body
        if summary is not None:
            status, answer = call(
                self.port, "PUT", f"/api/v1/links/{slug}/summary", summary, self.key
            )
            assert status in (200, 201), answer
        self.links[slug] = body
        return body

    def short(self, name: str) -> str:
        return str(self.links[name]["short_url"])

    def totals(self, slug: str) -> dict[str, int]:
        status, body = call(self.port, "GET", f"/api/v1/links/{slug}/stats", key=self.key)
        assert status == 200, body
        return dict(body["totals"])

    def preview_views(self, slug: str) -> int:
        return self.totals(slug)["preview_views"]

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return call(self.port, method, path, body, self.key)


@contextmanager
def running_balise() -> Iterator[Balise]:
    """`balise serve` on a fresh data directory, with the links the suites hover."""
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
        BALISE_FETCH_METADATA="0",  # no background fetches of test targets off this machine
        BALISE_CLICK_FLUSH_INTERVAL="0.2",
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
        server = Balise(base=base, port=port, key=key, proxy=proxy, data_dir=data_dir)
        server.add_link(
            "climat-fr", "https://www.lemonde.fr/planete/article/climat-mesures.html", FR_SUMMARY
        )
        server.add_link("night-trains", KNOWN_TARGET, EN_SUMMARY)
        server.links["fr"] = server.links["climat-fr"]
        server.links["en"] = server.links["night-trains"]
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


class Pages:
    """Serves pages registered by path, each with its own headers, from another port.

    `/axe.min.js` is axe-core from extension/node_modules, for the accessibility audit."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes, dict[str, str]]] = {}
        if AXE.exists():
            self.routes["/axe.min.js"] = ("text/javascript", AXE.read_bytes(), {})
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
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(
        self, path: str, html: str, headers: dict[str, str] | None = None, script: str | None = None
    ) -> str:
        self.routes[path] = ("text/html; charset=utf-8", html.encode(), headers or {})
        if script is not None:
            self.routes[path + ".js"] = ("text/javascript; charset=utf-8", script.encode(), {})
        return self.origin + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def page_html(
    body: str, *, head: str = "", script_path: str | None = None, title: str = "Balise e2e"
) -> str:
    script = f'<script src="{script_path}"></script>' if script_path else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        "<style>body{font:17px/1.6 Georgia,serif;max-width:680px;margin:48px auto;"
        "padding:0 16px}</style>"
        f"{head}</head><body>{body}{script}</body></html>"
    )


def extension_copy(dest: Path, *, open_shadow: bool = False) -> Path:
    """The extension as the tests load it: see the module docstring."""
    shutil.copytree(
        EXTENSION,
        dest,
        ignore=shutil.ignore_patterns("node_modules", "dist", "test", "scripts", "*.md"),
    )
    manifest_path = dest / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["host_permissions"] = TEST_HOSTS
    manifest_path.write_text(json.dumps(manifest, indent=2))
    if open_shadow:
        bundle = dest / "src" / "content.bundle.js"
        source = bundle.read_text()
        assert source.count(SHADOW_LINE) == 1, f"{SHADOW_LINE!r} is not in the bundle once"
        bundle.write_text(source.replace(SHADOW_LINE, 'SHADOW_MODE = "open";'))
    return dest


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"
