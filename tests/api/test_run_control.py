"""Multitask strategies, cancellation and scheduled runs."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError

from tests.api.run_helpers import wait_for_log, wait_for_status

SLOW = {"delay": 0.4}


async def test_reject_when_busy(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    first = await client.runs.create(thread["thread_id"], "slow", input=SLOW)
    with pytest.raises(ConflictError):
        await client.runs.create(thread["thread_id"], "slow", input={}, multitask_strategy="reject")
    await client.runs.join(thread["thread_id"], first["run_id"])
    # once idle, reject lets the run in
    done = await client.runs.wait(
        thread["thread_id"], "slow", input={}, multitask_strategy="reject"
    )
    assert done["log"][-1] == "after"


async def test_enqueue_runs_in_order(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    runs = [
        await client.runs.create(
            thread_id, "slow", input={"delay": 0.05}, multitask_strategy="enqueue"
        )
        for _ in range(4)
    ]
    final = await client.runs.join(thread_id, runs[-1]["run_id"])
    steps = [entry for entry in final["log"] if entry.startswith("step:")]
    assert steps == [f"step:{r['run_id']}" for r in runs]
    for r in runs:
        assert (await client.runs.get(thread_id, r["run_id"]))["status"] == "success"
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_interrupt_strategy_keeps_progress(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    first = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    await wait_for_log(client, thread_id, f"step:{first['run_id']}")
    second = await client.runs.create(
        thread_id, "slow", input={"delay": 0}, multitask_strategy="interrupt"
    )
    final = await client.runs.join(thread_id, second["run_id"])
    assert (await client.runs.get(thread_id, first["run_id"]))["status"] == "interrupted"
    assert f"step:{first['run_id']}" in final["log"]
    assert final["log"][-1] == "after"


async def test_rollback_strategy_erases_the_first_run(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    first = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    await wait_for_log(client, thread_id, f"step:{first['run_id']}")
    second = await client.runs.create(
        thread_id, "slow", input={"delay": 0}, multitask_strategy="rollback"
    )
    final = await client.runs.join(thread_id, second["run_id"])
    assert f"step:{first['run_id']}" not in final["log"]
    assert final["log"] == [f"step:{second['run_id']}", "after"]
    with pytest.raises(NotFoundError):
        await client.runs.get(thread_id, first["run_id"])
    history = await client.threads.get_history(thread_id, limit=50)
    assert all(h["metadata"].get("run_id") != first["run_id"] for h in history)


async def test_cancel_interrupt_and_wait(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    await wait_for_log(client, thread_id, f"step:{run['run_id']}")
    response = await http.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel?wait=1")
    assert response.status_code == 200
    assert response.json() == {}
    # where the ended run answers, as the official server says
    base = f"/threads/{thread_id}/runs/{run['run_id']}"
    assert response.headers["location"] == f"{base}/join"
    assert response.headers["content-location"] == base
    assert (await client.runs.get(thread_id, run["run_id"]))["status"] == "interrupted"
    after = await client.threads.get(thread_id)
    assert after["status"] == "interrupted"  # "after" was still pending
    assert after["values"]["log"] == [f"step:{run['run_id']}"]
    again = await http.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel")
    assert again.status_code == 404


async def test_cancel_rollback(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    await wait_for_log(client, thread_id, f"step:{run['run_id']}")
    response = await http.post(
        f"/threads/{thread_id}/runs/{run['run_id']}/cancel",
        params={"wait": "true", "action": "rollback"},
    )
    assert response.status_code == 200
    with pytest.raises(NotFoundError):
        await client.runs.get(thread_id, run["run_id"])
    assert await client.threads.get_history(thread_id) == []
    assert (await client.threads.get(thread_id))["status"] == "idle"


async def test_cancel_without_wait_is_accepted(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    await wait_for_status(client, thread_id, run["run_id"], "running")
    response = await http.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel")
    assert response.status_code == 202
    await wait_for_status(client, thread_id, run["run_id"], "interrupted")


async def test_cancel_many(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    running = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    queued = await client.runs.create(thread_id, "slow", input={})
    await wait_for_status(client, thread_id, running["run_id"], "running")
    by_ids = await http.post(
        "/runs/cancel", json={"thread_id": thread_id, "run_ids": [queued["run_id"]]}
    )
    assert (by_ids.status_code, by_ids.content) == (204, b"")  # as the official server
    assert (await client.runs.get(thread_id, queued["run_id"]))["status"] == "interrupted"
    by_status = await http.post("/runs/cancel", json={"thread_id": thread_id, "status": "running"})
    assert (by_status.status_code, by_status.content) == (204, b"")
    await wait_for_status(client, thread_id, running["run_id"], "interrupted")
    nothing = await http.post("/runs/cancel", json={"thread_id": thread_id, "status": "pending"})
    assert nothing.status_code == 404
    assert (await http.post("/runs/cancel", json={})).status_code == 422


async def test_after_seconds_delays_the_start(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    started = time.monotonic()
    run = await client.runs.create(thread["thread_id"], "slow", input={}, after_seconds=1)
    await asyncio.sleep(0.3)
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "pending"
    await client.runs.join(thread["thread_id"], run["run_id"])
    assert time.monotonic() - started >= 1.0
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"


async def test_cancel_a_scheduled_run(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "slow", input={}, after_seconds=30)
    response = await http.post(
        f"/threads/{thread['thread_id']}/runs/{run['run_id']}/cancel", params={"wait": "true"}
    )
    assert response.status_code == 200
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "interrupted"


async def test_delete_of_an_active_run_is_a_conflict(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "slow", input={}, after_seconds=30)
    with pytest.raises(ConflictError):
        await client.runs.delete(thread["thread_id"], run["run_id"])
    await client.runs.cancel(thread["thread_id"], run["run_id"])
