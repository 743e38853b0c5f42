"""Dashboard sessions kept on the server, so signing out ends them

Revision ID: 0004_sessions
Revises: 0003_flood
Create Date: 2026-11-30

Until now a dashboard session lived only in its signed cookie: after "Sign out" a copy of the
cookie still worked. The cookie now carries a random token whose hash must be in this table.
Sessions opened before this revision end (their cookies hold no token): people sign in again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_sessions"
down_revision = "0003_flood"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_dashboard_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_dashboard_sessions_token_hash")),
    )
    with op.batch_alter_table("dashboard_sessions") as batch:
        batch.create_index(batch.f("ix_dashboard_sessions_user_id"), ["user_id"])
        batch.create_index(batch.f("ix_dashboard_sessions_last_seen_at"), ["last_seen_at"])


def downgrade() -> None:
    op.drop_table("dashboard_sessions")
