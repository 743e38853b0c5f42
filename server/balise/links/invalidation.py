"""Tell every instance that links changed: local cache at once, others through Redis pub/sub.

Every instance also reads the change feed (feed.py) every BALISE_CACHE_POLL seconds, which
carries every committed change with or without Redis. With BALISE_REDIS_URL, a committed
change is also published on one channel and every subscriber drops those slugs at once; when
the subscription breaks, the subscriber has every entry checked again before it is served,
since it may have missed messages, and reconnects with back-off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Invalidatable(Protocol):
    def invalidate(self, key: str) -> None: ...
    def invalidate_all(self) -> None: ...


class Invalidator:
    def __init__(self, cache: Invalidatable, redis_url: str = "", channel: str = "balise:links"):
        self.cache = cache
        self.channel = channel
        self._redis: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribed = threading.Event()
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(
                redis_url, socket_timeout=5, socket_connect_timeout=5
            )

    def changed(self, slugs: Iterable[str]) -> None:
        """Drop `slugs` here and ask the other instances to do the same."""
        keys = sorted({s.lower() for s in slugs})
        for key in keys:
            self.cache.invalidate(key)
        if self._redis is not None and keys:
            try:
                self._redis.publish(self.channel, "\n".join(keys))
            except Exception as exc:  # noqa: BLE001 - the change feed still carries it
                log.warning("could not publish link changes to Redis: %s", exc)

    def start(self) -> None:
        if self._redis is None or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._listen, name="balise-invalidation", daemon=True
        )
        self._thread.start()

    def wait_subscribed(self, timeout: float = 5.0) -> bool:
        return self._subscribed.wait(timeout)

    def _listen(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self.cache.invalidate_all()  # anything cached before now may be stale
                self._subscribed.set()
                backoff = 0.5
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        for key in message["data"].decode().split("\n"):
                            self.cache.invalidate(key)
            except Exception as exc:  # noqa: BLE001 - reconnect whatever went wrong
                self._subscribed.clear()
                self.cache.invalidate_all()
                log.warning("invalidation channel lost (%s); retrying in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                pubsub.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._redis is not None:
            self._redis.close()
