"""Bulk data for the dashboard benchmark's large mode: links and clicks written straight into
the database (SQLite executemany, PostgreSQL COPY), then the hourly counters and the click
rollups and their time pyramid built from them, as the batch writer and migrations 0007 and
0010 would. Referrers, countries, browsers... follow Zipf-like weights (1/rank). Bounded
memory: clicks are generated and written in chunks."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, func, insert, select

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


def _stamp(moment: datetime, sqlite: bool) -> str:
    if sqlite:  # SQLAlchemy's storage format for naive UTC datetimes on SQLite
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment.isoformat()


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
    """Chunks of click rows: a few links draw most clicks (Pareto), spread over 13 months."""
    span = 60 * 24 * 395
    n = 0
    while n < total:
        chunk = []
        for _ in range(min(CHUNK, total - n)):
            link = min(int(rng.paretovariate(1.2)), links_) if rng.random() < 0.5 else (
                rng.randrange(1, links_ + 1))  # fmt: skip
            ts = now - timedelta(minutes=rng.randrange(span), seconds=rng.randrange(60))
            dnt = rng.random() < 0.05
            pick = (lambda values: None) if dnt else (lambda values: zipf(rng, values))  # noqa: E731
            chunk.append(
                [f"{n:032x}", link, ts, pick(REFERRERS), None, pick(BROWSERS), pick(SYSTEMS),
                 pick(DEVICES), pick(COUNTRIES), pick(SOURCES), pick(MEDIUMS), pick(CAMPAIGNS),
                 None if dnt else f"{rng.getrandbits(40):x}", dnt,
                 ts if rng.random() < 0.7 else None]
            )  # fmt: skip
            n += 1
        yield chunk


def zipf(rng: random.Random, values: list[Any]) -> Any:
    """A value drawn with weight 1/rank: the first ones are the most frequent (Zipf-like)."""
    weights = _WEIGHTS.setdefault(len(values), [1 / (i + 1) for i in range(len(values))])
    return rng.choices(values, weights)[0]


_WEIGHTS: dict[int, list[float]] = {}

COLUMNS = ("uid", "link_id", "ts", "referrer_host", "referrer_path", "browser", "os", "device",
           "country", "utm_source", "utm_medium", "utm_campaign", "visitor_hash", "dnt",
           "confirmed_at")  # fmt: skip


def make_clicks(engine: Engine, links_: int, total: int, now: datetime) -> None:
    """`total` clicks, their hourly counters and their rollups."""
    rng = random.Random(13)
    sqlite = engine.dialect.name == "sqlite"
    counts: Counter[tuple[int, datetime, str]] = Counter()
    for chunk in _clicks(rng, links_, total, now):
        for row in chunk:
            hour = row[2].replace(minute=0, second=0, microsecond=0)
            counts[(row[1], hour, "clicks")] += 1
            if row[14] is not None:
                counts[(row[1], hour, "confirmed")] += 1
        _write_clicks(engine, chunk, sqlite)
    rows: dict[tuple[int, datetime], dict[str, Any]] = {}
    for (link, hour, name), n in counts.items():
        empty = dict.fromkeys(("clicks", "confirmed", "bots", "prefetches", "preview_views"), 0)
        row = rows.setdefault((link, hour), {"link_id": link, "hour": hour, **empty})
        row[name] = n
    values = list(rows.values())
    with engine.begin() as conn:
        for start in range(0, len(values), 50_000):
            conn.execute(insert(hourly_counts), values[start : start + 50_000])
        fill_from_clicks(conn, batch=50_000)
        visitors = select(clicks.c.link_id, _day(conn), clicks.c.visitor_hash).distinct()
        visitors = visitors.where(clicks.c.visitor_hash.is_not(None))
        conn.execute(
            daily_visitors.insert().from_select(["link_id", "day", "visitor_hash"], visitors)
        )
        fill(conn)  # the pyramid, as migration 0010_daily does


def _day(conn: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", clicks.c.ts), "YYYY-MM-DD")
    return func.substr(clicks.c.ts, 1, 10)


def _write_clicks(engine: Engine, chunk: list[list[Any]], sqlite: bool) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if sqlite:
            for row in chunk:
                row[2] = _stamp(row[2], True)
                row[14] = None if row[14] is None else _stamp(row[14], True)
            marks = ", ".join("?" for _ in COLUMNS)
            cursor.executemany(f"INSERT INTO clicks ({', '.join(COLUMNS)}) VALUES ({marks})", chunk)
        else:
            with cursor.copy(f"COPY clicks ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
