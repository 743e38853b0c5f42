"""Webhooks benchmark: clicks events delivered per second, and the reader path with webhooks on.

1. Clicks batches: E endpoints receive `clicks`; the click writer's transaction stores B batches
   of 500 clicks (timed with 0, 1 and E endpoints: what queueing clicks costs the writer); then
   a delivery worker (WEBHOOK_CONCURRENCY sends at a time) sends them to a receiver in another
   process, and the time until the outbox is empty gives deliveries and clicks per second.
   Each endpoint gets at most one clicks event a second, so with B > 1 the rule, not the
   machine, sets a floor of about B - 1 seconds.
2. Reader path: a real `balise serve` loaded by wrk, without endpoints, then with one endpoint
   receiving every event (clicks included), same links, same duration, in alternating rounds.
3. Metrics: what the per-request counting costs (the timing wrapper and the reader counter),
   timed in process.

    .venv/bin/python -m tests.bench.bench_webhooks [--endpoints 100] [--batches 2]
        [--duration 10] [--connections 32] [--postgres postgresql+psycopg://...]

Prints figures; asserts nothing. Absolute numbers depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import timeit
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from tests.bench import readerdata
from tests.bench.loadrun import free_port, run_wrk, serve, stop, wait_http
from tests.databases import scratch_database

from balise.analytics.clicks import Hit, write_batch
from balise.db import make_engine, upgrade
from balise.db.tables import metadata, webhook_click_queue, webhook_deliveries
from balise.integrations import delivery, webhooks
from balise.links import store as links
from balise.web.metrics import Durations, Timed
from balise.web.reader.track import Tracker

RECEIVER = """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            self.do_POST()

    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
"""
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


def start_receiver(workdir: Path) -> tuple[subprocess.Popen[Any], str]:
    script = workdir / "receiver.py"
    script.write_text(textwrap.dedent(RECEIVER))
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port)])  # noqa: S603
    wait_http(port, "/")
    return proc, f"http://127.0.0.1:{port}/hook"


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def write_clicks(engine: Engine, link_id: int, batches: int, tag: str) -> float:
    """Store `batches` batches of 500 clicks as the writer does; median ms per batch."""
    timings = []
    for b in range(batches):
        now = datetime.now(timezone.utc)
        hits = [
            Hit("click", link_id, now, uid=f"{tag}{b:03d}{n:04d}", ip="203.0.113.9", user_agent=UA)
            for n in range(500)
        ]
        started = time.perf_counter()
        with engine.begin() as conn:
            write_batch(
                conn,
                hits,
                [],
                salt_for=lambda _day: b"s" * 16,
                country_for=lambda _ip: None,
                own_host="bench.invalid",
                now=now,
            )
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)[len(timings) // 2]


def bench_clicks(engine: Engine, receiver_url: str, args: argparse.Namespace) -> None:
    empty(engine)
    with engine.begin() as conn:
        link = links.create_link(conn, {"url": "https://example.org/a"}, base_url="http://b")
    writer_ms = {0: write_clicks(engine, link.id, 3, "z")}
    for n in range(args.endpoints):
        with engine.begin() as conn:
            webhooks.create_endpoint(
                conn, {"url": receiver_url, "events": ["clicks"]}, allow_private=True
            )
        if n == 0:
            writer_ms[1] = write_clicks(engine, link.id, 3, "o")
            with engine.begin() as conn:
                conn.execute(webhook_click_queue.delete())
    writer_ms[args.endpoints] = write_clicks(engine, link.id, args.batches, "m")
    options = delivery.Options(
        base_url="http://bench.invalid",
        user_agent="Balise-Webhooks/bench",
        poll_interval=0.05,
        concurrency=args.concurrency,
        allow_private=True,
    )
    worker = delivery.Worker(engine, options)
    started = time.perf_counter()
    worker.start()
    expected = args.endpoints * args.batches
    while time.perf_counter() - started < args.timeout:
        with engine.connect() as conn:
            queued = conn.execute(select(func.count()).select_from(webhook_click_queue)).scalar()
            done = conn.execute(
                select(func.count()).where(webhook_deliveries.c.status == "delivered")
            ).scalar_one()
        if not queued and done >= expected:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    worker.close()
    print(f"\n1. Clicks events: {args.endpoints} endpoints x {args.batches} batches of 500 clicks")
    for count, ms in writer_ms.items():
        print(
            f"   click writer, one 500-click batch, {count:>4} endpoint(s): {ms:8.1f} ms (median)"
        )
    print(
        f"   delivered {done} of {expected} clicks events in {elapsed:.2f} s: "
        f"{done / elapsed:.1f} deliveries/s, {done * 500 / elapsed:,.0f} clicks/s "
        f"(concurrency {args.concurrency}; rule floor about {max(0, args.batches - 1)} s)"
    )


def _set_endpoint(database_url: str, receiver_url: str, enabled: bool) -> None:
    """One endpoint receiving every event (clicks included), enabled or not."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        found = webhooks.list_endpoints(conn)
        if not found:
            events = list(webhooks.EVENT_TYPES)
            endpoint = webhooks.create_endpoint(
                conn, {"url": receiver_url, "events": events}, allow_private=True
            )
            found = [endpoint]
        webhooks.update_endpoint(conn, found[0], {"enabled": enabled}, allow_private=True)
    engine.dispose()


