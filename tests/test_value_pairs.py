"""Clicks per pair of values and per link and value (value_pairs, value_links): equal to a
count over raw clicks, rebuilt by the migration's fill, and every all-links answer under a
filter on one or two dimensions exact."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from balise.analytics import stats, valuepairs
from balise.analytics.filters import Filters
from balise.analytics.periods import make_period, zone
from balise.analytics.recorder import Recorder
from balise.analytics.rollups import DIMENSIONS
from balise.db.pyramid import bucket
from balise.db.tables import clicks, links, value_links, value_pairs
from balise.links import store
from tests.test_rollups import START, seed


def raw_rows(conn) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(select(clicks))]


def expected_pairs(rows) -> dict[tuple, tuple[int, int]]:
    found: dict[tuple, list[int]] = {}
    for row in rows:
        values = [row[d] or "" for d in DIMENSIONS]
        confirmed = 1 if row["confirmed_at"] is not None else 0
        for level in ("h", "d"):
            start = bucket(row["ts"], level)
            for i, dim in enumerate(DIMENSIONS):
                for j, other in enumerate(DIMENSIONS):
                    if level == "h" and i != j:
                        continue
                    key = (dim, values[i], level, start, other, values[j])
                    target = found.setdefault(key, [0, 0])
                    target[0] += 1
                    target[1] += confirmed
    return {k: (n, c) for k, (n, c) in found.items()}


def expected_links(rows) -> Counter:
    found: Counter = Counter()
    for row in rows:
        for dim in DIMENSIONS:
            if row[dim]:  # values only: clicks without one are read from click_rollups
                found[(dim, row[dim], "m", bucket(row["ts"], "m"), row["link_id"])] += 1
    return found


def stored_pairs(conn) -> dict[tuple, tuple[int, int]]:
    return {
        (r.dim, r.value, r.level, r.start, r.other, r.other_value): (r.clicks, r.confirmed)
        for r in conn.execute(select(value_pairs))
        if r.clicks or r.confirmed
    }


def stored_links(conn) -> Counter:
    return Counter(
        {
            (r.dim, r.value, r.level, r.start, r.link_id): r.clicks
            for r in conn.execute(select(value_links))
            if r.clicks
        }
    )


def test_pairs_and_link_values_equal_a_count_over_raw_clicks(db, make_link):
    seed(db, make_link, 21)
    with db.begin() as conn:
        rows = raw_rows(conn)
        assert stored_pairs(conn) == expected_pairs(rows)
        assert stored_links(conn) == expected_links(rows)
        # The migration's fill (from site_combos and click_rollups) rebuilds the same rows.
        valuepairs.fill(conn)
        assert stored_pairs(conn) == expected_pairs(rows)
        assert stored_links(conn) == expected_links(rows)


def test_a_deleted_link_leaves_the_pairs_and_its_values(db, make_link):
    ids, _ = seed(db, make_link, 8)
    with db.begin() as conn:
        link = store.get_link_by_id(conn, ids[0])
        assert link is not None
        store.delete_link(conn, link)
        rows = raw_rows(conn)
        assert {r["link_id"] for r in rows} == set(ids[1:])
        assert stored_pairs(conn) == expected_pairs(rows)
        assert stored_links(conn) == expected_links(rows)


def answer_from_raw(rows, period, dims):
    """Counters are kept per UTC hour: a click counts in the bucket its hour starts in (in a
    zone whose offset is not a whole hour too)."""
    kept = [
        r
        for r in rows
        if period.start <= bucket(r["ts"], "h") < period.end
        and all((r[d] or None) in values for d, values in dims)
    ]
    series = [[0, 0] for _ in period.starts]
    for r in kept:
        i = period.index(bucket(r["ts"], "h"))
        series[i][0] += 1
        series[i][1] += r["confirmed_at"] is not None
    lists = {
        name: Counter(r[column.name] for r in kept) for name, column in stats.TOP_COLUMNS.items()
    }
    per_link = Counter(r["link_id"] for r in kept)
    return len(kept), series, lists, per_link


def test_every_filtered_all_links_answer_is_exact(db, make_link):
    ids, _ = seed(db, make_link, 34)
    rng = random.Random(3)
    with db.connect() as conn:
        rows = raw_rows(conn)
        slugs = dict(conn.execute(select(links.c.id, links.c.slug)).all())
        seen = {d: sorted({r[d] for r in rows}, key=lambda v: v or "") for d in DIMENSIONS}
        for round_ in range(14):
            tz = zone(rng.choice(["UTC", "Europe/Paris", "Asia/Kolkata"]))
            first = START + timedelta(hours=rng.randrange(24 * 12))
            last = first + timedelta(hours=rng.randrange(1, 24 * 40))
            interval = rng.choice(["day", "week", "hour"] if last - first < timedelta(days=5)
                                  else ["day", "week"])  # fmt: skip
            period = make_period(interval, tz, start=first, end=last, now=last)
            chosen = rng.sample(DIMENSIONS, 1 if round_ % 2 else 2)
            dims = tuple((d, tuple(rng.sample(seen[d], rng.choice([1, 1, 2])))) for d in chosen)
            filters = Filters(dims)
            found = stats.stats(conn, period, top=100, filters=filters)
            n, series, lists, per_link = answer_from_raw(rows, period, dims)
            assert found["totals"]["clicks"] == n, dims
            assert [[p["clicks"], p["confirmed"]] for p in found["series"]] == series
            for name in stats.TOP_COLUMNS:
                got = {row["value"]: row["clicks"] for row in found["top"][name]}
                assert got == {k: v for k, v in lists[name].items() if v}, (name, dims)
            got_links = {row["value"]: row["clicks"] for row in found["top"]["links"]}
            assert got_links == {slugs[i]: v for i, v in per_link.items()}, dims
            # A top list of three keeps the three best links (ties: all tied with the third).
            best = stats.top_links(conn, period, 3, filters)
            ranked = sorted(per_link.values(), reverse=True)
            assert [row["clicks"] for row in best] == ranked[:3]


def test_the_writers_daily_turn_lets_sqlite_read_a_filters_series_along_its_index(db, make_link):
    """SQLite prefers value_pairs' covering primary key (every value of each day) to
    ix_value_pairs_other (the filter's own row per day) until it has planner statistics: the
    recorder's daily turn samples them. (PostgreSQL's autovacuum keeps its own statistics;
    there the index was chosen at 10 million clicks: README, Performance.)"""
    if db.dialect.name != "sqlite":
        pytest.skip("SQLite's planner statistics")
    seed(db, make_link, 5)
    filters = Filters((("referrer_host", ("t.co",)),))
    table, start, where = stats._filtered(filters)("d")
    query = select(start, func.sum(table.c.clicks)).where(where).group_by(start)
    sql = "EXPLAIN QUERY PLAN " + str(query.compile(db, compile_kwargs={"literal_binds": True}))

    def plan() -> str:
        with db.connect() as conn:
            return " ".join(str(row) for row in conn.exec_driver_sql(sql))

    with db.begin() as conn:  # as after writing clicks into a database migrated empty
        conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'value_pairs'")
    assert "ix_value_pairs_other" not in plan()
    Recorder(db, retention_days=0, clock=lambda: START).purge(START)
    assert "ix_value_pairs_other" in plan()
