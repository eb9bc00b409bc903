"""SIGTERM: no new claims at once; waiting clients (wait, join, run streams) are served until
their run ends or the grace period does, then get a clear JSON answer; leftovers are requeued
and complete after a restart; the process exits soon after the grace period."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.server import ServerProcess

GRACE = 3.0
SHORT = {"assistant_id": "slow", "input": {"delay": 0.5}}  # ends well within the grace
LONG = {"assistant_id": "slow", "input": {"delay": 5}}  # two steps of 5 s: outlasts it


async def _stream(
    http: httpx.AsyncClient, method: str, path: str, body: Any, opened: asyncio.Event
) -> list[tuple[str, Any]]:
    """(event, data) pairs of an SSE response; ``opened`` is set at its first event."""
    events: list[tuple[str, Any]] = []
    async with http.stream(method, path, json=body) as response:
        assert response.status_code == 200
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
                opened.set()
    return events


async def _running(http: httpx.AsyncClient, thread_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = (await http.get(f"/threads/{thread_id}/runs")).json()
        if runs and runs[0]["status"] == "running":
            return dict(runs[0])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no run of thread {thread_id} started")


async def _thread(http: httpx.AsyncClient) -> str:
    return str((await http.post("/threads", json={})).json()["thread_id"])


@pytest.fixture
async def draining(
    fresh_database: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[ServerProcess, httpx.AsyncClient]]:
    """A server with a grace period of ``GRACE`` seconds (or the test's ``grace`` param)."""
    grace = getattr(request, "param", GRACE)
    server = ServerProcess(
        database_uri=fresh_database,
        extra_env={"BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS": str(grace)},
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            yield server, http
    finally:
        server.stop(signal.SIGKILL)


async def test_sigterm_serves_waiting_clients_then_answers_and_requeues(
    draining: tuple[ServerProcess, httpx.AsyncClient], fresh_database: str
) -> None:
    server, http = draining
    threads = [await _thread(http) for _ in range(5)]
    short_wait = asyncio.create_task(http.post(f"/threads/{threads[0]}/runs/wait", json=SHORT))
    long_wait = asyncio.create_task(http.post(f"/threads/{threads[1]}/runs/wait", json=LONG))
    opened = [asyncio.Event() for _ in range(3)]
    short_stream = asyncio.create_task(
        _stream(http, "POST", f"/threads/{threads[2]}/runs/stream", SHORT, opened[0])
    )
    long_stream = asyncio.create_task(
        _stream(http, "POST", f"/threads/{threads[3]}/runs/stream", LONG, opened[1])
    )
    background = (await http.post(f"/threads/{threads[4]}/runs", json=LONG)).json()
    join_path = f"/threads/{threads[4]}/runs/{background['run_id']}"
    joined_stream = asyncio.create_task(
        _stream(http, "GET", f"{join_path}/stream", None, opened[2])
    )
    long_run = [await _running(http, t) for t in threads][1]
    for event in opened:
        await asyncio.wait_for(event.wait(), 20)
    join = asyncio.create_task(http.get(f"{join_path}/join"))
    await asyncio.sleep(0.3)  # the join is waiting too

    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()

    done = await short_wait
    assert done.status_code == 200
    assert done.json()["log"][-1] == "after"
    short_events = await short_stream
    assert short_events[-1][0] == "values" and short_events[-1][1]["log"][-1] == "after"
    assert all(name != "error" for name, _ in short_events)

    cut = await long_wait
    answered_after = time.monotonic() - signalled
    assert GRACE - 0.5 < answered_after < GRACE + 3, answered_after
    assert cut.status_code == 503
    assert cut.headers["content-type"] == "application/json"
    assert cut.json() == {
        "detail": f"The server is shutting down; run {long_run['run_id']} was requeued "
        "and will resume when a server is back"
    }
    joined = await join
    assert joined.status_code == 503
    assert background["run_id"] in joined.json()["detail"]
    for stream in (long_stream, joined_stream):
        name, data = (await stream)[-1]
        assert name == "error"
        assert data["error"] == "ServerShuttingDown"
        assert "was requeued and will resume" in data["message"]

    assert await asyncio.to_thread(server.proc.wait, GRACE + 6) == 0
    exited_after = time.monotonic() - signalled
    assert exited_after < GRACE + 6, exited_after
    assert "Cancel" not in server.logs()  # uvicorn never had to cancel a request

    again = ServerProcess(database_uri=fresh_database).start()
    try:
        async with httpx.AsyncClient(base_url=again.url, timeout=60) as restarted:
            for thread_id, run_id in (
                (threads[1], long_run["run_id"]),
                (threads[4], background["run_id"]),
            ):
                resumed = await restarted.get(f"/threads/{thread_id}/runs/{run_id}/join")
                assert resumed.json()["log"][-1] == "after"
                run = (await restarted.get(f"/threads/{thread_id}/runs/{run_id}")).json()
                assert run["status"] == "success"
    finally:
        again.stop()


@pytest.mark.parametrize("draining", [60], indirect=True)
async def test_sigterm_with_nothing_to_wait_for_exits_at_once(
    draining: tuple[ServerProcess, httpx.AsyncClient],
) -> None:
    server, http = draining
    thread_id = await _thread(http)
    opened = asyncio.Event()
    # a thread stream waits on no run in particular: it does not hold the shutdown
    follow = asyncio.create_task(_stream(http, "GET", f"/threads/{thread_id}/stream", None, opened))
    await asyncio.sleep(0.5)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    name, data = (await follow)[-1]
    assert (name, data["error"]) == ("error", "ServerShuttingDown")
    assert await asyncio.to_thread(server.proc.wait, 30) == 0
    assert time.monotonic() - signalled < 20, "the grace period (60 s) is a limit, not a wait"


@pytest.mark.parametrize("draining", [60], indirect=True)
async def test_joins_answered_at_once_hold_up_no_shutdown(
    draining: tuple[ServerProcess, httpx.AsyncClient],
) -> None:
    """Joins of a run that has ended, or does not exist, leave nobody waiting behind."""
    server, http = draining
    thread_id = await _thread(http)
    quick = {"assistant_id": "slow", "input": {"delay": 0}}
    assert (await http.post(f"/threads/{thread_id}/runs/wait", json=quick)).status_code == 200
    [run] = (await http.get(f"/threads/{thread_id}/runs")).json()
    for _ in range(2):
        joined = await http.get(f"/threads/{thread_id}/runs/{run['run_id']}/join")
        assert joined.json()["log"][-1] == "after"
    unknown = await http.get(f"/threads/{thread_id}/runs/{uuid.uuid4()}/join")
    assert unknown.json()["__error__"]["error"] == "NotFound"
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert await asyncio.to_thread(server.proc.wait, 30) == 0
    assert time.monotonic() - signalled < 20, "the grace period (60 s) is a limit, not a wait"
