"""Daily salts: shared by every instance, rotated each UTC day, never made again once gone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from balise.analytics.visitors import SaltStore, visitor_hash
from balise.db.tables import visitor_salts
from tests.clickutil import rows

MORNING = datetime(2026, 4, 2, 9, 0, tzinfo=timezone.utc)


def store(db):
    return SaltStore(db.begin)


def test_two_instances_share_the_days_salt(db):
    first, second = store(db), store(db)
    assert first.salt_for("2026-04-02", MORNING) == second.salt_for("2026-04-02", MORNING)
    assert len(rows(db, visitor_salts)) == 1


def test_a_new_day_deletes_past_salts_and_a_past_salt_is_never_made_again(db):
    instance = store(db)
    yesterday = instance.salt_for("2026-04-02", MORNING)
    after_midnight = datetime(2026, 4, 3, 0, 1, tzinfo=timezone.utc)
    today = instance.salt_for("2026-04-03", after_midnight)
    assert today != yesterday
    assert [r["day"] for r in rows(db, visitor_salts)] == ["2026-04-03"]
    # A click of yesterday still in the buffer just after midnight keeps yesterday's salt...
    assert instance.salt_for("2026-04-02", after_midnight) == yesterday
    # ...but no instance can get it back from storage, nor a new one for that day.
    assert store(db).salt_for("2026-04-02", after_midnight) is None
    later = after_midnight + timedelta(hours=1)
    assert instance.salt_for("2026-04-02", later) is None  # forgotten in memory too
    assert [r["day"] for r in rows(db, visitor_salts)] == ["2026-04-03"]


def test_visitor_hash_depends_on_salt_address_and_agent():
    salt, other = b"a" * 32, b"b" * 32
    base = visitor_hash(salt, "192.0.2.1", "UA")
    assert len(base) == 32 and int(base, 16) >= 0
    assert visitor_hash(salt, "192.0.2.1", "UA") == base
    assert visitor_hash(other, "192.0.2.1", "UA") != base
    assert visitor_hash(salt, "192.0.2.2", "UA") != base
    assert visitor_hash(salt, "192.0.2.1", "UB") != base


def test_tomorrows_salt_is_ready_in_the_last_hour_and_shared(db):
    instance = store(db)
    instance.prepare(datetime(2026, 4, 2, 23, 30, tzinfo=timezone.utc))
    assert [r["day"] for r in rows(db, visitor_salts)] == ["2026-04-02", "2026-04-03"]
    midnight = datetime(2026, 4, 3, 0, 0, 1, tzinfo=timezone.utc)
    other = store(db)
    assert other.salt_for("2026-04-03", midnight) == instance.salt_for("2026-04-03", midnight)
    assert [r["day"] for r in rows(db, visitor_salts)] == ["2026-04-03"]
