"""Answers clients read as the official server gives them: the root health check, where a
join says the run is, and the in-band not-found errors of joins (their message carries the
status: the answer itself is a 200)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
from langgraph_sdk.client import LangGraphClient

from tests.api.run_helpers import wait_for_status


async def test_the_root_answers_as_ok(http: httpx.AsyncClient) -> None:
    root = await http.get("/")
    assert (root.status_code, root.json()) == (200, {"ok": True})
    assert root.headers["content-type"] == "application/json"
    assert "/" not in (await http.get("/openapi.json")).json()["paths"]  # not an API route


async def test_a_join_says_where_the_run_is(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={"delay": 0})
    base = f"/threads/{thread_id}/runs/{run['run_id']}"
    joined = await http.get(f"{base}/join")
    assert joined.status_code == 200
    assert (joined.headers["location"], joined.headers["content-location"]) == (
        f"{base}/join",
        base,
    )
    stream = await http.get(f"{base}/stream")
    assert (stream.headers["location"], stream.headers["content-location"]) == (
        f"{base}/stream",
        base,
    )


async def test_a_run_deleted_while_joined_is_not_found(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    first = await client.runs.create(thread_id, "slow", input={"delay": 1})
    queued = await client.runs.create(thread_id, "slow", input={}, multitask_strategy="enqueue")
    await wait_for_status(client, thread_id, first["run_id"], "running")
    base = f"/threads/{thread_id}/runs/{queued['run_id']}"
    join = asyncio.create_task(http.get(f"{base}/join"))
    await asyncio.sleep(0.3)  # waiting on it
    rolled_back = await http.post(f"{base}/cancel", params={"action": "rollback"})
    assert rolled_back.status_code == 202  # a pending run: deleted at once
    joined = await asyncio.wait_for(join, 5)
    message = f"404: Run {queued['run_id']} not found"
    assert (joined.status_code, joined.json()) == (
        200,
        {"__error__": {"error": "NotFound", "message": message}},
    )
    await client.runs.cancel(thread_id, first["run_id"])


async def test_join_stream_of_an_unknown_stateless_run(http: httpx.AsyncClient) -> None:
    run_id = str(uuid.uuid4())
    response = await http.get(f"/runs/{run_id}/stream")
    assert response.status_code == 200
    assert response.text.startswith("event: error\r\n")
    data = json.loads(response.text.split("data: ", 1)[1].split("\r\n", 1)[0])
    assert data == {"error": "NotFound", "message": f"404: Run {run_id} not found"}
