"""Run requests and responses, named as in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, field_validator, model_validator, with_config
from typing_extensions import TypedDict

from graphport.schemas.common import (
    MAX_AFTER_SECONDS,
    SELECTABLE,
    Json,
    RequestModel,
    ResponseModel,
    checked_config,
)
from graphport.schemas.threads import CheckpointConfig, RunError

RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
StreamMode = Literal[
    "values",
    "messages",
    "messages-tuple",
    "updates",
    "events",
    "debug",
    "custom",
    "tasks",
    "checkpoints",
]
Durability = Literal["sync", "async", "exit"]
CancelAction = Literal["interrupt", "rollback"]
RunSelectField = Literal[
    "run_id",
    "thread_id",
    "assistant_id",
    "created_at",
    "updated_at",
    "status",
    "metadata",
    "kwargs",
    "multitask_strategy",
]


class SendPayload(RequestModel):
    node: str
    input: Any = None


class CommandPayload(RequestModel):
    update: Any = None
    resume: Any = None
    goto: SendPayload | str | list[SendPayload | str] | None = None


class _RunCreateBase(RequestModel):
    assistant_id: str = Field(min_length=1)
    input: Any = None
    command: CommandPayload | None = None
    metadata: Json | None = None
    config: Json | None = None
    context: Json | None = None
    webhook: str | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    stream_mode: StreamMode | list[StreamMode] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    on_disconnect: Literal["cancel", "continue"] | None = None
    feedback_keys: list[str] | None = None
    after_seconds: float | None = Field(
        default=None, ge=0, le=MAX_AFTER_SECONDS, allow_inf_nan=False
    )
    checkpoint_during: bool | None = None
    durability: Durability | None = None
    langsmith_tracer: Json | None = None
    # Older SDKs send this with ``wait``: the server's answer is the same either way (the
    # ``__error__`` body), the client raises on it when true.
    raise_error: bool | None = None

    @field_validator("stream_mode", mode="after")
    @classmethod
    def _modes_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else list(dict.fromkeys(value))

    @field_validator("config", mode="after")
    @classmethod
    def _config(cls, value: Json | None) -> Json | None:
        return checked_config(value)

    @field_validator("langsmith_tracer", mode="after")
    @classmethod
    def _no_langsmith(cls, value: Json | None) -> Json | None:
        if value is not None:
            raise ValueError("LangSmith tracing is not available on this server")
        return value

    @model_validator(mode="after")
    def _input_or_command(self) -> _RunCreateBase:
        # The command wins, as on the official server: agent-chat-ui resumes interrupts
        # with ``{"input": {}, "command": {"resume": ...}}``.
        if self.input is not None and self.command is not None:
            self.input = None
        return self

    def stream_modes(self) -> list[str]:
        modes = self.stream_mode
        return list(modes) if isinstance(modes, list) else [modes]

    def resolved_durability(self) -> Durability | None:
        if self.durability is not None:
            return self.durability
        if self.checkpoint_during is not None:
            return "async" if self.checkpoint_during else "exit"
        return None


class RunCreateStateful(_RunCreateBase):
    checkpoint: CheckpointConfig | None = None
    checkpoint_id: str | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"
    if_not_exists: Literal["create", "reject"] = "reject"
    strict_resume: bool | None = None


class RunCreateStateless(_RunCreateBase):
    on_completion: Literal["delete", "keep"] = "delete"
    # Accepted for payload parity with the stateful form; a stateless run has one thread.
    multitask_strategy: MultitaskStrategy | None = None
    if_not_exists: Literal["create", "reject"] | None = None


class RunsCancel(RequestModel):
    thread_id: UUID | None = None
    run_ids: list[UUID] | None = None
    status: Literal["pending", "running", "all"] | None = None

    @model_validator(mode="after")
    def _target(self) -> RunsCancel:
        if self.status is None and not self.run_ids:
            raise ValueError("Give either status or run_ids (with their thread_id)")
        return self


# A TypedDict, not a ResponseModel: a model field named ``kwargs`` trips the mypy plugin.
@with_config(ConfigDict(extra="forbid"))
class Run(TypedDict):
    """A run: ``kwargs`` holds what it was created with (input, config, stream modes, ...)."""

    run_id: UUID
    thread_id: UUID
    assistant_id: UUID
    created_at: datetime
    updated_at: datetime
    status: RunStatus
    metadata: Json
    kwargs: Json
    multitask_strategy: MultitaskStrategy


@with_config(SELECTABLE)
class RunSelection(Run):
    """A run as the thread's run list returns it: every field, or only those ``select``
    names."""


class RunFailed(ResponseModel):
    """What waiting on a run that failed (or timed out, or is unknown to a join) returns."""

    model_config = ConfigDict(serialize_by_alias=True)

    error: RunError = Field(alias="__error__")


RunOutput = Annotated[
    RunFailed | Any,
    Field(
        description="The thread's state values when the run ended (any JSON: an object for "
        'most graphs), or ``{"__error__": {...}}`` when it failed.'
    ),
]


class Empty(ResponseModel):
    """An empty object: ``{}``."""
