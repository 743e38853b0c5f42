"""How the reader benchmark runs a server and loads it (bench_reader.py): a server started and
stopped, wrk run against it, and the CPU each process used per request.

The server under test has its own CPU; wrk, its click store process and PostgreSQL (with
`--postgres`) share the others. Each run records the CPU per request of every one of them and
how busy each CPU was, so a run says which of them bounded the rate.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from tests.bench import readerdata

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    # CPU microseconds per request of the server process and of its children (store process)
    cpu_us: float = 0.0
    children_cpu_us: float = 0.0
    wrk_cpu_us: float = 0.0  # the load generator's own CPU per request
    db_cpu_us: float = 0.0  # PostgreSQL's server processes (0 on SQLite: in the store's)
    idle: tuple[float, ...] = ()  # each CPU's idle share over the run

    @property
    def busy(self) -> str:
        return " ".join(f"{1 - share:.2f}" for share in self.idle)

    def measured_cpu(self, before: tuple[float, ...], after: tuple[float, ...]) -> None:
        self.cpu_us, self.children_cpu_us, self.db_cpu_us = (
            (end - start) / max(self.requests, 1) * 1e6
            for start, end in zip(before, after, strict=True)
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    """Wait until the server answers anything at all (redirects are not followed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            get(port, path)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def run_wrk(port: int, args: argparse.Namespace, workdir: Path, pid: int) -> Result:
    """A short warm-up run (caches, lazy imports), then the measured one."""
    wrk(port, args, workdir, duration=args.warmup)
    postgres = bool(getattr(args, "postgres", None))
    cpu = cpu_seconds(pid, postgres)
    result = wrk(port, args, workdir, duration=args.duration)
    result.measured_cpu(cpu, cpu_seconds(pid, postgres))
    return result


def wrk(port: int, args: argparse.Namespace, workdir: Path, *, duration: int) -> Result:
    script = workdir / "bench.lua"
    script.write_text(readerdata.WRK_SCRIPT)
    env = os.environ | {
        "BENCH_LINKS": str(args.links),
        "BENCH_ZIPF": str(args.zipf),
        "BENCH_STRIDE": str(readerdata.stride(args.links)),
        "BENCH_UA": BROWSER_UA,
    }
    command = [shutil.which("wrk") or "wrk", f"-t{args.wrk_threads}", f"-c{args.connections}"]
    command += [f"-d{duration}s", "--timeout", "5s", "-s", str(script), f"http://127.0.0.1:{port}"]
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus_before = psutil.cpu_times(percpu=True)
    out = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=True, timeout=duration + 120
    ).stdout
    cpus_after = psutil.cpu_times(percpu=True)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = json.loads(next(ln for ln in out.splitlines() if ln.startswith("WRKJSON"))[8:])
    wrk_cpu = sum(
        getattr(wrk_after, field) - getattr(wrk_before, field) for field in ("ru_utime", "ru_stime")
    )
    return Result(
        "",
        data["requests"] / (data["duration_us"] / 1e6),
        data["p50_ms"],
        data["p99_ms"],
        data["requests"],
        data["errors"] + data["non2xx"],
        wrk_cpu_us=wrk_cpu / max(data["requests"], 1) * 1e6,
        idle=tuple(_idle_share(a, b) for a, b in zip(cpus_before, cpus_after, strict=True)),
    )


def _idle_share(before: Any, after: Any) -> float:
    """The share of a CPU's time between two psutil.cpu_times() readings spent idle."""
    total = sum(after) - sum(before)
    return (after.idle - before.idle) / total if total > 0 else 0.0


def serve(cmd: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen[Any]:
    # Logs go to a file: an undrained pipe fills up and blocks a server that logs under load.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)  # noqa: S603
    proc.log = log  # type: ignore[attr-defined]
    wait_http(port, probe)
    return proc


def stop(proc: subprocess.Popen[Any]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log = proc.log  # type: ignore[attr-defined]
    log.seek(0)
    text = log.read().decode(errors="replace")
    log.close()
    return text


def all_cpus() -> list[int]:
    return list(os.sched_getaffinity(0))


def cpu_seconds(pid: int, postgres: bool = False) -> tuple[float, float, float]:
    """CPU seconds (user and system) used so far by a server process, by its children
    (`balise serve`'s click store process) and, when it runs on PostgreSQL, by this machine's
    PostgreSQL server processes (those that live through the run: the pool keeps its
    connections): CPU per request moves less with the machine's load than requests per
    second do."""
    proc = psutil.Process(pid)
    children = sum(sum(child.cpu_times()[:2]) for child in proc.children(recursive=True))
    database = 0.0
    for other in psutil.process_iter(["name"]) if postgres else ():
        if other.info["name"] in ("postgres", "postmaster"):
            with contextlib.suppress(psutil.Error):
                database += sum(other.cpu_times()[:2])
    return sum(proc.cpu_times()[:2]), children, database
