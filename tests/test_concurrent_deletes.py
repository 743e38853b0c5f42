"""Writes racing a link's deletion answer 404, not 500 (found by the API fuzzer, issue 11).

A summary saved, a link changed or a preview view counted while another request deletes the
link used to fail on a foreign key (or deadlock on PostgreSQL) and answer 500.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from balise.db.tables import hourly_counts, link_tags, summaries
from balise.errors import NotFound
from balise.links import store as links
from balise.summaries import store as summary_store

SUMMARY = {"title": "Un titre", "teaser": "Une phrase."}


def count(db, table) -> int:
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def deleted_elsewhere(db, link: links.Link) -> None:
    with db.begin() as conn:
        links.delete_link(conn, link)


def test_saving_a_summary_of_a_link_deleted_meanwhile_is_not_found(db, make_link):
    link = make_link(slug="arbres")  # read before the delete, as a request would have
    deleted_elsewhere(db, link)
    with pytest.raises(NotFound), db.begin() as conn:
        summary_store.save_summary(conn, link, SUMMARY)
    assert count(db, summaries) == 0


def test_changing_a_link_deleted_meanwhile_is_not_found(db, make_link):
    link = make_link(slug="arbres")
    deleted_elsewhere(db, link)
    with pytest.raises(NotFound), db.begin() as conn:
        links.update_link(conn, link, {"tags": ["a"]}, base_url="https://s.test")
    assert count(db, link_tags) == 0


def _while_deleting(db, link: links.Link, request: Callable[[], Any]) -> Any:
    """Send `request` while another transaction deletes `link`; commit once it waits on it."""
    answer: dict[str, Any] = {}
    with db.connect() as deleting:
        deleting.begin()
        links.delete_link(deleting, link)
        thread = threading.Thread(target=lambda: answer.update(r=request()))
        thread.start()
        _wait_for_a_lock_wait(db)
        deleting.commit()
    thread.join(30)
    return answer["r"]


def _wait_for_a_lock_wait(db, deadline: float = 20.0) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    give_up = time.monotonic() + deadline
    # PostgreSQL reads pg_stat_activity once per transaction: each poll ends its own, or a
    # poll that ran before the other side began to wait would see nothing until the deadline.
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while conn.execute(query).scalar_one() == 0:
            assert time.monotonic() < give_up, "the request never waited on the deletion"
            time.sleep(0.01)


@pytest.fixture
def postgresql(db):
    if db.dialect.name != "postgresql":
        pytest.skip("row locks and lock waits are PostgreSQL's; SQLite runs the tests above")
    return db


def test_a_summary_written_during_the_delete_answers_404(
    postgresql, client, make_link, editor_headers
):
    link = make_link(slug="arbres")
    r = _while_deleting(
        postgresql,
        link,
        lambda: client.put("/api/v1/links/arbres/summary", json=SUMMARY, headers=editor_headers),
    )
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    assert count(postgresql, summaries) == 0


def test_a_look_up_answered_during_the_delete_answers_404(postgresql, client, make_link):
    link = make_link(slug="arbres")
    with postgresql.begin() as conn:
        summary_store.save_summary(conn, link, SUMMARY)
    r = _while_deleting(
        postgresql, link, lambda: client.get("/api/v1/summaries?url=https://s.test/arbres")
    )
    assert r.status_code == 404
    assert count(postgresql, hourly_counts) == 0
