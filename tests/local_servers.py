"""Small real HTTP servers on 127.0.0.1 for drafting tests: article pages, redirects, slow
answers, and a stub of an OpenAI-compatible /v1/chat/completions endpoint."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]

ARTICLE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<title>Titre du document | Le Journal</title>
<meta property="og:title" content="La ville plantera 10 000 arbres d'ici 2030">
<meta property="og:description"
  content="La mairie lance le plus grand plan de plantation de son histoire.">
<meta property="og:image" content="/images/arbres.jpg">
</head><body>
<nav><a href="/">Accueil</a> <a href="/politique">Politique</a> <a href="/sport">Sport</a></nav>
<article>
<h1>La ville plantera 10 000 arbres d'ici 2030</h1>
<p class="byline">Par Jeanne Martin</p>
<p>La mairie a présenté mardi un plan de plantation de 10 000 arbres dans les rues et les cours
d'école d'ici 2030. Le budget prévu est de 12 millions d'euros sur six ans. Les premiers
chantiers commenceront à l'automne dans trois quartiers du nord de la ville.</p>
<p>Selon l'adjointe chargée de l'environnement, les essences ont été choisies pour résister aux
sécheresses. Les habitants pourront proposer des emplacements sur une carte en ligne. Une
consultation publique est prévue au printemps pour arbitrer entre les projets concurrents.</p>
<p>L'opposition juge le calendrier trop lent et réclame un plan plus ambitieux, estimant que les
quartiers du sud, plus exposés à la chaleur, devraient passer en priorité dans ce programme.</p>
</article>
<footer>© Le Journal. Tous droits réservés. Mentions légales. Contact. Publicité.</footer>
</body></html>
"""


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes | str = b"",
    content_type: str = "text/html; charset=utf-8",
    **headers: str,
) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(data)


class Server:
    """A threading HTTP server on 127.0.0.1 answering from a dict of routes."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                route = outer.routes.get(self.path.split("?")[0])
                if route is None:
                    send(self, 404, "not found", "text/plain")
                else:
                    route(self)

            do_GET = do_POST = _dispatch  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@contextmanager
def serving(routes: dict[str, Route]) -> Iterator[Server]:
    with Server(routes) as server:
        yield server


def page(html: str = ARTICLE, content_type: str = "text/html; charset=utf-8") -> Route:
    return lambda h: send(h, 200, html, content_type)


def redirect(to: str, status: int = 302) -> Route:
    return lambda h: send(h, status, "", "text/plain", Location=to)


def slow(seconds: float) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        try:
            send(h, 200, ARTICLE)
        except OSError:
            pass

    return route


def dripping(interval: float, count: int) -> Route:
    """Headers at once, then one byte every `interval` seconds: only a total deadline stops it."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(count))
        h.end_headers()
        try:
            for _ in range(count):
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(interval)
        except OSError:
            pass

    return route


def held(release: threading.Event, interval: float = 0.5) -> Route:
    """An HTML page sent 8 bytes every `interval` seconds until `release` is set (or 60 s):
    a draft of it stays stuck on its thread for as long as the test needs."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", "1000000")
        h.end_headers()
        h.close_connection = True
        deadline = time.monotonic() + 60
        try:
            while not release.wait(interval) and time.monotonic() < deadline:
                h.wfile.write(b"<p>drip ")
                h.wfile.flush()
        except OSError:
            pass

    return route


def endless(
    first: bytes, filler: bytes, sent: list[int], limit: int = 1 << 31, **headers: str
) -> Route:
    """HTML headers, `first`, then `filler` again and again (no length: the connection closes
    at the end) until the client hangs up or `limit` bytes are out; `sent` gets the bytes sent."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Connection", "close")
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        h.close_connection = True
        total = 0
        try:
            h.wfile.write(first)
            total += len(first)
            while total < limit:
                h.wfile.write(filler)
                total += len(filler)
        except OSError:
            pass
        sent.append(total)

    return route


def chat_completion(content: str) -> Route:
    """An OpenAI-compatible answer whose message is `content`."""

    def route(h: BaseHTTPRequestHandler) -> None:
        body = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": "stub",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
        send(h, 200, json.dumps(body), "application/json")

    return route
