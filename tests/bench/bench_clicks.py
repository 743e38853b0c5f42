"""Click recording under load: a real `balise serve`, a bounded burst, SIGTERM, then counts.

    .venv/bin/python tests/bench/bench_clicks.py [--postgres URL] [--requests N] [--threads T]

Runs SQLite first, then PostgreSQL when --postgres is given (a scratch database is created
there and dropped). Prints requests served, clicks stored (must equal the person requests),
bots and prefetches stored, requests/s and p50/p99 latency. Exits 1 when a count is off.
Everything stays on 127.0.0.1; the load is bounded by --requests.
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]  # the repository, so `tests` imports as a package
sys.path.insert(0, str(ROOT))

from tests.agents import BROWSERS, CRAWLERS, UNFURLERS  # noqa: E402
from tests.databases import scratch_database  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

from balise.db import make_engine, upgrade  # noqa: E402
from balise.db.tables import clicks, robot_hits  # noqa: E402
from balise.links import store as links  # noqa: E402

BOTS = (*UNFURLERS.values(), *CRAWLERS)


def make_plan(n: int, slugs: list[str], seed: int = 7) -> list[tuple[str, str, dict[str, str]]]:
    """(kind, path, headers): about 85% people, 10% bots, 5% prefetches."""
    rng = random.Random(seed)
    plan = []
    for _ in range(n):
        path = "/" + rng.choice(slugs)
        roll = rng.random()
        if roll < 0.10:
            plan.append(("bot", path, {"User-Agent": rng.choice(BOTS)}))
        elif roll < 0.15:
            agent = rng.choice(BROWSERS)
            plan.append(("prefetch", path, {"User-Agent": agent, "Sec-Purpose": "prefetch"}))
        else:
            headers = {"User-Agent": rng.choice(BROWSERS), "Referer": "https://t.co/x"}
            plan.append(("click", path + "?utm_source=bench", headers))
    return plan


def load(port: int, plan: list, threads: int) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(share: list) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, codes = [], []
        for _kind, path, headers in share:
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            codes.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.extend(codes)

    pool = [threading.Thread(target=worker, args=(plan[i::threads],)) for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, statuses, time.perf_counter() - started


def run(label: str, url: str, args: argparse.Namespace) -> bool:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        slugs = [
            links.create_link(conn, {"url": f"https://example.org/a/{i}"}, base_url="x").slug
            for i in range(args.links)
        ]
    plan = make_plan(args.requests, slugs)
    with tempfile.TemporaryDirectory() as data:
        server = LiveServer(Path(data), url, THREADS=args.server_threads)
        try:
            latencies, statuses, elapsed = load(server.port, plan, args.threads)
        finally:
            code = server.stop()
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(clicks)).scalar_one()
        robots = dict(
            conn.execute(select(robot_hits.c.kind, func.count()).group_by(robot_hits.c.kind)).all()
        )
    engine.dispose()
    sent = {
        kind: sum(1 for k, _p, _h in plan if k == kind) for kind in ("click", "bot", "prefetch")
    }
    served = sum(1 for s in statuses if s == 200)
    ordered = sorted(latencies)
    ok = (
        code == 0
        and served == len(plan)
        and stored == sent["click"]
        and robots.get("bot", 0) == sent["bot"]
        and robots.get("prefetch", 0) == sent["prefetch"]
    )
    print(
        f"== {label}: {len(plan)} requests, {args.threads} client threads, "
        f"{args.server_threads} server threads, {args.links} links"
    )
    print(f"requests served      {served} / {len(plan)} (server exit code {code})")
    print(f"person requests      {sent['click']}")
    print(f"clicks in database   {stored}  {'OK' if stored == sent['click'] else 'MISMATCH'}")
    print(f"bots stored          {robots.get('bot', 0)} / {sent['bot']} sent")
    print(f"prefetches stored    {robots.get('prefetch', 0)} / {sent['prefetch']} sent")
    print(f"requests/s           {len(plan) / elapsed:.0f}")
    print(f"latency p50          {statistics.median(ordered) * 1000:.1f} ms")
    print(f"latency p99          {ordered[int(len(ordered) * 0.99) - 1] * 1000:.1f} ms")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=16, help="client threads")
    parser.add_argument("--server-threads", type=int, default=8)
    parser.add_argument("--links", type=int, default=20)
    parser.add_argument("--postgres", help="admin URL, e.g. postgresql://postgres@127.0.0.1/test")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        ok &= run("SQLite", f"sqlite:///{tmp}/bench.db", args)
    if args.postgres:
        url, drop = scratch_database(args.postgres, "balise_bench")
        try:
            ok &= run("PostgreSQL", url, args)
        finally:
            drop()  # type: ignore[operator]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
