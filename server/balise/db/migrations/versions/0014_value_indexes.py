"""Indexes for statistics: one value's rows in day order, links with imported clicks

Revision ID: 0014_value_indexes
Revises: 0013_link_changes
Create Date: 2026-11-30

All-links statistics under a filter on one dimension read that value's row per day: its
unique visitors (`site_values`) and its clicks with itself (`value_pairs`; under two
dimensions, with the other value). Both tables are keyed by day before value (and
value_pairs by day before the other value), so each day's rows for every value were read to
find it (about 84,000 rows of `site_values` for a referrer over 12 months at 10 million
clicks, 104,000 of `value_pairs` for a campaign). SQLite chooses `ix_value_pairs_other` over
the covering primary key only with planner statistics: `ANALYZE value_pairs` here (bounded by
`analysis_limit`), then daily (valuepairs.refresh_statistics).
`ix_links_imported` (partial) holds the few links with imported clicks, whose total every
all-links answer gives: it was a sum over every link (35 ms at 100,000 links on SQLite).
Downgrade drops them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_value_indexes"
down_revision = "0013_link_changes"
branch_labels = None
depends_on = None

IMPORTED = sa.text("imported_clicks > 0")


def upgrade() -> None:
    op.create_index("ix_site_values_value", "site_values", ["dim", "value", "level", "start"])
    op.create_index(
        "ix_value_pairs_other",
        "value_pairs",
        ["dim", "value", "other", "other_value", "level", "start"],
    )
    op.create_index(
        "ix_links_imported",
        "links",
        ["imported_clicks"],
        sqlite_where=IMPORTED,
        postgresql_where=IMPORTED,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE links")
        op.execute("ANALYZE site_values")
        op.execute("ANALYZE value_pairs")
    else:
        op.execute("PRAGMA analysis_limit = 400")
        op.execute("ANALYZE value_pairs")


def downgrade() -> None:
    op.drop_index("ix_links_imported", table_name="links")
    op.drop_index("ix_value_pairs_other", table_name="value_pairs")
    op.drop_index("ix_site_values_value", table_name="site_values")
