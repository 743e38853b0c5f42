"""Benchmark: what the batch writer's rollups cost per batch.

    .venv/bin/python tests/bench/bench_batch.py [--postgres URL] [--batches 60] [--size 500]

Writes batches of random clicks (Zipf-like links, referrers, browsers...) with
`clicks.write_batch`, as the writer thread does, into a scratch database with 10,000 links,
and prints the median and p95 time of a whole batch and of the part spent on the time pyramid
(per-link and site-wide hour/day/month rows, visitor counts and visitors per dimension value;
click_rollups and the hourly counters were written before it). The rollup
functions are timed by wrapping them in place, so the same run gives both figures.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests import agents  # noqa: E402
from tests.bench import bigdata  # noqa: E402
from tests.databases import scratch_database  # noqa: E402

from balise.analytics import clicks as click_module
from balise.analytics import rollups, valuevisitors
from balise.db import counters, make_engine, upgrade

SPENT: dict[str, float] = {}
DEPTH = [0]


def campaign(rng: random.Random) -> str | None:
    return bigdata.zipf(rng, bigdata.CAMPAIGNS)  # type: ignore[no-any-return]


def timed(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        DEPTH[0] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            DEPTH[0] -= 1
            if not DEPTH[0]:  # the outermost only: add_periods runs inside the others
                SPENT[name] = SPENT.get(name, 0.0) + time.perf_counter() - began

    return wrapper


def run(url: str, batches: int, size: int) -> tuple[list[float], dict[str, list[float]]]:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(timezone.utc)
    bigdata.make_links(engine, 10_000, now)
    rng = random.Random(3)
    browsers = [agents.FIREFOX_DESKTOP, agents.SAFARI_IPHONE, agents.CHROME_ANDROID]
    whole: list[float] = []
    parts: dict[str, list[float]] = {"pyramid": []}
    rollups.add_to_pyramid = timed(rollups.add_to_pyramid, "values")  # type: ignore[assignment]
    counters.add_periods = timed(counters.add_periods, "counters")  # type: ignore[assignment]
    click_module.add_periods = counters.add_periods  # type: ignore[attr-defined]
    valuevisitors.count = timed(valuevisitors.count, "visitors/value")  # type: ignore[assignment]
    for n in range(batches + 3):
        hits = [
            click_module.Hit(
                "click", min(int(rng.paretovariate(1.2)), 10_000), now - timedelta(seconds=n),
                uid=secrets.token_hex(16), ip=f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
                user_agent=rng.choice(browsers),
                referrer=f"https://{bigdata.zipf(rng, bigdata.REFERRERS[1:])}/",
                utm=(bigdata.zipf(rng, bigdata.SOURCES), None, campaign(rng)),
            )
            for _ in range(size)
        ]  # fmt: skip
        SPENT.clear()
        began = time.perf_counter()
        with engine.begin() as conn:
            click_module.write_batch(
                conn, hits, [], salt_for=lambda day: b"salt", country_for=lambda ip: "FR",
                own_host="s.test", now=now,
            )  # fmt: skip
        if n >= 3:
            whole.append((time.perf_counter() - began) * 1000)
            parts["pyramid"].append(sum(SPENT.values()) * 1000)
            for name, spent in SPENT.items():
                parts.setdefault(name, []).append(spent * 1000)
    engine.dispose()
    return whole, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--size", type=int, default=500)
    args = parser.parse_args()
    targets: list[tuple[str, str, Any]] = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/b.db", None)]
    if args.postgres:
        targets.append(("postgresql", *scratch_database(args.postgres, "balise_bench_batch")))
    print(f"{args.batches} batches of {args.size} clicks; ms per batch (median, p95)")
    for name, url, cleanup in targets:
        try:
            whole, parts = run(url, args.batches, args.size)
            q = lambda v: (statistics.median(v), sorted(v)[int(len(v) * 0.95) - 1])  # noqa: E731
            print(f"{name:<11} whole batch {q(whole)[0]:7.1f} {q(whole)[1]:7.1f}")
            for part, spent in parts.items():
                print(f"{'':<11}   {part:<15} {q(spent)[0]:7.1f} {q(spent)[1]:7.1f}", flush=True)
        finally:
            if cleanup:
                cleanup()


if __name__ == "__main__":
    main()
