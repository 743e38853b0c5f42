"""Statistics at scale: a time pyramid of rollups, site-wide and per link

Revision ID: 0010_daily
Revises: 0007_rollups
Create Date: 2026-11-30

Counters and clicks per dimension value per UTC hour, day and month, per link and for all
links together, and site-wide clicks per combination of dimensions, so a statistics answer
reads a few rows per value whatever the number of clicks (db/rollup_tables.py). Filled from
the hourly counters, click rollups and daily visitors stored when it runs (in the database,
one INSERT ... SELECT per level). Downgrade drops them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_daily"
down_revision = "0009_controls"
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
_COUNTERS = ("clicks", "confirmed", "bots", "prefetches", "preview_views", "visitors")
_TABLES = ("site_visitors", "site_combos", "site_values", "link_values", "site_counts", "period_counts")


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def _link() -> list:
    return [
        sa.Column("link_id", sa.Integer(), nullable=False),
    ]


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["link_id"], ["links.id"], name=op.f(f"fk_{table}_link_id_links"), ondelete="CASCADE"
    )


def _when() -> list:
    return [
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    plain = {"sqlite_with_rowid": False}
    op.create_table(
        "period_counts",
        *_link(),
        *_when(),
        *(_int(n) for n in _COUNTERS),
        _fk("period_counts"),
        sa.PrimaryKeyConstraint("link_id", "level", "start", name=op.f("pk_period_counts")),
        **plain,
    )
    op.create_index(
        "ix_period_counts_top", "period_counts", ["level", "start", "clicks", "link_id"]
    )
    op.create_table(
        "site_counts",
        *_when(),
        *(_int(n) for n in _COUNTERS),
        sa.PrimaryKeyConstraint("level", "start", name=op.f("pk_site_counts")),
        **plain,
    )
    op.create_table(
        "link_values",
        *_link(),
        *_when(),
        sa.Column("counts", sa.Text(), nullable=False),
        _fk("link_values"),
        sa.PrimaryKeyConstraint("link_id", "level", "start", name=op.f("pk_link_values")),
        **plain,
    )
    op.create_table(
        "site_values",
        sa.Column("dim", sa.String(length=16), nullable=False),
        *_when(),
        sa.Column("value", sa.String(length=255), nullable=False),
        _int("clicks"),
        sa.PrimaryKeyConstraint("dim", "level", "start", "value", name=op.f("pk_site_values")),
        **plain,
    )
    op.create_table(
        "site_combos",
        *_when(),
        sa.Column("combo", sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.String(length=n), nullable=False) for name, n in _TEXT.items()),
        _int("clicks"),
        _int("confirmed"),
        sa.PrimaryKeyConstraint("level", "start", "combo", name=op.f("pk_site_combos")),
        **plain,
    )
    op.create_table(
        "site_visitors",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("visitor_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day", "visitor_hash", name=op.f("pk_site_visitors")),
        **plain,
    )
    from balise.analytics.backfill import fill

    fill(op.get_bind())


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
