"""Host names as browsers read them, and whether a URL would lead back to this server.

A browser maps an internationalised name to ASCII with UTS-46 non-transitional processing
(`faß.de` is `xn--fa-hia.de`, not `fass.de`; the `idna` package does it), and reads a name
that ends in a number as an IPv4 address in any form the WHATWG URL standard allows
(`0x7f000001`, `2130706433`, `127.1`, `0177.0.0.1`, a trailing dot). Comparing hosts in any
other form lets a link point at this very server and loop forever.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"[a-z0-9-]+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_LOOPBACK_NAMES = ("localhost",)


class HostInvalid(ValueError):
    """The host is not one a browser would go to; the message says why."""


def ascii_host(host: str) -> str:
    """The host a browser would go to, in ASCII: IDNA, lower case, IPv4 and IPv6 canonical.

    A trailing dot on a domain name is kept (it names the same site, but servers may answer
    it differently); HostInvalid when a browser would refuse the host.
    """
    if host.startswith("[") and host.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            raise HostInvalid("the host is not a valid IPv6 address") from None
    name = host.lower() if host.isascii() else _idna(host)
    labels = name.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise HostInvalid("the host name contains characters a domain name cannot have")
    if _ends_in_number(labels):
        return str(_ipv4(labels))
    return name


def _idna(host: str) -> str:
    """UTS-46 non-transitional, as browsers map names; IDNA 2008 on top, except that symbols
    and emoji (which IDNA 2008 leaves out and browsers go to, like `i❤.ws`) are kept."""
    try:
        return str(idna.encode(host, uts46=True, transitional=False).decode("ascii"))
    except idna.InvalidCodepoint:
        pass
    except idna.IDNAError:
        raise HostInvalid("the host name is not a valid internationalised domain name") from None
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
    except idna.IDNAError:
        raise HostInvalid("the host name is not a valid internationalised domain name") from None
    labels = mapped.split(".")
    return ".".join(x if x.isascii() else "xn--" + x.encode("punycode").decode() for x in labels)


def _ends_in_number(labels: list[str]) -> bool:
    last = labels[-1]
    return last.isdigit() or bool(_HEX.fullmatch(last))


def _ipv4(labels: list[str]) -> ipaddress.IPv4Address:
    """The WHATWG IPv4 parser: 1 to 4 parts, each decimal, octal (0...) or hex (0x...)."""
    if len(labels) > 4:
        raise HostInvalid("the host looks like an IPv4 address but has too many parts")
    numbers = []
    for part in labels:
        try:
            if _HEX.fullmatch(part):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part[1:], 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            raise HostInvalid("the host looks like an IPv4 address but is not one") from None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise HostInvalid("the host looks like an IPv4 address but is out of range")
    value = last
    for i, n in enumerate(head):
        value += n * 256 ** (3 - i)
    return ipaddress.IPv4Address(value)


def _address(host: str) -> str:
    """A host as compared for loops: no brackets, no trailing dot, IPv4-mapped as IPv4."""
    host = host.strip("[]").rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _is_loopback(address: str) -> bool:
    """Hosts that reach the machine itself: localhost names, 127/8, ::1 and the unspecified."""
    if address in _LOOPBACK_NAMES or address.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _canonical(host: str) -> str:
    try:
        return _address(ascii_host(host))
    except HostInvalid:
        return _address(host.lower())


@dataclass(frozen=True)
class OwnServer:
    """Where this Balise server answers: its base URL, and the address and port it listens on
    (BALISE_HOST, BALISE_PORT; unknown when None)."""

    base_url: str
    listen_host: str | None = None
    listen_port: int | None = None

    def serves(self, url: str) -> bool:
        """True when a browser sent to `url` (an absolute http(s) URL) would reach this server."""
        host, port = _host_port(url)
        base_host, base_port = _host_port(self.base_url)
        if _same_host(host, base_host) and port in (base_port, *DEFAULT_PORTS.values()):
            return True
        if self.listen_port is None or port != self.listen_port:
            return False
        listen = _canonical(self.listen_host or "0.0.0.0")  # noqa: S104 - a name, not a bind
        return _same_host(host, listen)


def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc_host = parts.netloc.rpartition("@")[2]
    if port is not None or netloc_host.endswith(":"):
        netloc_host = netloc_host.rpartition(":")[0]
    return _canonical(netloc_host), port or DEFAULT_PORTS.get(parts.scheme.lower())


def _same_host(a: str, b: str) -> bool:
    return a == b or (_is_loopback(a) and _is_loopback(b))
