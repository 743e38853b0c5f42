"""The change feed of links: a row per link a committed unit of work changed

Revision ID: 0013_link_changes
Revises: 0012_value_pairs
Create Date: 2026-11-30

`link_changes`: written in the transaction of every change a reader can see (db/changes.py),
polled by every serving instance to drop the changed slugs from its cache (links/feed.py),
pruned after an hour. Starts empty. Downgrade drops it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_link_changes"
down_revision = "0012_value_pairs"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "link_changes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("slug_key", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_link_changes_changed_at", "link_changes", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_link_changes_changed_at", table_name="link_changes")
    op.drop_table("link_changes")
