"""Link controls: UTM added to the target, query forwarding, a fallback URL, an opening date,
a password and targeting rules

Revision ID: 0009_controls
Revises: 0007_rollups
Create Date: 2026-11-30

Every new column is nullable or has a default, so existing links keep working unchanged (no
UTM, nothing forwarded, no fallback, open now, no password, no rules).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_controls"
down_revision = "0008_imported"
branch_labels = None
depends_on = None

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite a batch copy drops the links table, and with
    # foreign keys on that deletes every row referring to it (clicks, counters, summaries).
    for name in UTM:
        op.add_column("links", sa.Column(name, sa.String(length=255), nullable=True))
    op.add_column(
        "links",
        sa.Column("forward_query", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("links", sa.Column("fallback_url", sa.Text(), nullable=True))
    op.add_column("links", sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True))
    op.add_column("links", sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.add_column("links", sa.Column("rules", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later), for the same reason.
    for name in ("rules", "password_hash", "valid_from", "fallback_url", "forward_query"):
        op.drop_column("links", name)
    for name in reversed(UTM):
        op.drop_column("links", name)
