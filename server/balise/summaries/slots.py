"""How many drafts may run at once: a bounded share of the server's threads, one per owner.

A draft waits on someone else's server (the target page, then the language model) for up to
BALISE_FETCH_TIMEOUT and BALISE_LLM_TIMEOUT seconds, on one of the worker threads that also
serve readers. Eight slow pages used to take all eight threads and hold readers for 9 s. A
draft now takes a slot first, or is refused at once: 503 when every slot is taken, 429 when
its owner (an API key, a dashboard account) already has one. Slots are per instance.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from balise.errors import ServiceUnavailable, TooManyRequests

RETRY_AFTER = 5  # seconds; most drafts take a second or two


class DraftsBusy(ServiceUnavailable):
    type, title = "drafts-busy", "Drafting is busy"

    def __init__(self, total: int) -> None:
        super().__init__(
            f"This server already runs {total} draft(s), as many as it allows at once "
            "(BALISE_DRAFT_CONCURRENCY); try again in a few seconds."
        )
        self.headers = [("Retry-After", str(RETRY_AFTER))]


class DraftInProgress(TooManyRequests):
    type, title = "draft-in-progress", "A draft is already running"

    def __init__(self) -> None:
        super().__init__("A draft of yours is still running; send the next one when it is done.")
        self.headers = [("Retry-After", str(RETRY_AFTER))]


def concurrency(settings: Mapping[str, Any]) -> int:
    """BALISE_DRAFT_CONCURRENCY, or a quarter of the worker threads (at least 1) when 0."""
    configured = int(settings.get("DRAFT_CONCURRENCY") or 0)
    if configured > 0:
        return configured
    return max(1, int(settings.get("THREADS") or 8) // 4)


class DraftSlots:
    """At most `total` drafts at once, at most `per_owner` of them for one owner."""

    def __init__(self, total: int, per_owner: int = 1) -> None:
        self.total = total
        self.per_owner = per_owner
        self._lock = threading.Lock()
        self._owners: Counter[str] = Counter()

    @contextmanager
    def hold(self, owner: str) -> Iterator[None]:
        """A slot for the duration of the block; refused at once (never waits) when none is free."""
        with self._lock:
            if self._owners[owner] >= self.per_owner:
                raise DraftInProgress()
            if self._owners.total() >= self.total:
                raise DraftsBusy(self.total)
            self._owners[owner] += 1
        try:
            yield
        finally:
            with self._lock:
                self._owners[owner] -= 1
                if self._owners[owner] <= 0:
                    del self._owners[owner]
