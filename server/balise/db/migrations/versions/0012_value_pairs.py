"""Clicks per pair of dimension values and per link and value

Revision ID: 0012_value_pairs
Revises: 0011_value_visitors
Create Date: 2026-11-30

`value_pairs`: every link's clicks per pair of dimension values per UTC day and month (and
each value's own per hour); `value_links`: each link's clicks per value per day and month.
What all-links statistics under a filter on one or two dimensions read instead of every
combination (analytics/valuepairs.py). Filled from site_combos and click_rollups, which
outlive raw clicks. Downgrade drops both.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_value_pairs"
down_revision = "0011_value_visitors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "value_pairs",
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("other", sa.String(length=16), nullable=False),
        sa.Column("other_value", sa.String(length=255), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "dim", "value", "level", "start", "other", "other_value", name=op.f("pk_value_pairs")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "value_links",
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "dim", "value", "level", "start", "link_id", name=op.f("pk_value_links")
        ),
        sqlite_with_rowid=False,
    )
    from balise.analytics.valuepairs import fill

    fill(op.get_bind())
    # The index after the fill: one sort instead of an update per row.
    op.create_index(
        "ix_value_links_top", "value_links", ["dim", "value", "level", "start", "clicks"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # Statistics for the planner now rather than at autovacuum's next pass: until then it
        # took millions of freshly filled rows for an empty table.
        op.execute("ANALYZE value_pairs")
        op.execute("ANALYZE value_links")


def downgrade() -> None:
    op.drop_index("ix_value_links_top", table_name="value_links")
    op.drop_table("value_links")
    op.drop_table("value_pairs")
