"""The rollup pyramid (hours, days, months; per link and site-wide) against the raw clicks:
random clicks over ten weeks across month ends, random ranges, zones, intervals and filters."""

from __future__ import annotations

import random
import secrets
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from balise.analytics import stats
from balise.analytics.clicks import Confirmation, Hit
from balise.analytics.filters import NO_FILTERS, PARAMS, Filters
from balise.analytics.periods import make_period, zone
from balise.db.tables import (
    clicks,
    period_counts,
    site_combos,
    site_counts,
    site_values,
)
from balise.links import store
from tests.test_rollups import AGENTS, REFERRERS, UTMS, write

UTC = timezone.utc
START = datetime(2026, 1, 20, tzinfo=UTC)  # ten weeks: January, February and March
DAYS = 70


def seed(db, make_link, rng: random.Random, links: int = 6, n: int = 900) -> list[int]:
    ids = [make_link(tags=["spring"] if i % 2 else []).id for i in range(links)]
    weights = [1 / (i + 1) for i in range(links)]  # a few links draw most clicks
    hits = []
    for _ in range(n):
        ts = START + timedelta(minutes=rng.randrange(60 * 24 * DAYS))
        hits.append(
            Hit("click", rng.choices(ids, weights)[0], ts, uid=secrets.token_hex(16),
                ip=f"192.0.2.{rng.randrange(1, 40)}", user_agent=rng.choice(AGENTS),
                referrer=rng.choice(REFERRERS), utm=(rng.choice(UTMS), None, rng.choice(UTMS)),
                dnt=rng.random() < 0.1)
        )  # fmt: skip
    hits.sort(key=lambda h: h.ts)
    with db.begin() as conn:
        for i in range(0, len(hits), 150):
            write(conn, hits[i : i + 150], day_salts=True)
        confirm = [Confirmation(h.uid or "", h.link_id, h.ts) for h in rng.sample(hits, 200)]
        write(conn, [], confirm)
    return ids


def raw(conn, start, end, link_id=None, links=None, chosen=None):
    rows = conn.execute(select(clicks).where(clicks.c.ts >= start, clicks.c.ts < end)).all()
    return [
        c
        for c in rows
        if (link_id is None or c.link_id == link_id)
        and (links is None or c.link_id in links)
        and all((getattr(c, d) or None) in vs for d, vs in (chosen or {}).items())
    ]


def uniques(kept) -> int:
    """Distinct visitors per UTC day, summed (a hash lives one day)."""
    return len({(c.ts.date(), c.visitor_hash) for c in kept if c.visitor_hash})


def check(conn, period, kept, link_id=None, filters=NO_FILTERS, top=3):
    found = stats.stats(conn, period, link_id=link_id, top=100, filters=filters)
    assert found["totals"]["clicks"] == len(kept)
    assert found["totals"]["confirmed"] == sum(c.confirmed_at is not None for c in kept)
    several = filters.dims and not filters.tags and not filters.one_value()
    if link_id is None and several:  # not counted (a visitor of two values would count twice)
        assert found["totals"]["unique_visitors"] is None
        assert {p["unique_visitors"] for p in found["series"]} == {None}
    else:
        assert found["totals"]["unique_visitors"] == uniques(kept)
    per_bucket = Counter(period.index(c.ts.replace(tzinfo=UTC)) for c in kept)
    assert [p["clicks"] for p in found["series"]] == [
        per_bucket[i] for i in range(len(period.starts))
    ]
    for name, column in stats.TOP_COLUMNS.items():
        got = {row["value"]: row["clicks"] for row in found["top"][name]}
        assert got == dict(Counter(getattr(c, column.name) for c in kept)), name
    if link_id is None:
        per_link = Counter(c.link_id for c in kept)
        best = stats.stats(conn, period, top=top, filters=filters)["top"]["links"]
        want = sorted(per_link.values(), reverse=True)[:top]
        assert [row["clicks"] for row in best] == want


