"""A real webhook receiver on 127.0.0.1: verifies every delivery with the `standardwebhooks`
package (as a customer's receiver would), answers scripted statuses, records what it got."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


class Receiver:
    """`answers` are the statuses given to the first requests (then 200); `secret` is set once
    the endpoint exists. `events` holds the verified bodies answered 2xx, in arrival order."""

    def __init__(self, port: int | None = None, answers: list[int] | None = None) -> None:
        # Until start(), a bound socket that does not listen holds the port: connections are
        # refused, and no client socket can be given it as its own port (a TCP self-connect).
        self._placeholder: socket.socket | None = None
        if port is None:
            self._placeholder = socket.socket()
            self._placeholder.bind(("127.0.0.1", 0))
            port = int(self._placeholder.getsockname()[1])
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.secret: str | None = None
        self.answers = list(answers or [])
        self.redirect_to = "http://127.0.0.1:9/elsewhere"  # the Location of 301/302 answers
        self.delay = 0.0  # seconds to wait before answering (after recording the request)
        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def verify(self, body: bytes, headers: dict[str, str], secret: str | None = None) -> Any:
        """The payload, if the headers sign this body with `secret` (default: the current one);
        raises standardwebhooks.WebhookVerificationError otherwise."""
        return Webhook(secret or self.secret or "").verify(body, headers)

    def _handle(self, handler: BaseHTTPRequestHandler) -> int:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            payload, verified = self.verify(body, headers), True
        except Exception:  # noqa: BLE001 - any failure to verify is recorded and refused
            payload, verified = json.loads(body or b"null"), False
        with self._lock:
            status = self.answers.pop(0) if self.answers else 200
            if not verified:
                status = 401
            self.requests.append(
                {
                    "path": handler.path,
                    "headers": headers,
                    "body": body,
                    "payload": payload,
                    "verified": verified,
                    "status": status,
                }
            )
            if 200 <= status < 300:
                self.events.append(payload)
        time.sleep(self.delay)
        return status

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                status = outer._handle(self)
                extra = {"Location": outer.redirect_to} if status in (301, 302) else {}
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e["type"] == event_type]

    def wait_for(self, check: Callable[[Receiver], Any], seconds: float = 20.0) -> Any:
        """Poll `check(self)` until it is truthy or `seconds` pass; returns its last value."""
        deadline = time.monotonic() + seconds
        while True:
            result = check(self)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.02)
