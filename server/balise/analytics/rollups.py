"""Click rollups: what every statistics answer reads instead of raw clicks.

`click_rollups` keeps per link and UTC hour one counter row per combination of dimensions, so
any filter stays exact. Beside it, a time pyramid (db/rollup_tables.py: rows per UTC hour, day
and month) whose size follows time and distinct values rather than clicks: per link and
site-wide clicks per dimension value (`link_values`, `site_values`), site-wide clicks per
combination (`site_combos`) and per pair of values (`value_pairs`, with `value_links`:
valuepairs.py), and (db/counters.py) per-link and site-wide counters. A value
absent from a click is stored as '' and read back as None. `add_clicks` runs in the batch
writer's transaction (clicks.py); `forget_link` takes a deleted link's clicks off the
site-wide rows; `fill_from_clicks` rebuilds click_rollups and backfill.py the pyramid from them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from balise.analytics import valuepairs
from balise.db import bulk
from balise.db.counters import add_periods, hour_of
from balise.db.dialect import insert
from balise.db.pyramid import bucket
from balise.db.tables import (
    click_rollups,
    clicks,
    hourly_counts,
    link_values,
    site_combos,
    site_values,
)

DIMENSIONS = (
    "referrer_host",
    "browser",
    "os",
    "device",
    "country",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
_COUNTS = ("clicks", "confirmed")
_COUNTERS = ("clicks", "confirmed", "bots", "prefetches", "preview_views")


def combo(values: Iterable[object]) -> str:
    """The key of a combination of dimension values (stored text never holds \\x1f)."""
    joined = "\x1f".join(str(v or "") for v in values)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def add_clicks(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Add clicks (and confirmations) to the rollups. Each item: link_id, ts, the DIMENSIONS,
    and optionally `clicks` / `confirmed` amounts (default: one click, not confirmed)."""
    merged: dict[tuple[int, datetime, str], dict[str, Any]] = {}
    for row in rows:
        values = {name: row.get(name) or "" for name in DIMENSIONS}
        key = (int(row["link_id"]), hour_of(row["ts"]), combo(values.values()))
        target = merged.setdefault(key, {**values, "clicks": 0, "confirmed": 0})
        target["clicks"] += int(row.get("clicks", 1))
        target["confirmed"] += int(row.get("confirmed", 0))
    if not merged:
        return
    values_list = [
        {"link_id": k[0], "hour": k[1], "combo": k[2], **v} for k, v in sorted(merged.items())
    ]
    bulk.upsert(conn, click_rollups, ["link_id", "hour", "combo"], _COUNTS, values_list)
    add_to_pyramid(conn, values_list)