@pytest.mark.parametrize("seed_value", [3, 11])
def test_every_answer_equals_a_count_over_raw_clicks(db, make_link, seed_value):
    rng = random.Random(seed_value)
    ids = seed(db, make_link, rng)
    with db.connect() as conn:
        for _ in range(8):
            tz = zone(rng.choice(["UTC", "Europe/Paris", "America/New_York"]))
            interval = rng.choice(["day", "week", "day"])
            first = START + timedelta(hours=rng.randrange(24 * 30))
            last = first + timedelta(hours=rng.randrange(1, 24 * 45))
            period = make_period(interval, tz, start=first, end=last, now=last)
            kept = raw(conn, period.start, period.end)
            check(conn, period, kept)
            link_id = rng.choice(ids)
            check(conn, period, raw(conn, period.start, period.end, link_id), link_id=link_id)
            one = {"referrer_host": [rng.choice([None, "t.co", "news.example"])]}
            params = {p: [v or "" for v in one[d]] for p, d in PARAMS.items() if d in one}
            check(conn, period, raw(conn, period.start, period.end, chosen=one),
                  filters=Filters.of(params))  # fmt: skip
            # one value of any dimension: unique visitors from the visitors per value
            param = rng.choice(sorted(PARAMS))
            values = sorted({getattr(c, PARAMS[param]) or "" for c in kept}) or [""]
            value = rng.choice(values)
            chosen = {PARAMS[param]: [value or None]}
            check(conn, period, raw(conn, period.start, period.end, chosen=chosen),
                  filters=Filters.of({param: [value]}))  # fmt: skip
            two = {"device": ["mobile", None], "utm_source": ["mastodon"]}
            params = {p: [v or "" for v in two[d]] for p, d in PARAMS.items() if d in two}
            check(conn, period, raw(conn, period.start, period.end, chosen=two),
                  filters=Filters.of(params))  # fmt: skip
            tagged = set(ids[1::2])
            check(conn, period, raw(conn, period.start, period.end, links=tagged),
                  filters=Filters.of({}, ["spring"]))  # fmt: skip
        # the whole ten weeks: filtered top links read click_rollups in key order (stats.py)
        period = make_period("week", zone("UTC"), start=START, end=START + timedelta(days=DAYS),
                             now=START + timedelta(days=DAYS))  # fmt: skip
        two = {"device": ["mobile", None], "utm_source": ["mastodon"]}
        params = {p: [v or "" for v in two[d]] for p, d in PARAMS.items() if d in two}
        check(conn, period, raw(conn, period.start, period.end, chosen=two),
              filters=Filters.of(params), top=2)  # fmt: skip


def test_a_deleted_link_leaves_the_all_links_statistics(db, make_link):
    rng = random.Random(5)
    ids = seed(db, make_link, rng, links=4, n=400)
    period = make_period("week", zone("UTC"), start=START, end=START + timedelta(days=DAYS),
                         now=START)  # fmt: skip
    with db.begin() as conn:
        gone = store.get_link_by_id(conn, ids[0])
        store.delete_link(conn, gone)
    with db.connect() as conn:
        kept = raw(conn, period.start, period.end)
        assert {c.link_id for c in kept} == set(ids[1:])
        found = stats.stats(conn, period, top=100)
        assert found["totals"]["clicks"] == len(kept)
        for name, column in stats.TOP_COLUMNS.items():
            got = {row["value"]: row["clicks"] for row in found["top"][name]}
            assert got == dict(Counter(getattr(c, column.name) for c in kept)), name
        chosen = {"referrer_host": ["t.co"]}
        filtered = stats.stats(conn, period, filters=Filters.of({"referrer": ["t.co"]}))
        assert filtered["totals"]["clicks"] == len(raw(conn, START, period.end, chosen=chosen))


def test_migrations_0010_and_0011_rebuild_what_the_writer_kept(db, make_link):
    from alembic import command

    from balise.db.migrate import alembic_config, upgrade

    seed(db, make_link, random.Random(8), links=3, n=300)
    tables = (period_counts, site_counts, site_values, site_combos)  # with visitors per value

    def snapshot():
        with db.connect() as conn:
            return {
                t.name: sorted(
                    tuple(r)
                    for r in conn.execute(select(t))
                    if any(v for k, v in r._mapping.items() if k in ("clicks", "visitors", "bots"))
                )  # fmt: skip
                for t in tables
            }

    kept = snapshot()
    assert all(kept.values())
    with db.begin() as conn:
        command.downgrade(alembic_config(conn), "0009_controls")
    with db.connect() as conn:
        assert not conn.dialect.has_table(conn, "site_counts")
    upgrade(db)
    assert snapshot() == kept


def test_campaigns_and_tags_equal_a_count_over_raw_clicks(db, make_link):
    from balise.analytics import campaigns

    rng = random.Random(21)
    ids = seed(db, make_link, rng, links=5, n=700)
    tagged = set(ids[1::2])
    with db.connect() as conn:
        for _ in range(6):
            first = START + timedelta(hours=rng.randrange(24 * 30))
            last = first + timedelta(hours=rng.randrange(1, 24 * 45))
            period = make_period("day", zone("Europe/Paris"), start=first, end=last, now=last)
            kept = raw(conn, period.start, period.end)
            want = {}
            for value in sorted({c.utm_campaign for c in kept if c.utm_campaign}):
                mine = [c for c in kept if c.utm_campaign == value]
                want[value] = (len(mine), uniques(mine))
            got = campaigns.campaigns(conn, period)
            assert {r["value"]: (r["clicks"], r["visitors"]) for r in got} == want
            assert [r["clicks"] for r in got] == sorted((n for n, _ in want.values()), reverse=True)
            spring = [c for c in kept if c.link_id in tagged]
            assert [(r["value"], r["clicks"], r["confirmed"], r["links"])
                    for r in campaigns.tags(conn, period)] == [
                ("spring", len(spring), sum(c.confirmed_at is not None for c in spring),
                 len({c.link_id for c in spring}))
            ] if spring else []  # fmt: skip
