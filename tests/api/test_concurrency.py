"""Requests racing on one thread (or one id): nothing answers 500, no accepted run is lost,
and each multitask strategy gives exactly its documented outcome under any interleaving."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.api.run_helpers import eventually

SLOW = {"assistant_id": "slow", "input": {"delay": 1.5}}  # busy for 3 s unless cancelled
QUICK = {"assistant_id": "slow", "input": {"delay": 0}}


async def _new_thread(http: httpx.AsyncClient) -> str:
    thread_id: str = (await http.post("/threads", json={})).json()["thread_id"]
    return thread_id


async def _at_once(http: httpx.AsyncClient, n: int, path: str, body: Any) -> list[httpx.Response]:
    return list(await asyncio.gather(*(http.post(path, json=body) for _ in range(n))))


def _codes(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


async def _runs(http: httpx.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    """The thread's runs in creation order."""
    found = (await http.get(f"/threads/{thread_id}/runs", params={"limit": 1000})).json()
    return list(reversed(found))


async def _all_ended(http: httpx.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        runs = await _runs(http, thread_id)
        return None if any(r["status"] in ("pending", "running") for r in runs) else runs

    ended: list[dict[str, Any]] = await eventually(check, within=30)
    return ended


async def _cancel_all(http: httpx.AsyncClient, thread_id: str) -> None:
    await http.post("/runs/cancel", json={"thread_id": thread_id, "status": "all"})


def _assert_ran_in_creation_order(runs: list[dict[str, Any]], log: list[str]) -> None:
    steps = [entry.removeprefix("step:") for entry in log if entry.startswith("step:")]
    assert steps == [r["run_id"] for r in runs]
    assert [r["created_at"] for r in runs] == sorted(r["created_at"] for r in runs)


async def test_two_creates_at_once_on_an_idle_thread(http: httpx.AsyncClient) -> None:
    for _ in range(5):
        thread_id = await _new_thread(http)
        responses = await _at_once(http, 2, f"/threads/{thread_id}/runs", QUICK)
        assert _codes(responses) == [200, 200]
        runs = await _all_ended(http, thread_id)
        assert {r["run_id"] for r in runs} == {r.json()["run_id"] for r in responses}
        assert [r["status"] for r in runs] == ["success", "success"]
        state = (await http.get(f"/threads/{thread_id}/state")).json()
        _assert_ran_in_creation_order(runs, state["values"]["log"])


async def test_fifty_enqueued_at_once_all_run_in_creation_order(http: httpx.AsyncClient) -> None:
    thread_id = await _new_thread(http)
    body = {**QUICK, "multitask_strategy": "enqueue"}
    responses = await _at_once(http, 50, f"/threads/{thread_id}/runs", body)
    assert _codes(responses) == [200] * 50
    runs = await _all_ended(http, thread_id)
    assert {r["run_id"] for r in runs} == {r.json()["run_id"] for r in responses}
    assert {r["status"] for r in runs} == {"success"}
    state = (await http.get(f"/threads/{thread_id}/state")).json()
    _assert_ran_in_creation_order(runs, state["values"]["log"])
    assert (await http.get(f"/threads/{thread_id}")).json()["status"] == "idle"


async def test_fifty_rejected_at_once_accept_exactly_one(http: httpx.AsyncClient) -> None:
    thread_id = await _new_thread(http)
    body = {**SLOW, "multitask_strategy": "reject"}
    responses = await _at_once(http, 50, f"/threads/{thread_id}/runs", body)
    assert _codes(responses) == [200] + [409] * 49
    for refused in (r for r in responses if r.status_code == 409):
        assert isinstance(refused.json()["detail"], str)
    (accepted,) = [r.json() for r in responses if r.status_code == 200]
    assert [r["run_id"] for r in await _runs(http, thread_id)] == [accepted["run_id"]]
    await _cancel_all(http, thread_id)


async def test_if_not_exists_create_at_once_creates_the_thread_once(
    http: httpx.AsyncClient,
) -> None:
    thread_id = str(uuid.uuid4())
    body = {**QUICK, "if_not_exists": "create"}
    responses = await _at_once(http, 10, f"/threads/{thread_id}/runs", body)
    assert _codes(responses) == [200] * 10
    runs = await _all_ended(http, thread_id)
    assert len(runs) == 10 and {r["status"] for r in runs} == {"success"}
    found = (await http.post("/threads/search", json={"ids": [thread_id]})).json()
    assert [t["thread_id"] for t in found] == [thread_id]


async def test_if_not_exists_create_with_reject_at_once(http: httpx.AsyncClient) -> None:
    thread_id = str(uuid.uuid4())
    body = {**SLOW, "if_not_exists": "create", "multitask_strategy": "reject"}
    responses = await _at_once(http, 10, f"/threads/{thread_id}/runs", body)
    assert _codes(responses) == [200] + [409] * 9
    await _cancel_all(http, thread_id)


async def test_interrupt_at_once_leaves_only_the_last_run(http: httpx.AsyncClient) -> None:
    thread_id = await _new_thread(http)
    first = (await http.post(f"/threads/{thread_id}/runs", json=SLOW)).json()
    body = {**SLOW, "multitask_strategy": "interrupt"}
    responses = await _at_once(http, 10, f"/threads/{thread_id}/runs", body)
    assert _codes(responses) == [200] * 10

    async def all_but_last_interrupted() -> list[dict[str, Any]] | None:
        runs = await _runs(http, thread_id)
        done = all(r["status"] == "interrupted" for r in runs[:-1])
        return runs if done and runs[-1]["status"] in ("pending", "running") else None

    runs = await eventually(all_but_last_interrupted, within=10)
    assert runs[0]["run_id"] == first["run_id"]
    assert {r["run_id"] for r in runs[1:]} == {r.json()["run_id"] for r in responses}
    await _cancel_all(http, thread_id)
    await _all_ended(http, thread_id)


async def test_rollback_at_once_leaves_only_the_last_run(http: httpx.AsyncClient) -> None:
    thread_id = await _new_thread(http)
    await http.post(f"/threads/{thread_id}/runs", json=SLOW)
    body = {**SLOW, "multitask_strategy": "rollback"}
    responses = await _at_once(http, 10, f"/threads/{thread_id}/runs", body)
    assert _codes(responses) == [200] * 10

    async def one_left() -> list[dict[str, Any]] | None:
        runs = await _runs(http, thread_id)
        return runs if len(runs) == 1 else None

    (survivor,) = await eventually(one_left, within=10)
    assert survivor["run_id"] in {r.json()["run_id"] for r in responses}
    assert survivor["status"] in ("pending", "running")
    await _cancel_all(http, thread_id)
    await _all_ended(http, thread_id)


async def test_wait_and_stream_creates_race_on_one_thread(http: httpx.AsyncClient) -> None:
    thread_id = await _new_thread(http)
    path = f"/threads/{thread_id}/runs"
    waits = [http.post(f"{path}/wait", json=QUICK) for _ in range(5)]
    streams = [http.post(f"{path}/stream", json=QUICK) for _ in range(5)]
    background = [http.post(path, json=QUICK) for _ in range(5)]
    responses = await asyncio.gather(*waits, *streams, *background)
    assert _codes(list(responses)) == [200] * 15
    for waited in responses[:5]:
        assert waited.json()["log"][-1] == "after"
    for streamed in responses[5:10]:
        assert "event: values" in streamed.text and "event: error" not in streamed.text
    runs = await _all_ended(http, thread_id)
    assert len(runs) == 15 and {r["status"] for r in runs} == {"success"}
    state = (await http.get(f"/threads/{thread_id}/state")).json()
    _assert_ran_in_creation_order(runs, state["values"]["log"])


async def test_stateless_runs_at_once(http: httpx.AsyncClient) -> None:
    waits = _at_once(http, 20, "/runs/wait", QUICK)
    batch = http.post("/runs/batch", json=[QUICK] * 10)
    waited, batched = await asyncio.gather(waits, batch)
    assert _codes(waited) == [200] * 20
    assert all(r.json()["log"][-1] == "after" for r in waited)
    assert batched.status_code == 200 and len(batched.json()) == 10


async def test_thread_create_with_one_id_at_once(http: httpx.AsyncClient) -> None:
    thread_id = str(uuid.uuid4())
    raised = await _at_once(http, 10, "/threads", {"thread_id": thread_id})
    assert _codes(raised) == [200] + [409] * 9
    other = str(uuid.uuid4())
    body = {"thread_id": other, "if_exists": "do_nothing"}
    kept = await _at_once(http, 10, "/threads", body)
    assert _codes(kept) == [200] * 10
    assert {r.json()["thread_id"] for r in kept} == {other}


async def test_assistant_create_with_one_id_at_once(http: httpx.AsyncClient) -> None:
    assistant_id = str(uuid.uuid4())
    body = {"graph_id": "slow", "assistant_id": assistant_id}
    raised = await _at_once(http, 10, "/assistants", body)
    assert _codes(raised) == [200] + [409] * 9
    kept = await _at_once(http, 10, "/assistants", {**body, "if_exists": "do_nothing"})
    assert _codes(kept) == [200] * 10
    versions = (await http.post(f"/assistants/{assistant_id}/versions", json={})).json()
    assert len(versions) == 1


async def test_thread_copies_at_once(http: httpx.AsyncClient) -> None:
    thread_id = await _new_thread(http)
    await http.post(f"/threads/{thread_id}/runs/wait", json=QUICK)
    copies = await _at_once(http, 10, f"/threads/{thread_id}/copy", {})
    assert _codes(copies) == [200] * 10
    assert len({c.json()["thread_id"] for c in copies}) == 10
