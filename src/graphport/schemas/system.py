"""Health, server information and metrics (response shapes: documentation only)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Ok(BaseModel):
    ok: Literal[True]


class HostInfo(BaseModel):
    kind: str
    project_id: str | None
    host_revision_id: str | None


class Info(BaseModel):
    """``version`` is the official API version whose behaviour the server reproduces
    (Studio gates features on it); ``flags`` says which features it serves."""

    version: str
    langgraph_py_version: str | None
    flags: dict[str, bool]
    host: HostInfo
    metadata: dict[str, str | None]


class QueueCounts(BaseModel):
    pending: int
    running: int


class WorkerSlots(BaseModel):
    slots: int
    used: int
    free: int


class OpenStreams(BaseModel):
    open: int


class Timing(BaseModel):
    count: float
    seconds: float


class Metrics(BaseModel):
    """``?format=json``: queue and runs by status (from the database), this process's
    worker slots and open streams, and latency totals (count and seconds)."""

    queue: QueueCounts
    runs: dict[str, int] = Field(description="Runs by status.")
    workers: WorkerSlots
    streams: OpenStreams
    timings: dict[str, Timing]
