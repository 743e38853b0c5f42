"""What the stats pages show, shared by the dashboard and the read-only share page: the date
range (presets 24 h, 7 d, 30 d, 12 months, or chosen dates), the numbers from balise.stats,
and the charts' geometry in the viewer's language and time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_percent
from flask_babel import gettext as _
from sqlalchemy import Connection
from werkzeug.datastructures import MultiDict

from balise.analytics import stats
from balise.analytics.filters import NO_FILTERS, Filters
from balise.analytics.periods import INTERVALS, Period, make_period
from balise.errors import ValidationFailed
from balise.web.dashboard import charts
from balise.web.dashboard.i18n import integer, moment
from balise.web.dashboard.labels import label

PRESETS = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
    "12m": (timedelta(days=365), "week"),
}
DEFAULT_PRESET = "30d"
RANGE_ARGS = ("range", "from", "to", "interval", "tz")  # what a stats page reads
MAX_BARS = 400
TOP = 10
TOP_ORDER = (
    "links",
    "referrers",
    "countries",
    "devices",
    "browsers",
    "os",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)


@dataclass(frozen=True)
class Range:
    preset: str  # one of PRESETS, or "custom"
    start: datetime
    end: datetime
    interval: str
    first_day: date  # shown in the date inputs
    last_day: date


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def _auto_interval(span: timedelta) -> str:
    if span <= timedelta(days=2):
        return "hour"
    return "day" if span <= timedelta(days=120) else "week"


def _fit(interval: str, span: timedelta) -> str:
    """A coarser interval when the chosen one would draw more than MAX_BARS bars."""
    sizes = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
    for candidate in INTERVALS[INTERVALS.index(interval) :]:
        if span / sizes[candidate] <= MAX_BARS:
            return candidate
    return "week"


def parse_day(value: str, field: str) -> date:
    """A date from a form, within years 2000 to 2200 (time arithmetic stays in range)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.field(field, "must be a date") from None
    if not 2000 <= day.year <= 2200:
        raise ValidationFailed.field(field, "must be between the years 2000 and 2200")
    return day


