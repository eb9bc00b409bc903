"""A thread deleted in any way (the API, its assistant's delete with ``delete_threads``, the
TTL sweep, another process sharing the database) ends its join streams at once: the thread
stream with a final ``error`` event (``NotFound``, whatever modes it asked for), its runs'
streams as when a run ends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.api.run_helpers import eventually
from tests.server import ServerProcess

ENDS_WITHIN = 2.0  # seconds from the delete to the stream's end
SLOW = {"assistant_id": "slow", "input": {"delay": 5}}
Events = list[tuple[str, Any]]


async def _read(response: httpx.Response) -> Events:
    events: Events = []
    name = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


@contextlib.asynccontextmanager
async def _open(http: httpx.AsyncClient, path: str) -> AsyncIterator[asyncio.Task[Events]]:
    """A raw SSE stream, subscribed on entry (its headers came); the task gives its events."""
    async with http.stream("GET", path) as response:
        assert response.status_code == 200
        task = asyncio.create_task(_read(response))
        try:
            yield task
        finally:
            task.cancel()


async def _ended(streams: list[asyncio.Task[Events]], since: float) -> list[Events]:
    done = await asyncio.wait_for(asyncio.gather(*streams), ENDS_WITHIN + 1)
    assert time.monotonic() - since < ENDS_WITHIN
    return list(done)


def _is_deleted_error(events: Events, thread_id: str) -> bool:
    name, data = events[-1]
    return name == "error" and data == {
        "error": "NotFound",
        "message": f"404: Thread {thread_id} deleted",
    }


async def _thread(http: httpx.AsyncClient, **body: Any) -> str:
    return str((await http.post("/threads", json=body)).json()["thread_id"])


async def _running(http: httpx.AsyncClient, thread_id: str, body: Any = SLOW) -> str:
    run_id: str = (await http.post(f"/threads/{thread_id}/runs", json=body)).json()["run_id"]

    async def started() -> bool:
        run = (await http.get(f"/threads/{thread_id}/runs/{run_id}")).json()
        return bool(run["status"] == "running")

    await eventually(started)
    return run_id


async def test_sdk_join_streams_end_when_the_thread_is_deleted(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = await _thread(http)
    run_id = await _running(http, thread_id)

    async def collect(parts: AsyncIterator[Any]) -> list[Any]:
        return [(part.event, part.data) async for part in parts]

    joined = await client.threads.join_stream(thread_id)  # an async method
    thread_stream = asyncio.create_task(collect(joined))
    run_stream = asyncio.create_task(collect(client.runs.join_stream(thread_id, run_id)))
    await asyncio.sleep(0.5)  # both subscribed (the SDK shows no sign of it)
    assert not thread_stream.done() and not run_stream.done()
    await client.threads.delete(thread_id)
    thread_events, _ = await _ended([thread_stream, run_stream], time.monotonic())
    assert _is_deleted_error(thread_events, thread_id)


async def test_an_idle_threads_streams_end_when_it_is_deleted(http: httpx.AsyncClient) -> None:
    thread_id = await _thread(http)
    path = f"/threads/{thread_id}/stream"
    async with _open(http, path) as first, _open(http, f"{path}?stream_modes=lifecycle") as second:
        assert (await http.delete(f"/threads/{thread_id}")).status_code == 204
        for events in await _ended([first, second], time.monotonic()):
            assert _is_deleted_error(events, thread_id)
    # the same id again is a new thread: its stream starts afresh and stays open
    await http.post("/threads", json={"thread_id": thread_id})
    async with _open(http, path) as again:
        await asyncio.sleep(0.3)
        assert not again.done()
    await http.delete(f"/threads/{thread_id}")


async def test_streams_of_a_busy_thread_end_when_it_is_deleted(http: httpx.AsyncClient) -> None:
    thread_id = await _thread(http)
    resumable = {**SLOW, "stream_resumable": True}
    run_id = await _running(http, thread_id, resumable)
    run_path = f"/threads/{thread_id}/runs/{run_id}/stream"
    async with (
        _open(http, f"/threads/{thread_id}/stream") as thread_stream,
        _open(http, run_path) as run_stream,
    ):
        assert (await http.delete(f"/threads/{thread_id}")).status_code == 204
        thread_events, _ = await _ended([thread_stream, run_stream], time.monotonic())
    assert _is_deleted_error(thread_events, thread_id)
    # its kept events went with it: joining again finds no run
    async with http.stream("GET", run_path, headers={"Last-Event-ID": "-1"}) as response:
        [(name, data)] = await _read(response)
    assert name == "error" and data["error"] == "NotFound"


async def test_streams_end_when_the_assistant_is_deleted_with_its_threads(
    http: httpx.AsyncClient,
) -> None:
    assistant = (await http.post("/assistants", json={"graph_id": "slow"})).json()
    assistant_id = assistant["assistant_id"]
    threads = [await _thread(http) for _ in range(3)]
    for thread_id in threads:  # tagged with the assistant by a run on it
        await http.post(
            f"/threads/{thread_id}/runs/wait", json={"assistant_id": assistant_id, "input": {}}
        )
    async with contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(_open(http, f"/threads/{t}/stream")) for t in threads
        ]
        deleted = await http.delete(
            f"/assistants/{assistant_id}", params={"delete_threads": "true"}
        )
        assert deleted.status_code == 204
        ended = await _ended(streams, time.monotonic())
    for thread_id, events in zip(threads, ended, strict=True):
        assert _is_deleted_error(events, thread_id)


async def test_streams_end_when_the_ttl_sweep_deletes_the_thread(
    http: httpx.AsyncClient,
) -> None:
    """The test config sweeps about every second."""
    thread_id = await _thread(http, ttl=1 / 60)  # minutes: one second

    async def gone() -> bool:
        return (await http.get(f"/threads/{thread_id}")).status_code == 404

    async with _open(http, f"/threads/{thread_id}/stream") as stream:
        await eventually(gone, within=10)
        [events] = await _ended([stream], time.monotonic())
    assert _is_deleted_error(events, thread_id)


@pytest.fixture(scope="module")
def other_process(server: ServerProcess, database_uri: str) -> Iterator[str]:
    """A second server on the session server's database (no worker slots)."""
    other = ServerProcess(database_uri=database_uri, extra_env={"N_JOBS_PER_WORKER": "0"})
    other.start()
    try:
        yield other.url
    finally:
        other.stop()


