"""The click buffer between reader requests and the recorder's writer thread (recorder.py).

Requests append to a deque without a lock (one step under the GIL). The writer is woken when
the buffer turns non-empty or holds a batch, not on every click, and when a flush or the stop
waits behind the clicks. Beyond `capacity`, appends wait for room (back-pressure, never a
drop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Generic, TypeVar

log = logging.getLogger("balise.analytics.recorder")
FULL_WARNING_EVERY = 5.0  # seconds a request waits on a full buffer between warnings
# A writer with more than BEHIND batches waiting when it takes one is falling behind: its batch
# may then hold up to GROWN batches. Per click, a batch costs mostly the rows of the links
# (and hours, values) it touches, written once however many of their clicks it holds, so a
# bigger batch catches up (README, Performance: a writer that falls behind).
BEHIND = 2
GROWN = 5
T = TypeVar("T")


class Stop:
    """Sentinel: the writer stores what precedes it, then ends."""


class ClickBuffer(Generic[T]):
    def __init__(self, capacity: int, batch_size: int, flush_interval: float) -> None:
        self._items: deque[T | Stop | threading.Event] = deque()
        self._capacity = max(1, capacity)
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._wake = threading.Event()
        self._room = threading.Condition(threading.Lock())
        self._lock = threading.Lock()
        self._full_waiters = 0
        self._first_at = 0.0  # when the oldest buffered item arrived (about)
        self._marks = 0  # flush waiters and stops in the buffer: store without waiting
        self.closed = False  # set by the recorder's close(): appends no longer wait for room

    def __len__(self) -> int:
        return len(self._items)

    def has_room(self) -> bool:
        """Whether an append now would not wait."""
        return len(self._items) < self._capacity or self.closed

    def put(self, item: T) -> None:
        items = self._items
        if len(items) >= self._capacity and not self.closed:
            self._wait_for_room()
        items.append(item)
        held = len(items)
        if held == 1:
            self._first_at = time.monotonic()
            self._wake.set()
        elif held == self._batch_size:
            self._wake.set()

    def mark(self, item: Stop | threading.Event) -> None:
        """Append a flush waiter or the stop: the writer stores what precedes it at once."""
        with self._lock:
            self._marks += 1
        self._items.append(item)
        self._wake.set()

    def _wait_for_room(self) -> None:
        waited = 0.0
        with self._room:
            self._full_waiters += 1
            try:
                while len(self._items) >= self._capacity and not self.closed:
                    if not self._room.wait(FULL_WARNING_EVERY):
                        waited += FULL_WARNING_EVERY
                        log.warning(
                            "click buffer full for %.0f s: requests wait for the writer", waited
                        )
            finally:
                self._full_waiters -= 1

    def release_waiting(self) -> None:
        """Let requests waiting for room append (after close: they store their clicks)."""
        with self._room:
            self._room.notify_all()

    def due(self) -> float:
        """Seconds until the buffer should be stored (0: now; the flush interval when empty)."""
        held = len(self._items)
        if not held:
            return self._flush_interval
        if held >= self._batch_size or self._marks:
            return 0.0
        return max(0.0, self._first_at + self._flush_interval - time.monotonic())

    def wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()  # before taking: a wake set from now on is kept

    def take(self) -> tuple[list[T], list[threading.Event], bool]:
        """The next batch: items up to batch_size (GROWN times as many when more than BEHIND
        batches wait), or up to a flush waiter or the stop; (batch, flush waiters, whether the
        stop came)."""
        batch: list[T] = []
        waiters: list[threading.Event] = []
        items = self._items
        stopping = False
        most = self._batch_size
        if len(items) - self._marks > BEHIND * most:
            most *= GROWN
        while len(batch) < most:
            try:
                item = items.popleft()
            except IndexError:
                break
            if isinstance(item, (Stop, threading.Event)):
                with self._lock:
                    self._marks -= 1
                if isinstance(item, Stop):
                    stopping = True
                else:
                    waiters.append(item)
                break
            batch.append(item)
        if items:
            self._first_at = time.monotonic()  # about: they came during the last store
        if self._full_waiters:
            self.release_waiting()
        return batch, waiters, stopping

    def drain(self) -> tuple[list[T], list[threading.Event]]:
        """Everything left (after the writer stopped), whichever thread gets there."""
        left: list[T] = []
        waiters: list[threading.Event] = []
        while True:
            try:
                item = self._items.popleft()
            except IndexError:
                break
            if isinstance(item, threading.Event):
                waiters.append(item)
            elif not isinstance(item, Stop):
                left.append(item)
        return left, waiters
