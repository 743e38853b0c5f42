"""Which database errors are outages, 503 answers, and one log line each way (issue 11, 2).

Real errors only: a PostgreSQL server behind a proxy that the test cuts (tests/tcp_proxy.py),
a SQLite path that is a directory (cannot be opened, even as root), a held write lock.
"""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from balise import create_app
from balise.db import make_engine
from balise.db.outage import DatabaseStatus, unavailable, unreachable
from tests.tcp_proxy import TcpProxy
from tests.test_error_shape import assert_problem


def error_of(engine, sql: str = "SELECT 1") -> SQLAlchemyError:
    with pytest.raises(SQLAlchemyError) as caught, engine.connect() as conn:
        conn.execute(text(sql))
    return caught.value


@pytest.fixture
def away(db, tmp_path):
    """(database URL, cut, restore) of a database the test can take away and bring back."""
    if db.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path}", None, None  # a directory: SQLite cannot open it
        return
    proxy, url = TcpProxy.in_front_of(db.url.render_as_string(hide_password=False))
    try:
        yield url, proxy.cut, proxy.restore
    finally:
        proxy.close()


def test_refused_or_unopenable_databases_are_outages_and_bad_sql_is_not(db, away):
    url, cut, _restore = away
    engine = make_engine(url)
    try:
        if cut:
            cut()
        lost = error_of(engine)
        assert unreachable(lost) and unavailable(lost)
        wrong = error_of(db, "SELECT * FROM no_such_table")
        assert not unreachable(wrong) and not unavailable(wrong)
    finally:
        engine.dispose()


def test_a_held_write_lock_is_unavailable_but_not_an_outage(db):
    if db.dialect.name != "sqlite":
        pytest.skip("SQLite's lock; PostgreSQL waits for locks (lock_timeout is the recorder's)")
    with db.connect() as holder, db.connect() as writer:
        holder.exec_driver_sql("BEGIN IMMEDIATE")
        writer.exec_driver_sql("PRAGMA busy_timeout = 10")
        with pytest.raises(SQLAlchemyError) as caught:
            writer.execute(text("UPDATE links SET title = title"))
        holder.rollback()
    assert unavailable(caught.value) and not unreachable(caught.value)


def test_an_outage_is_logged_once_when_it_begins_and_once_when_it_ends(db, away, caplog):
    url, cut, restore = away
    if cut is None:
        pytest.skip("a SQLite directory never comes back; the PostgreSQL proxy does")
    engine = make_engine(url)
    status = DatabaseStatus(engine, stale_for=600)
    caplog.set_level(logging.WARNING, logger="balise.database")
    try:
        cut()
        for _ in range(5):
            assert status.failed(error_of(engine))
        assert status.down
        restore()
        deadline = time.monotonic() + 30
        while status.down:  # the probe finds it back within a second or so
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        status.close()
        engine.dispose()
    lines = [r.getMessage() for r in caplog.records if r.name == "balise.database"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("database unreachable (OperationalError: ")
    assert "cached links are served for up to 600 s more" in lines[0]
    assert lines[1].startswith("database reachable again after ")


def test_the_api_answers_503_with_retry_after_while_the_database_is_away(
    db, away, settings, viewer_headers, caplog
):
    url, cut, _restore = away
    app = create_app(settings | {"DATABASE_URL": url})
    try:
        if cut:
            cut()
        client = app.test_client()
        r = client.get("/api/v1/links", headers=viewer_headers)
        body = assert_problem(r, 503, "unavailable")
        assert "database" in body["detail"]
        assert int(r.headers["Retry-After"]) >= 5
        page = client.get("/some-slug", headers={"Accept-Language": "fr"})
        assert page.status_code == 503 and page.mimetype == "text/html"
        assert page.headers["Retry-After"] == "5"
        assert "Service momentanément indisponible" in page.get_data(as_text=True)
        assert client.get("/healthz").status_code == 503
    finally:
        app.extensions["balise"].shutdown()
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
