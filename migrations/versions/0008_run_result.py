"""run_result: the outcome of a stateless run, kept a few minutes after its rows went

A stateless run's thread and run rows are deleted when it ends. A client waiting on it in
another process learns of the end from the run-done notice, after the rows went: it reads
the outcome here instead.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_result",
        sa.Column("run_id", UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("output", JSONB(), nullable=True),
        sa.Column("error", JSONB(), nullable=True),
        sa.Column("interrupts", JSONB(), nullable=True),
        sa.Column(
            "ended_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_result"),
    )
    op.create_index("ix_run_result_ended_at", "run_result", ["ended_at"])


def downgrade() -> None:
    op.drop_table("run_result")
