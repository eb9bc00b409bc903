"""Our tables (langgraph's checkpointer and store create their own)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_EMPTY_OBJECT = text("'{}'::jsonb")

assistant = Table(
    "assistant",
    metadata,
    Column("assistant_id", UUID(as_uuid=True), primary_key=True),
    Column("graph_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("config", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("context", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("metadata", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_assistant_graph_id", "graph_id"),
    Index("ix_assistant_created_at", "created_at"),
    Index(
        "ix_assistant_metadata",
        "metadata",
        postgresql_using="gin",
        postgresql_ops={"metadata": "jsonb_path_ops"},
    ),
)

assistant_version = Table(
    "assistant_version",
    metadata,
    Column(
        "assistant_id",
        UUID(as_uuid=True),
        ForeignKey("assistant.assistant_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("graph_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("config", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("context", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("metadata", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

thread = Table(
    "thread",
    metadata,
    Column("thread_id", UUID(as_uuid=True), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("state_updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("metadata", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("config", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("status", Text, nullable=False, server_default=text("'idle'")),
    Column("values", JSONB, nullable=True),
    Column("interrupts", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("error", JSONB, nullable=True),
    Column("ttl", JSONB, nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Index("ix_thread_created_at", "created_at"),
    Index("ix_thread_status", "status"),
    Index(
        "ix_thread_metadata",
        "metadata",
        postgresql_using="gin",
        postgresql_ops={"metadata": "jsonb_path_ops"},
    ),
    Index(
        "ix_thread_values",
        "values",
        postgresql_using="gin",
        postgresql_ops={"values": "jsonb_path_ops"},
    ),
    Index("ix_thread_expires_at", "expires_at", postgresql_where=text("expires_at IS NOT NULL")),
)

run = Table(
    "run",
    metadata,
    Column("run_id", UUID(as_uuid=True), primary_key=True),
    # Creation order; ties in created_at (one transaction) still have an order.
    Column("seq", BigInteger, Identity(always=False), nullable=False, unique=True),
    Column(
        "thread_id",
        UUID(as_uuid=True),
        ForeignKey("thread.thread_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("assistant_id", UUID(as_uuid=True), nullable=False),
    Column("graph_id", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("metadata", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("kwargs", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("multitask_strategy", Text, nullable=False, server_default=text("'enqueue'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("available_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("worker_id", BigInteger, nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Column("cancel_action", Text, nullable=True),
    Column("error", JSONB, nullable=True),
    # the creating request's trace (W3C headers) when tracing is on: the run's span joins it
    Column("trace_context", JSONB, nullable=True),
    Index("ix_run_thread_id_seq", "thread_id", "seq"),
    Index("ix_run_pending", "seq", postgresql_where=text("status = 'pending'")),
    Index(
        "uq_run_one_running_per_thread",
        "thread_id",
        unique=True,
        postgresql_where=text("status = 'running'"),
    ),
    Index("ix_run_running_worker", "worker_id", postgresql_where=text("status = 'running'")),
)

cron = Table(
    "cron",
    metadata,
    Column("cron_id", UUID(as_uuid=True), primary_key=True),
    Column("assistant_id", UUID(as_uuid=True), nullable=False),
    Column(
        "thread_id",
        UUID(as_uuid=True),
        ForeignKey("thread.thread_id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("user_id", Text, nullable=True),
    Column("auth_user", JSONB, nullable=True),  # the creator, for the runs it fires
    Column("schedule", Text, nullable=False),
    Column("timezone", Text, nullable=False, server_default=text("'UTC'")),
    Column("payload", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("metadata", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("on_run_completed", Text, nullable=True),
    Column("end_time", DateTime(timezone=True), nullable=True),
    Column("next_run_date", DateTime(timezone=True), nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_cron_due", "next_run_date", postgresql_where=text("enabled")),
    Index("ix_cron_assistant_id", "assistant_id"),
    Index("ix_cron_thread_id", "thread_id"),
)

# The outcome of a stateless run, whose thread and run rows go when it ends: for a waiter in
# another process, told of the end by a notice after the rows went. Kept a few minutes.
run_result = Table(
    "run_result",
    metadata,
    Column("run_id", UUID(as_uuid=True), primary_key=True),
    Column("status", Text, nullable=False),
    Column("output", JSONB, nullable=True),
    Column("error", JSONB, nullable=True),
    Column("interrupts", JSONB, nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_run_result_ended_at", "ended_at"),
)
