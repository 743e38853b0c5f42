"""A careful fetcher for the target pages that drafts are made from.

Editors choose the URLs, so this is a server-side request forgery surface. The fetcher resolves
the host itself and refuses private, loopback, link-local, multicast, reserved and unspecified
addresses (IPv4 and IPv6, IPv4-mapped and 6to4 forms included), checks again after every
redirect (at most 5), and connects to the very address it checked, so a second DNS answer
cannot point it elsewhere (DNS rebinding). A watchdog enforces the total time limit whatever
the server does; it reads at most 2 MB off the wire and keeps at most 2 MB decoded (a gzip body
ends with its first member), accepts only HTML, and says who it is.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import urljoin, urlsplit

from balise.errors import BadGateway, Problem

MAX_BYTES = 2 * 1024 * 1024  # decoded
MAX_WIRE_BYTES = 2 * 1024 * 1024  # as sent (compressed or not)
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(Problem):
    """The page is not one Balise may fetch (its address, or its scheme)."""

    status, type, title = 422, "fetch-refused", "Page not fetched"


class FetchUnsupported(Problem):
    status, type, title = 422, "fetch-unsupported", "Page cannot be drafted from"


class FetchFailed(BadGateway):
    type, title = "fetch-failed", "Page could not be fetched"


@dataclass(frozen=True)
class FetchOptions:
    user_agent: str
    timeout: float = 10.0
    connect_timeout: float = 5.0
    allow_private: bool = False
    # Networks exempted from the address rule (for an intranet, or a test server).
    allowed_networks: tuple[str, ...] = ()
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    accept_language: str = "fr, en;q=0.8"


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool


def refusal(ip: IPAddress) -> str | None:
    """Why Balise will not connect to `ip` by default, or None for a public address."""
    embedded = getattr(ip, "ipv4_mapped", None) or getattr(ip, "sixtofour", None)
    teredo = getattr(ip, "teredo", None)
    if embedded is not None:
        return refusal(embedded)
    if teredo is not None:
        return refusal(teredo[1])
    for flag, reason in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    ):
        if getattr(ip, flag):
            return reason
    if not ip.is_global:
        return "not a public address"
    return None


def _check(ip: IPAddress, host: str, options: FetchOptions) -> None:
    if options.allow_private:
        return
    if any(ip in ipaddress.ip_network(n, strict=False) for n in options.allowed_networks):
        return
    reason = refusal(ip)
    if reason:
        raise FetchRefused(
            f"{host} resolves to {ip}, {reason}; Balise only fetches pages on public addresses "
            "(BALISE_FETCH_ALLOW_PRIVATE=1 lifts this for intranets)."
        )


def resolve(host: str, port: int, options: FetchOptions) -> list[IPAddress]:
    """Every address of `host`, each checked; one refused address refuses the host."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"The host {host} could not be resolved ({exc}).") from None
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        _check(ip, host, options)
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise FetchFailed(f"The host {host} has no address.")
    return addresses


