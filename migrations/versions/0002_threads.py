"""threads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_EMPTY = sa.text("'{}'::jsonb")


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "thread",
        sa.Column("thread_id", UUID(as_uuid=True), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("state_updated_at"),
        sa.Column("metadata", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column("config", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'idle'")),
        sa.Column("values", JSONB(), nullable=True),
        sa.Column("interrupts", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column("error", JSONB(), nullable=True),
        sa.Column("ttl", JSONB(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("thread_id", name="pk_thread"),
    )
    op.create_index("ix_thread_created_at", "thread", ["created_at"])
    op.create_index("ix_thread_status", "thread", ["status"])
    for column in ("metadata", "values"):
        op.create_index(
            f"ix_thread_{column}",
            "thread",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "jsonb_path_ops"},
        )
    op.create_index(
        "ix_thread_expires_at",
        "thread",
        ["expires_at"],
        postgresql_where=sa.text("expires_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("thread")
