"""``POST /threads/prune`` (``delete``, ``keep_latest``) and ``GET /threads/{id}/storage``:
pruning keeps a thread's latest state (subgraph interrupts included) and its runs go on from
it, deletes as ``DELETE /threads/{id}`` does, skips what is missing, hidden or busy, and
never breaks a thread a run races; storage reports the bytes, and they shrink."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.api.auth_helpers import bearer
from tests.api.run_helpers import wait_for_status
from tests.api.test_openapi_conformance import conforms

HI = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def document(base_url: str) -> OpenApiSchema:
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json")


EMPTY_STORAGE = {
    "total_bytes": 0,
    "checkpoints": {"count": 0, "bytes": 0},
    "channel_values": {"count": 0, "bytes": 0, "by_channel": {}},
    "pending_writes": {"count": 0, "bytes": 0},
}


async def _chatted(client: LangGraphClient, turns: int = 2) -> str:
    thread_id = str((await client.threads.create())["thread_id"])
    for _ in range(turns):
        await client.runs.wait(thread_id, "chat", input=HI)
    return thread_id


async def _storage(http: httpx.AsyncClient, thread_id: str) -> dict[str, Any]:
    response = await http.get(f"/threads/{thread_id}/storage")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _sums_add_up(storage: dict[str, Any]) -> None:
    channels = storage["channel_values"]
    by_channel = channels["by_channel"].values()
    assert channels["count"] == sum(c["versions"] for c in by_channel)
    assert channels["bytes"] == sum(c["bytes"] for c in by_channel)
    sections = ("checkpoints", "channel_values", "pending_writes")
    assert storage["total_bytes"] == sum(storage[s]["bytes"] for s in sections)


async def test_keep_latest_keeps_the_state_and_runs_go_on_from_it(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = await _chatted(client)
    head = await client.threads.get_state(thread_id)
    assert len(head["values"]["messages"]) == 4
    assert len(await client.threads.get_history(thread_id, limit=100)) == 6
    before = await _storage(http, thread_id)

    assert await client.threads.prune([thread_id], strategy="keep_latest") == {"pruned_count": 1}

    state = await client.threads.get_state(thread_id)
    assert state["values"] == head["values"]
    assert state["checkpoint_id"] == head["checkpoint_id"]
    assert state["parent_checkpoint"] is None  # its parent is gone: none is pointed at
    [only] = await client.threads.get_history(thread_id, limit=100)
    assert only["checkpoint_id"] == head["checkpoint_id"]
    after = await _storage(http, thread_id)
    assert after["checkpoints"]["count"] == 1
    assert after["total_bytes"] < before["total_bytes"]
    _sums_add_up(after)
    assert (await client.threads.get(thread_id))["values"] == head["values"]

    output = await client.runs.wait(thread_id, "chat", input=HI)
    assert [m["content"] for m in output["messages"]] == ["hi", "hello from the fake model"] * 3
    history = await client.threads.get_history(thread_id, limit=100)
    assert history[-1]["checkpoint_id"] == head["checkpoint_id"]
    assert len(history) == 4  # the kept one, then the run's input, start and respond steps


async def test_keep_latest_keeps_a_subgraphs_pending_interrupt(client: LangGraphClient) -> None:
    thread_id = str((await client.threads.create())["thread_id"])
    await client.runs.wait(thread_id, "interrupting", input={"log": ["start"]})
    assert await client.threads.prune([thread_id], strategy="keep_latest") == {"pruned_count": 1}

    assert len(await client.threads.get_history(thread_id, limit=100)) == 1
    state = await client.threads.get_state(thread_id, subgraphs=True)
    [task] = state["tasks"]
    assert task["interrupts"][0]["value"] == {"question": "proceed?"}
    assert task["state"]["next"] == ["ask"]  # the subgraph's own checkpoint is kept
    resumed = await client.runs.wait(thread_id, "interrupting", command={"resume": "yes"})
    assert resumed["log"][-1] == "answer:yes"


async def test_keep_latest_drops_the_checkpoints_of_ended_subgraph_calls(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = str((await client.threads.create())["thread_id"])
    await client.runs.wait(thread_id, "nested", input={"value": "x"})
    assert (await _storage(http, thread_id))["checkpoints"]["count"] > 5
    await client.threads.prune([thread_id], strategy="keep_latest")
    assert (await _storage(http, thread_id))["checkpoints"]["count"] == 1
    assert (await client.threads.get_state(thread_id))["values"] == {"value": "xsad"}
    output = await client.runs.wait(thread_id, "nested", input={"value": "y"})
    assert output == {"value": "ysad"}


async def test_keep_latest_skips_busy_missing_and_repeated_threads(
    client: LangGraphClient,
) -> None:
    idle = await _chatted(client, turns=1)
    busy = str((await client.threads.create())["thread_id"])
    run = await client.runs.create(busy, "slow", input={"delay": 0.6})
    await wait_for_status(client, busy, run["run_id"], "running")

    asked = [idle, busy, str(uuid.uuid4()), idle]
    assert await client.threads.prune(asked, strategy="keep_latest") == {"pruned_count": 1}

    await client.runs.join(busy, run["run_id"])
    assert (await client.runs.get(busy, run["run_id"]))["status"] == "success"
    assert len(await client.threads.get_history(busy, limit=100)) > 1  # left alone
    assert await client.threads.prune([busy], strategy="keep_latest") == {"pruned_count": 1}
    assert len(await client.threads.get_history(busy, limit=100)) == 1


async def test_delete_removes_threads_and_stops_their_runs(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    idle = await _chatted(client, turns=1)
    busy = str((await client.threads.create())["thread_id"])
    run = await client.runs.create(busy, "slow", input={"delay": 5})
    await wait_for_status(client, busy, run["run_id"], "running")
    kept = str((await client.threads.create())["thread_id"])

    asked = [idle, busy, str(uuid.uuid4()), idle]
    assert await client.threads.prune(asked) == {"pruned_count": 2}

    for gone in (idle, busy):
        with pytest.raises(NotFoundError):
            await client.threads.get(gone)
        assert (await http.get(f"/threads/{gone}/storage")).status_code == 404
    assert (await client.threads.get(kept))["thread_id"] == kept
    assert await client.threads.prune([idle]) == {"pruned_count": 0}


def prune(client: LangGraphClient, thread_id: str) -> asyncio.Task[int]:
    """A ``keep_latest`` prune of the thread, started now: how many it pruned."""

    async def pruned() -> int:
        answer = await client.threads.prune([thread_id], strategy="keep_latest")
        return int(answer["pruned_count"])

    return asyncio.create_task(pruned())


async def test_prune_racing_runs_never_breaks_the_thread(client: LangGraphClient) -> None:
    thread_id = str((await client.threads.create())["thread_id"])
    runs = []
    prunes = []
    for pause in (0, 0.02, 0.05, 0.1, 0.3):
        prunes.append(prune(client, thread_id))  # racing the run's creation
        runs.append(
            await client.runs.create(
                thread_id, "slow", input={"delay": 0.05}, multitask_strategy="enqueue"
            )
        )
        await asyncio.sleep(pause)
        prunes.append(prune(client, thread_id))  # during runs, or between them
    assert set(await asyncio.gather(*prunes)) <= {0, 1}  # busy: skipped
    for run in runs:
        await client.runs.join(thread_id, run["run_id"])
        assert (await client.runs.get(thread_id, run["run_id"]))["status"] == "success"

    assert await client.threads.prune([thread_id], strategy="keep_latest") == {"pruned_count": 1}
    [head] = await client.threads.get_history(thread_id, limit=100)
    steps = [e for e in head["values"]["log"] if e.startswith("step:")]
    assert steps == [f"step:{run['run_id']}" for run in runs]  # no run's state was lost
    output = await client.runs.wait(thread_id, "slow", input={"delay": 0})
    assert len(output["log"]) == 2 * (len(runs) + 1)


async def test_storage_of_a_thread(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread_id = str((await client.threads.create())["thread_id"])
    assert await _storage(http, thread_id) == {"thread_id": thread_id, **EMPTY_STORAGE}

    await client.runs.wait(thread_id, "chat", input=HI)
    storage = await _storage(http, thread_id)
    assert list(storage) == ["thread_id", *EMPTY_STORAGE]
    assert storage["checkpoints"]["count"] == 3
    assert storage["checkpoints"]["bytes"] > 0
    assert storage["pending_writes"]["count"] > 0
    assert storage["channel_values"]["by_channel"]["messages"]["bytes"] > 0
    _sums_add_up(storage)


async def test_bad_requests(http: httpx.AsyncClient) -> None:
    missing = str(uuid.uuid4())
    assert (await http.get(f"/threads/{missing}/storage")).status_code == 404
    assert (await http.get("/threads/not-a-uuid/storage")).status_code == 422
    bodies = [
        {},
        {"thread_ids": "abc"},
        {"thread_ids": ["not-a-uuid"]},
        {"thread_ids": [missing], "strategy": "bogus"},
        {"thread_ids": [str(uuid.uuid4()) for _ in range(1001)]},
    ]
    for body in bodies:
        response = await http.post("/threads/prune", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"]
    response = await http.post("/threads/prune", content=b"{not json")
    assert response.status_code == 422
    for strategy in ("delete", "keep_latest"):
        body = {"thread_ids": [], "strategy": strategy}
        response = await http.post("/threads/prune", json=body)
        assert (response.status_code, response.json()) == (200, {"pruned_count": 0})


async def test_answers_conform_to_the_document(
    document: OpenApiSchema,
    client: LangGraphClient,
    http: httpx.AsyncClient,
) -> None:
    thread_id = await _chatted(client, turns=1)
    storage = await http.get(f"/threads/{thread_id}/storage")
    conforms(document, "/threads/{thread_id}/storage", storage)
    missing = await http.get(f"/threads/{uuid.uuid4()}/storage")
    conforms(document, "/threads/{thread_id}/storage", missing)
    body = {"thread_ids": [thread_id], "strategy": "keep_latest"}
    conforms(document, "/threads/prune", await http.post("/threads/prune", json=body))
    invalid = await http.post("/threads/prune", json={"thread_ids": ["x"]})
    conforms(document, "/threads/prune", invalid)


async def test_custom_auth_prunes_only_what_the_caller_may_delete(
    users: dict[str, LangGraphClient], raw: httpx.AsyncClient
) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    mine = str((await alice.threads.create())["thread_id"])
    theirs = str((await bob.threads.create())["thread_id"])
    headers = bearer("alice")

    mine_storage = await raw.get(f"/threads/{mine}/storage", headers=headers)
    assert (mine_storage.status_code, mine_storage.json()["total_bytes"]) == (200, 0)
    hidden = await raw.get(f"/threads/{theirs}/storage", headers=headers)
    assert hidden.status_code == 404  # as missing
    denied = await raw.post(
        "/threads/prune",
        json={"thread_ids": [mine]},
        headers=bearer("carol"),
    )
    assert denied.status_code == 403  # carol may only read: nothing is pruned
    assert (await carol.threads.get(mine))["thread_id"] == mine

    assert await alice.threads.prune([mine, theirs], strategy="keep_latest") == {"pruned_count": 1}
    assert await alice.threads.prune([theirs, mine]) == {"pruned_count": 1}
    assert (await bob.threads.get(theirs))["thread_id"] == theirs
    with pytest.raises(NotFoundError):
        await alice.threads.get(mine)
