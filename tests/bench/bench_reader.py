"""Reader-path benchmark: Balise against a bare WSGI 302 and a minimal Flask route.

Starts, on 127.0.0.1, a real `balise serve` holding N links (some with summaries), then a bare
WSGI app answering a fixed 302 and a minimal Flask route, all under waitress with the same
thread count; loads each in turn with wrk (Debian package `wrk`), and prints requests/s, p50/p99
latency, Balise's ratio to each baseline, and the clicks in the database against the person
requests Balise served.

    .venv/bin/python tests/bench/bench_reader.py [--duration 15] [--connections 32]
        [--links 1000] [--postgres postgresql+psycopg://...]

Absolute figures drift between runs and machines; the ratios measured in one run do not.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text

from balise.db import make_engine, upgrade
from balise.db.tables import clicks, robot_hits, summaries
from balise.links import store as links

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
BASELINES = {
    "bare.py": """
        def app(environ, start_response):
            start_response("302 Found", [("Location", "https://example.org/"),
                                         ("Content-Length", "0")])
            return [b""]
    """,
    "flaskapp.py": """
        from flask import Flask, redirect
        app = Flask(__name__)

        @app.get("/<slug>")
        def go(slug):
            return redirect("https://example.org/" + slug)
    """,
}
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local ua = os.getenv("BENCH_UA")
local counter = 0
request = function()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  return wrk.format("GET", path, {["User-Agent"] = ua, ["Accept"] = "text/html"})
end
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, '
    .. '"p50_ms": %.3f, "p99_ms": %.3f}\\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, timeout: float = 30) -> None:
    """Wait until the server answers anything at all (redirects are not followed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise SystemExit(f"server on port {port} did not start")


def seed(database_url: str, n_links: int, summary_share: float) -> list[str]:
    """Create links (a share with summaries); returns their slugs."""
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime.now(timezone.utc)
    slugs = []
    with engine.begin() as conn:
        for i in range(n_links):
            link = links.create_link(
                conn,
                {"url": f"https://example.org/articles/{i}?ref=bench", "title": f"Article {i}"},
                base_url="http://bench.invalid",
            )
            slugs.append(link.slug)
            if random.random() < summary_share:  # noqa: S311 - a benchmark, not security
                conn.execute(
                    insert(summaries).values(
                        link_id=link.id,
                        lang="fr",
                        title=f"Article {i}",
                        teaser="Un résumé en une phrase pour les réseaux sociaux.",
                        recap="Ce qui s'est passé.\n\nEn deux paragraphes.",
                        neutral="Le contexte.",
                        example="Comme un bus qui arrive à l'heure.",
                        optimistic="Le bon côté.",
                        pessimistic="Le mauvais côté.",
                        source_url=link.url,
                        origin="author",
                        created_at=now,
                        updated_at=now,
                    )
                )
    engine.dispose()
    return slugs


def run_wrk(url: str, paths_file: Path, args: argparse.Namespace, workdir: Path) -> Result:
    """A short warm-up run (caches, JIT-free but lazy imports), then the measured one."""
    _wrk(url, paths_file, args, workdir, duration=max(2, args.duration // 5))
    return _wrk(url, paths_file, args, workdir, duration=args.duration)


def _wrk(
    url: str, paths_file: Path, args: argparse.Namespace, workdir: Path, *, duration: int
) -> Result:
    script = workdir / "bench.lua"
    script.write_text(WRK_SCRIPT)
    env = os.environ | {"BENCH_PATHS": str(paths_file), "BENCH_UA": BROWSER_UA}
    out = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk") or "wrk",
            f"-t{args.wrk_threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=args.duration + 60,
    ).stdout
    data = json.loads(next(ln for ln in out.splitlines() if ln.startswith("WRKJSON"))[8:])
    return Result(
        "",
        data["requests"] / (data["duration_us"] / 1e6),
        data["p50_ms"],
        data["p99_ms"],
        data["requests"],
        data["errors"] + data["non2xx"],
    )


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
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log = proc.log  # type: ignore[attr-defined]
    log.seek(0)
    text = log.read().decode(errors="replace")
    log.close()
    return text


def count_rows(database_url: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        n_clicks = conn.execute(select(func.count()).select_from(clicks)).scalar_one()
        n_robots = conn.execute(select(func.count()).select_from(robot_hits)).scalar_one()
    engine.dispose()
    return n_clicks, n_robots


def bench(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="balise-bench-"))
    database_url = args.postgres or f"sqlite:///{workdir / 'balise.db'}"
    if args.postgres:
        engine = make_engine(args.postgres)
        upgrade(engine)
        with engine.begin() as conn:
            for table in ("clicks", "robot_hits", "hourly_counts", "daily_visitors"):
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        engine.dispose()
    slugs = seed(database_url, args.links, args.summaries)
    paths = workdir / "paths.txt"
    paths.write_text("".join(f"/{s}\n" for s in slugs))
    for name, source in BASELINES.items():
        (workdir / name).write_text(textwrap.dedent(source))
    pythonpath = os.pathsep.join(filter(None, [str(workdir), os.environ.get("PYTHONPATH")]))
    base_env = os.environ | {"PYTHONPATH": pythonpath}
    waitress = [sys.executable, "-m", "waitress", f"--threads={args.threads}", "--host=127.0.0.1"]
    results = []
    for label, module in (("bare WSGI 302", "bare:app"), ("minimal Flask", "flaskapp:app")):
        port = free_port()
        proc = serve([*waitress, f"--port={port}", module], base_env, port, "/x")
        result = run_wrk(f"http://127.0.0.1:{port}", paths, args, workdir)
        stop(proc)
        result.name = label
        results.append(result)
    port = free_port()
    env = base_env | {
        "BALISE_DATA_DIR": str(workdir / "instance"),
        "BALISE_DATABASE_URL": database_url,
        "BALISE_PORT": str(port),
        "BALISE_THREADS": str(args.threads),
        "BALISE_BASE_URL": f"http://127.0.0.1:{port}",
        "BALISE_LOG_LEVEL": "INFO",  # the recorder logs its count of clicks served at exit
        "BALISE_FETCH_METADATA": "0",  # benchmark targets are not real pages
    }
    proc = serve([sys.executable, "-m", "balise", "serve"], env, port, "/healthz")
    balise = run_wrk(f"http://127.0.0.1:{port}", paths, args, workdir)
    balise.name = "Balise GET /<slug>"
    log = stop(proc)
    results.append(balise)
    n_clicks, n_robots = count_rows(database_url)
    report(results, args, n_clicks, n_robots, log)
    shutil.rmtree(workdir, ignore_errors=True)


def report(
    results: list[Result], args: argparse.Namespace, n_clicks: int, n_robots: int, log: str
) -> None:
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"\nReader path, {backend}, {args.links} links ({args.summaries:.0%} with summaries), "
        f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s, "
        f"waitress {args.threads} threads, {os.cpu_count()} cores\n"
    )
    print(f"{'server':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>11}{'errors':>8}")
    for r in results:
        print(
            f"{r.name:<22}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}"
            f"{r.requests:>11}{r.errors:>8}"
        )
    balise = results[-1]
    for r in results[:-1]:
        print(f"Balise / {r.name}: {balise.rps / r.rps:.2f}")
    served = [ln for ln in log.splitlines() if "clicks served" in ln]
    said = served[-1].split("clicks served", 1)[-1].strip(" :") if served else "(none logged)"
    print(f"\nclicks in the database: {n_clicks}; robot hits: {n_robots}")
    print(f"Balise's own count at shutdown, clicks served: {said}")
    print(
        f"(wrk completed {balise.requests} measured requests after a warm-up run; at each stop "
        "it abandons at most one request per connection, which Balise may still serve)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads for every server")
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--summaries", type=float, default=0.3, help="share of links with one")
    parser.add_argument("--postgres", help="run Balise on this PostgreSQL URL instead of SQLite")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    if not 1 <= args.duration <= 120 or not 1 <= args.connections <= 256:
        raise SystemExit("keep the load bounded: --duration 1-120 s, --connections 1-256")
    bench(args)


if __name__ == "__main__":
    main()
