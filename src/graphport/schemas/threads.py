"""Thread requests and responses, named as in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from graphport.schemas.common import (
    MAX_TTL_MINUTES,
    MIN_TTL_MINUTES,
    IfExists,
    Json,
    Limit,
    Offset,
    RequestModel,
    SortOrder,
)

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
ThreadSortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
ThreadSelectField = Literal[
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "context",
    "status",
    "values",
    "interrupts",
    "error",
]


class ThreadTTL(RequestModel):
    """Time to live in minutes (one second to 100 years); ``delete`` removes the thread
    and its checkpoints."""

    ttl: float = Field(ge=MIN_TTL_MINUTES, le=MAX_TTL_MINUTES, allow_inf_nan=False)
    strategy: Literal["delete"] = "delete"


class CheckpointConfig(BaseModel):
    """A checkpoint reference; extra keys the SDK may carry are tolerated but unused."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str | None = None
    checkpoint_ns: str | None = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class CommandPayload(RequestModel):
    update: Any = None
    resume: Any = None
    goto: Any = None


class SuperstepUpdate(RequestModel):
    values: Any = None
    command: CommandPayload | None = None
    as_node: str = Field(min_length=1)


class Superstep(RequestModel):
    updates: list[SuperstepUpdate]


class _WithTTL(RequestModel):
    metadata: Json | None = None
    ttl: ThreadTTL | None = None

    @field_validator("ttl", mode="before")
    @classmethod
    def _ttl_number(cls, value: Any) -> Any:
        """A bare number means minutes with the ``delete`` strategy."""
        return {"ttl": value} if isinstance(value, int | float) else value


class ThreadCreate(_WithTTL):
    thread_id: UUID | None = None
    if_exists: IfExists = "raise"
    supersteps: list[Superstep] | None = None


class ThreadPatch(_WithTTL):
    pass


class ThreadFilters(RequestModel):
    metadata: Json | None = None
    values: Json | None = None
    status: ThreadStatus | None = None


class ThreadSearchRequest(ThreadFilters):
    ids: list[UUID] | None = None
    limit: int = Limit
    offset: int = Offset
    sort_by: ThreadSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[ThreadSelectField] | None = None


class ThreadCountRequest(ThreadFilters):
    pass


class ThreadStateCheckpointRequest(RequestModel):
    checkpoint: CheckpointConfig
    subgraphs: bool = False


class ThreadStateUpdate(RequestModel):
    values: Any = None
    checkpoint: CheckpointConfig | None = None
    checkpoint_id: str | None = None
    as_node: str | None = None


class ThreadStateSearch(RequestModel):
    limit: int = Field(default=1, ge=1, le=1000)
    before: CheckpointConfig | str | None = None
    metadata: Json | None = None
    checkpoint: CheckpointConfig | None = None

    @field_validator("before", mode="before")
    @classmethod
    def _before_forms(cls, value: Any) -> Any:
        """A checkpoint id string, a Checkpoint dict, or a RunnableConfig."""
        if isinstance(value, dict) and isinstance(value.get("configurable"), dict):
            return value["configurable"]
        return value


class Thread(BaseModel):
    thread_id: UUID
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime
    metadata: Json
    config: Json
    status: ThreadStatus
    values: Json | None
    interrupts: Json
    error: Any | None = None


class ThreadState(BaseModel):
    values: Any
    next: list[str]
    tasks: list[Json]
    checkpoint: Json | None
    metadata: Json | None
    created_at: str | None
    parent_checkpoint: Json | None
    interrupts: list[Json]
    checkpoint_id: str | None
    parent_checkpoint_id: str | None


class ThreadStateUpdateResponse(BaseModel):
    checkpoint: Json
