"""Direct links: a per-link redirect mode and status

Revision ID: 0005_reader
Revises: 0004_sessions
Create Date: 2026-11-30

A link is "interstitial" (the reader page, as before) or "direct" (an HTTP redirect with
redirect_status: 301, 302, 307 or 308). Existing links stay interstitial, with 302.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_reader"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(
            sa.Column(
                "redirect_mode", sa.String(length=16), nullable=False, server_default="interstitial"
            )
        )
        batch.add_column(
            sa.Column("redirect_status", sa.Integer(), nullable=False, server_default="302")
        )


def downgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.drop_column("redirect_status")
        batch.drop_column("redirect_mode")
