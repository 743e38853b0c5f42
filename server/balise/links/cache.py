"""An in-process cache of what the reader path needs per slug, with TTL and invalidation.

An entry is never served more than `ttl` seconds after the read that produced it began: a
backstop, since changes reach the cache sooner through `invalidate` (the change feed,
feed.py, within a poll; Redis, invalidation.py, at once). A known slug is read again in the
background once its entry has lived REFRESH_AT of its TTL (refresh ahead), so in steady state
readers do not wait on the database; an entry past its TTL is read again before answering.
With `revalidate`, the entries due are checked in batches first (one query for up to
REVALIDATE_BATCH of them, e.g. comparing versions): an unchanged one lives another TTL from
when that check began, and only the others are read again in full.
With `keep_fresh`, entries read at any time during their TTL, not only in its last quarter,
are checked the same way as their TTL ends (readers sweep every KEEP_FRESH_EVERY of the TTL
for the entries about to expire, and hand them to the refresher): a link
read every few TTLs keeps its entry (and rendered pages) instead of waiting on a read each
time; one left unread for a whole TTL lapses, so the checks never exceed the entries read.
With `admission`, a full cache lets a newly read entry push out the least recently used one
only if its key was asked more often lately (admission.py, TinyLFU); otherwise the entry
serves the readers waiting on its read and is not kept. A scan of links read once cannot
then empty the cache of the links readers come back to.
Unknown slugs are cached too (briefly), so a slug asked again is not read again; they are
bounded apart (`max_unknown`), so a flood of distinct unknown slugs never evicts a known one.

The one exception to the TTL is a database outage (`outage`, e.g. db.outage.DatabaseStatus):
while the database does not answer (it failed, or a read of the entry under way has taken more
than STALE_WAIT), an entry past its TTL is still served for up to `stale_for` seconds more;
while it is known to be away, unknown or expired keys raise `outage.error()` at once.

Thread-safe: loaders run outside the lock, concurrent misses on one slug share one load, and a
load overtaken by an invalidation is never kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from balise.links.admission import FrequencySketch

T = TypeVar("T")
log = logging.getLogger(__name__)
REFRESH_AT = 0.75  # share of the TTL after which a requested entry is read again, ahead
STALE_WAIT = 1.0  # seconds a reader holding a stale entry waits on a load before serving it
REVALIDATE_BATCH = 500  # entries checked by one call of `revalidate`
KEEP_FRESH_EVERY = 0.1  # share of the TTL between two sweeps of `keep_fresh`


class Outage(Protocol):
    """Tells the cache when the source of its values is away (db.outage.DatabaseStatus)."""

    @property
    def down(self) -> bool: ...

    def failed(self, exc: BaseException) -> bool: ...

    def error(self) -> Exception: ...


class _Slot(Generic[T]):
    __slots__ = ("value", "expires", "used")

    def __init__(self, value: T | None, expires: float) -> None:
        self.value = value
        self.expires = expires
        self.used = False  # read since it was loaded or last checked


class _Load(threading.Event):
    """A read under way; once set, `value` is what it read, when `handed` (the readers that
    waited on it take it, kept in the cache or not)."""

    value: Any = None
    handed = False


class LinkCache(Generic[T]):
    def __init__(
        self,
        loader: Callable[[str], T | None],
        *,
        revalidate: Callable[[dict[str, T]], set[str]] | None = None,
        ttl: float,
        negative_ttl: float | None = None,
        max_entries: int = 50_000,
        max_unknown: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_ahead: bool = True,
        outage: Outage | None = None,
        stale_for: float = 0.0,
        keep_fresh: bool = False,
        admission: bool = False,
    ) -> None:
        self._loader = loader
        self._revalidate = revalidate
        self._due_keys: list[str] = []  # keys waiting for the refresher, each with a load under way
        self._ttl = ttl
        self._negative_ttl = min(ttl, 1.0) if negative_ttl is None else negative_ttl
        self._max = max_entries
        self._max_unknown = max_entries if max_unknown is None else max_unknown
        self._unknown: OrderedDict[str, None] = OrderedDict()  # keys held as unknown, LRU first
        self._clock = clock
        self._outage = outage
        self._stale_for = stale_for if outage is not None else 0.0
        self._slots: OrderedDict[str, _Slot[T]] = OrderedDict()
        self._loading: dict[str, _Load] = {}
        self._stale: set[str] = set()
        self._lock = threading.Lock()
        self._generation = 0  # bumped by invalidate_all: loads begun before it are discarded
        self._refresher = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="balise-cache")
            if refresh_ahead
            else None
        )
        self.hits = self.misses = self.stale_hits = 0
        # (expires, key) of known entries in about the order they expire, for the sweep; a
        # record whose entry has since been dropped, reloaded or extended is skipped.
        self._expiring: deque[tuple[float, str]] = deque()
        self._keep_fresh = keep_fresh and refresh_ahead and revalidate is not None
        self._next_sweep = 0.0
        self._sketch = FrequencySketch(max_entries) if admission else None
        self.rejected = 0  # entries read but not kept (admission)

    def get(self, key: str) -> T | None:
        """The cached value for `key` (None: unknown), loading it when absent or past its TTL."""
        while True:
            with self._lock:
                now = self._clock()
                if self._keep_fresh and now >= self._next_sweep:
                    self._sweep(now)
                if self._sketch is not None:
                    self._sketch.add(key)
                slot = self._slots.get(key)
                waiting = self._loading.get(key)
                if slot is not None and slot.expires > now:
                    self.hits += 1
                    slot.used = True
                    self._slots.move_to_end(key)
                    if waiting is None and self._due(slot, now):
                        self._refresh_ahead(key)
                    return slot.value
                stale = self._fallback(slot, now)
                if self._outage is not None and self._outage.down:
                    if stale is None:
                        raise self._outage.error()
                    self.stale_hits += 1
                    return stale
                if waiting is None:
                    done = self._begin(key)
                    generation = self._generation
                    held = slot.value if slot is not None else None
                    self.misses += 1
                    break
            if not waiting.wait(STALE_WAIT if stale is not None else 5) and stale is not None:
                self.stale_hits += 1  # the database is too slow to wait for: an outage
                return stale
            if waiting.handed:  # the read this reader waited on, kept or not (single flight)
                with self._lock:
                    self.hits += 1
                return waiting.value  # type: ignore[no-any-return]
        try:
            return self._load(key, generation, done, held)
        except Exception as exc:
            if self._outage is None or not self._outage.failed(exc):
                raise
            if stale is None:
                raise self._outage.error() from exc
            self.stale_hits += 1
            return stale

    def _due(self, slot: _Slot[T], now: float) -> bool:
        """Whether a fresh entry should be read again in the background now."""
        if self._refresher is None or slot.value is None:
            return False
        if self._outage is not None and self._outage.down:
            return False
        return slot.expires - now <= self._ttl * (1 - REFRESH_AT)

    def _refresh_ahead(self, key: str) -> None:
        """Read `key` again in the background (under the lock; one load per key at a time)."""
        assert self._refresher is not None  # noqa: S101 - _due said so
        self._begin(key)
        self._due_keys.append(key)
        if len(self._due_keys) == 1:  # the refresher takes every key due when it gets to run
            self._refresher.submit(self._refresh_due)

    def _sweep(self, now: float) -> None:
        """Hand the refresher the entries about to expire that were read since they were
        loaded or last checked (`keep_fresh`; under the lock)."""
        self._next_sweep = now + self._ttl * KEEP_FRESH_EVERY
        if self._outage is not None and self._outage.down:
            return
        horizon = now + self._ttl * (1 - REFRESH_AT)
        while self._expiring and self._expiring[0][0] <= horizon:
            expires, key = self._expiring.popleft()
            slot = self._slots.get(key)
            if slot is None or slot.expires != expires or key in self._loading:
                continue  # dropped, reloaded or extended since; or being read now
            if slot.used and slot.value is not None and slot.expires > now:
                self._refresh_ahead(key)  # else unread for a whole TTL: it lapses

    def _track(self, key: str, slot: _Slot[T]) -> None:
        """Note when a known entry expires, for the sweep (under the lock)."""
        slot.used = False
        if self._keep_fresh and slot.value is not None:
            self._expiring.append((slot.expires, key))

    def _refresh_due(self) -> None:
        """Check the entries due (in batches), then read again those that changed."""
        with self._lock:
            keys, self._due_keys = self._due_keys, []
            generation = self._generation
            held = {k: slot.value for k in keys if (slot := self._slots.get(k)) is not None}
        for start in range(0, len(keys), REVALIDATE_BATCH):
            chunk = keys[start : start + REVALIDATE_BATCH]
            current = {k: v for k in chunk if (v := held.get(k)) is not None}
            unchanged = self._check(current, generation) if self._revalidate is not None else set()
            if unchanged is None:  # the source failed: readers keep what they have
                with self._lock:
                    for key in chunk:
                        self._finish(key, self._loading[key])
                continue
            for key in chunk:
                if key in unchanged:
                    continue
                if key in current:
                    self._refresh(key, generation)
                else:  # dropped meanwhile: not worth reading again
                    with self._lock:
                        self._finish(key, self._loading[key])

    def _check(self, current: dict[str, T], generation: int) -> set[str] | None:
        """Keys of `current` whose value is still the source's; their entries live another
        TTL from when the check began. None when the source failed."""
        assert self._revalidate is not None  # noqa: S101 - the caller checked
        started = self._clock()
        try:
            unchanged = self._revalidate(current) & current.keys() if current else set()
        except Exception as exc:  # noqa: BLE001 - readers keep the entries they have
            if self._outage is None or not self._outage.failed(exc):
                log.exception("could not check %d cached links", len(current))
            return None
        with self._lock:
            for key in unchanged:
                stale = self._finish(key, self._loading[key])
                slot = self._slots.get(key)
                if stale or generation != self._generation or slot is None:
                    continue
                if slot.value is current[key]:
                    slot.expires = max(slot.expires, started + self._ttl)
                    self._track(key, slot)
        return unchanged

    def _fallback(self, slot: _Slot[T] | None, now: float) -> T | None:
        """The expired value that may still be served if the source is away."""
        if slot is None or slot.value is None or slot.expires + self._stale_for <= now:
            return None
        return slot.value

    def _begin(self, key: str) -> _Load:
        event = self._loading[key] = _Load()
        return event

    def _refresh(self, key: str, generation: int) -> None:
        try:
            self._load(key, generation, self._loading[key])
        except Exception as exc:  # noqa: BLE001 - readers keep the entry they have; next read retries
            if self._outage is None or not self._outage.failed(exc):
                log.exception("could not refresh the cached link %r", key)

    def _load(self, key: str, generation: int, done: _Load, held: T | None = None) -> T | None:
        """Read `key` (an expired value still held is checked first, when `revalidate` can)."""
        started = self._clock()  # what the loader reads is at least this recent
        try:
            if held is not None and self._revalidate is not None and self._revalidate({key: held}):
                value: T | None = held  # unchanged: lives another TTL from the check
            else:
                value = self._loader(key)
        except BaseException:
            with self._lock:
                self._finish(key, done)
            raise
        with self._lock:
            keep = generation == self._generation and key not in self._stale
            if keep:  # before the readers waiting on this read wake up
                done.value, done.handed = value, True
            self._finish(key, done)
            if keep:
                ttl = self._ttl if value is not None else self._negative_ttl
                slot = self._slots[key] = _Slot(value, started + ttl)
                self._slots.move_to_end(key)
                self._track(key, slot)
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
            victim = next(iter(self._slots))
            if self._refused(key, victim):
                del self._slots[key]
                self.rejected += 1
                return
            self._unknown.pop(self._slots.popitem(last=False)[0], None)

    def _refused(self, key: str, victim: str) -> bool:
        """Whether the new entry `key` may not push out `victim` (admission; under the lock)."""
        if self._sketch is None or victim == key or victim in self._unknown:
            return False
        if key in self._unknown:
            return False  # an unknown slug: bounded apart, never weighed against links
        return self._sketch.frequency(key) <= self._sketch.frequency(victim)

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

    def ready(self, key: str) -> T | None:
        """The value `get` would return at once, without a read or a wait: held, known and
        within its TTL; None otherwise. Takes no lock and counts nothing (a hint: by the
        time `get` runs, an invalidation may have dropped it)."""
        slot = self._slots.get(key)
        if slot is None or slot.expires <= self._clock():
            return None
        return slot.value

    def invalidate(self, key: str) -> None:
        """Forget `key` now (a link or its summary changed): the next read loads it."""
        with self._lock:
            self._slots.pop(key, None)
            self._unknown.pop(key, None)
            if key in self._loading:  # a load under way may have read the old row
                self._stale.add(key)

    def invalidate_all(self) -> None:
        """Read everything again before serving it (e.g. after losing the invalidation channel
        for a while); the entries stay as fallbacks should the source be away."""
        with self._lock:
            now = self._clock()
            for slot in self._slots.values():
                slot.expires = min(slot.expires, now)
            self._generation += 1

    def close(self) -> None:
        if self._refresher is not None:
            self._refresher.shutdown(wait=True, cancel_futures=True)

    def __len__(self) -> int:
        return len(self._slots)
