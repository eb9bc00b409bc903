"""A run's ``command.update`` is judged on the state the run starts from, and a run that fails
(or is rolled back) leaves no update behind: one refused value never poisons a thread."""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.messages import RemoveMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph_sdk.client import LangGraphClient

from tests.api.thread_helpers import seeded_thread

NO_TASK = "00000000-0000-0000-0000-000000000000"  # LangGraph's NULL_TASK_ID


def _remove(message_id: str) -> dict[str, Any]:
    return {"update": {"messages": [{"type": "remove", "id": message_id, "content": ""}]}}


async def test_an_update_valid_on_the_thread_state_is_accepted(client: LangGraphClient) -> None:
    """Removing a message the thread holds is refused on an empty state, not on this one."""
    thread = await seeded_thread(client)
    tid = thread["thread_id"]
    before = (await client.threads.get_state(tid))["values"]["messages"]
    out = await client.runs.wait(tid, "chat", command=_remove(before[0]["id"]))
    assert [m["id"] for m in out["messages"]] == [m["id"] for m in before[1:]]


async def test_an_update_refused_on_the_thread_state_is_422(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = await seeded_thread(client)
    tid = thread["thread_id"]
    runs_before = await client.runs.list(tid)
    for path in ("runs", "runs/wait", "runs/stream"):
        body = {"assistant_id": "chat", "command": _remove("not-there")}
        response = await http.post(f"/threads/{tid}/{path}", json=body)
        assert response.status_code == 422, response.text
        assert "not-there" in response.json()["detail"]
    assert len(await client.runs.list(tid)) == len(runs_before)


async def test_a_run_failing_on_its_update_leaves_the_thread_as_it_was(
    client: LangGraphClient, http: httpx.AsyncClient, database_uri: str
) -> None:
    """The check cannot see runs queued before this one; when the update fails in the run
    anyway (simulated: a refused update left pending as the run would leave it), the run
    fails once, and the thread, its reads and its next runs work again."""
    thread = await seeded_thread(client)
    tid = thread["thread_id"]
    state = await client.threads.get_state(tid)
    config: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
    async with AsyncPostgresSaver.from_conn_string(database_uri) as saver:
        latest = await saver.aget_tuple(config)
        assert latest is not None
        await saver.aput_writes(latest.config, [("messages", [RemoveMessage(id="gone")])], NO_TASK)

    failed = await client.runs.wait(tid, "chat", input={"messages": []}, raise_error=False)
    assert "gone" in failed["__error__"]["message"]

    healed = await http.get(f"/threads/{tid}/state")
    assert healed.status_code == 200, healed.text
    assert healed.json()["values"] == state["values"]
    assert (await http.get(f"/threads/{tid}/history")).status_code == 200
    again = await client.runs.wait(
        tid, "chat", input={"messages": [{"role": "user", "content": "x"}]}
    )
    assert [m["type"] for m in again["messages"]][-2:] == ["human", "ai"]
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_a_failed_run_leaves_no_update_behind(client: LangGraphClient) -> None:
    """A command whose run fails before it made a checkpoint is not applied later: the next
    run does not meet it (it would fail the same way, again and again)."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    done = await client.runs.wait(tid, "slow", input={"log": ["a"]})
    failed = await client.runs.wait(
        tid, "slow", command={"update": {"fail": True}, "goto": "step"}, raise_error=False
    )
    assert failed["__error__"]["message"] == "boom"
    assert (await client.threads.get_state(tid))["values"] == done
    again = await client.runs.wait(tid, "slow", input={"log": ["b"]})
    assert again["log"][:4] == done["log"] + ["b"]
    assert not again.get("fail")


async def test_a_rolled_back_run_leaves_no_update_behind(client: LangGraphClient) -> None:
    """Rolling back a run takes back its command's update too, not only its checkpoints."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    done = await client.runs.wait(tid, "slow", input={"log": ["a"]})
    command = {"update": {"log": ["cmd"], "delay": 30}, "goto": "step"}
    run = await client.runs.create(tid, "slow", command=command)
    for _ in range(100):  # until its graph is in the slow step
        if (await client.runs.get(tid, run["run_id"]))["status"] == "running":
            break
    await client.runs.cancel(tid, run["run_id"], wait=True, action="rollback")
    assert (await client.threads.get_state(tid))["values"] == done
    again = await client.runs.wait(tid, "slow", input={"log": ["b"]})
    assert "cmd" not in again["log"]