class Pinned:
    """One HTTP(S) exchange with a checked address, under a total deadline."""

    def __init__(self, url: str, ip: IPAddress, options: FetchOptions, deadline: float) -> None:
        parts = urlsplit(url)
        self.parts = parts
        self.host = parts.hostname or ""
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.ip = ip
        self.options = options
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.timed_out = False

    def _kill(self) -> None:
        self.timed_out = True
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _connect(self) -> socket.socket:
        remaining = self.deadline - time.monotonic()
        timeout = max(0.01, min(self.options.connect_timeout, remaining))
        sock = socket.create_connection((str(self.ip), self.port), timeout=timeout)
        if self.tls:
            context = self.options.ssl_context or ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(max(0.01, self.deadline - time.monotonic()))
        return sock

    def exchange(self) -> tuple[http.client.HTTPResponse, bytes, bool]:
        watchdog = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._kill)
        watchdog.daemon = True
        watchdog.start()
        conn = http.client.HTTPConnection(self.host, self.port)
        try:
            self.sock = conn.sock = self._connect()
            conn.request("GET", self._target(), headers=self._headers())
            response = conn.getresponse()
            if response.status in REDIRECTS:
                return response, b"", False
            body, truncated = _read_body(response)
            if self.timed_out:  # the watchdog cut the body short
                raise TimeoutError("total time limit reached")
            return response, body, truncated
        finally:
            watchdog.cancel()
            conn.close()
            if self.sock is not None:
                self.sock.close()

    def _target(self) -> str:
        return (self.parts.path or "/") + (f"?{self.parts.query}" if self.parts.query else "")

    def host_header(self) -> str:
        """The Host header: the name asked for (not the pinned address), with a non-default port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.tls else 80) else f"{host}:{self.port}"

    def _headers(self) -> dict[str, str]:
        return {
            "Host": self.host_header(),
            "User-Agent": self.options.user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            "Accept-Language": self.options.accept_language,
            "Accept-Encoding": "gzip",
            "Connection": "close",
        }


def _read_body(response: http.client.HTTPResponse) -> tuple[bytes, bool]:
    """At most MAX_BYTES of the decoded body, from at most MAX_WIRE_BYTES read off the wire;
    True when the body was cut. A gzip body ends with its first member: what follows is not read.
    """
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise FetchUnsupported(f"The page uses a content encoding Balise cannot read ({encoding}).")
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding != "identity" else None
    body = bytearray()
    wire = 0
    while True:
        chunk = response.read1(min(65536, MAX_WIRE_BYTES + 1 - wire))
        if not chunk:
            return bytes(body), False
        wire += len(chunk)
        if inflate is not None:
            chunk = _inflate(inflate, chunk, MAX_BYTES + 1 - len(body))
        body += chunk
        if len(body) > MAX_BYTES:
            return bytes(body[:MAX_BYTES]), True
        if inflate is not None and inflate.eof:
            return bytes(body), False
        if wire > MAX_WIRE_BYTES:
            if not body:
                raise FetchFailed(
                    f"The page's first {MAX_WIRE_BYTES // 1024 // 1024} MB decode to nothing."
                )
            return bytes(body), True


def _inflate(inflate: Any, data: bytes, room: int) -> bytes:
    """Decode `data`, keeping at most `room` bytes (a bomb stops there, not in memory)."""
    try:
        return inflate.decompress(data, room)  # type: ignore[no-any-return]
    except zlib.error as exc:
        raise FetchFailed(f"The page's gzip body is corrupt ({exc}).") from None


def _content_type(response: http.client.HTTPResponse) -> tuple[str, str | None]:
    message = Message()
    message["Content-Type"] = response.getheader("Content-Type") or ""
    return message.get_content_type(), message.get_param("charset")  # type: ignore[return-value]


def _first_working(
    url: str, addresses: Iterable[IPAddress], options: FetchOptions, deadline: float
) -> tuple[http.client.HTTPResponse, bytes, bool]:
    last: Exception | None = None
    for ip in addresses:
        exchange = Pinned(url, ip, options, deadline)
        try:
            return exchange.exchange()
        except Problem:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise FetchFailed(
                f"The TLS certificate of {exchange.host} is not valid ({exc.verify_message})."
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            if exchange.timed_out or time.monotonic() >= deadline:
                raise FetchFailed(
                    f"The page did not answer within {options.timeout:g} seconds."
                ) from None
            last = exc
    raise FetchFailed(f"The page could not be fetched ({last.__class__.__name__}: {last}).")


def fetch_page(url: str, options: FetchOptions) -> Page:
    """GET an HTML page under the rules above; FetchRefused/Unsupported/Failed say why not."""
    deadline = time.monotonic() + options.timeout
    for _hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchRefused(f"Balise only fetches http:// and https:// pages, not {url[:200]}.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve(parts.hostname, port, options)
        response, body, truncated = _first_working(url, addresses, options, deadline)
        if response.status in REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise FetchFailed(f"The page answered {response.status} without a Location.")
            url = urljoin(url, location.strip())
            continue
        if response.status >= 400:
            raise FetchFailed(f"The page answered HTTP {response.status} {response.reason}.")
        content_type, charset = _content_type(response)
        if content_type not in HTML_TYPES:
            raise FetchUnsupported(
                f"The page is {content_type or 'of no declared type'}, not HTML; "
                "drafts are made from HTML pages only."
            )
        return Page(url, response.status, content_type, charset, body, truncated)
    raise FetchFailed(f"The page redirected more than {MAX_REDIRECTS} times.")
