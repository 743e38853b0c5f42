"""Schemas of the statistics API (pydantic): query parameters and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from balise.web.api.schemas.types import Moment, Text, TimeZone

FilterValues = Annotated[list[Annotated[Text, Field(max_length=255)]], Field(max_length=20)] | None
_F = (
    "Repeatable: any of the values; different parameters combine with AND. An empty value "
    "means clicks without one (e.g. `referrer=`: direct visits)."
)


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Moment | None = Field(
        None,
        alias="from",
        description="Start: ISO 8601 date (midnight in `tz`) or date-time. Default: `to` less "
        "1 day (hour), 30 days (day) or 26 weeks (week).",
    )
    to: Moment | None = Field(None, description="End (exclusive); default now.")
    interval: Literal["hour", "day", "week"] = "day"
    tz: TimeZone = Field("UTC", description="IANA time zone of the buckets, e.g. Europe/Paris.")
    top: Annotated[int, Field(ge=1, le=100)] = Field(10, description="Length of top lists.")
    referrer: FilterValues = Field(None, description="Only clicks from these referrer hosts. " + _F)
    country: FilterValues = Field(None, description="Only clicks from these countries. " + _F)
    device: FilterValues = Field(None, description="Only these devices. " + _F)
    browser: FilterValues = Field(None, description="Only these browsers. " + _F)
    os: FilterValues = Field(None, description="Only these operating systems. " + _F)
    utm_source: FilterValues = Field(None, description="Only these utm_source values. " + _F)
    utm_medium: FilterValues = Field(None, description="Only these utm_medium values. " + _F)
    utm_campaign: FilterValues = Field(
        None, description="Only these utm_campaign values (a campaign across links). " + _F
    )
    tag: FilterValues = Field(None, description="Only links holding one of these tags.")
    compare: Literal["previous"] | None = Field(
        None,
        description="`previous`: add the totals of the range just before, as long (`previous`).",
    )


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Moment | None = Field(None, alias="from", description="Clicks at or after (UTC).")
    to: Moment | None = Field(None, description="Clicks before (UTC).")


_NO_FILTER = "Null under a filter on dimensions (these counts have no referrer, country...)."


class Totals(BaseModel):
    clicks: int = Field(description="Clicks served to people (bots and prefetches apart).")
    confirmed: int = Field(description="Served clicks whose page confirmed them by beacon.")
    unique_visitors: int | None = Field(
        description="Sum over UTC days of each day's unique visitors. All links filtered on "
        "one value of one dimension: from the visitors counted per value and day; all links "
        "under any other filter on dimensions: null (not counted); one link or tags under a "
        "filter on dimensions: among the clicks still kept."
    )
    bots: int | None = Field(description=_NO_FILTER)
    prefetches: int | None = Field(description=_NO_FILTER)
    preview_views: int | None = Field(description=_NO_FILTER)


class Previous(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    totals: Totals


class Point(Totals):
    start: datetime = Field(description="Bucket start, local time in `tz` with its offset.")


class TopItem(BaseModel):
    value: str | None = Field(
        description="The value; null counts the clicks without one (direct visits, no UTM, "
        "unknown country...), so a complete list adds up to the total."
    )
    clicks: int


class TopLink(BaseModel):
    value: str = Field(description="The link's slug.")
    title: str | None = Field(None, description="The link's title, if it has one.")
    clicks: int


class TopLists(BaseModel):
    referrers: list[TopItem]
    browsers: list[TopItem]
    os: list[TopItem]
    devices: list[TopItem]
    countries: list[TopItem]
    utm_source: list[TopItem]
    utm_medium: list[TopItem]
    utm_campaign: list[TopItem]
    links: list[TopLink] | None = Field(None, description="All-links statistics only.")


class StatsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    link: str | None = Field(None, description="The link's slug; null for all links.")
    from_: datetime = Field(alias="from")
    to: datetime
    interval: Literal["hour", "day", "week"]
    tz: str
    totals: Totals
    series: list[Point]
    top: TopLists
    filters: dict[str, list[str | None]] = Field(
        default_factory=dict,
        description="The filters applied, by parameter (null: clicks without a value).",
    )
    previous: Previous | None = Field(
        None, description="With `compare=previous`: the range just before and its totals."
    )
    imported_clicks: int | None = Field(
        None,
        description="Visits another shortener counted before the link (or links) came here "
        "with `balise import`: one total without dates, so outside `from`/`to`, and never in "
        "`totals`. Null under a filter on dimensions (referrer, country...).",
    )


class LiveMinute(BaseModel):
    start: datetime = Field(description="The minute's start (UTC).")
    clicks: int


class LiveClick(BaseModel):
    time: datetime
    link: str = Field(description="The link's slug.")
    referrer: str | None = Field(description="The referrer's host.")
    country: str | None
    device: str | None


class LiveOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    minutes: list[LiveMinute] = Field(description="The last 60 minutes, oldest first.")
    recent: list[LiveClick] = Field(description="The 50 most recent clicks, newest first.")
