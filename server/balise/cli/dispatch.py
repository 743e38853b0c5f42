"""Waitress's worker threads, but for reader pages the slug cache holds ready.

Waitress reads every request on its loop thread and hands it to a worker thread: a lock
released to wake the worker, which then waits for the GIL the loop holds, runs the request,
and hands the answer back for the loop to send. For a page the cache holds (a dictionary
look-up, a token, a few joined byte strings: tens of microseconds), that hand-over cost the
serving process more than the page itself (README, Performance: the loop thread). Such
requests are answered on the loop thread instead, once the turn of the loop that read them is
over (waitress calls `add_task` while it holds the connection's request lock), and their
answer is sent at once. Everything else (cache misses, which read the database; the API, the
dashboard, Flask's pages) goes to the worker threads as before, so nothing slow ever runs on
the loop.

Whether a request is ready is decided just before it is served, not when it was read: the
pages answered since, in the same turn, may have filled the click buffer (its click would then
wait for room on the loop, holding up every connection), and a change may have dropped the
page from the cache (its read would then run on the loop).

The request is served by the same `channel.service()` a worker would call, through the whole
WSGI app: what the reader sees is the same either way.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from waitress.task import ThreadedTaskDispatcher

# The most answer bytes a connection may have waiting to be sent for its next request to be
# served on the loop. Waitress reads no more from a connection with answers unsent, so a
# client that does not read stalls only itself; beyond this, its requests already read go to
# worker threads, so that the loop never reaches waitress's high watermark, where a write
# waits for the loop itself to send.
MAX_UNSENT = 65_536


class LoopDispatcher(ThreadedTaskDispatcher):
    """Serves on the loop thread the requests `ready(path)` says need no wait; the others
    on the worker threads."""

    def __init__(self, ready: Callable[[str], bool]) -> None:
        super().__init__()
        self._ready = ready
        self._waiting: deque[Any] = deque()  # connections whose next request is served here
        self._loop = threading.get_ident()  # the thread running the loop (bound in `run`)
        self.served_on_loop = 0

    def bind(self) -> None:
        """The calling thread runs the loop."""
        self._loop = threading.get_ident()

    def add_task(self, task: Any) -> None:
        if threading.get_ident() == self._loop and self._request(task) is not None:
            self._waiting.append(task)  # served here after this turn, if still ready then
        else:
            super().add_task(task)

    @staticmethod
    def _request(channel: Any) -> Any:
        """The channel's next request if it may be served on the loop, as far as the request
        alone says (a GET or HEAD that parsed); None otherwise."""
        try:
            request = channel.requests[0]
        except (AttributeError, IndexError):
            return None
        if request.error or request.command not in ("GET", "HEAD"):
            return None
        return request

    def run_waiting(self) -> None:
        """Serve the requests set aside during the last turn of the loop that are ready now,
        and send them; hand the others to the worker threads."""
        waiting = self._waiting
        while waiting:
            channel = waiting.popleft()
            request = self._request(channel)
            if (
                request is None
                or channel.total_outbufs_len > MAX_UNSENT
                or not self._ready(request.path)
            ):
                super().add_task(channel)
                continue
            channel.service()
            self.served_on_loop += 1
            if channel.connected and channel.total_outbufs_len:
                channel.handle_write()