def add_to_pyramid(conn: Connection, rows: list[dict[str, Any]], sign: int = 1) -> None:
    """Add click_rollups-shaped rows (link_id, hour, combo, DIMENSIONS, clicks, confirmed) to
    link_values, site_values, site_combos, value_pairs and value_links; `sign` -1 takes them
    off.

    Each row is added once, to its hour (site-wide) or day (per link); the hours are then
    folded into their days and months, and the days into their months: a batch's rows share
    a few hours, so that is a few additions a row instead of one per level."""
    valuepairs.add(conn, rows, sign)
    hours: dict[tuple[datetime, str], dict[str, Any]] = {}  # (hour, combo): its counts
    site_hours: dict[tuple[str, datetime, str], int] = {}  # (dim, hour, value): clicks
    link_days: dict[tuple[int, datetime], dict[str, dict[str, int]]] = {}
    for row in rows:
        clicks, confirmed = sign * int(row["clicks"]), sign * int(row["confirmed"])
        hour = bucket(row["hour"], "h")
        found = hours.get((hour, row["combo"]))
        if found is None:
            found = hours[hour, row["combo"]] = {
                **{d: row[d] for d in DIMENSIONS},
                "clicks": 0,
                "confirmed": 0,
            }
        found["clicks"] += clicks
        found["confirmed"] += confirmed
        if not clicks:
            continue
        for dim in DIMENSIONS:
            at = (dim, hour, row[dim])
            site_hours[at] = site_hours.get(at, 0) + clicks
        if row.get("link_id") is not None:
            counts = link_days.setdefault((int(row["link_id"]), bucket(hour, "d")), {})
            for dim in DIMENSIONS:
                values = counts.setdefault(dim, {})
                values[row[dim]] = values.get(row[dim], 0) + clicks
    combos: dict[tuple[str, datetime, str], dict[str, Any]] = {}
    for (hour, combo_key), counts in hours.items():
        for level in ("h", "d", "m"):
            found = combos.setdefault(
                (level, bucket(hour, level), combo_key), {**counts, "clicks": 0, "confirmed": 0}
            )
            found["clicks"] += counts["clicks"]
            found["confirmed"] += counts["confirmed"]
    site: dict[tuple[str, str, datetime, str], int] = {}
    for (dim, hour, value), n in site_hours.items():
        for level in ("h", "d", "m"):
            site_key = (dim, level, bucket(hour, level), value)
            site[site_key] = site.get(site_key, 0) + n
    per_link: dict[tuple[int, str, datetime], dict[str, dict[str, int]]] = {}
    for (link_id, day), counts in link_days.items():
        for link_key in ((link_id, "d", day), (link_id, "m", bucket(day, "m"))):
            merged = per_link.setdefault(link_key, {})
            for dim, values in counts.items():
                kept = merged.setdefault(dim, {})
                for value, n in values.items():
                    kept[value] = kept.get(value, 0) + n
    if per_link:
        add_link_values(conn, per_link)
    if site:
        keys = ["dim", "level", "start", "value"]
        found_rows = [
            {**dict(zip(keys, k, strict=True)), "clicks": n} for k, n in sorted(site.items())
        ]
        bulk.upsert(conn, site_values, keys, ["clicks"], found_rows)
    combo_rows = [
        {"level": k[0], "start": k[1], "combo": k[2], **v} for k, v in sorted(combos.items())
    ]
    bulk.upsert(conn, site_combos, ["level", "start", "combo"], _COUNTS, combo_rows)


def add_link_values(
    conn: Connection, added: dict[tuple[int, str, datetime], dict[str, dict[str, int]]]
) -> None:
    """Merge counts into the links' day and month rows: the rows there are locked (key order),
    added to and written back; the missing ones are inserted with their counts at once. Most
    rows of a batch already exist (a link's day row is made by its first click of the day), so
    they are looked up first rather than tried as inserts: that cost a row encoded and a
    conflict per existing row (a tenth of the store's instructions a click at 1,000 links). A
    row another instance inserted meanwhile (its insert here does nothing) is merged like any
    existing one. Concurrent batches of several instances already queue on the site-wide
    counter rows they both add to (site_counts)."""
    keys = sorted(added)
    v = link_values.c
    made = insert(conn, link_values).on_conflict_do_nothing()
    made = made.returning(v.link_id, v.level, v.start)
    for first in range(0, len(keys), 500):
        part = keys[first : first + 500]
        stored = _locked(conn, part)
        missing = [k for k in part if k not in stored]
        if missing:
            new = [
                {"link_id": k[0], "level": k[1], "start": k[2], "counts": _dumps(added[k])}
                for k in missing
            ]
            inserted = {(i, lv, utc(s)) for i, lv, s in conn.execute(made, new)}
            raced = [k for k in missing if k not in inserted]
            if raced:
                stored |= _locked(conn, raced)
        rows = []
        for key, text in stored.items():
            counts = json.loads(text)
            for dim, values in added[key].items():
                kept = counts.setdefault(dim, {})
                for value, n in values.items():
                    kept[value] = kept.get(value, 0) + n
            rows.append({"k_link": key[0], "k_level": key[1], "k_start": key[2],
                         "counts": _dumps(counts)})  # fmt: skip
        if rows:
            bulk.execute_many(conn, ("link_values", "merged"), _merged, rows)


