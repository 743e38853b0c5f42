"""GET a peer's JSON API with the standard library (as summaries/llm.py does): timeouts,
bounded waits on 429 (Retry-After) and 5xx, and one clear PeerError for everything else."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

TIMEOUT = 30  # seconds per request
ATTEMPTS = 4  # tries of one request that answers 429 or 5xx, the first included
MAX_WAIT = 60  # seconds: a longer Retry-After ends the import (it can be re-run later)
USER_AGENT = "Balise-import/1 (+https://github.com/balise)"


class PeerError(Exception):
    """The peer cannot be read: one line that says why; the import stops there."""


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PeerError(f"--url must be the peer's http(s) address, not {url!r}")
    return url.rstrip("/")


class PeerClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        max_wait: float = MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.base_url = check_base_url(base_url)
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
        self.timeout = timeout
        self.attempts = attempts
        self.max_wait = max_wait
        self.sleep = sleep

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        url = self.base_url + path + ("?" + urlencode(params) if params else "")
        for attempt in range(1, self.attempts + 1):
            try:
                request = urllib.request.Request(url, headers=self.headers)  # noqa: S310 - http(s) checked
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                    body = answer.read()
                break
            except urllib.error.HTTPError as exc:
                wait = self._wait(exc, attempt)
                if wait is None:
                    raise self._refused(exc, path) from None
                self.sleep(wait)
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise PeerError(f"{self.name}: cannot reach {self.base_url} ({reason})") from None
        try:
            return json.loads(body)
        except ValueError:
            raise PeerError(
                f"{self.name}: {path} answered something that is not JSON ({body[:60]!r})"
            ) from None

    def _wait(self, exc: urllib.error.HTTPError, attempt: int) -> float | None:
        """Seconds to wait before trying again, or None when this answer is final."""
        if attempt >= self.attempts:
            return None
        if exc.code == 429:
            wait = retry_after(exc.headers.get("Retry-After"))
            return wait if wait is not None and wait <= self.max_wait else None
        if exc.code >= 500:
            return min(0.5 * 2.0 ** (attempt - 1), self.max_wait)
        return None

    def _refused(self, exc: urllib.error.HTTPError, path: str) -> PeerError:
        detail = _detail(exc)
        said = f": {detail}" if detail else ""
        if exc.code in (401, 403):
            return PeerError(f"{self.name}: the API key was refused ({exc.code}{said})")
        if exc.code == 404:
            return PeerError(
                f"{self.name}: {self.base_url}{path} answered 404: is --url the address of "
                f"the {self.name} server{said}?"
            )
        if exc.code == 429:
            wait = exc.headers.get("Retry-After")
            later = f"; it asks to wait {wait} s" if wait else ""
            return PeerError(
                f"{self.name}: still rate limited after {self.attempts} tries (429{later}); "
                "run the same command again later: it continues where it stopped"
            )
        if exc.code >= 500:
            return PeerError(
                f"{self.name}: the server failed {self.attempts} times ({exc.code}{said}); "
                "run the same command again later: it continues where it stopped"
            )
        return PeerError(f"{self.name}: {path} answered {exc.code}{said}")


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _detail(exc: urllib.error.HTTPError) -> str:
    """What the peer said about the error, on one short line (problem+json, message...)."""
    try:
        body = json.loads(exc.read(4096) or b"null")
    except (ValueError, OSError):
        return ""
    if isinstance(body, dict):
        for key in ("detail", "message", "error", "title", "description"):
            if isinstance(body.get(key), str) and body[key].strip():
                return " ".join(body[key].split())[:200]
    return ""
