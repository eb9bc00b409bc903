"""The raw SSE wire format and resumable streams, read with httpx."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
from langgraph_sdk.client import LangGraphClient

from tests.api.run_helpers import eventually

HI = {"messages": [{"role": "user", "content": "hi"}]}


def parse(raw: bytes) -> list[dict[str, Any]]:
    """Split an SSE body (CRLF framed) into events; comments are kept as such."""
    events = []
    for block in raw.split(b"\r\n\r\n"):
        if not block:
            continue
        fields: dict[str, Any] = {}
        for line in block.split(b"\r\n"):
            if line.startswith(b":"):
                fields["comment"] = line.decode()
                continue
            name, _, value = line.partition(b": ")
            fields[name.decode()] = value.decode()
        events.append(fields)
    return events


async def test_wire_format_and_headers(http: httpx.AsyncClient) -> None:
    thread = (await http.post("/threads", json={})).json()["thread_id"]
    response = await http.post(
        f"/threads/{thread}/runs/stream",
        json={"assistant_id": "streaming", "input": HI, "stream_mode": ["values", "updates"]},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-length" not in response.headers
    location = response.headers["location"]
    assert location.startswith(f"/threads/{thread}/runs/") and location.endswith("/stream")
    assert response.headers["content-location"] == location.removesuffix("/stream")
    raw = response.content
    assert b"\r\n" in raw and b"\n\n" not in raw.replace(b"\r\n", b"")
    events = parse(raw)
    assert events[0]["event"] == "metadata"
    assert all("id" not in e for e in events)  # ids only for resumable runs
    assert all(len(e["data"].splitlines()) == 1 for e in events)
    assert {e["event"] for e in events[1:]} == {"values", "updates"}


async def test_stateless_stream_location(http: httpx.AsyncClient) -> None:
    response = await http.post("/runs/stream", json={"assistant_id": "chat", "input": HI})
    assert response.headers["location"].startswith("/runs/")
    assert parse(response.content)[-1]["event"] == "values"


async def test_resumable_ids_and_replay(http: httpx.AsyncClient) -> None:
    thread = (await http.post("/threads", json={})).json()["thread_id"]
    body = {
        "assistant_id": "streaming",
        "input": HI,
        "stream_mode": ["values", "messages-tuple"],
        "stream_resumable": True,
    }
    response = await http.post(f"/threads/{thread}/runs/stream", json=body)
    events = parse(response.content)
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(set(ids))  # unique and increasing
    stream_at = response.headers["location"]

    everything = parse((await http.get(stream_at, headers={"Last-Event-ID": "-1"})).content)
    assert everything == events  # metadata included
    middle = ids[len(ids) // 2]
    after = parse((await http.get(stream_at, headers={"Last-Event-ID": str(middle)})).content)
    assert after == [e for e in events if int(e["id"]) > middle]
    replay = {"Last-Event-ID": "-1"}
    filtered = parse(
        (await http.get(stream_at, params={"stream_mode": "values"}, headers=replay)).content
    )
    # only the modes asked for, as the official server sends: the metadata event when asked
    assert filtered == [e for e in events if e["event"] == "values"]
    asked = {"stream_mode": ["metadata", "values"]}
    with_metadata = parse((await http.get(stream_at, params=asked, headers=replay)).content)
    assert with_metadata == [e for e in events if e["event"] in ("metadata", "values")]
    # joining a finished run without Last-Event-ID: an empty stream
    empty = await http.get(stream_at)
    assert empty.status_code == 200
    assert parse(empty.content) == []


async def test_join_unknown_run_stream_is_one_error_event(http: httpx.AsyncClient) -> None:
    thread = (await http.post("/threads", json={})).json()["thread_id"]
    response = await http.get(f"/threads/{thread}/runs/00000000-0000-0000-0000-000000000001/stream")
    (event,) = parse(response.content)
    assert event["event"] == "error"
    run_id = "00000000-0000-0000-0000-000000000001"
    assert orjson.loads(event["data"]) == {
        "error": "NotFound",
        "message": f"404: Run {run_id} not found",  # the status in the message, as officially
    }
    base = f"/threads/{thread}/runs/{run_id}"
    assert response.headers["location"] == f"{base}/stream"
    assert response.headers["content-location"] == base


async def test_join_live_background_run(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"], "slow", input={"delay": 0.3}, stream_mode="updates"
    )
    events = [
        (p.event, p.data) async for p in client.runs.join_stream(thread["thread_id"], run["run_id"])
    ]
    updates = [d for n, d in events if n == "updates"]
    assert updates and list(updates[-1]) == ["after"]
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"


async def test_join_stream_resumes_mid_run(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"],
        "slow",
        input={"delay": 0.3},
        stream_mode="updates",
        stream_resumable=True,
    )
    path = f"/threads/{thread['thread_id']}/runs/{run['run_id']}/stream"
    async with http.stream("GET", path, headers={"Last-Event-ID": "-1"}) as response:
        first_block = b""
        async for chunk in response.aiter_bytes():
            first_block += chunk
            if b"event: updates" in first_block:
                break
    seen = parse(first_block.split(b"event: updates")[0] + b"event: updates")
    last_id = max(int(e["id"]) for e in seen if "id" in e)
    rest = parse((await http.get(path, headers={"Last-Event-ID": str(last_id)})).content)
    assert rest and all(int(e["id"]) > last_id for e in rest)
    assert orjson.loads(rest[-1]["data"]) == {"after": {"log": ["after"]}}


async def test_thread_stream_follows_every_run(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = (await client.threads.create())["thread_id"]
    received = bytearray()
    done = asyncio.Event()

    async def follow() -> None:
        async with http.stream("GET", f"/threads/{thread}/stream") as response:
            assert response.status_code == 200
            async for chunk in response.aiter_bytes():
                received.extend(chunk)
                # only whole events count: a read may end inside one (before its id line)
                complete = bytes(received).rpartition(b"\r\n\r\n")[0]
                if complete.count(b'"status":"run_done"') >= 2:
                    del received[len(complete) :]
                    done.set()
                    return

    follower = asyncio.create_task(follow())
    await eventually(_open_streams_at_least(http, 1))
    first = await client.runs.create(thread, "slow", input={}, stream_mode="updates")
    second = await client.runs.create(thread, "slow", input={}, stream_mode="updates")
    await asyncio.wait_for(done.wait(), 15)
    await follower
    events = [e for e in parse(bytes(received)) if "comment" not in e]  # heartbeats
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(set(ids))
    run_done = [orjson.loads(e["data"]) for e in events if '"run_done"' in e.get("data", "")]
    assert [d["run_id"] for d in run_done] == [first["run_id"], second["run_id"]]
    assert any(e["event"] == "updates" for e in events)


def _open_streams_at_least(http: httpx.AsyncClient, n: int) -> Any:
    async def check() -> bool:
        metrics = (await http.get("/metrics", params={"format": "json"})).json()
        return bool(metrics["streams"]["open"] >= n)

    return check


async def test_disconnect_with_cancel_stops_the_run(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = (await client.threads.create())["thread_id"]
    body = {
        "assistant_id": "slow",
        "input": {"delay": 1},
        "stream_mode": "updates",
        "on_disconnect": "cancel",
    }
    async with http.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
        run_path = response.headers["content-location"]
        async for chunk in response.aiter_bytes():
            if b"metadata" in chunk:
                break

    async def interrupted() -> bool:
        return bool((await http.get(run_path)).json()["status"] == "interrupted")

    await eventually(interrupted)


async def test_disconnect_leaves_nothing_behind(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    before = (await http.get("/metrics", params={"format": "json"})).json()["streams"]["open"]
    thread = (await client.threads.create())["thread_id"]
    body = {"assistant_id": "slow", "input": {"delay": 0.5}, "stream_mode": "updates"}
    async with http.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
        run_path = response.headers["content-location"]
        async for chunk in response.aiter_bytes():
            if b"metadata" in chunk:
                break
    async with http.stream("GET", f"/threads/{thread}/stream") as response:
        async for _chunk in response.aiter_bytes():
            break

    async def back_to_before() -> bool:
        metrics = (await http.get("/metrics", params={"format": "json"})).json()
        return bool(metrics["streams"]["open"] <= before)

    started = time.monotonic()
    await eventually(back_to_before, within=5)
    assert time.monotonic() - started < 5

    # on_disconnect defaults to continue: the run still finishes
    async def finished() -> bool:
        return bool((await http.get(run_path)).json()["status"] == "success")

    await eventually(finished)
