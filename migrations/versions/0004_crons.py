"""crons

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_EMPTY = sa.text("'{}'::jsonb")


def upgrade() -> None:
    op.create_table(
        "cron",
        sa.Column("cron_id", UUID(as_uuid=True), nullable=False),
        sa.Column("assistant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("thread_id", UUID(as_uuid=True), nullable=True),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False, server_default=sa.text("'UTC'")),
        sa.Column("payload", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column("metadata", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column("on_run_completed", sa.Text(), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("cron_id", name="pk_cron"),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["thread.thread_id"], ondelete="CASCADE",
            name="fk_cron_thread_id_thread",
        ),
    )
    op.create_index(
        "ix_cron_due", "cron", ["next_run_date"], postgresql_where=sa.text("enabled")
    )
    op.create_index("ix_cron_assistant_id", "cron", ["assistant_id"])
    op.create_index("ix_cron_thread_id", "cron", ["thread_id"])


def downgrade() -> None:
    op.drop_table("cron")
