"""runs: the durable run queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_EMPTY = sa.text("'{}'::jsonb")


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    default = None if nullable else sa.func.now()
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=default
    )


def upgrade() -> None:
    op.create_table(
        "run",
        sa.Column("run_id", UUID(as_uuid=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("thread_id", UUID(as_uuid=True), nullable=False),
        sa.Column("assistant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("graph_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("metadata", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column("kwargs", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column(
            "multitask_strategy", sa.Text(), nullable=False, server_default=sa.text("'enqueue'")
        ),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("available_at"),
        _timestamp("started_at", nullable=True),
        _timestamp("ended_at", nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("worker_id", sa.BigInteger(), nullable=True),
        _timestamp("heartbeat_at", nullable=True),
        sa.Column("cancel_action", sa.Text(), nullable=True),
        sa.Column("error", JSONB(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_run"),
        sa.UniqueConstraint("seq", name="uq_run_seq"),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["thread.thread_id"], ondelete="CASCADE",
            name="fk_run_thread_id_thread",
        ),
    )
    op.create_index("ix_run_thread_id_seq", "run", ["thread_id", "seq"])
    op.create_index(
        "ix_run_pending", "run", ["seq"], postgresql_where=sa.text("status = 'pending'")
    )
    op.create_index(
        "uq_run_one_running_per_thread",
        "run",
        ["thread_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index(
        "ix_run_running_worker", "run", ["worker_id"],
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_table("run")
