"""Which events a join stream sends for the modes asked, as the official server does.

A run's join (``stream_mode``) sends only those modes, its ``metadata`` event included only
when asked; ``error`` events always (the official server drops them: a deliberate
difference, a client must learn that the run failed). A thread's stream takes the thread
modes (``stream_modes``, or ``stream_mode`` as the SDK names it): ``run_modes`` (the
default: every event of its runs), ``lifecycle`` (their start and end ``metadata``
events), ``state_update`` (the state a client writes); any other mode is a 422."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.api.run_helpers import eventually

Events = list[tuple[str, Any]]
QUICK = {"assistant_id": "slow", "input": {"delay": 0}, "stream_mode": ["values", "updates"]}


@contextlib.asynccontextmanager
async def _stream(http: httpx.AsyncClient, path: str, **params: Any) -> AsyncIterator[Events]:
    """A raw SSE stream, subscribed on entry; the list fills with its (event, data)."""
    events: Events = []

    async def read(response: httpx.Response) -> None:
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))

    async with http.stream("GET", path, params=params) as response:
        assert response.status_code == 200
        task = asyncio.create_task(read(response))
        try:
            yield events
        finally:
            task.cancel()


def _names(events: Events) -> list[str]:
    return [name for name, _ in events]


def _parse(body: str) -> Events:
    names = [line.removeprefix("event: ") for line in body.splitlines() if line[:6] == "event:"]
    datas = [json.loads(line[6:]) for line in body.splitlines() if line[:5] == "data:"]
    return list(zip(names, datas, strict=True))


async def test_a_join_sends_only_the_modes_asked(http: httpx.AsyncClient) -> None:
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    body = {**QUICK, "input": {"delay": 0.3}, "stream_resumable": True}
    run_id = (await http.post(f"/threads/{thread_id}/runs", json=body)).json()["run_id"]
    path = f"/threads/{thread_id}/runs/{run_id}/stream"
    replay = {"Last-Event-ID": "-1"}  # from the start, live until the run ends

    async def join(**params: Any) -> Events:
        return _parse((await http.get(path, params=params, headers=replay)).text)

    values, updates, everything = await asyncio.gather(
        join(stream_mode="values"), join(stream_mode=["metadata", "updates"]), join()
    )
    assert _names(values) == ["values"] * 3
    assert _names(updates) == ["metadata", "updates", "updates"]
    assert updates[0][1] == {"run_id": run_id, "attempt": 1}
    assert _names(everything) == ["metadata", "values", "updates", "values", "updates", "values"]
    assert values == [e for e in everything if e[0] == "values"]


async def test_a_filtered_join_still_sends_the_runs_error(http: httpx.AsyncClient) -> None:
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    body = {"assistant_id": "slow", "input": {"delay": 0.3, "fail": True}}
    run_id = (await http.post(f"/threads/{thread_id}/runs", json=body)).json()["run_id"]
    response = await http.get(
        f"/threads/{thread_id}/runs/{run_id}/stream", params={"stream_mode": "values"}
    )
    events = [line for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[-1] == "event: error" and "event: metadata" not in events
    assert '{"error":"ValueError","message":"boom"}' in response.text


async def test_thread_stream_modes(http: httpx.AsyncClient) -> None:
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    path = f"/threads/{thread_id}/stream"
    async with (
        _stream(http, path) as default,
        _stream(http, path, stream_modes="run_modes") as run_modes,
        _stream(http, path, stream_modes="lifecycle") as lifecycle,
        _stream(http, path, stream_modes="state_update") as state_update,
        _stream(http, path, stream_modes="lifecycle,state_update") as both,
        _stream(http, path, stream_modes=["lifecycle", "state_update"]) as repeated,
        _stream(http, path, stream_mode="lifecycle") as sdk_name,
    ):
        waited = await http.post(f"/threads/{thread_id}/runs/wait", json=QUICK)
        run_id = waited.headers["content-location"].rsplit("/", 1)[-1]
        written = await http.post(f"/threads/{thread_id}/state", json={"values": {"log": ["x"]}})
        assert written.status_code == 200
        await eventually(lambda: _has_state_update(both, repeated, state_update))
        await asyncio.sleep(0.1)  # anything else would have come by now
    start = ("metadata", {"run_id": run_id, "attempt": 1})
    end = ("metadata", {"status": "run_done", "run_id": run_id})
    run_events = ["metadata", "values", "updates", "values", "updates", "values", "metadata"]
    for events in (default, run_modes):
        assert _names(events) == run_events
        assert (events[0], events[-1]) == (start, end)
    assert lifecycle == sdk_name == [start, end]
    assert both[:2] == repeated[:2] == [start, end]
    assert _names(both) == _names(repeated) == ["metadata", "metadata", "state_update"]
    (name, update), *_ = state_update
    assert (name, len(state_update)) == ("state_update", 1)
    state = (await http.get(f"/threads/{thread_id}/state")).json()
    assert update == {"state": state, "thread_id": thread_id}  # the state as written
    assert update["state"]["values"]["log"][-1] == "x"


async def _has_state_update(*streams: Events) -> bool:
    return all(events and events[-1][0] == "state_update" for events in streams)


@pytest.mark.parametrize(
    ("params", "mode"),
    [
        ({"stream_modes": "values"}, "values"),
        ({"stream_modes": "run_modes,updates"}, "updates"),
        ({"stream_mode": "messages"}, "messages"),
        ({"stream_modes": "nope"}, "nope"),
    ],
)
async def test_thread_stream_takes_only_thread_modes(
    http: httpx.AsyncClient, params: dict[str, str], mode: str
) -> None:
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    response = await http.get(f"/threads/{thread_id}/stream", params=params)
    assert response.status_code == 422
    assert response.json() == {"detail": f"Invalid stream mode: {mode}"}


async def test_sdk_thread_join_stream_with_a_mode(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    parts: list[Any] = []

    async def collect() -> None:
        async for part in await client.threads.join_stream(thread_id, stream_mode="lifecycle"):
            parts.append(part)

    task = asyncio.create_task(collect())
    try:
        await asyncio.sleep(0.3)  # subscribed (the SDK shows no sign of it)
        await client.runs.wait(thread_id, "slow", input={"delay": 0})
        await eventually(lambda: _count(parts, 2))
        await asyncio.sleep(0.1)
    finally:
        task.cancel()
    assert [p.event for p in parts] == ["metadata", "metadata"]
    assert parts[1].data["status"] == "run_done"


async def _count(parts: list[Any], n: int) -> bool:
    return len(parts) >= n