def parse_range(args: MultiDict[str, str], tz: ZoneInfo, now: datetime) -> Range:
    """The range a stats page asks for (`range`, `from`, `to`, `interval`), with defaults."""
    preset = args.get("range", DEFAULT_PRESET)
    wanted = args.get("interval") if args.get("interval") in INTERVALS else None
    today = now.astimezone(tz).date()
    if preset == "custom":
        first = parse_day(args.get("from", ""), "from")
        last = parse_day(args.get("to", "") or today.isoformat(), "to")
        first, last = min(first, last), max(first, last)
        start, end = _day_start(first, tz), min(_day_start(last + timedelta(days=1), tz), now)
        if start >= end:
            end = _day_start(last + timedelta(days=1), tz)
        interval = wanted or _auto_interval(end - start)
    else:
        preset = preset if preset in PRESETS else DEFAULT_PRESET
        span, interval = PRESETS[preset]
        interval = wanted or interval
        if interval == "hour":
            start = (now - span + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        else:
            start = _day_start((now - span).astimezone(tz).date() + timedelta(days=1), tz)
        end = now
        first, last = start.astimezone(tz).date(), today
    return Range(preset, start, end, _fit(interval, end - start), first, last)


def load(
    conn: Connection, chosen: Range, tz: ZoneInfo, now: datetime, *, link_id: int | None,
    retention_days: int, filters: Filters = NO_FILTERS,
) -> tuple[Period, dict[str, Any]]:  # fmt: skip
    """The page's numbers, with the previous range's totals to show each total's change."""
    period = make_period(chosen.interval, tz, start=chosen.start, end=chosen.end, now=now)
    kept_since = now - timedelta(days=retention_days) if retention_days else None
    found = stats.stats(
        conn, period, link_id=link_id, kept_since=kept_since, top=TOP, filters=filters,
        compare=True, previous_series=True,
    )  # fmt: skip
    before = found["previous"].pop("series")
    for i, point in enumerate(found["series"]):
        # The previous range has as many buckets, give or take one (month lengths, DST).
        point["previous_clicks"] = int(before[i]["clicks"]) if i < len(before) else 0
        point["served_only"] = max(int(point["clicks"]) - int(point["confirmed"]), 0)
        point["robots"] = int(point["bots"] or 0) + int(point["prefetches"] or 0)
    return period, found


def changes(found: dict[str, Any], lang: str) -> dict[str, tuple[str, str]]:
    """Each total's change from the previous range, as text ("+12 %") and a direction; none
    where the previous range counted nothing (no percentage to give)."""
    before = found["previous"]["totals"]
    shown: dict[str, tuple[str, str]] = {}
    for name, value in found["totals"].items():
        old = before.get(name)
        if value is None or not old:
            continue
        pct = round(100 * (value - old) / old)
        sign = "+" if pct > 0 else ("−" if pct < 0 else "±")
        direction = "up" if pct > 0 else ("down" if pct < 0 else "same")
        shown[name] = (f"{sign}{format_percent(abs(pct) / 100, locale=lang)}", direction)
    return shown


def bucket_label(start: datetime, interval: str, lang: str, *, long: bool = False) -> str:
    """Axis label (short) or tip label (long) of a bucket starting at `start` (local time)."""
    day = moment(start, start.tzinfo, lang, time=False)  # type: ignore[arg-type]
    short_day = day.rsplit(" ", 1)[0]
    if interval == "hour":
        hour = f"{start:%H}:00"
        if long:
            return f"{day}, {hour}–{(start + timedelta(hours=1)):%H}:00"
        return short_day if start.hour == 0 else hour
    if interval == "week":
        return _("week of %(day)s", day=day) if long else short_day
    return format_date(start, "EEE", locale=lang) + " " + day if long else short_day


def _tip(lang: str, title: str, point: dict[str, Any], keys: tuple[str, ...]) -> str:
    parts = [
        _("%(name)s: %(n)s", name=label("stat", key), n=integer(point[key], lang)) for key in keys
    ]
    return " · ".join([title, *parts])


def _series(key: str, css: str) -> charts.Series:
    return charts.Series(key, css, label("stat", key))


def _specs() -> dict[str, tuple[list[charts.Series], list[charts.Series]]]:
    """Each chart's stacked bars and lines: people's clicks; robots and previews apart."""
    return {
        "clicks": (
            [_series("confirmed", "s-confirmed"), _series("served_only", "s-served")],
            [_series("unique_visitors", "s-visitors"), _series("previous_clicks", "s-previous")],
        ),
        "robots": (
            [_series("bots", "s-bots"), _series("prefetches", "s-prefetches")],
            [_series("preview_views", "s-previews")],
        ),
    }


TIP_KEYS = {
    "clicks": ("clicks", "confirmed", "unique_visitors", "previous_clicks"),
    "robots": ("bots", "prefetches", "preview_views"),
}


def build_charts(found: dict[str, Any], lang: str) -> dict[str, Any]:
    """Both charts (clicks; robots and previews) at both widths, with labels and tips."""
    points = found["series"]
    labels = [bucket_label(p["start"], found["interval"], lang) for p in points]
    longs = [bucket_label(p["start"], found["interval"], lang, long=True) for p in points]
    built: dict[str, Any] = {"labels": longs}
    # None: what a filter leaves uncounted (robots; visitors under some filters, see uniques.py)
    missing = {name for name, value in found["totals"].items() if value is None}
    for name, (stacked, lines) in _specs().items():
        if name == "robots" and found["totals"]["bots"] is None:
            continue  # under a filter on dimensions: robots have no referrer, country...
        lines = [s for s in lines if s.key not in missing]
        keys = tuple(k for k in TIP_KEYS[name] if k not in missing)
        tips = [_tip(lang, longs[i], p, keys) for i, p in enumerate(points)]
        common = {
            "stacked": stacked,
            "lines": lines,
            "labels": labels,
            "int_label": lambda value: integer(value, lang),
        }
        built[name] = {
            "legend": [*stacked, *lines],
            "wide": charts.time_chart(points, tip=tips.__getitem__, **common),  # type: ignore[arg-type]
            "narrow": charts.time_chart(
                points,
                tip=tips.__getitem__,
                width=charts.NARROW,
                height=220,
                **common,  # type: ignore[arg-type]
            ),
        }
    return built


def top_lists(found: dict[str, Any]) -> list[tuple[str, list[charts.Share]]]:
    """The top lists in display order, each row with its share of the period's clicks."""
    total = int(found["totals"]["clicks"])
    order = TOP_ORDER
    top = found["top"]
    return [(name, charts.shares(top[name], total)) for name in order if top.get(name) is not None]
