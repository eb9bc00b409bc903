"""crons keep their creator (custom auth) for the runs they fire

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cron", sa.Column("auth_user", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("cron", "auth_user")
