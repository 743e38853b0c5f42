"""Benchmark: POST /api/v1/summaries/lookup with 100 URLs (half known) against 10,000 links.

Prints the server time per call (the whole WSGI request in process: routing, validation,
the one look-up query, counting preview views once per visitor, the JSON answer) on SQLite
and, given --postgres URL, on PostgreSQL (a scratch database is created there and dropped).

    .venv/bin/python tests/bench/bench_lookup.py [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a file or with -m
from tests.databases import scratch_database  # noqa: E402

from balise import create_app
from balise.db import make_engine, upgrade
from balise.db.tables import links, summaries
from balise.links.urls import url_key

BASE_URL = "https://s.test"
LINKS = 10_000
BATCH = 100
WARMUP = 20


def populate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(timezone.utc)
    rows, sums = [], []
    for i in range(1, LINKS + 1):
        target = f"https://news{i % 50}.example/2026/article-{i}?id={i}"
        rows.append(
            {
                "id": i,
                "slug": f"s{i:06d}",
                "slug_key": f"s{i:06d}",
                "url": target,
                "url_key": url_key(target),
                "reading_delay": False,
                "disabled": i % 97 == 0,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        sums.append(
            {
                "link_id": i,
                "lang": "fr",
                "title": f"Article {i}",
                "teaser": "Une phrase d'accroche de longueur raisonnable pour un réseau social.",
                "recap": "Les faits. " * 40,
                "neutral": "Le contexte. " * 30,
                "origin": "author",
                "created_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(links), rows)
        conn.execute(insert(summaries), sums)
    engine.dispose()


def batch(rng: random.Random) -> list[str]:
    """25 known short URLs, 25 known article URLs with tracking, 50 unknown."""
    ids = rng.sample(range(1, LINKS + 1), 50)
    urls = [f"s.test/s{i:06d}+" for i in ids[:25]]
    urls += [
        f"https://news{i % 50}.example/2026/article-{i}/?utm_source=x&id={i}#c" for i in ids[25:]
    ]
    urls += [f"https://s.test/x{rng.randrange(10**6):06d}" for _ in range(25)]
    urls += [f"https://other.example/{rng.randrange(10**9)}" for _ in range(25)]
    rng.shuffle(urls)
    return urls


def measure(url: str, calls: int) -> dict[str, Any]:
    settings = {"DATABASE_URL": url, "BASE_URL": BASE_URL, "DATA_DIR": tempfile.mkdtemp()}
    # One client sends every call: lift the per-address look-up limit for the measurement.
    app = create_app(settings | {"RATELIMIT_LOOKUP": "1000000/minute"})
    client = app.test_client()
    rng = random.Random(4)
    times, answered = [], 0
    try:
        for n in range(WARMUP + calls):
            body = {"urls": batch(rng)}
            start = time.perf_counter()
            response = client.post("/api/v1/summaries/lookup", json=body)
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.get_data(as_text=True)
            if n >= WARMUP:
                times.append(elapsed * 1000)
                answered += sum(v is not None for v in response.get_json()["results"].values())
    finally:
        app.extensions["balise"].shutdown()
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "mean": statistics.fmean(times),
        "answered": answered / calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (a scratch database is made there)")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    targets = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.db", None)]
    if args.postgres:
        targets.append(("postgresql", *scratch_database(args.postgres, "balise_bench")))
    print(f"POST /api/v1/summaries/lookup, {BATCH} URLs (half known), {LINKS:,} links")
    print(f"{'backend':<12}{'median ms':>10}{'p95 ms':>9}{'mean ms':>9}{'answered':>10}")
    for name, url, cleanup in targets:
        try:
            populate(url)
            r = measure(url, args.calls)
            print(
                f"{name:<12}{r['median']:>10.2f}{r['p95']:>9.2f}{r['mean']:>9.2f}"
                f"{r['answered']:>10.1f}"
            )
        finally:
            if cleanup:
                cleanup()


if __name__ == "__main__":
    main()
