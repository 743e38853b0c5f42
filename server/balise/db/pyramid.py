"""The time pyramid of the rollups: UTC hours ('h'), days ('d') and months ('m').

A range of whole UTC hours is cut into the fewest pieces of whole buckets (hours up to the
first midnight, days up to the first month, months, then days and hours again), so reading it
costs a few dozen rows per value whatever its length. Pure functions, no storage.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

LEVELS = ("h", "d", "m")
UTC = timezone.utc


@functools.lru_cache(maxsize=4096)  # a batch asks for the same few hours, days and months
def bucket(moment: datetime, level: str) -> datetime:
    """The UTC start of the `level` bucket holding `moment`."""
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if level == "h":
        return moment
    moment = moment.replace(hour=0)
    return moment.replace(day=1) if level == "m" else moment


def _next_month(moment: datetime) -> datetime:
    return (moment.replace(day=28) + timedelta(days=4)).replace(day=1)


def ceil(moment: datetime, level: str) -> datetime:
    start = bucket(moment, level)
    if start == moment:
        return moment
    return start + timedelta(days=1) if level == "d" else _next_month(start)


def pieces(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """(level, first, stop): the rows of `level` starting in [first, stop) cover [start, end)
    exactly, once. `start` and `end` are whole UTC hours."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start >= end:
        return []
    # Fast paths (a range per bucket of a long series): within one day, or whole days within
    # one month that are not the whole month.
    if end - start <= timedelta(days=1) and (
        start.date() == end.date() or end.hour == 0 and end - start < timedelta(days=1)
    ):
        return [("h", start, end)]
    if (
        start.hour == end.hour == 0
        and start.month == (end - timedelta(days=1)).month
        and end - start < timedelta(days=28)
    ):
        return [("d", start, end)]
    day_in, day_out = ceil(start, "d"), bucket(end, "d")
    if day_in >= day_out:  # no whole day: hours only
        return [("h", start, end)]
    found = [("h", start, day_in)]
    month_in, month_out = ceil(day_in, "m"), bucket(day_out, "m")
    if month_in >= month_out:
        found.append(("d", day_in, day_out))
    else:
        found += [("d", day_in, month_in), ("m", month_in, month_out), ("d", month_out, day_out)]
    found.append(("h", day_out, end))
    return [(level, a, b) for level, a, b in found if a < b]


def merged(
    parts: Iterable[tuple[str, datetime, datetime]],
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Pieces grouped per level, adjacent ranges joined: what one query per level reads."""
    by_level: dict[str, list[tuple[datetime, datetime]]] = {}
    for level, first, stop in sorted(parts, key=lambda p: (p[0], p[1])):
        ranges = by_level.setdefault(level, [])
        if ranges and ranges[-1][1] == first:
            ranges[-1] = (ranges[-1][0], stop)
        else:
            ranges.append((first, stop))
    return by_level
