"""One CPU for the serving process (BALISE_SERVE_CPU), the others for what runs beside it.

Waitress hands every request from its loop thread to a worker thread and back, and each of
them holds the GIL while it runs Python. Spread over several CPUs, every hand-over wakes a
thread on another CPU, which then waits for the GIL the first one still holds: on the 2-core
development machine the serving process spent 360-450 us of CPU per reader page that way,
against 176 us with its threads on one CPU, where a hand-over is a plain switch
(README, Performance). The click store process, the database and the proxy keep the other
CPUs: the store process gives itself back the whole set (analytics/storeproc.py).

`auto` claims a CPU that no other `balise serve` sharing the data dir holds (a lock file per
CPU, `DATA_DIR/serve-cpu-N.lock`, held while the process lives: the instances of
`balise@.service` share /var/lib/balise), from the last one down, and stays unpinned when
the process may use only one CPU or every CPU is claimed. A number pins to that CPU; `off`
leaves the scheduler alone.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
_claims: list[int] = []  # descriptors of the lock files held, open as long as the process


def pin(setting: str, data_dir: str | Path) -> set[int] | None:
    """Run this process's threads (those to come too) on one CPU; returns the CPUs it could
    use before, for the processes it starts, or None when nothing changed."""
    if setting == "off" or not hasattr(os, "sched_setaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    if setting == "auto":
        if len(allowed) < 2:
            return None
        cpu = _claim(allowed, Path(data_dir))
        if cpu is None:
            log.info("every CPU is held by another balise serve: not pinned")
            return None
    else:
        cpu = int(setting)
        if cpu not in allowed:
            log.warning("BALISE_SERVE_CPU=%d is not among this process's CPUs: not pinned", cpu)
            return None
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:
        log.warning("could not pin the serving process to CPU %d (%s): not pinned", cpu, exc)
        return None
    log.info("serving on CPU %d; the click store process may use all %d", cpu, len(allowed))
    return allowed


def _claim(allowed: set[int], data_dir: Path) -> int | None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for cpu in sorted(allowed, reverse=True):
        fd = os.open(data_dir / f"serve-cpu-{cpu}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by another instance
            os.close(fd)
            continue
        _claims.append(fd)
        return cpu
    return None
