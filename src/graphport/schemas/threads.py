"""Thread requests and responses, named as in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator

from graphport.schemas.common import (
    MAX_TTL_MINUTES,
    MIN_TTL_MINUTES,
    SELECTABLE,
    IfExists,
    Json,
    Limit,
    Offset,
    RequestModel,
    ResponseModel,
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


class CheckpointConfig(RequestModel):
    """A checkpoint reference."""

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


MAX_PRUNE_THREADS = 1000
"""Most thread ids one prune request may name."""


class ThreadPruneRequest(RequestModel):
    """Threads to prune: ``delete`` removes them (as ``DELETE /threads/{thread_id}``),
    ``keep_latest`` keeps each thread and its latest state, dropping older checkpoints."""

    thread_ids: list[UUID] = Field(
        max_length=MAX_PRUNE_THREADS, description="The threads to prune (at most 1000)."
    )
    strategy: Literal["delete", "keep_latest"] = "delete"


class RunError(ResponseModel):
    """Why a run failed: the exception's class name and message."""

    error: str
    message: str


class Interrupt(ResponseModel):
    value: Any
    id: str


class ThreadTTLInfo(ResponseModel):
    """A thread's time to live (minutes) and when it expires."""

    ttl: float
    strategy: Literal["delete"]
    expires_at: datetime | None


class Thread(ResponseModel):
    """A thread: its status and a snapshot of its latest state (the state itself lives in
    checkpoints: ``/state``, ``/history``)."""

    thread_id: UUID
    created_at: datetime
    updated_at: datetime
    state_updated_at: datetime
    metadata: Json
    config: Json
    status: ThreadStatus
    values: Any = Field(description="The latest state values (an object for most graphs).")
    interrupts: dict[str, list[Interrupt]] = Field(
        description="Pending interrupts, keyed by the id of the task that raised them."
    )
    error: RunError | None = Field(description="Why the thread's last run failed.")
    ttl: ThreadTTLInfo | None = Field(default=None, description="Only with ``?include=ttl``.")


class ThreadSelection(Thread):
    """A thread as search returns it: every field but ``ttl``, or only those ``select``
    names."""

    model_config = SELECTABLE


class ThreadTask(ResponseModel):
    """A task of the step a state is at: ``state`` is a subgraph's state (with
    ``subgraphs=true``), ``checkpoint`` points at it (without)."""

    id: str
    name: str
    path: list[Any]
    error: str | None
    interrupts: list[Interrupt]
    checkpoint: CheckpointConfig | None
    state: ThreadState | None
    result: Any


class ThreadState(ResponseModel):
    values: Any
    next: list[str]
    tasks: list[ThreadTask]
    checkpoint: CheckpointConfig | None
    metadata: Json | None
    created_at: str | None
    parent_checkpoint: CheckpointConfig | None
    interrupts: list[Interrupt]
    checkpoint_id: str | None
    parent_checkpoint_id: str | None


class ThreadStateUpdateResponse(ResponseModel):
    """The checkpoint the update wrote (``configurable`` repeats it, as older SDKs read it)."""

    checkpoint: CheckpointConfig | None
    configurable: CheckpointConfig | None
    checkpoint_id: str | None


class ThreadPruneResponse(ResponseModel):
    pruned_count: int = Field(
        description="How many threads were pruned; missing, hidden and busy ones are not."
    )


class StorageBytes(ResponseModel):
    count: int
    bytes: int


class ChannelStorage(ResponseModel):
    versions: int
    bytes: int


class ChannelValuesStorage(StorageBytes):
    by_channel: dict[str, ChannelStorage]


class ThreadStorage(ResponseModel):
    """Bytes a thread's checkpoints occupy in Postgres, as stored (``pg_column_size``:
    after compression): checkpoint rows (checkpoint and metadata), channel values kept
    apart from them (one row per channel version), and pending writes."""

    thread_id: UUID
    total_bytes: int = Field(description="Sum of the three sections below.")
    checkpoints: StorageBytes = Field(description="Checkpoint rows: checkpoint plus metadata.")
    channel_values: ChannelValuesStorage = Field(
        description="Channel values stored apart, one row per channel version."
    )
    pending_writes: StorageBytes = Field(
        description="Task writes not yet folded into a checkpoint."
    )
