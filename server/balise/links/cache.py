"""An in-process cache of what the reader path needs per slug, with TTL and invalidation.

Entries are re-read after `ttl` seconds, so an instance sees another's changes within about that
time; with Redis configured, invalidation.py also drops entries the moment any instance commits
a change. A known slug whose entry is due is still served from memory while one background
thread re-reads it (refresh ahead), so readers never wait on the database in steady state; an
entry overdue by more than another `ttl` is re-read before answering. Unknown slugs are cached
too (briefly), so a slug asked again is not read again; they are bounded apart
(`max_unknown`), so a flood of distinct unknown slugs never evicts a known one.

Thread-safe: loaders run outside the lock, concurrent misses on one slug share one load, and a
load overtaken by an invalidation is never kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


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
        max_unknown: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_ahead: bool = True,
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        self._negative_ttl = min(ttl, 1.0) if negative_ttl is None else negative_ttl
        self._max = max_entries
        self._max_unknown = max_entries if max_unknown is None else max_unknown
        self._unknown: OrderedDict[str, None] = OrderedDict()  # keys held as unknown, LRU first
        self._clock = clock
        self._slots: OrderedDict[str, _Slot[T]] = OrderedDict()
        self._loading: dict[str, threading.Event] = {}
        self._stale: set[str] = set()
        self._lock = threading.Lock()
        self._generation = 0  # bumped by invalidate_all: loads begun before it are discarded
        self._refresher = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="balise-cache")
            if refresh_ahead
            else None
        )
        self.hits = self.misses = 0

    def get(self, key: str) -> T | None:
        """The cached value for `key` (None: unknown), loading it when absent or overdue."""
        while True:
            with self._lock:
                now = self._clock()
                slot = self._slots.get(key)
                if slot is not None and slot.expires > now:
                    self.hits += 1
                    self._slots.move_to_end(key)
                    return slot.value
                waiting = self._loading.get(key)
                due = slot is not None and slot.value is not None and slot.expires + self._ttl > now
                if due and self._refresher is not None:
                    self.hits += 1
                    if waiting is None:  # one refresh at a time per key
                        self._begin(key)
                        self._refresher.submit(self._refresh, key, self._generation)
                    return slot.value  # type: ignore[union-attr]
                if waiting is None:
                    done = self._begin(key)
                    generation = self._generation
                    self.misses += 1
                    break
            waiting.wait(5)
        return self._load(key, generation, done)

    def _begin(self, key: str) -> threading.Event:
        event = self._loading[key] = threading.Event()
        return event

    def _refresh(self, key: str, generation: int) -> None:
        try:
            self._load(key, generation, self._loading[key])
        except Exception:  # noqa: BLE001 - readers keep the entry they have; next read retries
            log.exception("could not refresh the cached link %r", key)

    def _load(self, key: str, generation: int, done: threading.Event) -> T | None:
        try:
            value = self._loader(key)
        except BaseException:
            with self._lock:
                self._finish(key, done)
            raise
        with self._lock:
            stale = self._finish(key, done)
            if generation == self._generation and not stale:
                ttl = self._ttl if value is not None else self._negative_ttl
                self._slots[key] = _Slot(value, self._clock() + ttl)
                self._slots.move_to_end(key)
                self._bound(key, known=value is not None)
        return value

    def _bound(self, key: str, known: bool) -> None:
        """Drop the least recently used entries beyond the bounds (under the lock)."""
        if known:
            self._unknown.pop(key, None)
        else:
            self._unknown[key] = None
            self._unknown.move_to_end(key)
            while len(self._unknown) > self._max_unknown:
                self._slots.pop(self._unknown.popitem(last=False)[0], None)
        while len(self._slots) - len(self._unknown) > self._max:
            self._unknown.pop(self._slots.popitem(last=False)[0], None)

    def _finish(self, key: str, done: threading.Event) -> bool:
        """End a load (under the lock); True when an invalidation overtook it."""
        del self._loading[key]
        done.set()
        stale = key in self._stale
        self._stale.discard(key)
        return stale

    def peek(self, key: str) -> T | None:
        """The value held for `key`, due or not, without loading anything."""
        with self._lock:
            slot = self._slots.get(key)
            return slot.value if slot is not None else None

    def invalidate(self, key: str) -> None:
        """Forget `key` now (a link or its summary changed): the next read loads it."""
        with self._lock:
            self._slots.pop(key, None)
            self._unknown.pop(key, None)
            if key in self._loading:  # a load under way may have read the old row
                self._stale.add(key)

    def invalidate_all(self) -> None:
        """Forget everything (e.g. after losing the invalidation channel for a while)."""
        with self._lock:
            self._slots.clear()
            self._unknown.clear()
            self._generation += 1

    def close(self) -> None:
        if self._refresher is not None:
            self._refresher.shutdown(wait=True, cancel_futures=True)

    def __len__(self) -> int:
        return len(self._slots)
