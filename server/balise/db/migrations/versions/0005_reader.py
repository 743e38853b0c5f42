"""Direct links (a per-link redirect mode and status) and the target page's own card

Revision ID: 0005_reader
Revises: 0004_sessions
Create Date: 2026-11-30

A link is "interstitial" (the reader page, as before) or "direct" (an HTTP redirect with
redirect_status: 301, 302, 307 or 308). Existing links stay interstitial, with 302.
link_cards keeps what a link's target page says about itself (og: tags), fetched in the
background, for the social cards of links without a summary.
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
    op.create_table(
        "link_cards",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name=op.f("fk_link_cards_link_id_links"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_link_cards")),
    )


def downgrade() -> None:
    op.drop_table("link_cards")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("redirect_status")
        batch.drop_column("redirect_mode")
