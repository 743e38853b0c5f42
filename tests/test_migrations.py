"""Migrations: one path for every backend, safe when instances start together."""

from __future__ import annotations

import threading

from sqlalchemy import inspect, text

from balise.db import make_engine, upgrade
from balise.db.migrate import current
from balise.db.tables import metadata
from tests.databases import scratch_database


def test_upgrade_creates_every_table_and_is_idempotent(db):
    upgrade(db)  # already at head: nothing to do, no error
    assert current(db) is not None
    assert set(metadata.tables) <= set(inspect(db).get_table_names())


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_instances_starting_together_on_postgres_migrate_once(postgres_url):
    url, drop = scratch_database(postgres_url, "balise_race")
    engines = [make_engine(url) for _ in range(3)]
    errors: list[BaseException] = []

    def run(engine):
        try:
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert current(engines[0]) is not None
    finally:
        for engine in engines:
            engine.dispose()
        drop()


def test_the_schema_the_migrations_build_is_the_one_the_code_declares(db):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
