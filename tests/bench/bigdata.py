"""Bulk data for the dashboard benchmark's large mode: links and clicks written straight into
the database (SQLite executemany, PostgreSQL COPY), one UTC day at a time, with every counter
and rollup summed in memory as they are made (bigload.py) or, for --verify's reference,
filled from the raw clicks by the migrations' own fills. Referrers, countries, browsers...
follow Zipf-like weights (1/rank). Bounded memory: a day's clicks and a month's sums."""

from __future__ import annotations

import gc
import random
import resource
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import Any

from sqlalchemy import Engine, func, insert, literal, select
from tests.bench import bigload

from balise.analytics import valuepairs, valuevisitors
from balise.analytics.backfill import fill
from balise.analytics.rollups import fill_from_clicks
from balise.db.tables import clicks, daily_visitors, hourly_counts, link_tags, links
from balise.links.urls import url_key

REFERRERS = [None, "t.co", "news.ycombinator.com", "www.linkedin.com", "www.google.com",
             "l.facebook.com", "mastodon.social", "www.reddit.com", "duckduckgo.com",
             *(f"blog{i}.example" for i in range(200))]  # fmt: skip
BROWSERS = ["Firefox", "Chrome", "Safari", "Mobile Safari", "Chrome Mobile", "Edge", None]
SYSTEMS = ["Linux", "Windows", "Mac OS X", "iOS", "Android", None]
DEVICES = ["desktop", "mobile", "tablet", None]
COUNTRIES = ["FR", None, "DE", "US", "GB", "ES", "IT", "BE", "CH", "CA", "NL", "JP", "BR", "IN",
             "PL", "SE", "PT", "AT", "DK", "NO", "FI", "IE", "MX", "AU"]  # fmt: skip
SOURCES = [None, None, "mastodon", "newsletter", "linkedin", "twitter"]
MEDIUMS = [None, None, "social", "email"]
CAMPAIGNS = [None, None, None, "spring-sale", "launch", "black-friday", "webinar"]


def make_links(engine: Engine, count: int, now: datetime) -> None:
    rows, tags = [], []
    for i in range(1, count + 1):
        target = f"https://news{i % 50}.example/2026/article-{i}"
        created = now - timedelta(minutes=count - i)
        rows.append(
            {"id": i, "slug": f"s{i:06d}", "slug_key": f"s{i:06d}", "url": target,
             "url_key": url_key(target), "title": f"Article {i}", "reading_delay": False,
             "disabled": False, "version": 1, "created_at": created, "updated_at": created}
        )  # fmt: skip
        tags.append({"link_id": i, "tag": f"tag{i % 20}"})
    with engine.begin() as conn:
        for start in range(0, count, 20_000):
            conn.execute(insert(links), rows[start : start + 20_000])
            conn.execute(insert(link_tags), tags[start : start + 20_000])