async def test_streams_end_when_another_process_deletes_the_thread(
    http: httpx.AsyncClient, other_process: str
) -> None:
    thread_id = await _thread(http)
    async with (
        httpx.AsyncClient(base_url=other_process, timeout=30) as other,
        _open(http, f"/threads/{thread_id}/stream") as here,
        _open(other, f"/threads/{thread_id}/stream") as there,
    ):
        assert (await other.delete(f"/threads/{thread_id}")).status_code == 204
        for events in await _ended([here, there], time.monotonic()):
            assert _is_deleted_error(events, thread_id)


async def test_streams_opened_as_the_thread_is_deleted_all_end(
    http: httpx.AsyncClient,
) -> None:
    """Joins racing the delete: each gets a 404 or a stream that ends; none stays open."""

    async def join(path: str) -> int | Events:
        async with http.stream("GET", path) as response:
            if response.status_code != 200:
                return response.status_code
            return await _read(response)

    for _ in range(5):
        thread_id = await _thread(http)
        joins = [join(f"/threads/{thread_id}/stream") for _ in range(8)]
        answers = await asyncio.wait_for(
            asyncio.gather(*joins, http.delete(f"/threads/{thread_id}")), ENDS_WITHIN * 2
        )
        for answer in answers[:-1]:
            assert answer == 404 or _is_deleted_error(answer, thread_id), answer
