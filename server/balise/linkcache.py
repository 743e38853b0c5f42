"""An in-process cache of what the reader path needs per slug, with TTL and invalidation.

Entries expire after `ttl` seconds, so an instance sees another's changes within that time;
with Redis configured, invalidation.py also drops entries the moment any instance commits a
change. Unknown slugs are cached too (briefly), so a flood of bad slugs cannot hammer the
database. Thread-safe; the loader runs outside the lock, and concurrent misses on one slug
share one load.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Slot(Generic[T]):
    __slots__ = ("value", "expires")

    def __init__(self, value: T | None, expires: float) -> None:
        self.value = value
        self.expires = expires


class LinkCache(Generic[T]):
    def __init__(
        self,
        loader: Callable[[str], T | None],
        *,
        ttl: float,
        negative_ttl: float | None = None,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        self._negative_ttl = min(ttl, 1.0) if negative_ttl is None else negative_ttl
        self._max = max_entries
        self._clock = clock
        self._slots: OrderedDict[str, _Slot[T]] = OrderedDict()
        self._loading: dict[str, threading.Event] = {}
        self._stale: set[str] = set()
        self._lock = threading.Lock()
        self._generation = 0  # bumped by invalidate_all: loads begun before it are discarded
        self.hits = self.misses = 0

    def get(self, key: str) -> T | None:
        """The cached value for `key` (None: unknown), loading it when absent or expired."""
        while True:
            with self._lock:
                slot = self._slots.get(key)
                if slot is not None and slot.expires > self._clock():
                    self.hits += 1
                    self._slots.move_to_end(key)
                    return slot.value
                waiting = self._loading.get(key)
                if waiting is None:
                    done = self._loading[key] = threading.Event()
                    generation = self._generation
                    self.misses += 1
                    break
            waiting.wait(5)
        try:
            value = self._loader(key)
        except BaseException:
            with self._lock:
                del self._loading[key]
                self._stale.discard(key)
                done.set()
            raise
        with self._lock:
            del self._loading[key]
            done.set()
            stale = key in self._stale
            self._stale.discard(key)
            if generation == self._generation and not stale:
                ttl = self._ttl if value is not None else self._negative_ttl
                self._slots[key] = _Slot(value, self._clock() + ttl)
                self._slots.move_to_end(key)
                while len(self._slots) > self._max:
                    self._slots.popitem(last=False)
        return value

    def invalidate(self, key: str) -> None:
        """Forget `key` now (a link or its summary changed)."""
        with self._lock:
            self._slots.pop(key, None)
            if key in self._loading:  # a load under way may have read the old row
                self._stale.add(key)

    def invalidate_all(self) -> None:
        """Forget everything (e.g. after losing the invalidation channel for a while)."""
        with self._lock:
            self._slots.clear()
            self._generation += 1

    def __len__(self) -> int:
        return len(self._slots)