def _days(now: datetime, span: int) -> list[tuple[str, int, int]]:
    """The UTC days of the `span` minutes before `now`: (day, first minute, end minute)."""
    first = now - timedelta(minutes=span)
    days: list[tuple[str, int, int]] = []
    m = 0
    while m < span:
        moment = first + timedelta(minutes=m)
        midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0)
        end = min(span, m + int((midnight - moment).total_seconds() // 60))
        days.append((moment.date().isoformat(), m, end))
        m = end
    return days


def _clicks(
    rng: random.Random, links_: int, total: int, now: datetime, visitor_bits: int = 40
) -> Iterator[tuple[str, list[list[Any]]]]:
    """(UTC day, its click rows), day after day: a few links draw most clicks (Pareto), the
    clicks spread evenly over 13 months' minutes (each day gets its share of `total`, the
    remainders to the largest fractions). Column-wise draws (random.choices with k) and
    timestamps cut from precomputed minute prefixes keep Python's share to a few microseconds
    a click. Visitor hashes are `visitor_bits` random bits (40: nearly one per click; few bits
    make visitors come back, across links and values, as --verify wants)."""
    span = 60 * 24 * 395
    first = now - timedelta(minutes=span)
    minutes = [(first + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:") for m in range(span)]
    seconds = [f"{s:02d}" for s in range(60)]
    dims = (REFERRERS, BROWSERS, SYSTEMS, DEVICES, COUNTRIES, SOURCES, MEDIUMS, CAMPAIGNS)
    cum = [list(accumulate(1 / (i + 1) for i in range(len(v)))) for v in dims]
    days = _days(now, span)
    shares = [total * (end - start) / span for _, start, end in days]
    sizes = [int(x) for x in shares]
    by_rest = sorted(range(len(days)), key=lambda i: sizes[i] - shares[i])
    for i in by_rest[: total - sum(sizes)]:
        sizes[i] += 1
    n = 0
    for (day, start, end), size in zip(days, sizes, strict=True):
        if not size:
            continue
        drawn = [rng.choices(v, cum_weights=c, k=size) for v, c in zip(dims, cum, strict=True)]
        rand, width = rng.random, end - start
        chunk = []
        for i, (ref, br, os_, dev, cc, src, med, camp) in enumerate(zip(*drawn, strict=True)):
            link = min(int(rng.paretovariate(1.2)), links_) if rand() < 0.5 else (
                int(rand() * links_) + 1)  # fmt: skip
            ts = minutes[start + int(rand() * width)] + seconds[int(rand() * 60)]
            if rand() < 0.05:  # do-not-track: link and time only
                row = [f"{n + i:032x}", link, ts, None, None, None, None, None, None, None, None,
                       None, None, True, None]  # fmt: skip
            else:
                row = [f"{n + i:032x}", link, ts, ref, None, br, os_, dev, cc, src, med, camp,
                       f"{rng.getrandbits(visitor_bits):x}", False,
                       ts if rand() < 0.7 else None]  # fmt: skip
            chunk.append(row)
        n += size
        yield day, chunk


def zipf(rng: random.Random, values: list[Any]) -> Any:
    """A value drawn with weight 1/rank: the first ones are the most frequent (Zipf-like)."""
    weights = _WEIGHTS.setdefault(len(values), [1 / (i + 1) for i in range(len(values))])
    return rng.choices(values, weights)[0]


_WEIGHTS: dict[int, list[float]] = {}


def make_clicks(
    engine: Engine,
    links_: int,
    total: int,
    now: datetime,
    *,
    in_memory: bool = True,
    visitor_bits: int = 40,
) -> dict[str, float]:
    """`total` clicks, their hourly counters and their rollups; returns seconds per step.

    in_memory: every counter and rollup summed in this process as the clicks are made
    (bigload.py), each row written once. Otherwise the raw clicks only, then the counters and
    rollups filled from them in the database by the migrations' own fills (the reference
    --verify compares with; about 12 minutes per million clicks on the loaded machine)."""
    rng = random.Random(13)
    sink = bigload.Sink(engine)
    since = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    rollups = bigload.Rollups(sink, since) if in_memory else None
    began = time.perf_counter()
    written = 0
    # Millions of live dicts and tuples (a month's sums): the cyclic collector's passes over
    # them took about a third of the time, and nothing made here holds a cycle.
    gc.disable()
    try:
        for day, chunk in _clicks(rng, links_, total, now, visitor_bits):
            if rollups:
                rollups.add_day(day, chunk)
            for row in chunk:
                row[2] += sink.ts
                if row[14] is not None:
                    row[14] += sink.ts
            sink.add("clicks", chunk)
            if (written + len(chunk)) // 1_000_000 > written // 1_000_000:
                print(f"  {written + len(chunk):,} clicks: {time.perf_counter() - began:.0f} s",
                      flush=True)  # fmt: skip
            written += len(chunk)
        if rollups:
            rollups.close()
    finally:
        gc.enable()
        sink.close()
    if rollups:
        rows = ", ".join(f"{t} {n:,}" for t, n in sink.written.items())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"  rows written: {rows}; peak memory of this process {peak:,} MB", flush=True)
        return {"clicks, counters and rollups": time.perf_counter() - began}
    took = {"clicks": time.perf_counter() - began}
    took.update(fill_in_database(engine))
    return took


def fill_in_database(engine: Engine) -> dict[str, float]:
    """The hourly counters, daily visitors and every rollup, filled from the raw clicks in the
    database as the migrations do (0007_rollups, 0010_daily, 0011_value_visitors,
    0012_value_pairs)."""
    took: dict[str, float] = {}
    with engine.begin() as conn:
        began = time.perf_counter()
        hour = _hour(conn)
        confirmed = func.count(clicks.c.confirmed_at)
        query = select(clicks.c.link_id, hour, func.count(), confirmed, *[literal(0)] * 3)
        names = ["link_id", "hour", "clicks", "confirmed", "bots", "prefetches", "preview_views"]
        conn.execute(
            hourly_counts.insert().from_select(names, query.group_by(clicks.c.link_id, hour))
        )
        visitors = select(clicks.c.link_id, _day(conn), clicks.c.visitor_hash).distinct()
        visitors = visitors.where(clicks.c.visitor_hash.is_not(None))
        conn.execute(
            daily_visitors.insert().from_select(["link_id", "day", "visitor_hash"], visitors)
        )
        took["hourly counters, daily visitors"] = _done("hourly counters, daily visitors", began)
        began = time.perf_counter()
        fill_from_clicks(conn, batch=50_000)  # migration 0007_rollups
        took["click_rollups"] = _done("click_rollups", began)
        began = time.perf_counter()
        fill(conn)  # the pyramid, as migration 0010_daily does
        took["pyramid"] = _done("pyramid", began)
        began = time.perf_counter()
        valuevisitors.fill(conn)  # visitors per value, as migration 0011 does
        took["visitors per value"] = _done("visitors per value", began)
        began = time.perf_counter()
        valuepairs.fill(conn)  # pairs of values, links per value, as migration 0012 does
        took["pairs of values"] = _done("pairs of values", began)
    return took


def _done(step: str, began: float) -> float:
    took = time.perf_counter() - began
    print(f"  {step}: {took:.0f} s", flush=True)
    return took


def _hour(conn: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.timezone("UTC", func.date_trunc("hour", func.timezone("UTC", clicks.c.ts)))
    return func.strftime("%Y-%m-%d %H:00:00.000000", clicks.c.ts)


def _day(conn: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", clicks.c.ts), "YYYY-MM-DD")
    return func.substr(clicks.c.ts, 1, 10)


NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
