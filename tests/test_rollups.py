"""Click rollups: what every statistics answer reads, checked against the raw clicks."""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, text

from balise.analytics import stats
from balise.analytics.clicks import Confirmation, Hit, purge_before, write_batch
from balise.analytics.periods import make_period, zone
from balise.analytics.rollups import DIMENSIONS, add_link_values, fill_from_clicks
from balise.db.tables import click_rollups, clicks, link_values
from tests import agents

UTC = timezone.utc
START = datetime(2026, 3, 1, tzinfo=UTC)
AGENTS = [agents.FIREFOX_DESKTOP, agents.SAFARI_IPHONE, agents.CHROME_ANDROID, agents.SAFARI_IPAD]
REFERRERS = [None, "https://t.co/x", "https://news.example/a", "https://www.google.com/"]
UTMS = [None, "mastodon", "newsletter", "=cmd"]
COUNTRIES = {"192.0.2.1": "FR", "192.0.2.2": "DE", "192.0.2.3": None}


def random_hits(rng: random.Random, link_ids: list[int], n: int) -> list[Hit]:
    hits = []
    for _ in range(n):
        utm = (rng.choice(UTMS), rng.choice(UTMS), rng.choice(UTMS))
        hits.append(
            Hit(
                "click",
                rng.choice(link_ids),
                START + timedelta(minutes=rng.randrange(60 * 24 * 20)),
                uid=secrets.token_hex(16),
                ip=rng.choice(list(COUNTRIES)),
                user_agent=rng.choice(AGENTS),
                referrer=rng.choice(REFERRERS),
                utm=utm,
                dnt=rng.random() < 0.1,
            )
        )
    return hits


def write(conn, hits, confirmations=(), *, day_salts=False):
    return write_batch(
        conn,
        hits,
        list(confirmations),
        salt_for=lambda day: day.encode() if day_salts else b"salt",
        country_for=COUNTRIES.get,
        own_host="s.example",
        now=START + timedelta(days=30),
    )


def seed(db, make_link, seed_value: int) -> tuple[list[int], list[Hit]]:
    rng = random.Random(seed_value)
    ids = [make_link().id for _ in range(4)]
    hits = random_hits(rng, ids, 600)
    with db.begin() as conn:
        for i in range(0, len(hits), 100):  # several batches: rollup rows are added to
            write(conn, hits[i : i + 100])
        confirm = [Confirmation(h.uid or "", h.link_id, h.ts) for h in rng.sample(hits, 150)]
        write(conn, [], confirm)
        write(conn, [], confirm[:20])  # replays count once
    return ids, hits


def raw_counts(conn, start, end, link_id=None):
    query = select(clicks).where(clicks.c.ts >= start, clicks.c.ts < end)
    if link_id is not None:
        query = query.where(clicks.c.link_id == link_id)
    found = conn.execute(query).all()
    return {
        name: Counter(getattr(row, column.name) for row in found)
        for name, column in stats.TOP_COLUMNS.items()
    }, len(found)


def test_rollups_equal_a_count_over_raw_clicks_for_random_data(db, make_link):
    ids, _ = seed(db, make_link, 13)
    rng = random.Random(7)
    with db.connect() as conn:
        for _ in range(6):
            tz = zone(rng.choice(["UTC", "Europe/Paris", "America/New_York"]))
            first = START + timedelta(hours=rng.randrange(24 * 10))
            last = first + timedelta(hours=rng.randrange(1, 24 * 12))
            period = make_period("day", tz, start=first, end=last, now=last)
            link_id = rng.choice([None, *ids])
            found = stats.stats(conn, period, link_id=link_id, top=100)
            expected, n = raw_counts(conn, period.start, period.end, link_id)
            assert found["totals"]["clicks"] == n
            for name in stats.TOP_COLUMNS:
                got = {row["value"]: row["clicks"] for row in found["top"][name]}
                assert got == dict(expected[name]), name
                assert sum(got.values()) == n  # top lists add up to the total
        rollup_confirmed = conn.execute(select(click_rollups.c.confirmed)).scalars().all()
        raw_confirmed = conn.execute(select(clicks).where(clicks.c.confirmed_at.is_not(None)))
        assert sum(rollup_confirmed) == len(raw_confirmed.all()) == 150


