"""Unique visitors per dimension value (referrer host, country, UTM value...), per UTC day.

A visitor hash lives one UTC day, so the distinct visitors who clicked with one value, summed
over days, is exact for that value over any range of whole days: `site_values.visitors` keeps
it per day and month. The batch writer counts a visitor once per day and value: for the
browser, OS, device and country (functions of what the hash is made of) when it is new to the
day across links (`site_visitors`); for the referrer and UTM values with `value_visitors`, one
row per visitor of today and yesterday holding the values it clicked with.
What filtered all-links statistics read instead of raw clicks (uniques.py). Owns
`value_visitors`; adds to `site_values.visitors`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from balise.analytics.rollups import DIMENSIONS
from balise.db.dialect import insert
from balise.db.pyramid import bucket
from balise.db.tables import clicks, site_values, value_visitors

UTC = timezone.utc
# Functions of a visitor hash's address and user agent (one value per visitor and day), and
# the dimensions a visitor may click with several values of in one day.
FIXED = ("browser", "os", "device", "country")
VARYING = tuple(d for d in DIMENSIONS if d not in FIXED)
SEP = "\x1f"  # stored text never holds it (rollups.combo)


def count(
    conn: Connection, rows: Iterable[Mapping[str, Any]], new_site: set[tuple[str, str]]
) -> None:
    """Count the visitors of these click rows (ts, visitor_hash, DIMENSIONS) new to their day
    and value, in the batch writer's transaction. `new_site`: the (day, visitor hash) pairs new
    across links this batch (clicks.count_visitors): a visitor's browser, OS, device and
    country follow from the address and user agent its hash is made of, so it is new to those
    values exactly when it is new to the day. The referrer and UTM values a visitor clicked
    with are kept in one value_visitors row per visitor and day: inserted for a visitor new to
    the day (all its values are new), else read under a row lock and extended."""
    new: Counter[tuple[str, str, str]] = Counter()
    seen: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row.get("visitor_hash"):
            day = row["ts"].astimezone(UTC).date().isoformat()
            visitor = (day, row["visitor_hash"])
            if visitor in new_site and visitor not in seen:
                for dim in FIXED:
                    new[(day, dim, row.get(dim) or "")] += 1
            values = seen.setdefault(visitor, set())
            values.update(f"{i}{row.get(dim) or ''}" for i, dim in enumerate(VARYING))
    if not seen:
        return
    v = value_visitors.c
    stmt = insert(conn, value_visitors).on_conflict_do_nothing().returning(v.day, v.visitor_hash)
    made = [
        {"day": k[0], "visitor_hash": k[1], "seen": SEP.join(sorted(seen[k]))} for k in sorted(seen)
    ]
    inserted = {(r[0], r[1]) for r in conn.execute(stmt, made)}
    changed = []
    known = sorted(set(seen) - inserted)
    for first in range(0, len(known), 500):
        part = known[first : first + 500]
        days, hashes = sorted({k[0] for k in part}), [k[1] for k in part]
        found = conn.execute(
            select(v.day, v.visitor_hash, v.seen)
            .where(v.day.in_(days), v.visitor_hash.in_(hashes))
            .order_by(v.day, v.visitor_hash)
            .with_for_update()
        )
        for day, hash_, text in found:
            if (day, hash_) in inserted or (day, hash_) not in seen:
                continue
            stored = set(text.split(SEP))
            added = seen[(day, hash_)] - stored
            seen[(day, hash_)] = added  # only what is new counts
            if added:
                merged = SEP.join(sorted(stored | added))
                changed.append({"k_day": day, "k_hash": hash_, "seen": merged})
    for (day, _), entries in seen.items():
        for entry in entries:
            new[(day, VARYING[int(entry[0])], entry[1:])] += 1
    if changed:
        conn.execute(
            update(value_visitors)
            .where(v.day == bindparam("k_day"), v.visitor_hash == bindparam("k_hash"))
            .values(seen=bindparam("seen")),
            changed,
        )
    add(conn, new)


def add(conn: Connection, new: Mapping[tuple[str, str, str], int]) -> None:
    """Add visitors per (day, dimension, value) to the day and month rows of site_values."""
    merged: Counter[tuple[str, str, datetime, str]] = Counter()
    for (day, dim, value), n in new.items():
        noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
        for level in ("d", "m"):
            merged[(dim, level, bucket(noon, level), value)] += n
    if not merged:
        return
    keys = ("dim", "level", "start", "value")
    rows = [
        {**dict(zip(keys, k, strict=True)), "clicks": 0, "visitors": n}
        for k, n in sorted(merged.items())
    ]
    stmt = insert(conn, site_values)
    added = site_values.c.visitors + stmt.excluded.visitors
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={"visitors": added})
    conn.execute(stmt, rows)


def forget_before(conn: Connection, now: datetime) -> None:
    """Hashes of days before yesterday cannot click again (their hash was of their day)."""
    yesterday = (now - timedelta(days=1)).astimezone(UTC).date().isoformat()
    conn.execute(delete(value_visitors).where(value_visitors.c.day < yesterday))


def fill(conn: Connection, now: datetime | None = None) -> None:
    """Count each day's visitors per value from the raw clicks still kept (migration 0011):
    days whose clicks were purged before it ran stay at 0. Today's and yesterday's hashes are
    kept in value_visitors."""
    conn.execute(site_values.update().values(visitors=0))
    conn.execute(value_visitors.delete())
    day = _day(conn)
    for dim in DIMENSIONS:
        value = func.coalesce(clicks.c[dim], "")
        query = (
            select(day, value, func.count(func.distinct(clicks.c.visitor_hash)))
            .where(clicks.c.visitor_hash.is_not(None))
            .group_by(day, value)
        )
        add(conn, {(d, dim, v): int(n) for d, v, n in conn.execute(query)})
    since = ((now or datetime.now(UTC)) - timedelta(days=1)).date().isoformat()
    recent = (
        select(day, clicks.c.visitor_hash, *(clicks.c[d] for d in VARYING))
        .where(clicks.c.visitor_hash.is_not(None), day >= since)
        .distinct()
    )
    kept: dict[tuple[str, str], set[str]] = {}
    for row in conn.execute(recent):
        values = kept.setdefault((row[0], row[1]), set())
        values.update(f"{i}{row[2 + i] or ''}" for i in range(len(VARYING)))
    if kept:
        conn.execute(
            value_visitors.insert(),
            [{"day": k[0], "visitor_hash": k[1], "seen": SEP.join(sorted(s))}
             for k, s in sorted(kept.items())],
        )  # fmt: skip


def _day(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", clicks.c.ts), "YYYY-MM-DD")
    return func.substr(clicks.c.ts, 1, 10)
