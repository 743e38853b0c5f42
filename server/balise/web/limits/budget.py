"""A rate-limit budget spent by several units at once: a bulk request spends one per item.

The budget is the one Flask-Limiter keeps for a shared limit (`limit_endpoints` with the same
scope), so the views it guards and a bulk view draw on one count: 60 links a minute means 60,
whether asked one by one or in a bulk. A bulk gets as many units as the window has left (all
or some of what it asked for); while the storage (Redis) is unreachable, the limiter's
in-memory fallback counts, as it does for the limits Flask-Limiter applies itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from limits import parse

from balise.web.limits import limiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Grant:
    units: int  # how many of the units asked for may proceed
    retry_after: int  # seconds until the window has room again (when units < asked)


def spend(app: Flask, scope: str, rate: str, key: str, wanted: int) -> Grant:
    """Take up to `wanted` units of the shared limit `scope` for `key`, as many as are left."""
    extension = limiter(app)
    item = parse(rate)
    prefix = app.config["BALISE"]["RATELIMIT_KEY_PREFIX"]
    identifiers = [prefix, key, scope] if prefix else [key, scope]
    try:
        return _take(lambda: extension.limiter, item, identifiers, wanted)
    except Exception as exc:  # noqa: BLE001 - the storage went away: count in memory
        if not getattr(extension, "_in_memory_fallback_enabled", False):
            raise
        log.warning("rate-limit storage unreachable (%s): counting in memory", exc)
        extension._storage_dead = True  # what Flask-Limiter itself does on such a failure
        return _take(lambda: extension.limiter, item, identifiers, wanted)


def _take(strategy: Callable[[], object], item: object, ids: list[str], wanted: int) -> Grant:
    rate_limiter = strategy()
    stats = rate_limiter.get_window_stats(item, *ids)  # type: ignore[attr-defined]
    units = min(wanted, max(0, stats.remaining))
    # Others may spend meanwhile: a refused hit means less is left; ask again for less.
    while units > 0 and not rate_limiter.hit(item, *ids, cost=units):  # type: ignore[attr-defined]
        stats = rate_limiter.get_window_stats(item, *ids)  # type: ignore[attr-defined]
        units = min(units - 1, max(0, stats.remaining))
    if units < wanted:
        stats = rate_limiter.get_window_stats(item, *ids)  # type: ignore[attr-defined]
    return Grant(units, max(1, int(stats.reset_time - time.time())))
