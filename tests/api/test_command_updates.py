"""A run's ``command.update`` is judged on the state the run starts from, and a run that fails
(or is rolled back) leaves no update behind: one refused value never poisons a thread."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import httpx
from langchain_core.messages import RemoveMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph_sdk.client import LangGraphClient

from tests.api.thread_helpers import seeded_thread
from tests.server import ServerProcess

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


async def test_an_update_given_as_key_value_pairs_is_applied(client: LangGraphClient) -> None:
    """The SDK types ``update`` as a dict or a list of ``(key, value)`` tuples (JSON lists):
    both are applied, a key given twice twice, in order."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    done = await client.runs.wait(tid, "slow", input={"log": ["a"]})
    pairs: Any = [["log", ["x"]], ["delay", 0.0], ["log", ["y"]]]
    out = await client.runs.wait(tid, "slow", command={"update": pairs, "goto": "after"})
    assert out["log"] == done["log"] + ["x", "y", "after"]
    assert out["delay"] == 0.0


async def test_a_run_failing_on_its_update_leaves_the_thread_as_it_was(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    """The check cannot see runs queued before this one: two updates of a one-value key
    queued behind a busy run both pass it, and the second fails in its run (LangGraph
    applies it with the first, still pending, in one step). That run fails once; the first
    update stays, and the thread, its reads and its next runs work."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    busy = await client.runs.create(tid, "slow", input={"log": ["a"], "delay": 0.5})
    first = await client.runs.create(
        tid, "slow", command={"update": {"delay": 0.0}}, multitask_strategy="enqueue"
    )
    second = await client.runs.create(
        tid, "slow", command={"update": {"delay": 0.25}}, multitask_strategy="enqueue"
    )
    for run in (busy, first, second):
        await client.runs.join(tid, run["run_id"])
    assert (await client.runs.get(tid, first["run_id"]))["status"] == "success"
    assert (await client.runs.get(tid, second["run_id"]))["status"] == "error"

    state = await http.get(f"/threads/{tid}/state")
    assert state.status_code == 200, state.text
    assert state.json()["values"]["delay"] == 0.0
    assert (await http.get(f"/threads/{tid}/history")).status_code == 200
    again = await client.runs.wait(tid, "slow", input={"log": ["b"]})
    assert again["log"][:4] == ["a", f"step:{busy['run_id']}", "after", "b"]
    assert again["delay"] == 0.0
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_an_update_refused_with_the_updates_pending_is_422(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    """An update-only command leaves its update pending on the thread's head; the next
    run's update of the same one-value key would fail with it: 422, nothing written."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "slow", input={"log": ["a"]})
    await client.runs.wait(tid, "slow", command={"update": {"delay": 0.0}})
    body = {"assistant_id": "slow", "command": {"update": {"delay": 1.0}}}
    response = await http.post(f"/threads/{tid}/runs", json=body)
    assert response.status_code == 422, response.text
    assert "pending" in response.json()["detail"]
    assert (await client.threads.get_state(tid))["values"]["delay"] == 0.0


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


async def test_a_failed_command_keeps_the_updates_earlier_runs_left_pending(
    client: LangGraphClient,
) -> None:
    """An update-only command on a finished thread makes no checkpoint: LangGraph leaves it
    pending on the thread's head (reads apply it). A later run failing on its own command
    takes back its own update only, never the earlier one."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "slow", input={"log": ["a"]})
    kept = await client.runs.wait(tid, "slow", command={"update": {"log": ["KEEP-ME"]}})
    assert kept["log"][-1] == "KEEP-ME"
    failed = await client.runs.wait(
        tid, "slow", command={"update": {"fail": True}, "goto": "step"}, raise_error=False
    )
    assert failed["__error__"]["message"] == "boom"
    state = await client.threads.get_state(tid)
    assert state["values"]["log"] == kept["log"]
    assert not state["values"].get("fail")
    again = await client.runs.wait(tid, "slow", input={"log": ["b"]})
    assert again["log"][: len(kept["log"]) + 1] == kept["log"] + ["b"]


async def test_queued_commands_failing_in_their_runs_take_back_only_their_own(
    client: LangGraphClient,
) -> None:
    """Commands enqueued at once behind a busy run, in any order: every update-only one
    stays pending on the head, a second update of a one-value key fails in its run (or is
    422 when the first was pending already), a command whose node fails takes back its own
    update; what the others left stays, once each."""
    thread = await client.threads.create()
    tid = thread["thread_id"]
    busy = await client.runs.create(tid, "slow", input={"log": ["a"], "delay": 0.5})
    commands: list[dict[str, Any]] = [
        {"update": {"log": ["L0"]}},
        {"update": {"delay": 0.0}},
        {"update": {"log": ["L1"]}},
        {"update": {"delay": 0.0}},
        {"update": {"fail": True}, "goto": "step"},
        {"update": {"log": ["L2"]}},
        {"update": {"delay": 0.0}},
    ]
    created = await asyncio.gather(
        *(
            client.runs.create(tid, "slow", command=c, multitask_strategy="enqueue")
            for c in commands
        ),
        return_exceptions=True,
    )
    ended: dict[str, list[str]] = {}
    await client.runs.join(tid, busy["run_id"])
    for command, run in zip(commands, created, strict=True):
        kind = "delay" if "delay" in command["update"] else "other"
        if isinstance(run, BaseException):  # a delay update already pending when checked
            assert kind == "delay" and "pending" in str(run), run
            continue
        await client.runs.join(tid, run["run_id"])
        status = (await client.runs.get(tid, run["run_id"]))["status"]
        ended.setdefault(f"{kind}:{status}", []).append(str(command))
    assert len(ended.pop("delay:success")) == 1
    assert len(ended.pop("other:error")) == 1  # the failing node
    assert len(ended.pop("other:success")) == 3
    assert set(ended) <= {"delay:error"}

    values = (await client.threads.get_state(tid))["values"]
    assert sorted(values["log"][3:]) == ["L0", "L1", "L2"]
    assert values["delay"] == 0.0
    assert not values.get("fail")
    again = await client.runs.wait(tid, "slow", input={"log": ["b"]})
    assert again["log"][:7] == values["log"] + ["b"]
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_a_final_state_the_graph_refuses_is_read_from_its_checkpoint(
    client: LangGraphClient, server: ServerProcess, database_uri: str
) -> None:
    """Writes the graph refuses pending on a thread's head (put there behind the server's
    back: a run takes back its own) fail the run; the worker then reads the state its
    checkpoint stored, with one warning line, no traceback."""
    thread = await seeded_thread(client)
    tid = thread["thread_id"]
    state = await client.threads.get_state(tid)
    config: Any = {"configurable": {"thread_id": tid, "checkpoint_ns": ""}}
    async with AsyncPostgresSaver.from_conn_string(database_uri) as saver:
        latest = await saver.aget_tuple(config)
        assert latest is not None
        await saver.aput_writes(latest.config, [("messages", [RemoveMessage(id="gone")])], NO_TASK)
    assert server.log_path is not None
    offset = server.log_path.stat().st_size

    failed = await client.runs.wait(tid, "chat", input={"messages": []}, raise_error=False)
    assert "gone" in failed["__error__"]["message"]
    after = await client.threads.get(tid)
    assert after["status"] == "error"
    assert after["values"] == state["values"]
    with server.log_path.open("rb") as log:
        log.seek(offset)
        logged = log.read().decode(errors="replace")
    assert "is read from its stored checkpoint" in logged
    assert "Traceback" not in logged


async def test_superstep_updates_given_as_pairs_are_applied(client: LangGraphClient) -> None:
    """A thread's ``supersteps`` take ``command.update`` as runs do: ``[key, value]`` pairs
    (which LangGraph would drop, being JSON lists) applied in order, a key twice twice."""
    pairs: Any = [["log", ["x"]], ["delay", 0.0], ["log", ["y"]]]
    steps: Any = [
        {"updates": [{"values": None, "command": {"update": pairs}, "as_node": "step"}]},
        {
            "updates": [
                {"values": None, "command": {"update": [["log", ["z"]]]}, "as_node": "after"}
            ]
        },
    ]
    thread = await client.threads.create(graph_id="slow", supersteps=steps)
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"] == {"log": ["x", "y", "z"], "delay": 0.0}


async def test_updates_of_one_superstep_are_judged_together(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    """Two updates of a one-value key in one step are refused (422) as LangGraph refuses
    them, before anything is written: no thread, no checkpoint."""
    thread_id = str(uuid4())
    step = {
        "updates": [
            {"values": {"delay": 0.0}, "as_node": "step"},
            {"command": {"update": [["delay", 1.0]]}, "as_node": "after"},
        ]
    }
    body = {"thread_id": thread_id, "metadata": {"graph_id": "slow"}, "supersteps": [step]}
    response = await http.post("/threads", json=body)
    assert response.status_code == 422, response.text
    assert "'delay'" in response.json()["detail"]
    assert (await http.get(f"/threads/{thread_id}")).status_code == 404
    await client.threads.create(thread_id=thread_id, graph_id="slow")
    assert await client.threads.get_history(thread_id) == []
