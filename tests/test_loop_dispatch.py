"""Pages the slug cache holds ready are answered on waitress's loop thread (cli/dispatch.py),
everything else by its worker threads: the reader sees the same answers either way, in order,
and nothing a client does can hold the loop up.

The end-to-end tests run a real `balise serve` and speak HTTP over real sockets.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from types import SimpleNamespace

from sqlalchemy import func, select

from balise.analytics.buffer import ClickBuffer
from balise.cli.dispatch import LoopDispatcher
from balise.db.tables import clicks
from tests.agents import BROWSERS
from tests.live_server import LiveServer

TOKEN = "metrics-token-for-tests"
TOKEN_ATTRIBUTE = re.compile(rb'data-token="[^"]*"')


def on_loop(server: LiveServer) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    found = re.search(r"^balise_requests_on_loop_total (\S+)$", text, re.MULTILINE)
    assert found, text
    return int(float(found.group(1)))


def get(server: LiveServer, path: str, method: str = "GET") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, headers={"User-Agent": BROWSERS[0]})
        response = conn.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        return response
    finally:
        conn.close()


def serve(db, tmp_path, **settings: object) -> LiveServer:
    url = db.url.render_as_string(hide_password=False)
    return LiveServer(tmp_path / "data", url, METRICS_TOKEN=TOKEN, **settings)


def stored_clicks(db) -> int:
    with db.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(clicks)))


def test_a_cached_page_is_answered_on_the_loop_thread_with_the_page_a_worker_gives(
    db, make_link, tmp_path
):
    link = make_link(url="https://example.org/loop", title="Sur la boucle")
    server = serve(db, tmp_path)
    try:
        assert on_loop(server) == 0
        first = get(server, f"/{link.slug}")  # not cached yet: read by a worker thread
        assert on_loop(server) == 0
        second = get(server, f"/{link.slug}")  # held ready: answered on the loop
        head = get(server, f"/{link.slug}", "HEAD")
        assert on_loop(server) == 2
    finally:
        assert server.stop() == 0
    assert first.status == second.status == head.status == 200
    assert b"Sur la boucle" in second.body and b"https://example.org/loop" in second.body
    # The same page but its beacon token; the same headers but the date.
    assert TOKEN_ATTRIBUTE.sub(b"", first.body) == TOKEN_ATTRIBUTE.sub(b"", second.body)
    assert TOKEN_ATTRIBUTE.search(first.body).group() != TOKEN_ATTRIBUTE.search(second.body).group()
    assert [h for h in first.getheaders() if h[0] != "Date"] == [
        h for h in second.getheaders() if h[0] != "Date"
    ]
    assert head.body == b""
    assert stored_clicks(db) == 2  # a click per GET, on whichever thread


def test_pipelined_requests_are_answered_in_order_whatever_thread_answers_each(
    db, make_link, tmp_path
):
    cached = make_link(url="https://example.org/cached")
    other = make_link(url="https://example.org/other")
    server = serve(db, tmp_path)
    try:
        assert get(server, f"/{cached.slug}").status == 200  # now held ready
        paths = [f"/{cached.slug}", "/no-such-link", f"/{other.slug}", f"/{cached.slug}"]
        requests = b"".join(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {BROWSERS[1]}\r\n".encode()
            + (b"Connection: close\r\n" if i == len(paths) - 1 else b"")
            + b"\r\n"
            for i, path in enumerate(paths)
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(requests)  # one write: the server reads them in one turn of its loop
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        served = on_loop(server)
    finally:
        assert server.stop() == 0
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) [A-Z]", answer)  # a body need not end a line
    assert statuses == [b"200", b"404", b"200", b"200"]
    pages = answer.split(b"HTTP/1.1 ")[1:]
    assert b"https://example.org/cached" in pages[0] and b"https://example.org/cached" in pages[3]
    assert b"https://example.org/other" in pages[2]
    # The first on the loop; once a worker took the connection (the unknown slug), it answers
    # the requests already read after it.
    assert served == 1


def test_a_client_that_never_reads_its_answers_does_not_hold_up_other_readers(
    db, make_link, tmp_path
):
    link = make_link(url="https://example.org/patient")
    server = serve(db, tmp_path)
    try:
        assert get(server, f"/{link.slug}").status == 200
        request = f"GET /{link.slug} HTTP/1.1\r\nHost: x\r\nUser-Agent: {BROWSERS[2]}\r\n\r\n"
        stuck = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            # About 30 MB of answers asked for and never read: more than the server's output
            # buffers hold, so one worker thread ends up waiting on this client.
            stuck.sendall(request.encode() * 5000)
            time.sleep(1.0)
            started = time.monotonic()
            answers = [get(server, f"/{link.slug}").status for _ in range(20)]
            elapsed = time.monotonic() - started
        finally:
            stuck.close()
    finally:
        assert server.stop() == 0
    assert answers == [200] * 20
    assert elapsed < 5, f"20 pages took {elapsed:.1f} s beside a client that does not read"


def test_a_page_is_ready_for_the_loop_only_once_cached_and_served_by_the_lean_path(
    app, client, editor_headers
):
    reader = app.extensions["balise"].services["reader"]
    made = (
        ("plain-one", {}),
        ("locked-one", {"password": "sesame-42"}),
        ("counted-one", {"max_clicks": 100}),
    )
    for slug, extra in made:
        body = {"url": f"https://example.org/{slug}", "slug": slug, **extra}
        assert client.post("/api/v1/links", json=body, headers=editor_headers).status_code == 201
    assert not reader.ready("/plain-one")  # never read: a worker reads it
    assert client.get("/plain-one").status_code == 200
    assert reader.ready("/plain-one") and reader.ready("/PLAIN-ONE")
    client.get("/locked-one")
    assert not reader.ready("/locked-one")  # asks for its password first: Flask's page
    assert client.get("/counted-one").status_code == 200
    assert not reader.ready("/counted-one")  # its click may read the clicks stored so far
    client.get("/unknown-one")
    assert not reader.ready("/unknown-one")  # held as unknown: answered by Flask's 404
    assert not reader.ready("/api/v1/links") and not reader.ready("/")
    client.patch("/api/v1/links/plain-one", json={"title": "Changed"}, headers=editor_headers)
    assert not reader.ready("/plain-one")  # dropped by the change: read again by a worker


def test_a_full_click_buffer_sends_requests_to_the_worker_threads():
    buffer: ClickBuffer[int] = ClickBuffer(capacity=2, batch_size=10, flush_interval=1.0)
    buffer.put(1)
    assert buffer.has_room()
    buffer.put(2)
    assert not buffer.has_room()  # a click now would wait: not on the loop thread
    buffer.closed = True
    assert buffer.has_room()  # closing: appends no longer wait


class Channel:
    """What the dispatcher reads of a waitress channel: its next request, its unsent bytes;
    `service()` notes which thread answered."""

    def __init__(self, path: str, answered: dict[str, int], done: threading.Event) -> None:
        self.requests = [SimpleNamespace(error=None, command="GET", path=path)]
        self.total_outbufs_len = 0
        self.connected = True
        self.answered = answered
        self.done = done

    def service(self) -> None:
        self.answered[self.requests[0].path] = threading.get_ident()
        self.done.set()


def test_readiness_is_decided_just_before_serving_not_when_the_request_was_read():
    """Pages served earlier in the same turn may have filled the click buffer: a request
    read while there was room, and served after, must not wait for room on the loop."""
    room = {"left": 2}

    def ready(path: str) -> bool:
        return room["left"] > 0

    dispatcher = LoopDispatcher(ready)
    dispatcher.set_thread_count(1)
    try:
        dispatcher.bind()
        answered: dict[str, int] = {}
        done = threading.Event()
        first = Channel("/first", answered, threading.Event())
        second = Channel("/second", answered, done)
        dispatcher.add_task(first)  # both read in one turn, while the buffer had room
        dispatcher.add_task(second)
        first.service = lambda: (room.update(left=0), Channel.service(first))  # fills it
        dispatcher.run_waiting()
        assert done.wait(5)
    finally:
        dispatcher.shutdown(timeout=5)
    assert answered["/first"] == threading.get_ident()  # on the loop
    assert answered["/second"] != threading.get_ident()  # by a worker thread, once full
    assert dispatcher.served_on_loop == 1
