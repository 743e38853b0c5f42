"""Run a waitress server until SIGTERM or Ctrl-C, then let the requests in flight finish.

Waitress alone, on a signal, closes every connection at once: requests being read, run or
written are reset. Here the first signal stops accepting (connections already waiting in the
listen backlog are taken first, since their clients have sent their requests), keeps the loop
running while any connection has a request partly read, queued, running, unread or partly
written, closes each connection as soon as it is idle, and closes the rest after
`drain_timeout` seconds at most. A second signal ends the wait at
once; signals after that are ignored, so the buffered clicks are always stored.
"""

from __future__ import annotations

import logging
import signal
import socket
import time
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer

from balise.cli.dispatch import LoopDispatcher

log = logging.getLogger("balise")

MAX_BACKLOG = 4096  # connections taken from the listen backlog when the signal arrives


def run(server: Any, drain_timeout: float) -> None:
    """Serve until a signal, drain, close (listeners, connections, worker threads).

    `server` is what waitress.create_server returns: one listener, or several sharing a map.
    """
    sockets = server.map if isinstance(server, MultiSocketServer) else server._map
    dispatcher = server.task_dispatcher
    if not isinstance(dispatcher, LoopDispatcher):
        dispatcher = None  # waitress's own: every request on its worker threads
    else:
        dispatcher.bind()
    signals: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        if signals:
            raise SystemExit(0)  # asked twice: no more waiting
        signals.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not signals:
            _poll(sockets, server.adj, server.adj.asyncore_loop_timeout, dispatcher)
        log.info(
            "received %s, shutting down; finishing requests in flight",
            signal.Signals(signals[0]).name,
        )
        for listener in [d for d in sockets.values() if isinstance(d, BaseWSGIServer)]:
            _stop_accepting(listener, sockets)
        busy = _drain(sockets, server.adj, time.monotonic() + drain_timeout, dispatcher)
        if busy:
            log.warning(
                "closing %d connections still busy after %.0f s (BALISE_DRAIN_TIMEOUT)",
                busy,
                drain_timeout,
            )
    finally:
        # What follows (closing, then storing the buffered clicks) must not be cut short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(sockets)


def _poll(
    sockets: dict[int, Any], adj: Any, timeout: float, dispatcher: LoopDispatcher | None
) -> None:
    """One turn of the loop, then the requests it set aside for the loop thread."""
    wasyncore.loop(timeout=timeout, map=sockets, use_poll=adj.asyncore_use_poll, count=1)
    if dispatcher is not None:
        dispatcher.run_waiting()


def _stop_accepting(listener: BaseWSGIServer, sockets: dict[int, Any]) -> None:
    """Take what the listen backlog holds, then close the listening socket."""
    for _ in range(MAX_BACKLOG):
        before = len(sockets)
        listener.handle_accept()
        if len(sockets) == before:
            break
    listener.accepting = False
    wasyncore.dispatcher.close(listener)  # the listener only; the trigger still wakes the loop


def _drain(
    sockets: dict[int, Any], adj: Any, deadline: float, dispatcher: LoopDispatcher | None
) -> int:
    """Run the loop, closing each connection once it is idle, until none is busy or the
    deadline passes; returns how many were still busy.

    Closing idle keep-alive connections is what makes clients stop sending new requests here
    (they retry elsewhere, as after any keep-alive close); requests they sent before the
    signal are already read, or waiting in the socket, so their connections count as busy.
    """
    while True:
        _poll(sockets, adj, 0.05, dispatcher)
        busy = 0
        for channel in [d for d in sockets.values() if isinstance(d, HTTPChannel)]:
            if _busy(channel):
                busy += 1
            elif channel.connected:
                channel.will_close = True  # the next turn of the loop closes it
        if not busy or time.monotonic() >= deadline:
            return busy


def _busy(channel: HTTPChannel) -> bool:
    """A request partly read, queued, running or not yet read, or an answer not fully sent."""
    if not channel.connected or channel.will_close:
        return False
    if channel.request is not None or channel.requests or channel.total_outbufs_len:
        return True
    try:
        return bool(channel.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False
    except OSError:
        return False  # reset by the client: nothing left to answer
