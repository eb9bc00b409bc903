"""Polling helpers for run tests (bounded: they fail instead of hanging)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float = 15.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def wait_for_status(
    client: LangGraphClient, thread_id: str, run_id: str, *statuses: str
) -> dict[str, Any]:
    async def check() -> Any:
        run = await client.runs.get(thread_id, run_id)
        return run if run["status"] in statuses else None

    found: dict[str, Any] = await eventually(check)
    return found


async def wait_for_log(client: LangGraphClient, thread_id: str, entry: str) -> None:
    async def check() -> bool:
        state = await client.threads.get_state(thread_id)
        return entry in (state["values"] or {}).get("log", [])

    await eventually(check)


def sdk_status(outcome: Any) -> int:
    """The HTTP status of an SDK call's outcome from ``gather(..., return_exceptions=True)``
    (200 for a returned value); any other exception is raised again."""
    if isinstance(outcome, httpx.HTTPStatusError):
        return outcome.response.status_code
    if isinstance(outcome, BaseException):
        raise outcome
    return 200
