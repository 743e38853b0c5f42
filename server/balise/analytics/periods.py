"""Time ranges for statistics: hour, day or week buckets in the reader's time zone.

Counters are kept per UTC hour, so buckets are whole UTC hours: days and weeks start at local
midnight (23 or 25 hours long across a daylight-saving change), hours are UTC hours labelled in
the zone. Pure functions, no storage.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from balise import values
from balise.errors import ValidationFailed

INTERVALS = ("hour", "day", "week")
DEFAULT_SPAN = {"hour": timedelta(days=1), "day": timedelta(days=30), "week": timedelta(weeks=26)}
MAX_BUCKETS = 10_000
UTC = timezone.utc


@dataclass(frozen=True)
class Period:
    """[start, end) cut into buckets; `starts` are the buckets' UTC starts, in order.

    `reach`: where reads of counter rows may stop, at or after `end`: past `end` when no click
    can lie between the two (reads.reaching), so the month holding now is read as its month
    row rather than its days and hours. None: at `end`."""

    start: datetime
    end: datetime
    interval: str
    zone: ZoneInfo
    starts: tuple[datetime, ...]
    reach: datetime | None = None

    @property
    def stop(self) -> datetime:
        """The end of the rows read: `reach`, else `end`."""
        return self.reach or self.end

    def index(self, moment: datetime) -> int | None:
        """The bucket holding `moment`, or None outside the period."""
        if not self.start <= moment < self.end:
            return None
        return bisect_right(self.starts, moment) - 1

    def label(self, i: int) -> datetime:
        """Bucket i's start as a local time in the zone (with its UTC offset)."""
        return self.starts[i].astimezone(self.zone)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
        raise ValidationFailed.field("tz", f"unknown time zone '{name}'") from None


def parse_moment(value: str, tz: ZoneInfo, field: str) -> datetime:
    """ISO 8601 date (local midnight) or date-time (local when it has no offset)."""
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(0))
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed.field(field, "must be an ISO 8601 date or date-time") from None
    if not values.in_range(moment.date()):  # beyond, converting to UTC can overflow
        raise ValidationFailed.field(field, values.DATE_MESSAGE)
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def floor(moment: datetime, interval: str, tz: ZoneInfo) -> datetime:
    """The UTC start of the bucket holding `moment`."""
    moment = moment.astimezone(UTC)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return _local_midnight(_first_day(moment, interval, tz), tz)


def _first_day(moment: datetime, interval: str, tz: ZoneInfo) -> date:
    local_day = moment.astimezone(tz).date()
    if interval == "week":
        local_day -= timedelta(days=local_day.weekday())
    return local_day


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def following(start: datetime, interval: str, tz: ZoneInfo) -> datetime:
    """The UTC start of the bucket after the one starting at `start`."""
    if interval == "hour":
        return start + timedelta(hours=1)
    step = timedelta(days=7 if interval == "week" else 1)
    return _local_midnight(start.astimezone(tz).date() + step, tz)


def make_period(
    interval: str,
    tz: ZoneInfo,
    *,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> Period:
    """Whole buckets covering [start, end); defaults: up to now, over DEFAULT_SPAN."""
    if interval not in INTERVALS:
        raise ValidationFailed.field("interval", "must be one of: hour, day, week")
    end = (end or now).astimezone(UTC)
    start = (start or end - DEFAULT_SPAN[interval]).astimezone(UTC)
    if start >= end:
        raise ValidationFailed.field("from", "must be before 'to'")
    starts = [floor(start, interval, tz)]
    while True:
        nxt = following(starts[-1], interval, tz)
        if nxt >= end:
            break
        starts.append(nxt)
        if len(starts) > MAX_BUCKETS:
            raise ValidationFailed.field(
                "interval", f"the range holds more than {MAX_BUCKETS} {interval}s"
            )
    return Period(starts[0], nxt, interval, tz, tuple(starts))
