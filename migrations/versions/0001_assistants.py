"""assistants and their versions

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_EMPTY = sa.text("'{}'::jsonb")


def _common_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("graph_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("config", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column("context", JSONB(), nullable=False, server_default=_EMPTY),
        sa.Column("metadata", JSONB(), nullable=False, server_default=_EMPTY),
    ]


def upgrade() -> None:
    op.create_table(
        "assistant",
        sa.Column("assistant_id", UUID(as_uuid=True), nullable=False),
        *_common_columns(),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("assistant_id", name="pk_assistant"),
    )
    op.create_index("ix_assistant_graph_id", "assistant", ["graph_id"])
    op.create_index("ix_assistant_created_at", "assistant", ["created_at"])
    op.create_index(
        "ix_assistant_metadata", "assistant", ["metadata"],
        postgresql_using="gin", postgresql_ops={"metadata": "jsonb_path_ops"},
    )
    op.create_table(
        "assistant_version",
        sa.Column("assistant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_common_columns(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("assistant_id", "version", name="pk_assistant_version"),
        sa.ForeignKeyConstraint(
            ["assistant_id"], ["assistant.assistant_id"], ondelete="CASCADE",
            name="fk_assistant_version_assistant_id_assistant",
        ),
    )


def downgrade() -> None:
    op.drop_table("assistant_version")
    op.drop_table("assistant")
