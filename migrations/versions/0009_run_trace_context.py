"""run.trace_context: the trace a run belongs to (W3C ``traceparent``/``tracestate``)

With tracing on, the request that creates a run stores its trace context here, so the run's
span joins that trace in whichever process runs it. NULL when tracing is off.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run", sa.Column("trace_context", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("run", "trace_context")
