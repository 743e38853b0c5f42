"""The click store process: `balise serve` stores clicks from a child process of its own.

Storing a batch (anonymising each click, the inserts, the hourly counters and rollups) is
Python work that held the serving process's GIL for about 40 % of its time under load. The
recorder's writer thread (recorder.py) now only hands each batch over a pipe (one pickle, one
write); the child stores it with the very code the thread used (Recorder._commit: retries,
isolation of a bad row, beacon confirmations waiting for their click, daily purge) and
answers with what it stored, which the parent counts (max_clicks, metrics) before releasing
whoever waits on a flush.

Nothing is lost: the parent keeps every batch until the child says it is stored. The child
ignores SIGTERM and SIGINT (systemd signals the whole group) and ends once the parent closes
the pipe at shutdown, after storing what it was sent. Should the child die or hang, the
parent stores the batches not acknowledged itself, checking first whether the child had
committed them (a batch is one transaction), and keeps storing in-process from then on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle  # noqa: S403 - a pipe between a process and the child it started
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

from balise.analytics.recorder import Item, Recorder

log = logging.getLogger(__name__)
EXIT_GRACE = 10.0  # seconds the child gets, beyond the recorder's close timeout, to finish


def _send(pipe: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(len(data).to_bytes(4, "big") + data)
    pipe.flush()


def _receive(pipe: IO[bytes] | int) -> Any:
    """The next message (from a file, or a raw descriptor); None at the end of the pipe."""
    head = _read(pipe, 4)
    if len(head) < 4:
        return None
    size = int.from_bytes(head, "big")
    data = _read(pipe, size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # noqa: S301 - written by our own parent or child


def _read(pipe: IO[bytes] | int, size: int) -> bytes:
    if not isinstance(pipe, int):
        return pipe.read(size)
    parts, left = [], size
    while left:
        part = os.read(pipe, left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def start(
    recorder: Recorder,
    database_url: str,
    geoip_db: str | None,
    log_level: str,
    cpus: set[int] | None = None,
) -> None:
    """From now on, `recorder` hands its batches to a child process that stores them (on
    `cpus`, those the serving process had before it took one: cli/affinity.py)."""
    config = {
        "cpus": sorted(cpus) if cpus else None,
        "database_url": database_url,
        "own_host": recorder.own_host,
        "batch_size": recorder.batch_size,
        "flush_interval": recorder.flush_interval,
        "retention_days": recorder.retention_days,
        "geoip_db": geoip_db,
        "log_level": log_level,
    }
    recorder.store_through(StoreProcess(recorder, config))


class StoreProcess:
    """The parent's end: sends batches, counts what the child stored, takes over if it dies."""

    def __init__(self, recorder: Recorder, config: dict[str, Any]) -> None:
        self.recorder = recorder
        self.alive = True
        self._closing = False
        self._lock = threading.Lock()
        self._seq = 0
        self._pending: dict[int, tuple[list[Item], list[threading.Event]]] = {}
        self.process = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
            [sys.executable, "-m", "balise.analytics.storeproc", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._acks = threading.Thread(target=self._read_acks, name="balise-store-acks")
        self._acks.daemon = True
        self._acks.start()

    def send(self, items: list[Item], waiters: list[threading.Event]) -> None:
        """Hand a batch over; the waiters are released once it is stored."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._pending[seq] = (items, waiters)
        try:
            assert self.process.stdin is not None  # noqa: S101 - opened as a pipe
            _send(self.process.stdin, (seq, items))
        except (OSError, ValueError):
            self._take_over("the click store process does not read its pipe")

    def _read_acks(self) -> None:
        assert self.process.stdout is not None  # noqa: S101 - opened as a pipe
        while True:
            try:
                message = _receive(self.process.stdout)
            except (OSError, pickle.UnpicklingError):
                message = None
            if message is None:
                break
            seq, by_link, stored, failures = message
            with self._lock:
                _items, waiters = self._pending.pop(seq, ((), []))
            self.recorder.count_stored(Counter(by_link), stored, failures)
            for event in waiters:
                event.set()
        if not self._closing:
            self._take_over(f"the click store process ended ({self.process.poll()})")

    def _take_over(self, why: str) -> None:
        """Store in this process what the child did not acknowledge, and from now on."""
        if self.alive and not self._closing:
            log.error("%s; storing clicks in the serving process from now on", why)
        self.alive = False
        with self._lock:
            pending, self._pending = self._pending, {}
        for _seq, (items, waiters) in sorted(pending.items()):
            self.recorder.store_unacknowledged(items)
            for event in waiters:
                event.set()

    def kill(self) -> None:
        self.process.kill()

    def close(self, timeout: float) -> None:
        """Close the pipe, let the child store what it holds, then take over what is left."""
        self._closing = True
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout + EXIT_GRACE)
        except subprocess.TimeoutExpired:
            log.error("the click store process did not end; stopping it")
            self.process.kill()
            self.process.wait()
        self._acks.join(5)
        self._take_over("")


# -- the child ---------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    from balise.analytics.geoip import CountryLookup
    from balise.analytics.recorder import CLOSE_TIMEOUT
    from balise.db import make_engine

    config = json.loads(argv[0])
    if config.get("cpus"):  # `balise serve` took one CPU (cli/affinity.py); this one, them all
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, config["cpus"])
    logging.basicConfig(
        stream=sys.stderr,
        level=config["log_level"].upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The parent decides when storing ends: it closes the pipe once it has sent everything.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine = make_engine(config["database_url"])
    recorder = Recorder(
        engine,
        own_host=config["own_host"],
        batch_size=config["batch_size"],
        flush_interval=config["flush_interval"],
        retention_days=config["retention_days"],
        countries=CountryLookup(config["geoip_db"]),
    )
    stdin, stdout = sys.stdin.fileno(), sys.stdout.buffer  # unbuffered in: select() sees all
    while True:
        ready, _, _ = select.select([stdin], [], [], recorder.flush_interval)
        if not ready:
            recorder.idle_turn()
            continue
        message = _receive(stdin)
        if message is None:
            break
        seq, items = message
        before = Counter(recorder.committed())
        stored, failures = recorder.stored_total, recorder.store_failures
        recorder.store_batch(items)
        by_link = Counter(recorder.committed())
        by_link.subtract(before)
        done = (
            seq,
            dict(+by_link),
            recorder.stored_total - stored,
            recorder.store_failures - failures,
        )
        _send(stdout, done)
    recorder.finish(time.monotonic() + CLOSE_TIMEOUT)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if len(sys.argv) > 1 else 2)
