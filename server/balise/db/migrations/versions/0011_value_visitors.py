"""Unique visitors per dimension value, per UTC day and month

Revision ID: 0011_value_visitors
Revises: 0010_daily
Create Date: 2026-11-30

`site_values.visitors`: each UTC day's distinct visitors who clicked with a referrer host,
country, UTM value... summed per day and month, so all-links statistics filtered on one value
count their unique visitors from rollups (analytics/valuevisitors.py). `value_visitors`: the
visitors of today and yesterday with the referrer and UTM values they clicked with. Filled from the raw clicks kept when it runs (days
already purged stay at 0, as filtered visitors were counted before). Downgrade drops both.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_value_visitors"
down_revision = "0010_daily"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "site_values",
        sa.Column("visitors", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "value_visitors",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("visitor_hash", sa.String(length=64), nullable=False),
        sa.Column("seen", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("day", "visitor_hash", name=op.f("pk_value_visitors")),
        sqlite_with_rowid=False,
    )
    from balise.analytics.valuevisitors import fill

    fill(op.get_bind())


def downgrade() -> None:
    op.drop_table("value_visitors")
    op.drop_column("site_values", "visitors")
