"""Bulk data for the dashboard benchmark's large mode: links and clicks written straight into
the database (SQLite executemany, PostgreSQL COPY), then the hourly counters and the click
rollups and their time pyramid built from them, as the batch writer and migrations 0007 and
0010 would. Referrers, countries, browsers... follow Zipf-like weights (1/rank). Bounded
memory: clicks are generated and written in chunks."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import Any

from sqlalchemy import Engine, func, insert, literal, select

from balise.analytics import valuevisitors
from balise.analytics.backfill import fill
from balise.analytics.rollups import fill_from_clicks
from balise.db.tables import clicks, daily_visitors, hourly_counts, link_tags, links
from balise.links.urls import url_key

CHUNK = 100_000
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


def _clicks(rng: random.Random, links_: int, total: int, now: datetime) -> Iterator[list[Any]]:
    """Chunks of click rows: a few links draw most clicks (Pareto), spread over 13 months.
    Column-wise draws (random.choices with k) and timestamps cut from precomputed minute
    prefixes keep Python's share to a few microseconds a click."""
    span = 60 * 24 * 395
    first = now - timedelta(minutes=span)
    minutes = [(first + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:") for m in range(span)]
    seconds = [f"{s:02d}.000000" for s in range(60)]
    dims = (REFERRERS, BROWSERS, SYSTEMS, DEVICES, COUNTRIES, SOURCES, MEDIUMS, CAMPAIGNS)
    cum = [list(accumulate(1 / (i + 1) for i in range(len(v)))) for v in dims]
    n = 0
    while n < total:
        size = min(CHUNK, total - n)
        drawn = [rng.choices(v, cum_weights=c, k=size) for v, c in zip(dims, cum, strict=True)]
        rand = rng.random
        chunk = []
        for i, (ref, br, os_, dev, cc, src, med, camp) in enumerate(zip(*drawn, strict=True)):
            link = min(int(rng.paretovariate(1.2)), links_) if rand() < 0.5 else (
                int(rand() * links_) + 1)  # fmt: skip
            m = int(rand() * span)
            ts = minutes[m] + seconds[int(rand() * 60)]
            if rand() < 0.05:  # do-not-track: link and time only
                row = [f"{n + i:032x}", link, ts, None, None, None, None, None, None, None, None,
                       None, None, True, None]  # fmt: skip
            else:
                row = [f"{n + i:032x}", link, ts, ref, None, br, os_, dev, cc, src, med, camp,
                       f"{rng.getrandbits(40):x}", False, ts if rand() < 0.7 else None]  # fmt: skip
            chunk.append(row)
        n += size
        yield chunk


def zipf(rng: random.Random, values: list[Any]) -> Any:
    """A value drawn with weight 1/rank: the first ones are the most frequent (Zipf-like)."""
    weights = _WEIGHTS.setdefault(len(values), [1 / (i + 1) for i in range(len(values))])
    return rng.choices(values, weights)[0]


_WEIGHTS: dict[int, list[float]] = {}

COLUMNS = ("uid", "link_id", "ts", "referrer_host", "referrer_path", "browser", "os", "device",
           "country", "utm_source", "utm_medium", "utm_campaign", "visitor_hash", "dnt",
           "confirmed_at")  # fmt: skip


def make_clicks(engine: Engine, links_: int, total: int, now: datetime) -> dict[str, float]:
    """`total` clicks, their hourly counters and their rollups; returns seconds per step."""
    rng = random.Random(13)
    sqlite = engine.dialect.name == "sqlite"
    took: dict[str, float] = {}
    began = time.perf_counter()
    written = 0
    for chunk in _clicks(rng, links_, total, now):
        _write_clicks(engine, chunk, sqlite)
        written += len(chunk)
        if written % 1_000_000 == 0:
            print(f"  {written:,} clicks: {time.perf_counter() - began:.0f} s", flush=True)
    took["clicks"] = time.perf_counter() - began
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


def _write_clicks(engine: Engine, chunk: list[list[Any]], sqlite: bool) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if sqlite:
            marks = ", ".join("?" for _ in COLUMNS)
            cursor.executemany(f"INSERT INTO clicks ({', '.join(COLUMNS)}) VALUES ({marks})", chunk)
        else:
            lines = []
            for row in chunk:
                row[2] += "+00"
                if row[14] is not None:
                    row[14] += "+00"
                row[13] = "t" if row[13] else "f"
                lines.append("\t".join("\\N" if v is None else str(v) for v in row))
            with cursor.copy(f"COPY clicks ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write("\n".join(lines) + "\n")
        raw.commit()
    finally:
        raw.close()


NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
