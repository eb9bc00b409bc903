"""Runs through the official SDK: wait, background, join, stateless, batch, errors, HITL."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError

HI = {"messages": [{"role": "user", "content": "hi"}]}


async def test_wait_returns_final_values_and_updates_the_thread(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    output = await client.runs.wait(thread["thread_id"], "chat", input=HI)
    assert [m["type"] for m in output["messages"]] == ["human", "ai"]
    assert output["messages"][1]["content"] == "hello from the fake model"

    after = await client.threads.get(thread["thread_id"])
    assert after["status"] == "idle"
    assert after["values"] == output
    assert after["metadata"]["graph_id"] == "chat"
    assert (
        after["metadata"]["assistant_id"]
        == (await client.assistants.search(graph_id="chat", metadata={"created_by": "system"}))[0][
            "assistant_id"
        ]
    )

    (run,) = await client.runs.list(thread["thread_id"])
    assert run["status"] == "success"
    assert run["thread_id"] == thread["thread_id"]
    assert run["kwargs"]["input"] == HI
    assert run["multitask_strategy"] == "enqueue"
    assert await client.runs.get(thread["thread_id"], run["run_id"]) == run


async def test_wait_headers_point_at_the_run(http: httpx.AsyncClient) -> None:
    thread = (await http.post("/threads", json={})).json()
    response = await http.post(
        f"/threads/{thread['thread_id']}/runs/wait", json={"assistant_id": "chat", "input": HI}
    )
    assert response.status_code == 200
    location = response.headers["Location"]
    assert location.startswith(f"/threads/{thread['thread_id']}/runs/")
    assert location.endswith("/join")
    assert response.headers["Content-Location"] == location.removesuffix("/join")


async def test_graph_sees_run_ids_config_and_context(client: LangGraphClient) -> None:
    assistant = await client.assistants.create(
        "inspector", context={"model": "from-assistant", "temperature": 0.5}
    )
    thread = await client.threads.create()
    output = await client.runs.wait(
        thread["thread_id"], assistant["assistant_id"], input={}, context={"model": "from-run"}
    )
    seen = output["seen"]
    runs = await client.runs.list(thread["thread_id"])
    assert seen["configurable"]["run_id"] == runs[0]["run_id"]
    assert seen["configurable"]["thread_id"] == thread["thread_id"]
    assert seen["configurable"]["graph_id"] == "inspector"
    assert seen["configurable"]["assistant_id"] == assistant["assistant_id"]
    assert seen["context"] == {"model": "from-run", "temp": 0.5}
    assert seen["metadata_run_id"] == runs[0]["run_id"]


async def test_failing_graph(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    response = await http.post(
        f"/threads/{thread['thread_id']}/runs/wait",
        json={"assistant_id": "slow", "input": {"fail": True}},
    )
    assert response.status_code == 200
    assert response.json() == {"__error__": {"error": "ValueError", "message": "boom"}}
    (run,) = await client.runs.list(thread["thread_id"])
    assert run["status"] == "error"
    failed = await client.threads.get(thread["thread_id"])
    assert failed["status"] == "error"
    with pytest.raises(Exception, match="ValueError: boom"):
        await client.runs.wait(thread["thread_id"], "slow", input={"fail": True}, raise_error=True)


async def test_interrupt_and_resume(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    output = await client.runs.wait(thread_id, "interrupting", input={"log": []})
    assert output["log"] == ["prepared"]
    (run,) = await client.runs.list(thread_id)
    assert run["status"] == "success"  # stopping at interrupt() is a successful run
    stopped = await client.threads.get(thread_id)
    assert stopped["status"] == "interrupted"
    ((task_id, interrupts),) = stopped["interrupts"].items()
    assert interrupts[0]["value"] == {"question": "proceed?"}
    state = await client.threads.get_state(thread_id)
    assert state["tasks"][0]["id"] == task_id

    resumed = await client.runs.wait(thread_id, "interrupting", command={"resume": "yes"})
    # the subgraph returns the whole shared log, which the parent's reducer appends
    assert resumed["log"][0] == "prepared"
    assert resumed["log"][-1] == "answer:yes"
    done = await client.threads.get(thread_id)
    assert done["status"] == "idle"
    assert done["interrupts"] == {}


async def test_interrupt_before_a_node(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    output = await client.runs.wait(
        thread["thread_id"], "slow", input={"log": []}, interrupt_before=["after"]
    )
    assert len(output["log"]) == 1
    assert (await client.threads.get(thread["thread_id"]))["status"] == "interrupted"
    assert (await client.threads.get_state(thread["thread_id"]))["next"] == ["after"]
    finished = await client.runs.wait(thread["thread_id"], "slow", input=None)
    assert finished["log"][-1] == "after"


async def test_command_update_and_goto(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    first = await client.runs.wait(thread["thread_id"], "slow", input={})
    output = await client.runs.wait(
        thread["thread_id"], "slow", command={"update": {"log": ["manual"]}, "goto": "after"}
    )
    assert output["log"] == [*first["log"], "manual", "after"]
    sent = await client.runs.wait(
        thread["thread_id"], "slow", command={"goto": {"node": "after", "input": {"delay": 0}}}
    )
    assert sent["log"] == [*output["log"], "after"]


async def test_background_run_and_join(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "slow", input={"delay": 0.2})
    assert run["status"] in ("pending", "running")
    joined = await client.runs.join(thread["thread_id"], run["run_id"])
    assert joined["log"][-1] == "after"
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"
    # joining a finished run returns the thread's values at once
    assert await client.runs.join(thread["thread_id"], run["run_id"]) == joined


async def test_join_unknown_run(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run_id = str(uuid4())
    joined = await client.runs.join(thread["thread_id"], run_id)
    message = f"404: Run {run_id} not found"  # the status in the message, as officially
    assert joined == {"__error__": {"error": "NotFound", "message": message}}


async def test_stateless_runs(client: LangGraphClient) -> None:
    output = await client.runs.wait(None, "chat", input=HI)
    assert output["messages"][-1]["type"] == "ai"

    kept = await client.runs.create(None, "slow", input={}, on_completion="keep")
    joined = await client.runs.join(kept["thread_id"], kept["run_id"])
    assert joined["log"][-1] == "after"
    assert (await client.threads.get(kept["thread_id"]))["values"] == joined

    gone = await client.runs.create(None, "slow", input={})
    await client.runs.join(gone["thread_id"], gone["run_id"])
    with pytest.raises(NotFoundError):
        await client.threads.get(gone["thread_id"])


async def test_batch(client: LangGraphClient) -> None:
    created = await client.runs.create_batch(
        [
            {"assistant_id": "slow", "input": {}, "on_completion": "keep"},
            {"assistant_id": "chat", "input": HI, "on_completion": "keep"},
        ]
    )
    assert len(created) == 2
    assert len({r["thread_id"] for r in created}) == 2
    outputs = [await client.runs.join(r["thread_id"], r["run_id"]) for r in created]
    assert outputs[0]["log"][-1] == "after"
    assert outputs[1]["messages"][-1]["type"] == "ai"


async def test_assistant_and_thread_resolution(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = await client.threads.create()
    with pytest.raises(UnprocessableEntityError):
        await client.runs.create(thread["thread_id"], "no-such-graph", input={})
    with pytest.raises(NotFoundError):
        await client.runs.create(thread["thread_id"], str(uuid4()), input={})
    missing = str(uuid4())
    with pytest.raises(NotFoundError):
        await client.runs.create(missing, "slow", input={})
    created = await client.runs.wait(missing, "slow", input={}, if_not_exists="create")
    assert created["log"][-1] == "after"
    assert (await client.threads.get(missing))["metadata"]["graph_id"] == "slow"
    # a field no API version defines is ignored (a newer SDK's), and not kept
    unknown = await http.post(
        f"/threads/{thread['thread_id']}/runs", json={"assistant_id": "slow", "nope": 1}
    )
    assert unknown.status_code == 200
    assert "nope" not in unknown.json()["kwargs"]
    # input beside a command: the command wins, as on the official server
    both = await http.post(
        f"/threads/{thread['thread_id']}/runs",
        json={"assistant_id": "slow", "input": {}, "command": {"resume": 1}},
    )
    assert both.status_code == 200
    assert both.json()["kwargs"]["input"] is None


async def test_delete_run(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "slow", input={})
    (run,) = await client.runs.list(thread["thread_id"])
    await client.runs.delete(thread["thread_id"], run["run_id"])
    assert await client.runs.list(thread["thread_id"]) == []
    with pytest.raises(NotFoundError):
        await client.runs.get(thread["thread_id"], run["run_id"])


async def test_list_filters_and_paging(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    for _ in range(3):
        await client.runs.wait(thread["thread_id"], "slow", input={})
    await client.runs.wait(thread["thread_id"], "slow", input={"fail": True}, raise_error=False)
    runs = await client.runs.list(thread["thread_id"], limit=10)
    assert [r["status"] for r in runs] == ["error", "success", "success", "success"]
    assert len(await client.runs.list(thread["thread_id"], limit=2)) == 2
    assert len(await client.runs.list(thread["thread_id"], status="success")) == 3
    selected = await client.runs.list(thread["thread_id"], select=["run_id", "status"])
    assert all(set(r) == {"run_id", "status"} for r in selected)


async def test_run_from_a_past_checkpoint_forks(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    first = await client.runs.wait(thread_id, "slow", input={})
    after_first = await client.threads.get_state(thread_id)
    await client.runs.wait(thread_id, "slow", input={})
    replayed = await client.runs.wait(
        thread_id, "slow", input={}, checkpoint_id=after_first["checkpoint_id"]
    )
    # the third run continued from the end of the first one, not from the second one
    assert replayed["log"][: len(first["log"])] == first["log"]
    assert len(replayed["log"]) == len(first["log"]) * 2
    history = await client.threads.get_history(thread_id, limit=50)
    assert after_first["checkpoint_id"] in {h["parent_checkpoint_id"] for h in history[:4]}
    by_dict = await client.runs.wait(
        thread_id, "slow", input={}, checkpoint={"checkpoint_id": after_first["checkpoint_id"]}
    )
    assert len(by_dict["log"]) == len(first["log"]) * 2


async def test_durability_and_feedback_keys_are_kept(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = await client.threads.create()
    run = (
        await http.post(
            f"/threads/{thread['thread_id']}/runs",
            json={
                "assistant_id": "slow",
                "input": {},
                "durability": "exit",
                "feedback_keys": ["score"],
            },
        )
    ).json()
    await client.runs.join(thread["thread_id"], run["run_id"])
    run = await client.runs.get(thread["thread_id"], run["run_id"])
    assert run["kwargs"]["durability"] == "exit"
    assert run["kwargs"]["feedback_keys"] == ["score"]
    history = await client.threads.get_history(thread["thread_id"], limit=50)
    assert len(history) == 1  # "exit" writes only the final checkpoint


async def test_client_side_and_unsupported_run_fields(http: httpx.AsyncClient) -> None:
    ok = await http.post(
        "/runs/wait", json={"assistant_id": "slow", "input": {}, "raise_error": True}
    )
    assert ok.status_code == 200
    assert ok.json()["log"][-1] == "after"
    traced = await http.post(
        "/runs", json={"assistant_id": "slow", "input": {}, "langsmith_tracer": {"project": "x"}}
    )
    assert traced.status_code == 422
    assert "LangSmith" in str(traced.json()["detail"])


async def test_strict_resume(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    body = {"assistant_id": "interrupting", "command": {"resume": "yes"}, "strict_resume": True}
    idle = await http.post(f"/threads/{thread_id}/runs/wait", json=body)
    assert idle.status_code == 422
    assert "UnknownInterruptError" in idle.json()["detail"]
    await client.runs.wait(thread_id, "interrupting", input={"log": []})
    wrong = await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={**body, "command": {"resume": {"0" * 32: "yes"}}},
    )
    assert wrong.status_code == 422
    assert (await client.threads.get(thread_id))["status"] == "interrupted"
    (pending,) = (await client.threads.get(thread_id))["interrupts"].values()
    right = await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={**body, "command": {"resume": {pending[0]["id"]: "yes"}}},
    )
    assert right.status_code == 200
    assert right.json()["log"][-1] == "answer:yes"
    info = (await http.get("/info")).json()
    assert info["flags"]["strict_resume"] is True
