"""Benchmark: what the batch writer's rollups cost per batch.

    .venv/bin/python tests/bench/bench_batch.py [--postgres URL] [--batches 60] [--size 500]
        [--links 10000] [--zipf S] [--reader] [--profile]

Writes batches of random clicks (Zipf-like links, referrers, browsers...) with
`clicks.write_batch`, as the writer thread does, into a scratch database with 10,000 links
(`--links`; `--zipf S` draws links from a Zipf distribution of exponent S over them, as the
reader benchmark's wrk does, so a batch spans as many distinct links as it would there;
`--reader`: clicks as that benchmark sends them, one address and browser, no referrer or UTM;
`--profile`: cProfile's top functions over the measured batches), and prints the median and
p95 time of a whole batch and of the part spent on the time pyramid
(per-link and site-wide hour/day/month rows, visitor counts and visitors per dimension value;
click_rollups and the hourly counters were written before it). The rollup
functions are timed by wrapping them in place, so the same run gives both figures.
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import itertools
import os
import pstats
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


def link_drawer(rng: random.Random, links: int, zipf: float) -> Callable[[], int]:
    """Link ids: Pareto-like over the first 10,000 by default, or Zipf(s) over all links."""
    if not zipf:
        return lambda: min(int(rng.paretovariate(1.2)), links)
    cdf = list(itertools.accumulate(1 / k**zipf for k in range(1, links + 1)))
    return lambda: bisect.bisect_left(cdf, rng.random() * cdf[-1]) + 1


def run(
    url: str, batches: int, size: int, links: int = 10_000, zipf: float = 0.0,
    reader: bool = False, profile: cProfile.Profile | None = None,
) -> tuple[list[float], dict[str, list[float]], float]:  # fmt: skip
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(timezone.utc)
    bigdata.make_links(engine, links, now)
    rng = random.Random(3)
    draw = link_drawer(rng, links, zipf)
    distinct: list[int] = []
    cpus: list[float] = []
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
                "click", draw(), now - timedelta(seconds=n),
                uid=secrets.token_hex(16), ip=f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
                user_agent=rng.choice(browsers),
                referrer=f"https://{bigdata.zipf(rng, bigdata.REFERRERS[1:])}/",
                utm=(bigdata.zipf(rng, bigdata.SOURCES), None, campaign(rng)),
            )
            for _ in range(size)
        ]  # fmt: skip
        if reader:
            hits = [
                click_module.Hit("click", h.link_id, h.ts, uid=h.uid, ip="127.0.0.1",
                                 user_agent=agents.FIREFOX_DESKTOP)
                for h in hits
            ]  # fmt: skip
        distinct.append(len({h.link_id for h in hits}))
        SPENT.clear()
        if profile and n >= 3:
            profile.enable()
        began, cpu = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            click_module.write_batch(
                conn, hits, [], salt_for=lambda day: b"salt", country_for=lambda ip: "FR",
                own_host="s.test", now=now,
            )  # fmt: skip
        if profile:
            profile.disable()
        if n >= 3:
            whole.append((time.perf_counter() - began) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            parts["pyramid"].append(sum(SPENT.values()) * 1000)
            for name, spent in SPENT.items():
                parts.setdefault(name, []).append(spent * 1000)
    engine.dispose()
    parts["CPU (this process)"] = cpus
    return whole, parts, statistics.mean(distinct)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--links", type=int, default=10_000, help="links in the database")
    parser.add_argument("--zipf", type=float, default=0.0, help="Zipf exponent over the links")
    parser.add_argument("--reader", action="store_true", help="clicks as bench_reader sends them")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    args = parser.parse_args()
    targets: list[tuple[str, str, Any]] = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/b.db", None)]
    if args.postgres:
        targets.append(("postgresql", *scratch_database(args.postgres, "balise_bench_batch")))
    print(f"{args.batches} batches of {args.size} clicks; ms per batch (median, p95)")
    for name, url, cleanup in targets:
        try:
            profile = cProfile.Profile() if args.profile else None
            whole, parts, distinct = run(
                url, args.batches, args.size, args.links, args.zipf, args.reader, profile
            )
            q = lambda v: (statistics.median(v), sorted(v)[int(len(v) * 0.95) - 1])  # noqa: E731
            per_click = q(parts["CPU (this process)"])[0] / args.size
            print(f"{name:<11} whole batch {q(whole)[0]:7.1f} {q(whole)[1]:7.1f}"
                  f"   ({per_click:.3f} ms CPU a click, {distinct:.0f} links a batch)")  # fmt: skip
            for part, spent in parts.items():
                print(f"{'':<11}   {part:<15} {q(spent)[0]:7.1f} {q(spent)[1]:7.1f}", flush=True)
            if profile:
                order = os.environ.get("BENCH_SORT", "cumulative")  # or tottime
                pstats.Stats(profile).sort_stats(order).print_stats(40)
        finally:
            if cleanup:
                cleanup()


if __name__ == "__main__":
    main()
