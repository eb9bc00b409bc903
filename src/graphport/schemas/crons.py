"""Cron requests and responses, named as in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator

from graphport.schemas.common import (
    SELECTABLE,
    Json,
    Limit,
    Offset,
    RequestModel,
    ResponseModel,
    SortOrder,
    bounded_time,
    checked_config,
)
from graphport.schemas.runs import Durability, MultitaskStrategy, StreamMode

CronSortBy = Literal[
    "cron_id", "assistant_id", "thread_id", "created_at", "updated_at", "next_run_date", "end_time"
]
CronSelectField = Literal[
    "cron_id",
    "assistant_id",
    "thread_id",
    "end_time",
    "schedule",
    "timezone",
    "created_at",
    "updated_at",
    "user_id",
    "payload",
    "next_run_date",
    "metadata",
    "on_run_completed",
    "enabled",
]

# The run fields a cron stores and replays on every firing.
RUN_FIELDS = (
    "input",
    "config",
    "context",
    "metadata",
    "webhook",
    "interrupt_before",
    "interrupt_after",
    "stream_mode",
    "stream_subgraphs",
    "stream_resumable",
    "durability",
    "checkpoint_during",
    "multitask_strategy",
)


class _CronRunPayload(RequestModel):
    input: Any = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    webhook: str | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    stream_mode: StreamMode | list[StreamMode] | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Durability | None = None
    checkpoint_during: bool | None = None
    multitask_strategy: MultitaskStrategy | None = None

    @field_validator("config", mode="after")
    @classmethod
    def _config(cls, value: Json | None) -> Json | None:
        return checked_config(value)

    @field_validator("end_time", mode="after", check_fields=False)
    @classmethod
    def _end_time(cls, value: datetime | None) -> datetime | None:
        """As UTC (no zone given: UTC), between 1970 and 9999."""
        return bounded_time(value)


class CronCreate(_CronRunPayload):
    """A cron on a new thread per firing (``on_run_completed`` decides its fate)."""

    assistant_id: str = Field(min_length=1)
    schedule: str
    end_time: datetime | None = None
    enabled: bool = True
    timezone: str | None = None
    on_run_completed: Literal["delete", "keep"] = "delete"


class ThreadCronCreate(_CronRunPayload):
    assistant_id: str = Field(min_length=1)
    schedule: str
    end_time: datetime | None = None
    enabled: bool = True
    timezone: str | None = None


class CronPatch(_CronRunPayload):
    schedule: str | None = None
    end_time: datetime | None = None
    enabled: bool | None = None
    timezone: str | None = None
    on_run_completed: Literal["delete", "keep"] | None = None


class CronFilters(RequestModel):
    assistant_id: str | None = None
    thread_id: UUID | None = None
    metadata: Json | None = None
    enabled: bool | None = None


class CronSearch(CronFilters):
    limit: int = Limit
    offset: int = Offset
    sort_by: CronSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[CronSelectField] | None = None


class CronCountRequest(CronFilters):
    pass


class Cron(ResponseModel):
    """A scheduled run. ``thread_id`` is null for a cron that runs on a new thread each
    time; ``next_run_date`` is null once the cron has no firing left before its
    ``end_time``."""

    cron_id: UUID
    assistant_id: UUID
    thread_id: UUID | None
    end_time: datetime | None
    schedule: str
    timezone: str
    created_at: datetime
    updated_at: datetime
    user_id: str | None
    payload: Json = Field(description="The run each firing creates (its request fields).")
    next_run_date: datetime | None
    metadata: Json
    on_run_completed: Literal["delete", "keep"] | None
    enabled: bool


class CronSelection(Cron):
    """A cron as search returns it: every field, or only those ``select`` names."""

    model_config = SELECTABLE