def bench_reader(database_url: str, receiver_url: str, args: argparse.Namespace) -> None:
    """wrk against `balise serve`, alternately without and with an endpoint, `--rounds` times
    (alternating spreads what the machine's other loads do over both)."""
    workdir = Path(tempfile.mkdtemp(prefix="balise-bench-hooks-"))
    engine = make_engine(database_url)
    readerdata.seed(engine, args.links, 0.3, 0.0)  # wrk requests them in turn
    engine.dispose()
    load = argparse.Namespace(**vars(args), zipf=0.0, warmup=max(1, args.duration // 3))
    results: dict[str, list[Any]] = {"no webhook endpoint": [], "every event to one endpoint": []}
    for _round in range(args.rounds):
        for label, runs in results.items():
            _set_endpoint(database_url, receiver_url, enabled=label.startswith("every"))
            port = free_port()
            env = os.environ | {
                "BALISE_DATA_DIR": str(workdir / "instance"),
                "BALISE_DATABASE_URL": database_url,
                "BALISE_PORT": str(port),
                "BALISE_THREADS": "8",
                "BALISE_FETCH_ALLOW_PRIVATE": "1",
                "BALISE_LOG_LEVEL": "WARNING",
            }
            proc = serve([sys.executable, "-m", "balise", "serve"], env, port, "/healthz")
            runs.append(run_wrk(port, load, workdir, proc.pid))
            stop(proc)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        queued = conn.execute(select(func.coalesce(func.sum(webhook_click_queue.c.size), 0)))
        sent = conn.execute(
            select(func.count()).where(webhook_deliveries.c.status == "delivered")
        ).scalar_one()
        queued_clicks = queued.scalar_one()
    engine.dispose()
    print(
        f"\n2. Reader path, {args.links} links, wrk -c{args.connections} -d{args.duration}s, "
        f"{args.rounds} alternating rounds"
    )
    print(f"   {'server':<30}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for label, runs in results.items():
        for r in runs:
            print(f"   {label:<30}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.errors:>8}")
    without, with_ = (sum(r.rps for r in runs) for runs in results.values())
    print(f"   with webhooks / without (sum of rounds): {with_ / without:.2f}")
    print(
        f"   clicks events delivered during the runs: {sent}; clicks still queued at the end: "
        f"{queued_clicks} (an endpoint gets at most 500 clicks a second)"
    )
    shutil.rmtree(workdir, ignore_errors=True)


def bench_metrics() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        return [b""]

    timed = Timed(app, Durations())
    environ = {"PATH_INFO": "/h7Ku2fb", "REQUEST_METHOD": "GET"}
    n = 200_000
    bare = min(timeit.repeat(lambda: app(environ, None), number=n, repeat=3)) / n
    wrapped = min(timeit.repeat(lambda: timed(environ, None), number=n, repeat=3)) / n
    tracker = Tracker(None, None, False)  # type: ignore[arg-type] - only its counter is used
    count = min(timeit.repeat(lambda: tracker.count("click", 200), number=n, repeat=3)) / n
    print("\n3. Metrics, per request, in process")
    print(
        f"   timing wrapper: {(wrapped - bare) * 1e6:.2f} us; reader counter: {count * 1e6:.2f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for delivery")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2, help="wrk runs of each reader setup")
    parser.add_argument(
        "--postgres", help="PostgreSQL URL (its tables are emptied) instead of SQLite"
    )
    parser.add_argument("--skip-reader", action="store_true", help="no wrk run")
    args = parser.parse_args()
    if not 1 <= args.endpoints <= 1000 or not 1 <= args.batches <= 20:
        raise SystemExit("keep it bounded: --endpoints 1-1000, --batches 1-20")
    if not 1 <= args.rounds <= 5:
        raise SystemExit("keep it bounded: --rounds 1-5")
    if not 1 <= args.duration <= 60 or not 1 <= args.connections <= 256:
        raise SystemExit("keep the load bounded: --duration 1-60 s, --connections 1-256")
    workdir = Path(tempfile.mkdtemp(prefix="balise-bench-hooks-"))
    url, drop = f"sqlite:///{workdir / 'balise.db'}", None
    if args.postgres:
        url, drop = scratch_database(args.postgres, "balise_bench_hooks")
    engine = make_engine(url)
    upgrade(engine)
    receiver, receiver_url = start_receiver(workdir)
    try:
        bench_clicks(engine, receiver_url, args)
        empty(engine)
        if not args.skip_reader and shutil.which("wrk"):
            bench_reader(url, receiver_url, args)
        bench_metrics()
    finally:
        receiver.terminate()
        receiver.wait()
        engine.dispose()
        if drop is not None:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n({os.cpu_count()} cores, shared with whatever else runs; compare within one run)")


if __name__ == "__main__":
    main()
