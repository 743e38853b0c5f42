"""Attempts counted before they are checked, and handed back when they succeed.

Flask-Limiter's `deduct_when` tests a limit before the view and counts the request after it,
so dozens of concurrent wrong passwords were all verified before the first one was counted.
Here an attempt takes its place in a moving window first (atomically: a Redis script, or a lock
in memory), and the password is verified only if it got one; an attempt that succeeds is
handed back, so only failures use the limit up. Limits share the app limiter's storage and
prefix, and fall back to this process's memory while that storage is unreachable.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from limits import parse
from limits.storage import MemoryStorage

from balise.web import limits

log = logging.getLogger(__name__)
# Far above any limit: the hand-back window only needs to count.
_UNBOUNDED = 1_000_000


def _storage_call(action: Callable[[Any], Any]) -> Any:
    """Run `action(storage)` on the limiter's storage, or on a memory fallback when it fails."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    storage = limits.limiter(app).limiter.storage
    try:
        return action(storage)
    except storage.base_exceptions as exc:
        fallback = app.extensions.get("balise.attempts_fallback")
        if fallback is None:  # warn once; Flask-Limiter logs the outage too
            log.warning("rate-limit storage unreachable (%s); counting attempts in memory", exc)
            fallback = app.extensions.setdefault("balise.attempts_fallback", MemoryStorage())
        return action(fallback)


class Attempts:
    """One limit (a setting such as "10 per 15 minutes") on attempts, per identity."""

    def __init__(self, scope: str, setting: str) -> None:
        self.scope = scope
        self.setting = setting

    def _keys(self, ident: str) -> tuple[str, str, int, int]:
        settings = current_app.config["BALISE"]
        item = parse(str(settings[self.setting]))
        base = f"{settings['RATELIMIT_KEY_PREFIX']}/attempts/{self.scope}/{ident}"
        return f"{base}/tries", f"{base}/back", item.amount, item.get_expiry()

    def take(self, ident: str) -> int | None:
        """Count one attempt by `ident`: None when it may go on, else seconds to wait."""
        tries, back, amount, expiry = self._keys(ident)

        def acquire(storage: Any) -> int | None:
            handed_back = storage.get_moving_window(back, _UNBOUNDED, expiry)[1]
            if storage.acquire_entry(tries, amount + handed_back, expiry):
                return None
            oldest, _count = storage.get_moving_window(tries, amount + handed_back, expiry)
            return max(1, math.ceil(oldest + expiry - time.time()))

        return _storage_call(acquire)  # type: ignore[no-any-return]

    def give_back(self, ident: str) -> None:
        """The attempt succeeded (or was never checked): it no longer counts."""
        _tries, back, _amount, expiry = self._keys(ident)
        _storage_call(lambda storage: storage.acquire_entry(back, _UNBOUNDED, expiry))
