"""Health, server information and metrics (response shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

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


class QueueStats(ResponseModel):
    """Runs waiting and running (all processes: read from the database). Waits are in
    seconds, from when a run became due (its creation, or the end of its
    ``after_seconds``), over the due pending runs; null without any."""

    n_pending: int
    n_running: int
    pending_runs_wait_time_max_secs: float | None
    pending_runs_wait_time_med_secs: float | None
    pending_unblocked_runs_wait_time_max_secs: float | None = Field(
        description="The longest wait of a pending run whose thread has no running run."
    )


class WorkerStats(ResponseModel):
    """This process's run slots (N_JOBS_PER_WORKER)."""

    max: int
    active: int
    available: int


class HttpRequestCount(ResponseModel):
    method: str
    path: str = Field(description="The route template, e.g. ``/threads/{thread_id}``.")
    status: int
    count: int


class ApiStats(ResponseModel):
    http_requests_total: list[HttpRequestCount] = Field(
        description="Requests since start by route and status (``/ok``, ``/info``, "
        "``/metrics``, ``/docs``, ``/openapi.json`` left out)."
    )


class PoolStats(ResponseModel):
    """This process's database connections (its pool and the checkpointer's, summed)."""

    pool_max: int
    pool_size: int = Field(description="Connections open now.")
    pool_available: int = Field(description="Open and idle.")
    requests_queued: int = Field(description="Since start: requests that waited.")
    requests_errors: int = Field(description="Since start: requests that got no connection.")


class OpenStreams(ResponseModel):
    open: int = Field(description="Event streams open in this process.")
    runs: int = Field(description="Of those, the streams of a run (the others follow a thread).")


class Timing(ResponseModel):
    count: float
    seconds: float


class UnknownFieldCount(ResponseModel):
    method: str
    route: str
    field: str = Field(description="``other`` past 100 distinct names.")
    count: int = Field(description="Requests that carried it.")


class Metrics(ResponseModel):
    """``?format=json``: the official server's keys with their meaning (``postgres``,
    ``queue``, ``api``, ``workers``), then runs by status and by graph (from the database),
    this process's open streams, latency totals (count and seconds), and the request fields no
    API version defines that clients sent (ignored)."""

    postgres: PoolStats
    queue: QueueStats
    api: ApiStats
    workers: WorkerStats | SkipJsonSchema[None] = Field(
        default=None, description="Only when this process runs workers (N_JOBS_PER_WORKER > 0)."
    )
    runs: dict[str, int] = Field(description="Runs by status.")
    runs_by_graph: dict[str, dict[str, int]] = Field(
        description="Runs by graph, then status (``{graph: {status: n}}``)."
    )
    streams: OpenStreams
    timings: dict[str, Timing]
    webhook_deliveries: dict[str, int] = Field(
        description="Webhook deliveries by outcome: delivered, rejected (a 4xx answer), failed."
    )
    cron_firings: dict[str, int] = Field(
        description="Cron firings by outcome: started (its run), refused."
    )
    unknown_request_fields: list[UnknownFieldCount]
