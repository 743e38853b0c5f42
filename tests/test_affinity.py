"""BALISE_SERVE_CPU: `balise serve` runs its threads on one CPU, instances sharing a data dir
take different ones, and the click store process keeps every CPU (balise/cli/affinity.py)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.live_server import LiveServer

CPUS = sorted(os.sched_getaffinity(0))
pytestmark = pytest.mark.skipif(len(CPUS) < 2, reason="pinning needs two CPUs or more")

CLAIM = textwrap.dedent(
    """
    import os, sys
    from balise.cli import affinity
    before = affinity.pin(sys.argv[1], sys.argv[2])
    print(sorted(os.sched_getaffinity(0)), sorted(before or []), flush=True)
    sys.stdin.read()  # holds its claim until told to end
    """
)


def _claim(setting: str, data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", CLAIM, setting, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _affinity(pid: int) -> list[int]:
    return sorted(os.sched_getaffinity(pid))


def test_instances_sharing_a_data_dir_take_different_cpus_until_none_is_left(tmp_path):
    held = [_claim("auto", tmp_path) for _ in CPUS]
    try:
        taken = [line.split("] [")[0] + "]" for _, line in held]
        assert sorted(taken) == sorted(f"[{cpu}]" for cpu in CPUS)  # one each, last first
        assert held[0][1] == f"[{CPUS[-1]}] {CPUS}"  # and each knows what it had before
        proc, extra = _claim("auto", tmp_path)
        proc.communicate("")
        assert extra == f"{CPUS} []"  # every CPU held: not pinned
    finally:
        for proc, _ in held:
            proc.communicate("")
    proc, again = _claim("auto", tmp_path)  # claims end with their process
    proc.communicate("")
    assert again == f"[{CPUS[-1]}] {CPUS}"


def test_a_number_pins_to_that_cpu_and_off_leaves_the_process_alone(tmp_path):
    proc, line = _claim(str(CPUS[0]), tmp_path)
    proc.communicate("")
    assert line == f"[{CPUS[0]}] {CPUS}"
    proc, line = _claim("off", tmp_path)
    proc.communicate("")
    assert line == f"{CPUS} []"


def _threads(pid: int) -> list[int]:
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


def test_balise_serve_runs_every_thread_on_one_cpu_and_the_store_process_on_all(tmp_path):
    url = f"sqlite:///{tmp_path / 'balise.db'}"
    with LiveServer(tmp_path / "data", url, SERVE_CPU="auto", LOG_LEVEL="INFO") as server:
        pid = server.process.pid
        assert {tuple(_affinity(t)) for t in _threads(pid)} == {(CPUS[-1],)}
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=True
        ).stdout.split()
        assert len(children) == 1  # the click store process, which widens its CPUs first thing
        deadline = time.monotonic() + 10  # once its imports are done
        while _affinity(int(children[0])) != CPUS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _affinity(int(children[0])) == CPUS
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        conn.close()
    assert f"serving on CPU {CPUS[-1]}" in server.log.read_text()
