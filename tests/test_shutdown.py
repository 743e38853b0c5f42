"""SIGTERM lets the requests in flight finish (issue 11, finding 18) and loses no click.

Each test runs a real `balise serve` and sends its requests over real sockets. A request
counts as in flight when its bytes were all sent (or, for the half-sent one, partly sent)
before SIGTERM was: the server must answer every one of them before it exits.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import threading
import time
from collections import Counter
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
    """CONNECTIONS keep-alive clients reading a link, each answer kept with whether its request
    was sent before SIGTERM.

    Sending a request and sending SIGTERM take one lock, so every request was sent in full
    either before the signal or after it. With `keep_going`, clients go on sending after the
    signal (as nginx would on its keep-alive connections) until the server closes them.
    """

    def __init__(self, port: int, path: str, keep_going: bool = False) -> None:
        self.port, self.path, self.keep_going = port, path, keep_going
        self.lock = threading.Lock()
        self.signalled = False
        self.answers: list[tuple[bool, int | str]] = []  # (sent before SIGTERM, status or error)
        self.threads = [
            threading.Thread(target=self._client, args=(i,)) for i in range(CONNECTIONS)
        ]

    def _client(self, index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"User-Agent": BROWSERS[index % len(BROWSERS)]}
        try:
            for _ in range(MAX_REQUESTS):
                before = not self.signalled
                try:
                    with self.lock:
                        before = not self.signalled
                        if not before and not self.keep_going:
                            return
                        conn.request("GET", self.path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    with self.lock:
                        self.answers.append((before, repr(exc)))
                    return
                with self.lock:
                    self.answers.append((before, response.status))
        finally:
            conn.close()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def answered(self) -> int:
        with self.lock:
            return len(self.answers)

    def stop_with(self, server: LiveServer) -> None:
        """Send SIGTERM, atomically with respect to the clients' sends."""
        with self.lock:
            self.signalled = True
            server.process.terminate()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)

    def outcomes(self, before: bool) -> Counter[int | str]:
        with self.lock:
            return Counter(outcome for b, outcome in self.answers if b == before)


def sigterm_under_load(db, link, tmp_path, keep_going: bool) -> tuple[Load, LiveServer, int]:
    server = LiveServer(tmp_path / "data", database_url(db), DRAIN_TIMEOUT=30)
    load = Load(server.port, f"/{link.slug}", keep_going)
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
    return load, server, code


def test_sigterm_under_load_answers_every_request_in_flight_and_stores_its_click(
    db, make_link, tmp_path
):
    load, server, code = sigterm_under_load(db, make_link(), tmp_path, keep_going=False)
    assert code == 0, server.output()
    answered = load.outcomes(before=True)
    assert list(answered) == [200], answered  # no reset, no error
    assert stored_clicks(db) == answered[200]


def test_keep_alive_clients_that_go_on_sending_after_sigterm_lose_no_request_in_flight(
    db, make_link, tmp_path
):
    """As nginx would on its keep-alive connections: the server closes each connection once
    its request in flight is answered (between two requests, never during one)."""
    load, server, code = sigterm_under_load(db, make_link(), tmp_path, keep_going=True)
    assert code == 0, server.output()
    answered = load.outcomes(before=True)
    assert list(answered) == [200], answered
    # Requests sent after the signal are answered, or find their connection closed (reset
    # when the close crossed the request) or new ones refused: clients retry those elsewhere.
    after = load.outcomes(before=False)
    closed = ("RemoteDisconnected(", "ConnectionResetError(", "ConnectionRefusedError(")
    assert all(o == 200 or str(o).startswith(closed) for o in after), after
    assert "still busy" not in server.output()
    assert stored_clicks(db) == answered[200] + after[200]


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


# -- the click store process (BALISE_CLICK_STORE=process, the default) -----------------------


def store_processes(server: LiveServer) -> list[int]:
    """The children of the server: its click store process."""
    pid = server.process.pid
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as fh:
            found += [int(child) for child in fh.read().split()]
    return found


def run_load(db, link, server: LiveServer, on_the_way) -> Load:
    """The load of the tests above; `on_the_way(load)` once it has had some answers."""
    load = Load(server.port, f"/{link.slug}")
    load.start()
    deadline = time.monotonic() + 30
    while load.answered() < 10 * CONNECTIONS and time.monotonic() < deadline:
        time.sleep(0.01)
    on_the_way(load)
    return load


def test_sigterm_to_the_server_and_its_store_process_at_once_loses_no_click(
    db, make_link, tmp_path
):
    """As systemd stops a service: SIGTERM to every process of its group at the same time."""
    link = make_link()
    server = LiveServer(tmp_path / "data", database_url(db), DRAIN_TIMEOUT=30)
    try:
        children = store_processes(server)
        assert len(children) == 1

        def terminate_all(load: Load) -> None:
            with load.lock:
                load.signalled = True
                for pid in [server.process.pid, *children]:
                    os.kill(pid, signal.SIGTERM)

        load = run_load(db, link, server, terminate_all)
        load.join()
        assert server.process.wait(60) == 0, server.output()
    finally:
        server.stop()
    answered = load.outcomes(before=True)
    assert list(answered) == [200], answered
    assert stored_clicks(db) == answered[200]


def test_a_store_process_that_dies_loses_no_click(db, make_link, tmp_path):
    link = make_link()
    server = LiveServer(tmp_path / "data", database_url(db), DRAIN_TIMEOUT=30)
    try:
        (child,) = store_processes(server)
        load = run_load(db, link, server, lambda _load: os.kill(child, signal.SIGKILL))
        deadline = time.monotonic() + 30
        while load.answered() < 20 * CONNECTIONS and time.monotonic() < deadline:
            time.sleep(0.01)
        load.stop_with(server)
        load.join()
        assert server.process.wait(60) == 0, server.output()
    finally:
        server.stop()
    answered = load.outcomes(before=True)
    assert list(answered) == [200], answered
    assert "storing clicks in the serving process from now on" in server.output()
    assert stored_clicks(db) == answered[200]


def test_with_click_store_thread_sigterm_under_load_loses_no_click(db, make_link, tmp_path):
    link = make_link()
    server = LiveServer(tmp_path / "data", database_url(db), DRAIN_TIMEOUT=30, CLICK_STORE="thread")
    try:
        assert store_processes(server) == []
        load = run_load(db, link, server, lambda load: load.stop_with(server))
        load.join()
        assert server.process.wait(60) == 0, server.output()
    finally:
        server.stop()
    answered = load.outcomes(before=True)
    assert list(answered) == [200], answered
    assert stored_clicks(db) == answered[200]
