"""Clients that leave a ``/wait`` or ``/join`` before the run ends: with
``on_disconnect: "cancel"`` (``cancel_on_disconnect=true`` on a join) the run is cancelled at
once, stateless runs too; otherwise it runs on to its end. Either way the server forgets the
waiter: a departed client never holds up a shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.api.run_helpers import eventually
from tests.server import ServerProcess

SLOW = {"assistant_id": "slow", "input": {"delay": 1.5}}  # two steps: 3 s unless cancelled
LEAVE_AFTER = 0.3  # seconds
CANCELLED_WITHIN = 1.5  # from the client leaving to the run recorded interrupted


async def _leave(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    once: Callable[[], Awaitable[Any]] | None = None,
) -> float:
    """Send a request on a connection of its own and close it after ``LEAVE_AFTER``
    seconds (and ``once`` holds), before any answer. Returns when it left."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as own:
        request = asyncio.create_task(own.request(method, path, json=body))
        await asyncio.sleep(LEAVE_AFTER)
        if once is not None:
            await eventually(once, within=5)
        assert not request.done(), request.result().text
        request.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await request
    return time.monotonic()


def _has_run(http: httpx.AsyncClient, thread_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool((await http.get(f"/threads/{thread_id}/runs")).json())

    return check


async def _only_run(http: httpx.AsyncClient, thread_id: str) -> dict[str, Any]:
    runs = (await http.get(f"/threads/{thread_id}/runs")).json()
    assert len(runs) == 1, runs
    return dict(runs[0])


async def _ends_as(
    http: httpx.AsyncClient, thread_id: str, run_id: str, status: str, *, within: float
) -> float:
    """Seconds until the run is recorded with ``status`` (fails after ``within``)."""
    started = time.monotonic()

    async def check() -> bool:
        found = await http.get(f"/threads/{thread_id}/runs/{run_id}")
        return found.json()["status"] == status

    await eventually(check, within=within)
    return time.monotonic() - started


async def _thread(http: httpx.AsyncClient) -> str:
    return str((await http.post("/threads", json={})).json()["thread_id"])


@pytest.mark.parametrize("mode", [None, "continue", "cancel"])
async def test_leaving_a_wait(http: httpx.AsyncClient, base_url: str, mode: str | None) -> None:
    thread_id = await _thread(http)
    body = SLOW if mode is None else {**SLOW, "on_disconnect": mode}
    path = f"/threads/{thread_id}/runs/wait"
    await _leave(base_url, "POST", path, body, once=_has_run(http, thread_id))
    run = await _only_run(http, thread_id)
    if mode == "cancel":
        await _ends_as(http, thread_id, run["run_id"], "interrupted", within=CANCELLED_WITHIN)
    else:  # the default is "continue", as on the official server
        await _ends_as(http, thread_id, run["run_id"], "success", within=10)


@pytest.mark.parametrize("mode", ["continue", "cancel"])
async def test_leaving_a_stateless_wait(http: httpx.AsyncClient, base_url: str, mode: str) -> None:
    assistant = (await http.post("/assistants", json={"graph_id": "slow"})).json()
    body = {
        **SLOW,
        "assistant_id": assistant["assistant_id"],
        "on_disconnect": mode,
        "on_completion": "keep",
    }
    search = {"metadata": {"assistant_id": assistant["assistant_id"]}}

    async def created() -> list[Any]:
        found: list[Any] = (await http.post("/threads/search", json=search)).json()
        return found

    await _leave(base_url, "POST", "/runs/wait", body, once=created)
    [thread] = await created()
    run = await _only_run(http, thread["thread_id"])
    status = "interrupted" if mode == "cancel" else "success"
    within = CANCELLED_WITHIN if mode == "cancel" else 10
    await _ends_as(http, thread["thread_id"], run["run_id"], status, within=within)


async def test_leaving_a_stateless_wait_deletes_its_thread(
    http: httpx.AsyncClient, base_url: str
) -> None:
    """``on_completion: "delete"`` (the default) still applies to a run cancelled this way."""
    assistant = (await http.post("/assistants", json={"graph_id": "slow"})).json()
    body = {**SLOW, "assistant_id": assistant["assistant_id"], "on_disconnect": "cancel"}
    search = {"metadata": {"assistant_id": assistant["assistant_id"]}}
    request = asyncio.create_task(_leave(base_url, "POST", "/runs/wait", body))

    async def created() -> list[Any]:
        found: list[Any] = (await http.post("/threads/search", json=search)).json()
        return found

    [thread] = await eventually(created)
    await request

    async def gone() -> bool:
        return (await http.get(f"/threads/{thread['thread_id']}")).status_code == 404

    await eventually(gone, within=CANCELLED_WITHIN)


@pytest.mark.parametrize("cancel", [False, True])
async def test_leaving_a_join(http: httpx.AsyncClient, base_url: str, cancel: bool) -> None:
    thread_id = await _thread(http)
    run_id = (await http.post(f"/threads/{thread_id}/runs", json=SLOW)).json()["run_id"]
    path = f"/threads/{thread_id}/runs/{run_id}/join"
    await _leave(base_url, "GET", f"{path}?cancel_on_disconnect={str(cancel).lower()}")
    if cancel:
        await _ends_as(http, thread_id, run_id, "interrupted", within=CANCELLED_WITHIN)
    else:
        await _ends_as(http, thread_id, run_id, "success", within=10)


async def test_many_waits_leaving_at_once_cancel_their_runs(
    http: httpx.AsyncClient, base_url: str
) -> None:
    threads = [await _thread(http) for _ in range(8)]
    body = {**SLOW, "on_disconnect": "cancel"}
    await asyncio.gather(
        *(
            _leave(base_url, "POST", f"/threads/{t}/runs/wait", body, once=_has_run(http, t))
            for t in threads
        )
    )
    runs = [await _only_run(http, t) for t in threads]
    await asyncio.gather(
        *(
            _ends_as(http, t, r["run_id"], "interrupted", within=CANCELLED_WITHIN * 2)
            for t, r in zip(threads, runs, strict=True)
        )
    )


def _rpc(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def _a2a_message(context: str) -> dict[str, Any]:
    parts = [{"kind": "text", "text": "hi"}]
    return {"role": "user", "parts": parts, "messageId": "m", "contextId": context}


async def test_departed_waiters_do_not_hold_up_a_shutdown(fresh_database: str) -> None:
    """No worker slots: the runs stay pending, so only waiters could keep the drain going."""
    grace = 20.0
    server = ServerProcess(
        database_uri=fresh_database,
        extra_env={"BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS": str(grace), "N_JOBS_PER_WORKER": "0"},
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            thread_id = await _thread(http)
            run_id = (await http.post(f"/threads/{thread_id}/runs", json=SLOW)).json()["run_id"]
            other = await _thread(http)
            context = str(uuid.uuid4())
            await asyncio.gather(
                _leave(server.url, "GET", f"/threads/{thread_id}/runs/{run_id}/join"),
                _leave(
                    server.url,
                    "POST",
                    f"/threads/{other}/runs/wait",
                    SLOW,
                    once=_has_run(http, other),
                ),
                # A2A's blocking send and MCP's tool call wait on their runs the same way
                _leave(
                    server.url,
                    "POST",
                    "/a2a/agent_lingers",
                    _rpc("message/send", {"message": _a2a_message(context)}),
                    once=_has_run(http, context),
                ),
                _leave(
                    server.url,
                    "POST",
                    "/mcp",
                    _rpc("tools/call", {"name": "agent_lingers", "arguments": {"messages": "x"}}),
                ),
            )
        assert server.proc is not None
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.proc.wait, grace + 10) == 0
        assert time.monotonic() - signalled < 3.0
    finally:
        server.stop(signal.SIGKILL)
