"""SIGTERM lets the requests in flight finish (issue 11, finding 18) and loses no click.

Each test runs a real `balise serve` and sends its requests over real sockets. A request
counts as in flight when its bytes were all sent (or, for the half-sent one, partly sent)
before SIGTERM was: the server must answer every one of them before it exits.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import func, select

from balise.db.tables import clicks
from tests.agents import BROWSERS
from tests.live_server import LiveServer

CONNECTIONS = 16
MAX_REQUESTS = 400  # per connection: the load stops by itself even if SIGTERM never comes


def database_url(db):
    return db.url.render_as_string(hide_password=False)


def stored_clicks(db) -> int:
    with db.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(clicks)))


def wait_for_log(server: LiveServer, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.output():
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{server.output()}"
        time.sleep(0.02)


class Load:
    """CONNECTIONS keep-alive clients reading a link until told to stop.

    Sending a request and sending SIGTERM take one lock, so every request either was sent in
    full before the signal or not at all; answers and failures are kept per request.
    """

    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path
        self.lock = threading.Lock()
        self.stopped = False
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self.threads = [
            threading.Thread(target=self._client, args=(i,)) for i in range(CONNECTIONS)
        ]

    def _client(self, index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"User-Agent": BROWSERS[index % len(BROWSERS)]}
        try:
            for _ in range(MAX_REQUESTS):
                try:
                    with self.lock:
                        if self.stopped:
                            return
                        conn.request("GET", self.path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    with self.lock:
                        self.failures.append(repr(exc))
                    return
                with self.lock:
                    self.statuses.append(response.status)
        finally:
            conn.close()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def answered(self) -> int:
        with self.lock:
            return len(self.statuses)

    def stop_with(self, server: LiveServer) -> None:
        """Stop sending and send SIGTERM, atomically with respect to the clients' sends."""
        with self.lock:
            self.stopped = True
            server.process.terminate()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)


def test_sigterm_under_load_answers_every_request_in_flight_and_stores_its_click(
    db, make_link, tmp_path
):
    link = make_link()
    server = LiveServer(tmp_path / "data", database_url(db), DRAIN_TIMEOUT=30)
    load = Load(server.port, f"/{link.slug}")
    try:
        load.start()
        deadline = time.monotonic() + 30
        while load.answered() < 20 * CONNECTIONS and time.monotonic() < deadline:
            time.sleep(0.01)
        load.stop_with(server)
        load.join()
        server.process.wait(60)
    finally:
        code = server.stop()
    assert code == 0, server.output()
    assert load.failures == []
    assert load.statuses and set(load.statuses) == {200}
    assert stored_clicks(db) == len(load.statuses)


def test_a_request_half_sent_when_sigterm_arrives_is_answered(db, make_link, tmp_path):
    link = make_link()
    server = LiveServer(tmp_path / "data", database_url(db), DRAIN_TIMEOUT=30, LOG_LEVEL="INFO")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(f"GET /{link.slug} HTTP/1.1\r\nHost: s.test\r\n".encode())
            server.process.terminate()
            wait_for_log(server, "finishing requests in flight")
            sock.sendall(f"User-Agent: {BROWSERS[0]}\r\n\r\n".encode())
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
        server.process.wait(60)
        assert response.status == 200
        assert link.url.encode() in body
    finally:
        code = server.stop()
    assert code == 0, server.output()
    assert stored_clicks(db) == 1


class SlowArticle(BaseHTTPRequestHandler):
    """An article page that answers only once the test lets it."""

    arrived = threading.Event()
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        SlowArticle.arrived.set()
        SlowArticle.release.wait(30)
        body = b"<html><head><title>Lent</title></head><body><p>Un article lent.</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def test_a_request_running_when_sigterm_arrives_is_answered(
    db, make_link, editor_headers, tmp_path
):
    article = ThreadingHTTPServer(("127.0.0.1", 0), SlowArticle)
    SlowArticle.arrived.clear()
    SlowArticle.release.clear()
    threading.Thread(target=article.serve_forever, daemon=True).start()
    link = make_link(url=f"http://127.0.0.1:{article.server_port}/article")
    server = LiveServer(
        tmp_path / "data",
        database_url(db),
        DRAIN_TIMEOUT=30,
        LOG_LEVEL="INFO",
        FETCH_ALLOW_PRIVATE=1,
    )
    answer: list[tuple[int, bytes]] = []

    def draft() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", f"/api/v1/links/{link.slug}/summary/draft", headers=editor_headers)
        response = conn.getresponse()
        answer.append((response.status, response.read()))
        conn.close()

    client = threading.Thread(target=draft)
    try:
        client.start()
        assert SlowArticle.arrived.wait(30), server.output()  # the draft is running
        server.process.terminate()
        wait_for_log(server, "finishing requests in flight")
        SlowArticle.release.set()
        client.join(60)
        server.process.wait(60)
    finally:
        SlowArticle.release.set()
        code = server.stop()
        article.shutdown()
        article.server_close()
    assert code == 0, server.output()
    [(status, body)] = answer
    assert status == 200, body
    assert b"Lent" in body


def test_a_request_still_unfinished_after_the_drain_timeout_does_not_hold_the_exit(
    db, make_link, tmp_path
):
    link = make_link()
    server = LiveServer(tmp_path / "data", database_url(db), DRAIN_TIMEOUT=1, LOG_LEVEL="INFO")
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(f"GET /{link.slug} HTTP/1.1\r\nHost: s.test\r\n".encode())  # never ends
        code = server.stop()
        assert sock.recv(1024) == b""  # closed by the server, without an answer
    assert code == 0, server.output()
    assert "closing 1 connections still busy after 1 s" in server.output()
