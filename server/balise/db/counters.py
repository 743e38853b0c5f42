"""Hourly counters kept by upsert: one statement adds to a row, whatever the backend.

Counting by upsert (INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n) means no request
ever reads or locks a per-link row to count, unlike peers that update a link row per click.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from sqlalchemy import Connection

from balise.db.bulk import upsert
from balise.db.pyramid import bucket
from balise.db.tables import hourly_counts, period_counts, site_counts

COUNTERS = ("clicks", "confirmed", "bots", "prefetches", "preview_views")


def hour_of(moment: datetime) -> datetime:
    """The UTC hour a moment falls in (the key of hourly_counts)."""
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def increment_hourly(
    conn: Connection,
    increments: Iterable[Mapping[str, object]],
    link_extra: Iterable[Mapping[str, object]] = (),
    site_extra: Iterable[Mapping[str, object]] = (),
) -> None:
    """Add to hourly counters. Each item: link_id, hour, and some of COUNTERS with amounts.

    Items for the same (link_id, hour) are merged first, so one batch is one row per key.
    `link_extra` and `site_extra` (visitors) go to the day and month rows with them
    (add_periods), in the same upserts.
    """
    merged: dict[tuple[int, datetime], dict[str, int]] = {}
    for item in increments:
        key = (int(item["link_id"]), hour_of(item["hour"]))  # type: ignore[arg-type, call-overload]
        row = merged.setdefault(key, dict.fromkeys(COUNTERS, 0))
        for name in COUNTERS:
            row[name] += int(item.get(name, 0) or 0)  # type: ignore[call-overload]
    rows = [{"link_id": k[0], "hour": k[1], **v} for k, v in sorted(merged.items())]
    upsert(conn, hourly_counts, ["link_id", "hour"], COUNTERS, rows)
    add_periods(conn, [*rows, *link_extra], [*rows, *site_extra])


def add_periods(
    conn: Connection,
    link_items: Iterable[Mapping[str, object]],
    site_items: Iterable[Mapping[str, object]],
) -> None:
    """Add to the per-link day and month counters (`period_counts`) and the site-wide hour, day
    and month counters (`site_counts`). Items: link_id (links only), hour (any moment in it),
    amounts of COUNTERS and `visitors`. Amounts may be negative (a deleted link's)."""
    names = (*COUNTERS, "visitors")
    # Each item is added once, to its day (per link) or hour (site-wide), then the days and
    # hours are folded into their months and days: a batch's items share a few hours.
    link_days: dict[tuple[int, datetime], dict[str, int]] = {}
    for item in link_items:
        key = (int(item["link_id"]), bucket(item["hour"], "d"))  # type: ignore[arg-type, call-overload]
        _add(link_days.setdefault(key, dict.fromkeys(names, 0)), item, names)
    per_link: dict[tuple[int, str, datetime], dict[str, int]] = {}
    for (link_id, day), amounts in link_days.items():
        per_link[link_id, "d", day] = amounts
        _add(per_link.setdefault((link_id, "m", bucket(day, "m")), dict.fromkeys(names, 0)),
             amounts, names)  # fmt: skip
    site_hours: dict[datetime, dict[str, int]] = {}
    for item in site_items:
        hour = bucket(item["hour"], "h")  # type: ignore[arg-type]
        _add(site_hours.setdefault(hour, dict.fromkeys(names, 0)), item, names)
    site: dict[tuple[str, datetime], dict[str, int]] = {}
    for hour, amounts in site_hours.items():
        for level in ("h", "d", "m"):
            # Visitors are kept per day (a visitor hash lives one UTC day), not per hour.
            added = COUNTERS if level == "h" else names
            if any(amounts[name] for name in added):
                at = (level, bucket(hour, level))
                _add(site.setdefault(at, dict.fromkeys(names, 0)), amounts, added)
    if per_link:
        rows = [
            {"link_id": k[0], "level": k[1], "start": k[2], **v}
            for k, v in sorted(per_link.items())
        ]
        upsert(conn, period_counts, ["link_id", "level", "start"], names, rows)
    if site:
        rows = [{"level": k[0], "start": k[1], **v} for k, v in sorted(site.items())]
        upsert(conn, site_counts, ["level", "start"], names, rows)


def _add(target: dict[str, int], item: Mapping[str, object], names: tuple[str, ...]) -> None:
    for name in names:
        target[name] += int(item.get(name, 0) or 0)  # type: ignore[call-overload]
