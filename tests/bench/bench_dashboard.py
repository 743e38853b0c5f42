"""Benchmark: dashboard pages against 10,000 links, 300,000 hourly counters and 50,000 clicks.

Prints the server time per page (the whole WSGI request in process, signed in: session check,
queries, template, SVG charts) on SQLite and, given --postgres URL, on PostgreSQL (a scratch
database is created there and dropped after).

    .venv/bin/python tests/bench/bench_dashboard.py [--postgres postgresql://postgres@127.0.0.1/test]

--big: 100,000 links and 10,000,000 clicks over 13 months written straight into the database
(--links and --clicks scale it), with every counter and rollup the batch writer keeps for
them, summed in memory (bigload.py); prints how long writing took and the median server time
of the statistics API and pages: all links over 12 months, one link, and all links filtered.
--no-sqlite measures PostgreSQL only (run two processes to measure both side by side).
--verify: those rollups against the migrations' fills over the same clicks, row for row.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a file or with -m
from tests.bench import bigdata, bigload  # noqa: E402
from tests.databases import psycopg_url, scratch_database  # noqa: E402

from balise import create_app
from balise.accounts import keys, users
from balise.db import make_engine, upgrade
from balise.db.tables import clicks, hourly_counts, link_tags, links
from balise.db.tables import users as users_table
from balise.links.urls import url_key

BASE_URL = "https://s.test"
LINKS = 10_000
HOURS_PER_LINK = 30
CLICKS = 50_000
CALLS = 20
PASSWORD = "bench password"
API_KEY = ""
PAGES = [
    ("links, newest", "/dashboard/links"),
    ("links, most clicked", "/dashboard/links?sort=clicks"),
    ("links, search", "/dashboard/links?q=article-12"),
    ("links, tag", "/dashboard/links?tag=tag7"),
    ("stats, all links, 30 d", "/dashboard/stats?range=30d"),
    ("stats, all links, 12 m", "/dashboard/stats?range=12m"),
    ("stats, one link, 24 h", "/dashboard/links/s000001/stats?range=24h"),
    ("stats, one link, 30 d", "/dashboard/links/s000001/stats?range=30d"),
]


def populate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(7)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    rows, tags, counts = [], [], {}
    for i in range(1, LINKS + 1):
        target = f"https://news{i % 50}.example/2026/article-{i}"
        created = now - timedelta(hours=LINKS - i)
        rows.append(
            {"id": i, "slug": f"s{i:06d}", "slug_key": f"s{i:06d}", "url": target,
             "url_key": url_key(target), "title": f"Article {i}", "reading_delay": False,
             "disabled": False, "version": 1, "created_at": created, "updated_at": created}
        )  # fmt: skip
        tags.append({"link_id": i, "tag": f"tag{i % 20}"})
        for _ in range(HOURS_PER_LINK):
            hour = now - timedelta(hours=rng.randrange(24 * 365))
            counts[(i, hour)] = {"link_id": i, "hour": hour, "clicks": rng.randrange(1, 50),
                                 "confirmed": 1, "bots": rng.randrange(3), "prefetches": 0,
                                 "preview_views": rng.randrange(5)}  # fmt: skip
    raw = [
        {
            "uid": f"{n:032x}",
            "link_id": 1 + n % 200,
            "ts": now - timedelta(minutes=rng.randrange(43200)),
            "referrer_host": rng.choice(["t.co", "news.ycombinator.com", "www.linkedin.com", None]),
            "browser": rng.choice(["Firefox", "Chrome", "Safari"]),
            "os": "Linux",
            "device": "desktop",
            "utm_source": rng.choice(["mastodon", "newsletter", None]),
            "visitor_hash": f"v{n % 9000}",
            "dnt": False,
            "confirmed_at": None,
        }  # fmt: skip
        for n in range(CLICKS)
    ]
    with engine.begin() as conn:
        conn.execute(insert(links), rows)
        conn.execute(insert(link_tags), tags)
        values = list(counts.values())
        for start in range(0, len(values), 20_000):
            conn.execute(insert(hourly_counts), values[start : start + 20_000])
        for start in range(0, len(raw), 20_000):
            conn.execute(insert(clicks), raw[start : start + 20_000])
        users.hasher = PasswordHasher(time_cost=1, memory_cost=1024)
        users.create_user(conn, "bench@example.org", PASSWORD, "viewer")
    engine.dispose()


def measure(
    url: str, pages: list[tuple[str, str]] | None = None, calls: int = CALLS
) -> dict[str, tuple[float, float]]:
    app = create_app({"DATABASE_URL": url, "BASE_URL": BASE_URL, "DATA_DIR": tempfile.mkdtemp()})
    client = app.test_client()
    html = client.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    client.post(
        "/dashboard/login",
        data={"email": "bench@example.org", "password": PASSWORD, "csrf_token": token},
    )
    results: dict[str, tuple[float, float]] = {}
    try:
        for label, path in pages or PAGES:
            times: list[float] = []
            headers = {"Authorization": f"Bearer {API_KEY}"} if path.startswith("/api/") else {}
            for n in range(calls + 2):
                start = time.perf_counter()
                response = client.get(path, headers=headers)
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, (path, response.status_code)
                if n >= 2:
                    times.append(elapsed)
            times.sort()
            results[label] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    finally:
        app.extensions["balise"].shutdown()
    return results


def big_pages() -> list[tuple[str, str]]:
    year = (bigdata.NOW - timedelta(days=365)).date().isoformat()
    month = (bigdata.NOW - timedelta(days=30)).date().isoformat()
    filtered = f"/api/v1/stats?from={year}&interval=week&referrer=t.co&device=mobile"
    return [
        ("API all links, 12 m", f"/api/v1/stats?from={year}&interval=week"),
        ("API one link, 30 d", f"/api/v1/links/s000001/stats?from={month}"),
        ("API one link, 12 m", f"/api/v1/links/s000001/stats?from={year}&interval=week"),
        ("API filtered, 12 m", filtered),
        ("API filtered t.co, 12 m", f"/api/v1/stats?from={year}&interval=week&referrer=t.co"),
        ("API campaign, 12 m", f"/api/v1/stats?from={year}&interval=week&utm_campaign=launch"),
        ("page all links, 12 m", "/dashboard/stats?range=12m"),
        ("page one link, 30 d", "/dashboard/links/s000001/stats?range=30d"),
        ("page filtered, 12 m", "/dashboard/stats?range=12m&referrer=t.co&device=mobile"),
        ("page campaigns, 12 m", "/dashboard/campaigns?range=12m"),
    ]


def populate_big(url: str, links_: int, clicks_: int) -> dict[str, float]:
    engine = make_engine(url)
    upgrade(engine)
    began = time.perf_counter()
    bigdata.make_links(engine, links_, bigdata.NOW)
    took = {"links": time.perf_counter() - began}
    took.update(bigdata.make_clicks(engine, links_, clicks_, bigdata.NOW))
    engine = make_engine(url)  # the SQLite load closed the pool for its own connection
    with engine.begin() as conn:
        users.hasher = PasswordHasher(time_cost=1, memory_cost=1024)
        users.create_user(conn, "bench@example.org", PASSWORD, "viewer")
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return took


def api_key(url: str) -> str:
    engine = make_engine(url)
    upgrade(engine)  # a kept database: the migrations since it was written, fills included
    with engine.begin() as conn:
        key = keys.create_key(conn, f"bench {time.time_ns()}", "viewer")[1]
    engine.dispose()
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (a scratch database is made there)")
    parser.add_argument("--big", action="store_true", help="the large mode (see above)")
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--clicks", type=int)
    parser.add_argument("--calls", type=int, default=9, help="measured calls per request")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only (--big)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only (--big, --keep)")
    parser.add_argument(
        "--keep",
        help="--big: keep the databases (SQLite file KEEP.db, PostgreSQL database KEEP) and "
        "measure them again when they exist instead of writing new data",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="write --clicks (20,000 unless given) on 2,000 links twice, counters and rollups "
        "summed in memory and filled by the migrations, and compare every table",
    )
    args = parser.parse_args()
    if args.verify:
        return main_verify(args)
    if args.big:
        return main_big(args)
    targets: list[tuple[str, str, Any]] = [
        ("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.db", None)
    ]
    if args.postgres:
        targets.append(("postgresql", *scratch_database(args.postgres, "balise_bench")))
    print(f"{LINKS:,} links, {LINKS * HOURS_PER_LINK:,} hourly counters, {CLICKS:,} clicks")
    for name, url, cleanup in targets:
        try:
            populate(url)
            print(f"\n{name}: {'page':<26}{'median ms':>10}{'p95 ms':>9}")
            for label, (median, p95) in measure(url).items():
                print(f"{'':<{len(name) + 2}}{label:<26}{median:>10.1f}{p95:>9.1f}")
        finally:
            if cleanup:
                cleanup()


def main_big(args: argparse.Namespace) -> None:
    global API_KEY
    targets: list[tuple[str, str, Any]] = []
    if not args.no_sqlite:
        path = f"{args.keep}.db" if args.keep else f"{tempfile.mkdtemp()}/bench.db"
        targets.append(("sqlite", f"sqlite:///{path}", None))
    if args.postgres and not args.no_postgres:
        if args.keep:
            targets.append(("postgresql", *kept_database(args.postgres, args.keep)))
        else:
            targets.append(("postgresql", *scratch_database(args.postgres, "balise_bench")))
    args.clicks = args.clicks or 10_000_000
    print(f"{args.links:,} links, {args.clicks:,} clicks over 13 months (unless kept)")
    for name, url, cleanup in targets:
        fresh = not args.keep or not kept(url)
        try:
            if fresh:
                took = populate_big(url, args.links, args.clicks)
                steps = ", ".join(f"{k} {v:.0f} s" for k, v in took.items())
                print(f"\n{name}: data written in {sum(took.values()):.0f} s ({steps})", flush=True)
            else:
                print(f"\n{name}: kept data", flush=True)
            began = time.perf_counter()
            API_KEY = api_key(url)
            if not fresh:  # what an upgrading user's migrations cost (their fills included)
                print(f"  migrated to head in {time.perf_counter() - began:.0f} s", flush=True)
            print(f"{'':<{len(name) + 2}}{'request':<26}{'median ms':>10}{'p95 ms':>9}")
            for label, (median, p95) in measure(url, big_pages(), calls=args.calls).items():
                print(f"{'':<{len(name) + 2}}{label:<26}{median:>10.1f}{p95:>9.1f}", flush=True)
        finally:
            if cleanup:
                cleanup()
            elif url.startswith("sqlite:///") and not args.keep:
                Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def main_verify(args: argparse.Namespace) -> None:
    """The rollups summed in memory (bigload.py) against the migrations' fills over the same
    clicks, on each database: every row of every counter and rollup table must be equal.
    Visitor hashes of 6 bits: visitors come back within a day, across links and values."""
    links_, clicks_ = 2_000, args.clicks or 20_000
    wrong = False
    for name in [n for n, off in (("sqlite", args.no_sqlite), ("postgresql", args.no_postgres))
                 if not off and (n == "sqlite" or args.postgres)]:  # fmt: skip
        made: list[tuple[str, Any]] = []
        try:
            for _ in range(2):
                if name == "sqlite":
                    made.append((f"sqlite:///{tempfile.mkdtemp()}/verify.db", None))
                else:
                    made.append(scratch_database(args.postgres, "balise_verify"))
            took = []
            for (url, _), in_memory in zip(made, (True, False), strict=True):
                engine = make_engine(url)
                upgrade(engine)
                bigdata.make_links(engine, links_, bigdata.NOW)
                began = time.perf_counter()
                bigdata.make_clicks(
                    engine, links_, clicks_, bigdata.NOW, in_memory=in_memory, visitor_bits=6
                )
                took.append(time.perf_counter() - began)
                engine.dispose()
            engines = [make_engine(url) for url, _ in made]
            found = bigload.differences(*engines)
            for engine in engines:
                engine.dispose()
        finally:
            for url, cleanup in made:
                if cleanup:
                    cleanup()
                else:
                    Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        print(f"\n{name}: {clicks_:,} clicks on {links_:,} links, in memory {took[0]:.1f} s, "
              f"migrations' fills {took[1]:.1f} s")  # fmt: skip
        print(f"  {'table':<16}{'in memory':>11}{'fills':>9}{'differ':>8}")
        for table, (ours, theirs, differ) in found.items():
            print(f"  {table:<16}{ours:>11,}{theirs:>9,}{differ:>8,}")
            wrong = wrong or differ > 0 or ours == 0
    if wrong:
        sys.exit("the rollups summed in memory differ from the migrations' fills")
    print("\nevery counter and rollup table equal, row for row")


def kept_database(admin_url: str, name: str) -> tuple[str, None]:
    """The PostgreSQL database `name` beside `admin_url`'s, created when absent, kept after."""
    admin = create_engine(psycopg_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = text("SELECT 1 FROM pg_database WHERE datname = :n")
        if not conn.execute(found, {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(psycopg_url(admin_url)).set(database=name).render_as_string(False), None


def kept(url: str) -> bool:
    """Whether a kept database already holds the benchmark's data (its user was made last)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False
    engine = make_engine(url)
    try:
        if "users" not in inspect(engine).get_table_names():
            return False
        with engine.connect() as conn:
            return conn.execute(select(users_table.c.id).limit(1)).first() is not None
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
