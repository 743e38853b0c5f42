"""Target URL rules: what a link may point at, and the normal form used to look articles up."""

from __future__ import annotations

import hashlib
import unicodedata
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from balise.errors import ValidationFailed
from balise.links.hosts import DEFAULT_PORTS, HostInvalid, OwnServer, ascii_host

MAX_URL_LENGTH = 4096
TRACKING_PARAMS = {"fbclid", "gclid", "dclid", "msclkid", "mc_eid", "igshid"}
# Characters left as they are when re-quoting a path, query or fragment (RFC 3986 + '%').
_SAFE = "/%:@!$&'()*+,;=-._~?"
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cs", "Cn"}


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed.field("url", message)


def _ascii_host(host: str) -> str:
    try:
        return ascii_host(host)
    except HostInvalid as exc:
        raise _invalid(str(exc)) from None


def clean_target(url: object, own: OwnServer | str | None = None) -> str:
    """Return `url` as a plain absolute http(s) URL in ASCII, or raise ValidationFailed.

    `own` (this server, or its base URL) refuses URLs a browser would follow back to it."""
    if not isinstance(url, str):
        raise _invalid("must be a string")
    url = url.strip(" ")
    if not url:
        raise _invalid("must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"must be at most {MAX_URL_LENGTH} characters")
    # Plain spaces are percent-encoded below; tabs, newlines, NBSP, zero-width and bidi
    # controls are how hostile URLs hide a scheme or a host, so they are refused.
    if any(c != " " and unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in url):
        raise _invalid("must not contain control, invisible or unusual space characters")
    if "\\" in url:
        raise _invalid("must not contain backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid(f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _invalid("must be an absolute http:// or https:// URL")
    if not parts.netloc or not parts.hostname:
        raise _invalid("must name a host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _invalid("must not contain a user name or password")
    bare = parts.netloc
    if port is not None or bare.endswith(":"):
        bare = bare.rpartition(":")[0]
    host = _ascii_host(bare)
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    cleaned = urlunsplit(
        (
            scheme,
            netloc,
            quote(parts.path, safe=_SAFE) or "/",
            quote(parts.query, safe=_SAFE),
            quote(parts.fragment, safe=_SAFE + "#"),
        )
    )
    if len(cleaned) > MAX_URL_LENGTH:
        raise _invalid(f"must be at most {MAX_URL_LENGTH} characters once encoded")
    if isinstance(own, str):
        own = OwnServer(own)
    if own is not None and own.serves(cleaned):
        raise _invalid("must not point at this Balise server (it would loop)")
    return cleaned


def normalise(url: str) -> str:
    """The form two URLs of one article share: case, default port, fragment, tracking removed.

    Hosts already in ASCII are only lower-cased, so the keys stored before UTS-46 still match;
    an internationalised host is mapped as clean_target stores it."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host.isascii():
        try:
            host = ascii_host(host)
        except HostInvalid:
            pass  # matches nothing stored, which is the right answer
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def url_key(url: str) -> str:
    """Fixed-size index key of the normal form (long URLs overflow b-tree index rows)."""
    return hashlib.sha256(normalise(url).encode("utf-8")).hexdigest()
