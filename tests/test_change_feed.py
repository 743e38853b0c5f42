"""The change feed of links (db/changes.py, links/feed.py) on real SQLite and PostgreSQL.

A cache here is the real LinkCache with a TTL of an hour and a loader reading the database,
as an instance's slug cache would: only the feed can explain a change it serves.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select, update

from balise.db import changes, make_engine, upgrade
from balise.db.outage import DatabaseStatus
from balise.db.tables import link_changes, links
from balise.links import feed as feed_module
from balise.links import store
from balise.links.cache import LinkCache
from balise.links.feed import ChangeFeed
from tests.conftest import BASE_URL
from tests.databases import scratch_database
from tests.tcp_proxy import TcpProxy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_of(engine: Engine) -> LinkCache[str]:
    """An hour-long cache of each slug's target (None: unknown), read from `engine`."""

    def load(key: str) -> str | None:
        with engine.connect() as conn:
            link = store.get_link_by_slug(conn, key)
        return None if link is None else link.url

    return LinkCache(load, ttl=3600, refresh_ahead=False)


@pytest.fixture
def cache(db):
    """An hour-long cache of `db`'s links, closed after the test."""
    made = cache_of(db)
    yield made
    made.close()


def create(engine: Engine, slug: str, url: str) -> store.Link:
    with engine.begin() as conn:
        return store.create_link(conn, {"url": url, "slug": slug}, base_url=BASE_URL)


def edit(engine: Engine, name: str, **changes_: object) -> None:
    with engine.begin() as conn:
        link = store.get_link_by_slug(conn, name)
        assert link is not None
        store.update_link(conn, link, changes_, base_url=BASE_URL)


def quietly(engine: Engine, slug: str, url: str) -> None:
    """Change a target behind Balise's back: no change recorded, as by hand in the database."""
    with engine.begin() as conn:
        conn.execute(update(links).where(links.c.slug_key == slug).values(url=url))


