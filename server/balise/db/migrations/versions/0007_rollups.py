"""Click rollups: statistics that no longer read raw clicks

Revision ID: 0007_rollups
Revises: 0006_webhooks
Create Date: 2026-11-30

Top lists and filtered statistics read per-link, per-hour counters for each combination of
referrer host, browser, OS, device, country and UTM values, so they stay fast with millions of
clicks and survive the purge of raw clicks. The table is filled from the clicks stored now
(clicks already purged are gone: their top lists cannot be rebuilt).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_rollups"
down_revision = "0006_webhooks"
branch_labels = None
depends_on = None

_TEXT = {
    "referrer_host": 255,
    "browser": 64,
    "os": 64,
    "device": 16,
    "country": 2,
    "utm_source": 255,
    "utm_medium": 255,
    "utm_campaign": 255,
}


def upgrade() -> None:
    op.create_table(
        "click_rollups",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("combo", sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.String(length=n), nullable=False) for name, n in _TEXT.items()),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["links.id"],
            name=op.f("fk_click_rollups_link_id_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("link_id", "hour", "combo", name=op.f("pk_click_rollups")),
    )
    with op.batch_alter_table("click_rollups") as batch:
        batch.create_index("ix_click_rollups_hour", ["hour", "link_id"])
    from balise.analytics.rollups import fill_from_clicks

    fill_from_clicks(op.get_bind())


def downgrade() -> None:
    op.drop_table("click_rollups")
