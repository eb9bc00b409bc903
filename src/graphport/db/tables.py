"""Our tables (langgraph's checkpointer and store create their own)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
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
