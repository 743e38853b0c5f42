"""One webhook POST: to an address checked by the fetcher's rules, within a total time limit,
redirects not followed.

Like summaries/fetch.py, it resolves the host itself, refuses private, loopback and
link-local addresses (unless BALISE_FETCH_ALLOW_PRIVATE), and connects to the very address it
checked. A watchdog closes the socket at the deadline, whatever the receiver does. Only the
status matters; at most 64 KB of the answer are read, and none of it is kept.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from balise.errors import Problem
from balise.summaries.fetch import FetchOptions, Pinned, resolve

MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    """What an attempt gave: an HTTP status, or an error that kept it from getting one."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allow_private: bool,
    user_agent: str,
    ssl_context: ssl.SSLContext | None = None,
) -> Outcome:
    """POST `body` as JSON to `url`; never raises for network or receiver trouble."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    host = parts.hostname or ""
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    options = FetchOptions(
        user_agent=user_agent,
        timeout=timeout,
        connect_timeout=min(5.0, timeout),
        allow_private=allow_private,
        ssl_context=ssl_context,
    )
    try:
        addresses = resolve(host, port, options)
    except Problem as exc:
        return Outcome(None, exc.detail)
    last = "no address answered"
    for ip in addresses:
        attempt = _Attempt(parts.geturl(), ip, options, deadline)
        try:
            return attempt.send(body, {"User-Agent": user_agent, **headers})
        except ssl.SSLCertVerificationError as exc:
            return Outcome(None, f"TLS certificate not valid ({exc.verify_message})")
        except (OSError, http.client.HTTPException) as exc:
            if attempt.timed_out or time.monotonic() >= deadline:
                return Outcome(None, f"no answer within {timeout:g} seconds")
            last = f"{exc.__class__.__name__}: {exc}"
    return Outcome(None, last)


class _Attempt(Pinned):
    """The fetcher's connection to a checked address under a deadline, used to POST."""

    def send(self, body: bytes, headers: Mapping[str, str]) -> Outcome:
        watchdog = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._kill)
        watchdog.daemon = True
        watchdog.start()
        conn = http.client.HTTPConnection(self.host, self.port)
        try:
            self.sock = conn.sock = self._connect()
            conn.request("POST", self._target(), body=body, headers=self._post_headers(headers))
            response = conn.getresponse()
            response.read(MAX_ANSWER_BYTES)
            if self.timed_out:
                raise TimeoutError("total time limit reached")
            if 300 <= response.status < 400:
                return Outcome(response.status, "redirects are not followed")
            if not 200 <= response.status < 300:
                return Outcome(response.status, f"HTTP {response.status} {response.reason}")
            return Outcome(response.status)
        finally:
            watchdog.cancel()
            conn.close()
            if self.sock is not None:
                self.sock.close()

    def _post_headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        return {
            "Host": self.host_header(),
            "Content-Type": "application/json",
            "Accept": "*/*",
            "Connection": "close",
            **extra,
        }
