"""Health, server information and metrics (response shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from graphport.schemas.common import ResponseModel


class Ok(ResponseModel):
    ok: Literal[True]


class HostInfo(ResponseModel):
    kind: str
    project_id: str | None
    host_revision_id: str | None


class Info(ResponseModel):
    """``version`` is the official API version whose behaviour the server reproduces
    (Studio gates features on it); ``flags`` says which features it serves."""

    version: str
    langgraph_py_version: str | None
    flags: dict[str, bool]
    host: HostInfo
    metadata: dict[str, str | None]


class QueueCounts(ResponseModel):
    pending: int
    running: int


class WorkerSlots(ResponseModel):
    slots: int
    used: int
    free: int


class OpenStreams(ResponseModel):
    open: int


class Timing(ResponseModel):
    count: float
    seconds: float


class Metrics(ResponseModel):
    """``?format=json``: queue and runs by status (from the database), this process's
    worker slots and open streams, and latency totals (count and seconds)."""

    queue: QueueCounts
    runs: dict[str, int] = Field(description="Runs by status.")
    workers: WorkerSlots
    streams: OpenStreams
    timings: dict[str, Timing]
