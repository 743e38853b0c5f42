"""The recorder under stress: back-pressure, database failures, shutdown, retention."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, text

from balise import create_app
from balise.analytics.clicks import Confirmation, Hit
from balise.analytics.recorder import Recorder
from balise.db.tables import clicks, daily_visitors, hourly_counts, links, robot_hits
from tests.agents import FIREFOX_DESKTOP
from tests.clickutil import flushed, recorder, rows

NOW = datetime.now(timezone.utc)


def a_click(link_id, ts=None, **fields):
    fields.setdefault("uid", secrets.token_hex(16))
    return Hit(
        "click",
        link_id,
        ts or datetime.now(timezone.utc),
        ip="192.0.2.1",
        user_agent=FIREFOX_DESKTOP,
        **fields,
    )


def wait_until(condition, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@contextmanager
def write_lock(db):
    """Another connection holds the lock the writer needs, until the block ends."""
    conn = db.connect()
    try:
        conn.begin()
        if db.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE clicks IN EXCLUSIVE MODE"))
        else:
            conn.execute(text("UPDATE links SET title = title"))  # takes SQLite's write lock
        yield
    finally:
        conn.rollback()
        conn.close()


def test_a_full_buffer_makes_requests_wait_and_drops_nothing(settings, make_link, db):
    link = make_link()
    app = create_app({**settings, "CLICK_QUEUE_SIZE": 1, "CLICK_BATCH_SIZE": 1})
    rec = recorder(app)
    done = []

    def request():
        r = app.test_client().get(f"/{link.slug}", headers={"User-Agent": FIREFOX_DESKTOP})
        done.append(r.status_code)

    try:
        with write_lock(db):
            request()  # the writer takes it and waits on the lock
            wait_until(lambda: rec.pending() == 0, "the writer to take the first click")
            request()  # fills the buffer
            blocked = threading.Thread(target=request)
            blocked.start()
            blocked.join(0.5)
            assert blocked.is_alive(), "the request should wait while the buffer is full"
            assert done == [200, 200] and rec.pending() == 1
        blocked.join(30)
        assert done == [200, 200, 200]
        flushed(app)
        assert len(rows(db, clicks)) == 3
    finally:
        app.extensions["balise"].shutdown()


def test_a_failed_flush_is_retried_and_loses_nothing(db, make_link, caplog):
    link = make_link()
    rec = Recorder(db, lock_timeout=0.1, retry_base=0.05, retry_max=0.2, flush_interval=0.01)
    rec.start()
    caplog.set_level(logging.WARNING, logger="balise.recorder")
    try:
        with write_lock(db):
            for _ in range(20):
                rec.record(a_click(link.id))
            wait_until(lambda: "retry" in caplog.text, "a failed flush to be logged")
        assert rec.flush(30)
    finally:
        rec.close()
    assert len(rows(db, clicks)) == 20
    assert sum(r["clicks"] for r in rows(db, hourly_counts)) == 20
    assert any("storing" in r.message and "failed" in r.message for r in caplog.records)


def test_close_stores_everything_still_buffered(db, make_link):
    link = make_link()
    rec = Recorder(db, flush_interval=3600, batch_size=100_000)
    rec.start()
    for _ in range(1000):
        rec.record(a_click(link.id))
    rec.close()
    assert len(rows(db, clicks)) == 1000
    rec.record(a_click(link.id))  # after close: stored at once, not lost
    assert len(rows(db, clicks)) == 1001


def test_a_row_the_database_refuses_is_isolated_and_the_rest_stored(db, make_link, caplog):
    link = make_link()
    rec = Recorder(db, flush_interval=3600, batch_size=100_000)
    rec.start()
    for i in range(7):
        rec.record(a_click(link.id, uid=None if i == 3 else secrets.token_hex(16)))
    rec.close()
    assert len(rows(db, clicks)) == 6
    assert "dropping one" in caplog.text


def test_hits_of_a_link_deleted_meanwhile_are_dropped_quietly(db, make_link):
    kept, deleted = make_link(), make_link()
    rec = Recorder(db, flush_interval=3600, batch_size=100_000)
    rec.start()
    rec.record(a_click(kept.id))
    rec.record(a_click(deleted.id))
    with db.begin() as conn:
        conn.execute(delete(links).where(links.c.id == deleted.id))
    rec.close()
    assert [c["link_id"] for c in rows(db, clicks)] == [kept.id]


def test_a_confirmation_that_arrives_before_its_click_is_stored_waits_for_it(db, make_link):
    """Behind a load balancer the beacon may reach another instance than the click."""
    link = make_link()
    click = a_click(link.id)
    first = Recorder(db, flush_interval=0.01).start()
    second = Recorder(db, flush_interval=0.01).start()
    try:
        first.confirm(Confirmation(click.uid, link.id, click.ts))
        assert first.flush(30)
        second.record(click)
        assert second.flush(30)
        wait_until(lambda: rows(db, clicks)[0]["confirmed_at"] is not None, "the confirmation")
    finally:
        first.close()
        second.close()
    assert sum(r["confirmed"] for r in rows(db, hourly_counts)) == 1


def test_retention_deletes_old_raw_clicks_and_keeps_counts_and_visitors(db, make_link):
    link = make_link()
    old = NOW - timedelta(days=400)
    rec = Recorder(db, retention_days=395, flush_interval=0.01, clock=lambda: old)
    rec.start()
    rec.record(a_click(link.id, ts=old))
    rec.record(Hit("bot", link.id, old, agent="Twitterbot"))
    assert rec.flush(30)
    rec.clock = lambda: NOW
    rec.record(a_click(link.id, ts=NOW))
    assert rec.flush(30)
    assert rec.purge(NOW) == (1, 1)
    rec.close()
    assert [c["ts"] for c in rows(db, clicks)] == [rows(db, clicks)[0]["ts"]]
    assert rows(db, clicks)[0]["ts"] > old
    assert rows(db, robot_hits) == []
    assert sum(r["clicks"] for r in rows(db, hourly_counts)) == 2
    assert len(rows(db, daily_visitors)) == 2


def test_the_writer_runs_the_retention_purge_by_itself(db, make_link):
    link = make_link()
    rec = Recorder(db, retention_days=30, first_purge_after=0.2, flush_interval=0.01)
    rec.start()
    try:
        rec.record(a_click(link.id, ts=NOW - timedelta(days=31)))
        assert rec.flush(30)
        wait_until(lambda: rows(db, clicks) == [], "the daily purge")
    finally:
        rec.close()


def test_a_writer_that_falls_behind_stores_bigger_batches_to_catch_up(db, make_link):
    """Clicks pile up (here: before the writer starts) beyond two batches: the writer takes
    up to five batches' worth in one transaction, so each link's counter rows are written
    once for more clicks; keeping up, it stores batches of BALISE_CLICK_BATCH_SIZE."""
    link = make_link()
    rec = Recorder(db, flush_interval=3600, batch_size=10)
    stored: list[int] = []
    commit = rec.store.commit
    rec.store.commit = lambda batch: (stored.append(len(batch)), commit(batch))[1]  # type: ignore[method-assign]
    for _ in range(120):
        rec.record(a_click(link.id))
    rec.start()
    try:
        assert rec.flush(30)
        behind = [size for size in stored if size]
        stored.clear()
        for _ in range(20):  # two batches: not behind
            rec.record(a_click(link.id))
        assert rec.flush(30)
        keeping_up = [size for size in stored if size]
    finally:
        rec.close()
    assert behind == [50, 50, 10, 10]  # 120 waiting: 50; 70: 50; 20 (two batches): 10, 10
    assert keeping_up == [10, 10]
    assert len(rows(db, clicks)) == 140
    assert sum(r["clicks"] for r in rows(db, hourly_counts)) == 140
