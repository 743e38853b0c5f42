"""Imported clicks: the visit totals a link brought from another shortener

Revision ID: 0008_imported
Revises: 0007_rollups
Create Date: 2026-11-30

`balise import kutt|shlink|yourls|bitly` keeps each link's visit total from the peer in its
own column, shown apart from the clicks Balise counts (never mixed into them). Existing links
get 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_imported"
down_revision = "0007_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(
            sa.Column("imported_clicks", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.drop_column("imported_clicks")
