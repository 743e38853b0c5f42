"""Links for the reader benchmark, written straight into the database, and wrk's request mix.

Links are named from their index (`/k0000001`...), so the wrk script computes a path from a
number instead of holding a million slugs. SQLite takes rows by `executemany`, PostgreSQL by
`COPY`, in chunks, so a million links fit in bounded memory and about a minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, inspect

from balise.links.urls import url_key

CHUNK = 50_000
SLUG_FORMAT = "k%07d"  # the same format, in Lua, in WRK_SCRIPT
CONTROL_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "rules")
SUMMARY = {
    "lang": "fr",
    "teaser": "Un résumé en une phrase pour les réseaux sociaux.",
    "recap": "Ce qui s'est passé.\n\nEn deux paragraphes.",
    "neutral": "Le contexte.",
    "example": "Comme un bus qui arrive à l'heure.",
    "optimistic": "Le bon côté.",
    "pessimistic": "Le mauvais côté.",
    "origin": "author",
}


def slug(index: int) -> str:
    return SLUG_FORMAT % index


def has_summary(index: int, share: float) -> bool:
    """Spread evenly: any run of ten consecutive links holds the same share."""
    return int(index * share) != int((index - 1) * share)


def has_controls(index: int, share: float) -> bool:
    """Spread like summaries, shifted so both kinds do not always fall on the same links."""
    return has_summary(index + 5, share)


def controls_supported(engine: Engine) -> bool:
    """Whether the links table has the columns of link controls (issue 16)."""
    names = {c["name"] for c in inspect(engine).get_columns("links")}
    return set(CONTROL_COLUMNS) <= names


def seeded(engine: Engine) -> int:
    """How many links the database holds."""
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM links").scalar_one())


def target(index: int) -> str:
    return f"https://example.org/articles/{index}?ref=bench"


def _links(
    count: int, controls: float, now: datetime
) -> Iterator[tuple[list[str], list[list[Any]]]]:
    columns = ["id", "slug", "slug_key", "url", "url_key", "title", "reading_delay", "disabled"]
    columns += ["version", "created_at", "updated_at"]
    if controls:
        columns += CONTROL_COLUMNS
    for start in range(1, count + 1, CHUNK):
        rows = []
        for i in range(start, min(start + CHUNK, count + 1)):
            row: list[Any] = [i, slug(i), slug(i), target(i), url_key(target(i)), f"Article {i}"]
            row += [False, False, 1, now, now]
            if controls:
                if has_controls(i, controls):
                    rules = [
                        {"url": f"https://m.example/articles/{i}", "device": "mobile"},
                        {"url": f"https://fr.example/articles/{i}", "lang": "fr"},
                    ]
                    row += ["newsletter", "email", f"bench-{i % 7}", json.dumps(rules)]
                else:
                    row += [None, None, None, None]
            rows.append(row)
        yield columns, rows


def _summaries(count: int, share: float, now: datetime) -> Iterator[tuple[list[str], list[Any]]]:
    columns = ["link_id", "title", "source_url", "created_at", "updated_at", *SUMMARY]
    for start in range(1, count + 1, CHUNK):
        rows = [
            [i, f"Article {i}", target(i), now, now, *SUMMARY.values()]
            for i in range(start, min(start + CHUNK, count + 1))
            if has_summary(i, share)
        ]
        yield columns, rows


def seed(engine: Engine, count: int, summaries: float, controls: float) -> None:
    """`count` links named slug(1..count); a share with summaries, a share with controls."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for table, chunks in (
        ("links", _links(count, controls, now)),
        ("summaries", _summaries(count, summaries, now)),
    ):
        for columns, rows in chunks:
            if rows:
                _write(engine, table, columns, rows)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE links")
            conn.exec_driver_sql("ANALYZE summaries")
            conn.commit()


def _write(engine: Engine, table: str, columns: list[str], rows: list[list[Any]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        names = ", ".join(columns)
        if engine.dialect.name == "sqlite":
            stamps = [n for n, c in enumerate(columns) if c.endswith("_at")]
            for row in rows:  # SQLAlchemy's storage of naive UTC datetimes on SQLite
                for n in stamps:
                    row[n] = row[n].strftime("%Y-%m-%d %H:%M:%S.%f")
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
        else:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


# Each wrk thread draws link numbers (1..N) in turn (zipf = 0) or from a Zipf distribution of
# exponent s over ranks 1..N; rank r names link ((r - 1) * STRIDE mod N) + 1, a permutation
# (STRIDE is prime to N), so the busiest links are spread over the table, not its first rows.
WRK_SCRIPT = """
local n = tonumber(os.getenv("BENCH_LINKS"))
local s = tonumber(os.getenv("BENCH_ZIPF"))
local stride = tonumber(os.getenv("BENCH_STRIDE"))
local ua = os.getenv("BENCH_UA")
local counter = 0
local cdf = nil
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("seed", thread_id)
end
init = function(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
  counter = (seed or 0) * 7919
  if s > 0 then
    cdf = {}
    local total = 0
    for r = 1, n do
      total = total + r ^ (-s)
      cdf[r] = total
    end
    for r = 1, n do cdf[r] = cdf[r] / total end
  end
end
local function draw()
  if cdf == nil then
    counter = counter + 1
    return (counter % n) + 1
  end
  local u = math.random()
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return ((lo - 1) * stride) % n + 1
end
request = function()
  local path = string.format("/k%07d", draw())
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


def stride(count: int) -> int:
    """A step prime to `count`, near 0.618 of it: consecutive ranks land far apart."""
    from math import gcd

    step = max(1, int(count * 0.6180339887))
    while gcd(step, count) != 1:
        step += 1
    return step
