"""Statistics rollups whose size follows time and distinct values, not clicks (migration
0010_daily; see analytics/rollups.py, their owner and writer, and analytics/stats.py).

A time pyramid: rows per UTC hour ('h'), day ('d') and month ('m') `level`, `start` being the
bucket's UTC start, so a range of whole hours is read as a few hours, days and months.
Per link (`link_id`; the link's hours are `hourly_counts` and `click_rollups`) and site-wide
(all links: what the all-links pages read instead of summing every link's rows).
A value absent from a click is stored as '' (key columns cannot be NULL).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from balise.db.columns import UTCDateTime, metadata

COUNTERS = ("clicks", "confirmed", "bots", "prefetches", "preview_views", "visitors")
DIMENSIONS = {
    "referrer_host": 255,
    "browser": 64,
    "os": 64,
    "device": 16,
    "country": 2,
    "utm_source": 255,
    "utm_medium": 255,
    "utm_campaign": 255,
}


def _counters() -> list[Column[int]]:
    return [Column(name, Integer, nullable=False, default=0) for name in COUNTERS]


# A link's counters per UTC day and month (its hours are hourly_counts); `visitors` is the sum
# of the days' distinct visitors.
period_counts = Table(
    "period_counts",
    metadata,
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("level", String(1), primary_key=True),
    Column("start", UTCDateTime, primary_key=True),
    *_counters(),
    # Top links (most clicks first) and tag totals (clicks and confirmed clicks of the tagged
    # links: read from the index alone; migration 0015).
    Index("ix_period_counts_top", "level", "start", "clicks", "link_id", "confirmed"),
    sqlite_with_rowid=False,
)

# Every link's counters together per UTC hour, day and month.
site_counts = Table(
    "site_counts",
    metadata,
    Column("level", String(1), primary_key=True),
    Column("start", UTCDateTime, primary_key=True),
    *_counters(),
    sqlite_with_rowid=False,
)

# A link's clicks per dimension value, UTC day and month: one row per day or month whose
# `counts` is JSON {dimension: {value: clicks}}, merged by the writer (read, add, write back
# under a row lock), so a click adds two rows whatever the number of dimensions.
link_values = Table(
    "link_values",
    metadata,
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("level", String(1), primary_key=True),
    Column("start", UTCDateTime, primary_key=True),
    Column("counts", Text, nullable=False),
    sqlite_with_rowid=False,
)

# Every link's clicks per dimension value and UTC hour, day and month; `visitors` (days and
# months only): the sum of each UTC day's distinct visitors who clicked with that value (a
# visitor hash lives one day, so the sum is exact for one value; see value_visitors).
site_values = Table(
    "site_values",
    metadata,
    Column("dim", String(16), primary_key=True),
    Column("level", String(1), primary_key=True),
    Column("start", UTCDateTime, primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("clicks", Integer, nullable=False, default=0),
    Column("visitors", Integer, nullable=False, default=0, server_default="0"),
    # One value's days in order (migration 0014): its unique visitors under a filter read
    # a row a day, not every value of the day.
    Index("ix_site_values_value", "dim", "value", "level", "start"),
    sqlite_with_rowid=False,
)

# Every link's clicks per combination of dimension values (`combo`, as in click_rollups) and
# UTC hour, day and month: what filtered all-links statistics read.
site_combos = Table(
    "site_combos",
    metadata,
    Column("level", String(1), primary_key=True),
    Column("start", UTCDateTime, primary_key=True),
    Column("combo", String(32), primary_key=True),
    *(Column(name, String(n), nullable=False, default="") for name, n in DIMENSIONS.items()),
    Column("clicks", Integer, nullable=False, default=0),
    Column("confirmed", Integer, nullable=False, default=0),
    sqlite_with_rowid=False,
)

# Visitor hashes of today and yesterday across links, so a visitor of several links counts once
# in site_counts.visitors; older days are deleted (their counts stay).
site_visitors = Table(
    "site_visitors",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("visitor_hash", String(64), primary_key=True),
    sqlite_with_rowid=False,
)

# Visitors of today and yesterday with the referrer and UTM values each clicked with (`seen`:
# entries "<digit><value>" joined by \x1f, the digit naming the dimension), so a visitor counts
# once per day and value in site_values.visitors (migration 0011); older days are deleted.
value_visitors = Table(
    "value_visitors",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("visitor_hash", String(64), primary_key=True),
    Column("seen", Text, nullable=False),
    sqlite_with_rowid=False,
)

# Every link's clicks per pair of dimension values (migration 0012): `dim` = `value` and
# `other` = `other_value`, per UTC day ('d') for every ordered pair of dimensions, and per hour
# ('h') for the pair of a dimension with itself (`other` = `dim`: the value's own clicks and
# confirmed clicks). No month rows: a month is read as its days (at most 31 rows per pair),
# which halves what the batch writer adds. A filter on one dimension reads its values' rows:
# totals and series (the pair with itself) and every other dimension's top list; a filter on
# two dimensions reads one pair per day for its totals and series. Its size follows days and
# values (at most the product of two dimensions' values per day), not clicks.
value_pairs = Table(
    "value_pairs",
    metadata,
    Column("dim", String(16), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("level", String(1), primary_key=True),
    Column("start", UTCDateTime, primary_key=True),
    Column("other", String(16), primary_key=True),
    Column("other_value", String(255), primary_key=True),
    Column("clicks", Integer, nullable=False, default=0),
    Column("confirmed", Integer, nullable=False, default=0),
    # A value with one other dimension's value, day after day (migration 0014): the series
    # under a filter on one or two dimensions reads a row a day, not the day's pairs with
    # every value. SQLite picks it with planner statistics (valuepairs.refresh_statistics).
    Index("ix_value_pairs_other", "dim", "value", "other", "other_value", "level", "start"),
    sqlite_with_rowid=False,
)

# Each link's clicks per dimension value and UTC month ('m'; migration 0012): what the top
# links under a filter on one dimension read, best first along ix_value_links_top (the
# threshold algorithm of toplinks.top_link_ids; a month a range cuts bounds its part, whose
# clicks come from link_values' days and click_rollups' hours). Months only: day rows would
# be about nine per link and day clicked, more rows than clicks. No foreign key: a cascade
# would need an index by link; rollups.forget_link deletes a link's rows by the keys its
# link_values rows name.
value_links = Table(
    "value_links",
    metadata,
    Column("dim", String(16), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("level", String(1), primary_key=True),
    Column("start", UTCDateTime, primary_key=True),
    Column("link_id", Integer, primary_key=True),
    Column("clicks", Integer, nullable=False, default=0),
    Index("ix_value_links_top", "dim", "value", "level", "start", "clicks"),
    sqlite_with_rowid=False,
)
