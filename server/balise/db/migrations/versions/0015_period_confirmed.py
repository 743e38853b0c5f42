"""Links' day and month counters indexed with their confirmed clicks: tag totals read the index

Revision ID: 0015_period_confirmed
Revises: 0014_value_indexes
Create Date: 2026-11-30

The campaigns page's tags (and a statistics answer filtered on tags) sum each tagged link's
day and month rows of `period_counts` over the range: clicks and confirmed clicks. The index
`ix_period_counts_top` (level, start, clicks, link_id) found those rows, but `confirmed` came
from the table, a look-up per row: 100,000 links over 12 months are about a million look-ups.
With `confirmed` as its last column the index holds all the sum needs, in the same order for
top links. Downgrade puts back the index without it.
"""

from alembic import op

revision = "0015_period_confirmed"
down_revision = "0014_value_indexes"
branch_labels = None
depends_on = None

BEFORE = ["level", "start", "clicks", "link_id"]


def upgrade() -> None:
    op.drop_index("ix_period_counts_top", table_name="period_counts")
    op.create_index("ix_period_counts_top", "period_counts", [*BEFORE, "confirmed"])


def downgrade() -> None:
    op.drop_index("ix_period_counts_top", table_name="period_counts")
    op.create_index("ix_period_counts_top", "period_counts", BEFORE)