# json.dumps's text, with an encoder made once (counts are plain dicts: no cycle to look for)
_dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _merged() -> Any:
    """The UPDATE writing a link's merged counts back (add_link_values)."""
    v = link_values.c
    return (
        update(link_values)
        .where(
            v.link_id == bindparam("k_link"),
            v.level == bindparam("k_level"),
            v.start == bindparam("k_start"),
        )
        .values(counts=bindparam("counts"))
    )


def _locked(conn: Connection, keys: list[tuple[int, str, datetime]]) -> dict[Any, str]:
    """The stored counts of these keys, their rows locked (PostgreSQL) in key order."""
    v = link_values.c
    # Links, then the few days and months of the batch: the primary key's own order (a tuple
    # IN would make SQLite scan); rows of other keys are skipped.
    levels = [
        and_(v.level == level, v.start.in_(sorted({k[2] for k in keys if k[1] == level})))
        for level in sorted({k[1] for k in keys})
    ]
    found = conn.execute(
        select(v.link_id, v.level, v.start, v.counts)
        .where(v.link_id.in_(sorted({k[0] for k in keys})), or_(*levels))
        .order_by(v.link_id, v.level, v.start)
        .with_for_update()
    )
    wanted = set(keys)
    by_key = ((link_id, level, utc(start), text) for link_id, level, start, text in found)
    return {(i, lv, s): text for i, lv, s, text in by_key if (i, lv, s) in wanted}


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def forget_link(conn: Connection, link_id: int, batch: int = 5000) -> None:
    """Take a link's clicks and counters off the site-wide rollups, before it is deleted (its
    own rows go with it). Site-wide unique visitors keep it: a visitor may have clicked others.
    """
    counters = select(hourly_counts).where(hourly_counts.c.link_id == link_id)
    for part in conn.execute(counters.execution_options(yield_per=batch)).partitions():
        rows = [{"hour": r.hour, **{n: -getattr(r, n) for n in _COUNTERS}} for r in part]
        add_periods(conn, [], rows)
    rolled = select(click_rollups).where(click_rollups.c.link_id == link_id)
    for part in conn.execute(rolled.execution_options(yield_per=batch)).partitions():
        add_to_pyramid(conn, [{**r._mapping, "link_id": None} for r in part], sign=-1)
    v = link_values.c
    keys = select(v.level, v.start, v.counts).where(v.link_id == link_id)
    named = [
        (level, utc(start), dim, value)
        for level, start, text in conn.execute(keys)
        for dim, values in json.loads(text).items()
        for value in values
    ]
    valuepairs.forget_link(conn, link_id, named)


def fill_from_clicks(conn: Connection, batch: int = 5000) -> int:
    """Rebuild the rollups from the stored clicks (the migration's fill); returns rows added.

    Clicks are grouped per hour in the database and streamed, so memory stays bounded.
    """
    conn.execute(click_rollups.delete())
    hour = _hour_expr(conn)
    dims = [clicks.c[name] for name in DIMENSIONS]
    query = select(
        clicks.c.link_id,
        hour.label("hour"),
        *dims,
        func.count().label("clicks"),
        func.count(clicks.c.confirmed_at).label("confirmed"),
    ).group_by(clicks.c.link_id, hour, *dims)
    added = 0
    result = conn.execute(query.execution_options(yield_per=batch))
    for part in result.partitions():
        rows = [_grouped_row(dict(r._mapping)) for r in part]
        conn.execute(insert(conn, click_rollups), rows)
        added += len(rows)
    return added


def _grouped_row(m: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: m[name] or "" for name in DIMENSIONS}
    when = m["hour"]
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
    return {
        "link_id": m["link_id"],
        "hour": when,
        "combo": combo(values.values()),
        **values,
        "clicks": m["clicks"],
        "confirmed": m["confirmed"],
    }


def _hour_expr(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", clicks.c.ts))
    return func.strftime("%Y-%m-%d %H:00:00", clicks.c.ts)