def test_the_migration_fill_rebuilds_the_rollups_the_writer_kept(db, make_link):
    seed(db, make_link, 42)
    columns = ["link_id", "hour", "combo", *DIMENSIONS, "clicks", "confirmed"]
    query = select(*(click_rollups.c[c] for c in columns)).order_by(
        click_rollups.c.link_id, click_rollups.c.hour, click_rollups.c.combo
    )
    with db.begin() as conn:
        kept = conn.execute(query).all()
        added = fill_from_clicks(conn, batch=37)
        rebuilt = conn.execute(query).all()
    assert added == len(kept) > 100
    assert rebuilt == kept


def test_top_lists_survive_a_purge_of_raw_clicks(db, make_link):
    ids, _ = seed(db, make_link, 5)
    period = make_period(
        "week", zone("UTC"), start=START, end=START + timedelta(days=21), now=START
    )
    with db.begin() as conn:
        before = stats.stats(conn, period, top=100)
        assert purge_before(conn, START + timedelta(days=60))[0] == 600
        assert conn.execute(select(clicks.c.id)).first() is None
        after = stats.stats(conn, period, top=100)
    assert after["top"] == before["top"]
    assert sum(row["clicks"] for row in after["top"]["referrers"]) == 600


def test_a_day_row_another_instance_makes_meanwhile_gets_both_counts(db, make_link):
    """Two instances store a link's first clicks of the day at once: the second does not see
    the first's row when it looks (not committed yet), so its insert waits, then does nothing;
    its counts are then added to that row, not lost."""
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    link = make_link()
    key = (link.id, "d", START)
    with db.connect() as first:
        first.begin()
        add_link_values(first, {key: {"browser": {"Firefox": 2}}})  # inserted, not committed

        def other() -> None:
            with db.begin() as conn:
                add_link_values(conn, {key: {"browser": {"Firefox": 3, "Safari": 1}}})

        second = threading.Thread(target=other)
        second.start()
        waiting = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        deadline = time.monotonic() + 10
        with db.connect() as watch:  # until the other's insert waits for this transaction
            while not watch.execute(text(waiting)).scalar() and time.monotonic() < deadline:
                time.sleep(0.02)
        first.commit()
    second.join(10)
    assert not second.is_alive()
    with db.connect() as conn:
        stored = conn.execute(select(link_values.c.counts).where(link_values.c.link_id == link.id))
        assert [json.loads(counts) for (counts,) in stored] == [
            {"browser": {"Firefox": 5, "Safari": 1}}
        ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0005_fills_the_rollups_from_stored_clicks(backend, tmp_path, request):
    from balise.db import make_engine, upgrade
    from balise.db.tables import links
    from tests.databases import scratch_database

    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path}/m.db", None
    else:
        url, drop = scratch_database(request.getfixturevalue("postgres_url"), "balise_m5")
    engine = make_engine(url)
    try:
        upgrade(engine, "0004_sessions")
        moment = START + timedelta(minutes=7)
        with engine.begin() as conn:
            conn.execute(
                insert(links),
                [{"id": 1, "slug": "abc", "slug_key": "abc", "url": "https://e.org/",
                  "url_key": "k", "reading_delay": False, "disabled": False, "version": 1,
                  "created_at": START, "updated_at": START}],
            )  # fmt: skip
            conn.execute(
                insert(clicks),
                [{"uid": f"u{i}", "link_id": 1, "ts": moment, "dnt": False,
                  "referrer_host": "t.co" if i % 2 else None,
                  "confirmed_at": moment if i == 0 else None} for i in range(5)],
            )  # fmt: skip
        upgrade(engine)
        with engine.connect() as conn:
            found = conn.execute(
                select(click_rollups.c.referrer_host, click_rollups.c.clicks,
                       click_rollups.c.confirmed, click_rollups.c.hour)
                .order_by(click_rollups.c.referrer_host)
            ).all()  # fmt: skip
        assert [tuple(r[:3]) for r in found] == [("", 3, 1), ("t.co", 2, 0)]
        assert {r.hour for r in found} == {START}
    finally:
        engine.dispose()
        if drop:
            drop()
