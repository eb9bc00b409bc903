"""Thread state, checkpoints, history and state updates through the official SDK."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.api.thread_helpers import AI, HUMAN, seeded_thread

STATE_KEYS = {
    "values",
    "next",
    "tasks",
    "metadata",
    "created_at",
    "checkpoint",
    "parent_checkpoint",
    "interrupts",
    "checkpoint_id",
    "parent_checkpoint_id",
}


async def test_state_of_a_seeded_thread(client: LangGraphClient) -> None:
    thread = await seeded_thread(client)
    state = await client.threads.get_state(thread["thread_id"])
    assert set(state) == STATE_KEYS
    human, ai = state["values"]["messages"]
    assert (human["type"], human["content"]) == ("human", HUMAN)
    assert (ai["type"], ai["content"]) == ("ai", AI)
    assert {"id", "additional_kwargs", "response_metadata", "name"} <= set(human)
    assert ai["tool_calls"] == []
    assert state["next"] == []
    assert state["tasks"] == []
    assert state["metadata"]["source"] == "update"
    assert state["checkpoint"]["thread_id"] == thread["thread_id"]
    assert state["checkpoint"]["checkpoint_ns"] == ""
    assert state["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    assert state["parent_checkpoint_id"] == state["parent_checkpoint"]["checkpoint_id"]
    # the thread row mirrors the latest values
    assert (await client.threads.get(thread["thread_id"]))["values"] == state["values"]


async def test_state_of_threads_without_checkpoints(client: LangGraphClient) -> None:
    for thread in (await client.threads.create(), await client.threads.create(graph_id="chat")):
        state = await client.threads.get_state(thread["thread_id"])
        assert state["values"] == {}
        assert state["next"] == []
        assert state["checkpoint_id"] is None
        assert await client.threads.get_history(thread["thread_id"]) == []
    with pytest.raises(NotFoundError):
        await client.threads.get_state(str(uuid4()))


async def test_pending_tasks_make_the_thread_interrupted(client: LangGraphClient) -> None:
    thread = await client.threads.create(
        graph_id="chat",
        supersteps=[
            {
                "updates": [
                    {
                        "values": {"messages": [{"type": "human", "content": "hi"}]},
                        "as_node": "__start__",
                    }
                ]
            }
        ],
    )
    assert thread["status"] == "interrupted"
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["respond"]
    assert [t["name"] for t in state["tasks"]] == ["respond"]
    task = state["tasks"][0]
    assert task["error"] is None
    assert task["interrupts"] == []


async def test_state_at_checkpoint(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await seeded_thread(client)
    thread_id = thread["thread_id"]
    history = await client.threads.get_history(thread_id, limit=10)
    first = history[-1]
    by_id = await client.threads.get_state(thread_id, checkpoint_id=first["checkpoint_id"])
    assert by_id["checkpoint_id"] == first["checkpoint_id"]
    assert by_id["next"] == ["respond"]
    by_body = await client.threads.get_state(
        thread_id, checkpoint={"checkpoint_id": first["checkpoint_id"], "checkpoint_ns": ""}
    )
    assert by_body == by_id
    for bad in ("not-a-checkpoint", str(uuid4())):
        response = await http.get(f"/threads/{thread_id}/state/{bad}")
        assert response.status_code == 404, response.text
        assert "detail" in response.json()


async def test_history_order_limit_before_and_filter(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = await seeded_thread(client)
    thread_id = thread["thread_id"]
    await client.threads.update_state(
        thread_id, {"messages": [{"type": "human", "content": "third"}]}, as_node="respond"
    )
    history = await client.threads.get_history(thread_id, limit=10)
    assert len(history) == 3
    steps = [s["metadata"]["step"] for s in history]
    assert steps == sorted(steps, reverse=True)
    assert all(set(s) == STATE_KEYS for s in history)
    assert history[0]["parent_checkpoint_id"] == history[1]["checkpoint_id"]

    assert len(await client.threads.get_history(thread_id, limit=1)) == 1
    # `before` as a checkpoint dict, a checkpoint id string and a config
    after_first = await client.threads.get_history(
        thread_id, limit=10, before={"checkpoint_id": history[0]["checkpoint_id"]}
    )
    assert [s["checkpoint_id"] for s in after_first] == [s["checkpoint_id"] for s in history[1:]]
    as_string = await http.post(
        f"/threads/{thread_id}/history",
        json={"limit": 10, "before": history[1]["checkpoint_id"]},
    )
    assert [s["checkpoint_id"] for s in as_string.json()] == [history[2]["checkpoint_id"]]
    as_config = await http.post(
        f"/threads/{thread_id}/history",
        json={"before": {"configurable": {"checkpoint_id": history[0]["checkpoint_id"]}}},
    )
    assert [s["checkpoint_id"] for s in as_config.json()] == [history[1]["checkpoint_id"]]
    via_get = await http.get(
        f"/threads/{thread_id}/history", params={"limit": 5, "before": history[0]["checkpoint_id"]}
    )
    assert len(via_get.json()) == 2

    filtered = await client.threads.get_history(thread_id, limit=10, metadata={"step": 1})
    assert [s["metadata"]["step"] for s in filtered] == [1]
    default = await http.post(f"/threads/{thread_id}/history", json={})
    assert len(default.json()) == 1  # the official default when the body has no limit
    assert (await http.post(f"/threads/{thread_id}/history", json={"limit": 0})).status_code == 422


async def test_update_state_and_response(client: LangGraphClient) -> None:
    thread = await seeded_thread(client)
    thread_id = thread["thread_id"]
    result = await client.threads.update_state(
        thread_id, {"messages": [{"type": "ai", "content": "added"}]}, as_node="respond"
    )
    assert set(result["checkpoint"]) >= {"thread_id", "checkpoint_ns", "checkpoint_id"}
    state = await client.threads.get_state(thread_id)
    assert state["checkpoint_id"] == result["checkpoint"]["checkpoint_id"]
    assert [m["content"] for m in state["values"]["messages"]] == [HUMAN, AI, "added"]
    refreshed = await client.threads.get(thread_id)
    assert refreshed["values"] == state["values"]
    assert refreshed["state_updated_at"] > thread["state_updated_at"]


async def test_fork_from_a_past_checkpoint(client: LangGraphClient) -> None:
    thread = await seeded_thread(client)
    thread_id = thread["thread_id"]
    first = (await client.threads.get_history(thread_id, limit=10))[-1]
    forked = await client.threads.update_state(
        thread_id,
        {"messages": [{"type": "ai", "content": "alternative"}]},
        as_node="respond",
        checkpoint_id=first["checkpoint_id"],
    )
    state = await client.threads.get_state(thread_id)
    assert state["checkpoint_id"] == forked["checkpoint"]["checkpoint_id"]
    assert state["parent_checkpoint_id"] == first["checkpoint_id"]
    assert [m["content"] for m in state["values"]["messages"]] == [HUMAN, "alternative"]


async def test_copy_fork_as_studio_does(client: LangGraphClient) -> None:
    thread = await seeded_thread(client)
    thread_id = thread["thread_id"]
    first = (await client.threads.get_history(thread_id, limit=10))[-1]
    copied = await client.threads.update_state(
        thread_id, None, as_node="__copy__", checkpoint_id=first["checkpoint_id"]
    )
    state = await client.threads.get_state(thread_id)
    assert state["checkpoint_id"] == copied["checkpoint"]["checkpoint_id"]
    assert state["metadata"]["source"] == "fork"
    assert state["checkpoint_id"] != first["checkpoint_id"]
    # langgraph's copy keeps the copied checkpoint's parent
    assert state["parent_checkpoint_id"] == first["parent_checkpoint_id"]
    assert state["next"] == ["respond"]
    assert [m["content"] for m in state["values"]["messages"]] == [HUMAN]


async def test_bad_updates(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await seeded_thread(client)
    thread_id = thread["thread_id"]
    bad_node = await http.post(
        f"/threads/{thread_id}/state", json={"values": {"messages": []}, "as_node": "ghost"}
    )
    assert bad_node.status_code == 422
    assert "ghost" in bad_node.json()["detail"]
    no_graph = await client.threads.create()
    response = await http.post(f"/threads/{no_graph['thread_id']}/state", json={"values": {}})
    assert response.status_code == 422
    assert "no graph" in response.json()["detail"]
    unknown = await http.post(f"/threads/{uuid4()}/state", json={"values": {}})
    assert unknown.status_code == 404
    # a field no API version defines is ignored (a newer SDK's), not written anywhere
    extra = await http.post(f"/threads/{thread_id}/state", json={"values": {}, "color": 1})
    assert extra.status_code == 200
    state = await client.threads.get_state(thread_id)
    assert "color" not in state["values"] and "color" not in state["metadata"]