def recorded(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        query = select(link_changes.c.slug_key).order_by(link_changes.c.id)
        return list(conn.execute(query).scalars())


def test_a_change_is_recorded_in_its_transaction_once_per_slug(db):
    create(db, "first", "https://example.org/1")
    assert recorded(db) == ["first"]  # a creation: an instance may hold the slug as unknown
    with db.begin() as conn:
        link = store.get_link_by_slug(conn, "first")
        assert link is not None
        link = store.update_link(conn, link, {"url": "https://example.org/2"}, base_url=BASE_URL)
        store.update_link(conn, link, {"title": "Two"}, base_url=BASE_URL)
    assert recorded(db) == ["first", "first"]  # two edits, one transaction: one row
    edit(db, "first", slug="Renamed")  # both slugs: the old one must stop answering
    assert recorded(db) == ["first", "first", "first", "renamed"]
    with pytest.raises(RuntimeError), db.begin() as conn:
        link = store.get_link_by_slug(conn, "renamed")
        assert link is not None
        store.delete_link(conn, link)
        raise RuntimeError("rolled back")
    assert len(recorded(db)) == 4  # nothing committed, nothing recorded
    with db.begin() as conn:
        link = store.get_link_by_slug(conn, "renamed")
        assert link is not None
        store.delete_link(conn, link)
    assert recorded(db)[-1] == "renamed"


def test_every_change_committed_elsewhere_is_served_after_the_next_poll(db, cache):
    create(db, "kept", "https://example.org/old")
    create(db, "gone", "https://example.org/gone")
    feed = ChangeFeed(db, cache, 1.0)
    assert feed.poll()
    assert cache.get("kept") == "https://example.org/old"
    assert cache.get("gone") == "https://example.org/gone"
    assert cache.get("later") is None  # unknown, and held as unknown for the hour
    edit(db, "kept", url="https://example.org/new")
    with db.begin() as conn:
        link = store.get_link_by_slug(conn, "gone")
        assert link is not None
        store.delete_link(conn, link)
    create(db, "later", "https://example.org/later")
    # Nothing told the cache: it serves what it holds until it reads the feed.
    assert cache.get("kept") == "https://example.org/old"
    assert cache.get("later") is None
    assert feed.poll()
    assert cache.get("kept") == "https://example.org/new"
    assert cache.get("gone") is None
    assert cache.get("later") == "https://example.org/later"
    edit(db, "kept", slug="moved")
    assert feed.poll()
    assert cache.get("kept") is None
    assert cache.get("moved") == "https://example.org/new"


def test_entries_read_before_the_feed_could_be_read_are_checked_again_by_its_first_poll(
    db, tmp_path
):
    """The cache's first read waits for the feed's first poll (`ready`); when that poll fails,
    what the cache reads meanwhile may predate changes before the feed's end: the first poll
    that works has every entry checked again."""
    create(db, "early", "https://example.org/old")
    cache = cache_of(db)
    without_feed = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no link_changes table
    feed = ChangeFeed(without_feed, cache, 1.0)
    try:
        feed.ready()  # its poll fails; the cache reads all the same
        assert cache.get("early") == "https://example.org/old"
        quietly(db, "early", "https://example.org/new")  # only a check of everything shows it
        feed.engine = db  # the feed can be read again
        assert feed.poll()
        assert cache.get("early") == "https://example.org/new"
    finally:
        cache.close()
        without_feed.dispose()


def test_a_change_that_commits_after_a_later_one_was_read_is_not_missed(db, cache):
    """PostgreSQL hands out ids as rows are written: a lower id may commit after a higher one
    was read. The feed asks again for the ids it has not seen."""
    if db.dialect.name == "sqlite":
        pytest.skip("SQLite writers take turns: ids commit in their order")
    create(db, "slow", "https://example.org/slow-old")
    create(db, "fast", "https://example.org/fast-old")
    feed = ChangeFeed(db, cache, 1.0)
    assert feed.poll()
    assert cache.get("slow") == "https://example.org/slow-old"
    with db.connect() as slow:
        transaction = slow.begin()
        link = store.get_link_by_slug(slow, "slow")
        assert link is not None
        store.update_link(slow, link, {"url": "https://example.org/slow-new"}, base_url=BASE_URL)
        edit(db, "fast", url="https://example.org/fast-new")  # a higher id, committed first
        assert feed.poll()
        assert cache.get("fast") == "https://example.org/fast-new"
        assert cache.get("slow") == "https://example.org/slow-old"  # not committed yet
        transaction.commit()
    assert feed.poll()
    assert cache.get("slow") == "https://example.org/slow-new"


def test_an_id_that_never_commits_has_every_entry_checked_again_after_the_wait(db, cache):
    """A gap may be a rollback or a transaction still open; once it has been open longer than
    any Balise transaction (GAP_WAIT), every entry is checked rather than trusted."""
    if db.dialect.name == "sqlite":
        pytest.skip("SQLite writers take turns: a rollback leaves no gap")
    create(db, "quiet", "https://example.org/one")
    create(db, "other", "https://example.org/other")
    clock = Clock()
    feed = ChangeFeed(db, cache, 1.0, clock=clock)
    assert feed.poll()
    assert cache.get("quiet") == "https://example.org/one"
    with pytest.raises(RuntimeError), db.begin() as conn:
        changes.mark_changed(conn, "other")  # takes an id, then rolls back
        raise RuntimeError("rolled back")
    edit(db, "other", url="https://example.org/other-new")
    quietly(db, "quiet", "https://example.org/two")
    assert feed.poll()
    clock.now += feed_module.GAP_WAIT / 2
    assert feed.poll()
    assert cache.get("quiet") == "https://example.org/one"  # the gap is still waited for
    clock.now += feed_module.GAP_WAIT
    assert feed.poll()
    assert cache.get("quiet") == "https://example.org/two"


def test_old_changes_are_pruned_and_ids_never_come_back(db, cache):
    create(db, "kept", "https://example.org/1")
    feed = ChangeFeed(db, cache, 1.0)
    assert feed.poll()
    assert cache.get("kept") == "https://example.org/1"
    old = datetime.now(timezone.utc) - timedelta(seconds=feed_module.KEEP + 60)
    with db.begin() as conn:  # every row so far is older than the feed keeps
        conn.execute(update(link_changes).values(changed_at=old))
    edit(db, "kept", url="https://example.org/2")  # a recent one
    assert cache.get("kept") == "https://example.org/1"
    assert ChangeFeed(db, cache_of(db), 1.0).poll()  # a new instance prunes on its first poll
    assert recorded(db) == ["kept"]
    assert feed.poll()
    assert cache.get("kept") == "https://example.org/2"
    with db.begin() as conn:  # now every row is old: the table ends empty
        conn.execute(update(link_changes).values(changed_at=old))
    assert ChangeFeed(db, cache_of(db), 1.0).poll()
    assert recorded(db) == []
    edit(db, "kept", url="https://example.org/3")  # a new id above every one read
    assert feed.poll()
    assert cache.get("kept") == "https://example.org/3"


def test_a_feed_that_could_not_be_read_catches_up_and_after_a_long_gap_checks_everything(
    postgres_url,
):
    """The database away: entries are served as they are (the outage rules); back, the feed
    resumes where it stopped; after a gap longer than the feed's rows may be kept, every
    entry is checked again, since the rows not read may be gone."""
    url, drop = scratch_database(postgres_url, "balise_feed")
    direct = make_engine(url)
    upgrade(direct)
    proxy, proxied = TcpProxy.in_front_of(url)
    engine = make_engine(proxied)
    database = DatabaseStatus(engine)
    clock = Clock()
    create(direct, "away", "https://example.org/before")
    create(direct, "hand", "https://example.org/hand-before")
    cache = cache_of(direct)
    feed = ChangeFeed(engine, cache, 1.0, outage=database, clock=clock)
    try:
        assert feed.poll()
        assert cache.get("away") == "https://example.org/before"
        assert cache.get("hand") == "https://example.org/hand-before"
        proxy.cut()
        edit(direct, "away", url="https://example.org/during")
        assert not feed.poll()
        assert not feed.poll()  # known to be away: not even tried
        assert cache.get("away") == "https://example.org/before"
        proxy.restore()
        deadline = time.monotonic() + 15
        while not feed.poll() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert cache.get("away") == "https://example.org/during"
        quietly(direct, "hand", "https://example.org/hand-after")
        proxy.cut()
        clock.now += feed_module.KEEP / 2 + 1
        assert not feed.poll()
        proxy.restore()
        deadline = time.monotonic() + 15
        while not feed.poll() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert cache.get("hand") == "https://example.org/hand-after"
    finally:
        cache.close()
        database.close()
        engine.dispose()
        proxy.close()
        direct.dispose()
        drop()


def test_a_slug_marked_twice_in_one_transaction_in_any_case_is_one_row(db):
    with db.begin() as conn:
        for i in range(5):
            store.create_link(
                conn, {"url": f"https://example.org/{i}", "slug": f"bulk{i}"}, base_url=BASE_URL
            )
            changes.mark_changed(conn, f"BULK{i}")  # the same slug in another case: no new row
    with db.connect() as conn:
        count = conn.execute(select(func.count()).select_from(link_changes)).scalar_one()
    assert count == 5


def test_a_change_marked_before_any_statement_is_recorded_in_every_unit_of_work(db):
    """The marks live on the pooled connection: a unit of work whose first statement is the
    mark (no transaction yet) must not take an earlier one's record for its own."""
    for _ in range(3):
        with db.connect() as conn:
            changes.mark_changed(conn, "first-statement")
            conn.commit()
    assert recorded(db) == ["first-statement"] * 3
