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


# Plain ADD/DROP COLUMN, never batch mode: on SQLite a batch copy drops the links table, and
# with foreign keys on that drop deletes every click (DROP COLUMN needs SQLite 3.35 or later).
def upgrade() -> None:
    op.add_column(
        "links", sa.Column("imported_clicks", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("links", "imported_clicks")
