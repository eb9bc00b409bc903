"""Shared benchmark plumbing: the database, a server process, a bounded client, stats."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.server import ServerProcess  # noqa: E402


def database_uri() -> tuple[str, Any]:
    """DATABASE_URI when set; otherwise an embedded Postgres in bench/.data."""
    configured = os.environ.get("DATABASE_URI")
    if configured:
        return configured, None
    from graphport.db.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(HERE / ".data")
    return embedded.start(), embedded


def start_server(uri: str, **env: str) -> ServerProcess:
    return ServerProcess(
        database_uri=uri, config=HERE / "langgraph.json", extra_env=dict(env)
    ).start(timeout=60)


async def run_bounded(
    n_requests: int, concurrency: int, one: Callable[[int], Awaitable[float]]
) -> tuple[float, list[float]]:
    """Run ``one(i)`` n times with at most ``concurrency`` at once; (seconds, latencies)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n_requests):
        queue.put_nowait(i)
    latencies: list[float] = []

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            latencies.append(await one(i))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


class Conversations:
    """Concurrent clients, each on a thread no other client uses at that moment: a client is
    a conversation, whose runs follow one another (LangGraph runs a thread's steps one run
    at a time; the server queues a second run on a busy thread, the library would fork the
    thread's checkpoints). As many threads as clients: a free one is always there."""

    def __init__(self, thread_ids: list[str]) -> None:
        self._free = list(thread_ids)

    @contextlib.contextmanager
    def thread(self) -> Iterator[str]:
        thread_id = self._free.pop()
        try:
            yield thread_id
        finally:
            self._free.append(thread_id)


def summary(name: str, seconds: float, latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    result = {
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000,
    }
    print(
        f"  {name:<42} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.1f} ms  "
        f"p95 {result['p95_ms']:6.1f} ms"
    )
    return result


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> str:
    return f"{os.cpu_count()} CPUs, load {load_average()}"


def new_client(url: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=url, timeout=60, limits=limits)


def saver_pool(uri: str, size: int) -> Any:
    """A psycopg pool set up as graphport's checkpointer uses it (the ceiling's)."""
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    return AsyncConnectionPool(
        uri,
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=False,
    )
