"""A range that ends in the future reads the month holding its end as one month row when no
click lies past its end (reads.reaching), and stays exact when one does: every answer equals
a count over the raw clicks either way.

The clicks are put in a month of next year so the ranges end after the wall clock's now."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from balise.analytics import campaigns, reads, stats
from balise.analytics.filters import NO_FILTERS, Filters
from balise.analytics.periods import make_period, zone
from balise.analytics.rollups import DIMENSIONS
from balise.db.pyramid import bucket
from balise.db.tables import clicks, links
from tests.test_rollups import START, random_hits, write

UTC = timezone.utc
LATER = datetime(datetime.now(UTC).year + 1, 3, 1, tzinfo=UTC)  # START's month, next year


def seed(db, make_link) -> list[int]:
    rng = random.Random(5)
    ids = [make_link().id for _ in range(4)]
    # Clicks from March 1 to 21, plus a few on the 28th, 29th, 30th and 31st.
    hits = [dataclasses.replace(h, ts=h.ts - START + LATER) for h in random_hits(rng, ids, 500)]
    tail = [dataclasses.replace(h, ts=LATER + timedelta(days=27 + i % 4, hours=i % 24))
            for i, h in enumerate(random_hits(rng, ids, 40))]  # fmt: skip
    with db.begin() as conn:
        for i in range(0, len(hits), 100):
            write(conn, hits[i : i + 100])
        write(conn, tail)
    return ids


def expected(rows, period, link_id=None, dims=()):
    kept = [
        r
        for r in rows
        if period.start <= bucket(r["ts"], "h") < period.end
        and (link_id is None or r["link_id"] == link_id)
        and all((r[d] or None) in values for d, values in dims)
    ]
    series = [0] * len(period.starts)
    for r in kept:
        series[period.index(bucket(r["ts"], "h"))] += 1
    lists = {n: Counter(r[c.name] for r in kept) for n, c in stats.TOP_COLUMNS.items()}
    return kept, series, lists


def test_ranges_ending_after_now_are_exact_with_and_without_clicks_past_their_end(db, make_link):
    ids = seed(db, make_link)
    rng = random.Random(11)
    with db.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(clicks))]
        slugs = dict(conn.execute(select(links.c.id, links.c.slug)).all())
        seen = {d: sorted({r[d] for r in rows}, key=lambda v: v or "") for d in DIMENSIONS}
        stretched = 0
        # Ends on the 10th and 24th (clicks lie past them: read as days and hours) and in
        # April (none does: March is read as its month row).
        for end_day, tz_name, interval in [
            (10, "UTC", "day"),
            (24, "Europe/Paris", "week"),
            (45, "Asia/Kolkata", "day"),
            (33, "UTC", "hour"),
        ]:
            end = LATER + timedelta(days=end_day, hours=rng.randrange(24))
            start = end - timedelta(days=3 if interval == "hour" else 40)
            period = make_period(interval, zone(tz_name), start=start, end=end, now=end)
            stretched += reads.reaching(conn, period).reach is not None
            for link_id, dims in [
                (None, ()),
                (ids[0], ()),
                (None, (("referrer_host", (rng.choice(seen["referrer_host"]),)),)),
                (None, (("device", ("mobile",)), ("utm_source", (None, "mastodon")))),
            ]:
                filters = Filters(dims) if dims else NO_FILTERS
                found = stats.stats(conn, period, link_id=link_id, top=100, filters=filters)
                kept, series, lists = expected(rows, period, link_id, dims)
                assert found["totals"]["clicks"] == len(kept), (end_day, link_id, dims)
                assert [p["clicks"] for p in found["series"]] == series
                for name in stats.TOP_COLUMNS:
                    got = {row["value"]: row["clicks"] for row in found["top"][name]}
                    assert got == {k: v for k, v in lists[name].items() if v}, name
                if link_id is None:
                    got = {row["value"]: row["clicks"] for row in found["top"]["links"]}
                    per_link = Counter(r["link_id"] for r in kept)
                    assert got == {slugs[i]: n for i, n in per_link.items()}
            # The campaigns page's two lists, from the same rows.
            kept, _, lists = expected(rows, period)
            got = {row["value"]: row["clicks"] for row in campaigns.campaigns(conn, period)}
            assert got == {k: v for k, v in lists["utm_campaign"].items() if k}
        assert stretched == 2  # the two ranges past the last click
