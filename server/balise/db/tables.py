"""The schema: SQLAlchemy Core tables, one definition for SQLite and PostgreSQL.

Alembic migrations under db/migrations create these tables; nothing calls create_all.
Each table is queried by one domain module, named in its comment.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
    text,
)

from balise.db.columns import BigId, UTCDateTime, metadata
from balise.db.rollup_tables import (
    link_values,
    period_counts,
    site_combos,
    site_counts,
    site_values,
    site_visitors,
    value_links,
    value_pairs,
    value_visitors,
)
from balise.db.webhook_tables import (
    webhook_click_queue,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)

# Owner: keys.py (and users.py for the account link)
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("lang", String(8), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Owner: sessions.py (dashboard sign-ins; the cookie holds a token, this table its hash)
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False, index=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# Owner: links.py
links = Table(
    "links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    # Lower-cased slug: refuses slugs that differ only in case from an existing one.
    Column("slug_key", String(64), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    # SHA-256 of the normalised target (urls.url_key) for summary look-up by article URL.
    Column("url_key", String(64), nullable=False),
    Column("title", String(300), nullable=True),
    Column("lang", String(8), nullable=True),
    Column("redirect_delay", Integer, nullable=True),
    Column("reading_delay", Boolean, nullable=False, default=False),
    # "interstitial" (the reader page) or "direct" (an HTTP redirect with redirect_status).
    Column("redirect_mode", String(16), nullable=False, server_default="interstitial"),
    Column("redirect_status", Integer, nullable=False, server_default="302"),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("max_clicks", Integer, nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("share_secret", String(64), nullable=True),
    # Visits counted by another shortener before the link moved here (balise import): shown
    # apart from the clicks Balise counts, never added to them.
    Column("imported_clicks", Integer, nullable=False, server_default="0"),
    # Link controls (links/controls.py): UTM added to the target, the short URL's query passed
    # on, where readers go once the link is over, when it opens, a password, targeting rules.
    Column("utm_source", String(255), nullable=True),
    Column("utm_medium", String(255), nullable=True),
    Column("utm_campaign", String(255), nullable=True),
    Column("utm_term", String(255), nullable=True),
    Column("utm_content", String(255), nullable=True),
    Column("forward_query", Boolean, nullable=False, server_default=false()),
    Column("fallback_url", Text, nullable=True),
    Column("valid_from", UTCDateTime, nullable=True),
    Column("password_hash", String(255), nullable=True),
    Column("rules", JSON, nullable=True),
    # Bumped on every change so caches of rendered pages can tell they are stale.
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("api_key_id", Integer, ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Index("ix_links_url_key", "url_key"),
    Index("ix_links_created", "created_at", "id"),
    # The few links with imported clicks (migration 0014): their total is summed over them,
    # not over every link (links/importing.imported_total).
    Index(
        "ix_links_imported",
        "imported_clicks",
        sqlite_where=text("imported_clicks > 0"),
        postgresql_where=text("imported_clicks > 0"),
    ),
)


# Owner: summaries/cards.py. The target page's own card, for links without a summary.
link_cards = Table(
    "link_cards",
    metadata,
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    # The target it was fetched for: a new target fetches again.
    Column("url", Text, nullable=False),
    Column("status", String(16), nullable=False),  # ok, failed
    Column("title", String(300), nullable=True),
    Column("description", Text, nullable=True),
    Column("image_url", Text, nullable=True),
    Column("site_name", String(200), nullable=True),
    Column("lang", String(8), nullable=True),
    Column("error", String(32), nullable=True),  # why it failed: refused, unsupported, ...
    Column("fetched_at", UTCDateTime, nullable=False),
)

# Owner: db/changes.py. The change feed: a row per link whose reader page a committed unit of
# work changed, written in that unit of work; every instance reads the rows added since its
# last look and drops those slugs from its cache (links/feed.py). Rows older than an hour go.
# AUTOINCREMENT on SQLite: ids never come back once the newest rows were pruned.
link_changes = Table(
    "link_changes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("slug_key", String(64), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Index("ix_link_changes_changed_at", "changed_at"),
    sqlite_autoincrement=True,
)

link_tags = Table(
    "link_tags",
    metadata,
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(50), primary_key=True),
    Index("ix_link_tags_tag", "tag"),
)

# Owner: clicks.py. One row per person click; never an IP address or a full user agent.
clicks = Table(
    "clicks",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("referrer_host", String(255), nullable=True),
    Column("referrer_path", String(1024), nullable=True),
    Column("browser", String(64), nullable=True),
    Column("os", String(64), nullable=True),
    Column("device", String(16), nullable=True),
    Column("country", String(2), nullable=True),
    Column("utm_source", String(255), nullable=True),
    Column("utm_medium", String(255), nullable=True),
    Column("utm_campaign", String(255), nullable=True),
    Column("visitor_hash", String(64), nullable=True),
    Column("dnt", Boolean, nullable=False, default=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Index("ix_clicks_link_ts", "link_id", "ts"),
    Index("ix_clicks_ts", "ts"),
)

# Owner: clicks.py. Bots, unfurlers and prefetches: stored apart, never counted as clicks.
robot_hits = Table(
    "robot_hits",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),  # bot | prefetch
    Column("agent", String(64), nullable=True),
    Index("ix_robot_hits_link_ts", "link_id", "ts"),
)

# Owner: clicks.py (written) and stats.py (read). Hourly counters kept by upsert.
hourly_counts = Table(
    "hourly_counts",
    metadata,
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("hour", UTCDateTime, primary_key=True),
    Column("clicks", Integer, nullable=False, default=0),
    Column("confirmed", Integer, nullable=False, default=0),
    Column("bots", Integer, nullable=False, default=0),
    Column("prefetches", Integer, nullable=False, default=0),
    Column("preview_views", Integer, nullable=False, default=0),
    # Covering index: range scans over hours (series, top links) never visit the table rows.
    Index(
        "ix_hourly_counts_hour_cover",
        "hour",
        "link_id",
        "clicks",
        "confirmed",
        "bots",
        "prefetches",
        "preview_views",
    ),
)

# Owner: rollups.py (written by clicks.py's batch, read by stats.py). Clicks per link, UTC
# hour and combination of dimensions ('' for a value the click lacks); outlives raw clicks.
click_rollups = Table(
    "click_rollups",
    metadata,
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("hour", UTCDateTime, primary_key=True),
    Column("combo", String(32), primary_key=True),  # hash of the dimension values
    Column("referrer_host", String(255), nullable=False, default=""),
    Column("browser", String(64), nullable=False, default=""),
    Column("os", String(64), nullable=False, default=""),
    Column("device", String(16), nullable=False, default=""),
    Column("country", String(2), nullable=False, default=""),
    Column("utm_source", String(255), nullable=False, default=""),
    Column("utm_medium", String(255), nullable=False, default=""),
    Column("utm_campaign", String(255), nullable=False, default=""),
    Column("clicks", Integer, nullable=False, default=0),
    Column("confirmed", Integer, nullable=False, default=0),
    Index("ix_click_rollups_hour", "hour", "link_id"),
)

# Owner: clicks.py. Unique visitors per link and UTC day, kept after raw clicks are purged.
daily_visitors = Table(
    "daily_visitors",
    metadata,
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("visitor_hash", String(64), primary_key=True),
)

# Owner: previews.py. Today's preview viewers, so each counts once per link and UTC day;
# past days are deleted with their salts.
preview_viewers = Table(
    "preview_viewers",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("visitor_hash", String(64), primary_key=True),
)

# Owner: visitors.py. The day's salt is shared by every instance; past days are deleted.
visitor_salts = Table(
    "visitor_salts",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("salt", String(64), nullable=False),
)

# Owner: summaries.py
summaries = Table(
    "summaries",
    metadata,
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("lang", String(8), nullable=False),
    Column("title", String(300), nullable=False),
    Column("teaser", String(500), nullable=False),
    Column("recap", Text, nullable=True),
    Column("neutral", Text, nullable=True),
    Column("example", Text, nullable=True),
    Column("optimistic", Text, nullable=True),
    Column("pessimistic", Text, nullable=True),
    Column("source_url", Text, nullable=True),
    Column("image_url", Text, nullable=True),
    Column("origin", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

summary_versions = Table(
    "summary_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("link_id", Integer, ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("data", JSON, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
    Column("saved_by", String(254), nullable=True),
    Index("ix_summary_versions_link", "link_id", "id"),
)

__all__ = [
    "metadata",
    "users",
    "dashboard_sessions",
    "api_keys",
    "links",
    "link_tags",
    "link_changes",
    "clicks",
    "robot_hits",
    "hourly_counts",
    "click_rollups",
    "period_counts",
    "site_counts",
    "link_values",
    "site_values",
    "site_combos",
    "site_visitors",
    "value_visitors",
    "value_pairs",
    "value_links",
    "daily_visitors",
    "preview_viewers",
    "visitor_salts",
    "summaries",
    "summary_versions",
    "webhook_endpoints",
    "webhook_events",
    "webhook_deliveries",
    "webhook_click_queue",
]
