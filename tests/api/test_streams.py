"""Streaming through the official SDK: every stream mode, subgraphs, errors, interrupts."""

from __future__ import annotations

from typing import Any

from langgraph_sdk.client import LangGraphClient

HI = {"messages": [{"role": "user", "content": "hi"}]}


async def _collect(parts: Any) -> list[tuple[str, Any]]:
    return [(part.event, part.data) async for part in parts]


async def test_values_stream(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    events = await _collect(client.runs.stream(thread["thread_id"], "streaming", input=HI))
    names = [name for name, _ in events]
    assert names[0] == "metadata"
    assert set(names[1:]) == {"values"}
    run_id = events[0][1]["run_id"]
    assert events[0][1] == {"run_id": run_id, "attempt": 1}
    final = events[-1][1]
    assert [m["type"] for m in final["messages"]] == ["human", "tool", "ai"]
    assert final["messages"][-1]["content"] == "one two three"
    assert (await client.threads.get_state(thread["thread_id"]))["values"] == final
    assert (await client.runs.get(thread["thread_id"], run_id))["status"] == "success"


async def test_updates_custom_tasks_checkpoints(client: LangGraphClient) -> None:
    events = await _collect(
        client.runs.stream(
            None, "streaming", input=HI, stream_mode=["updates", "custom", "tasks", "checkpoints"]
        )
    )
    by_name: dict[str, list[Any]] = {}
    for name, data in events:
        by_name.setdefault(name, []).append(data)
    assert [list(u) for u in by_name["updates"]] == [["think"], ["reply"]]
    assert by_name["custom"] == [{"progress": "thinking"}]
    assert {t["name"] for t in by_name["tasks"]} == {"think", "reply"}
    checkpoint = by_name["checkpoints"][-1]
    assert (
        checkpoint["checkpoint"]["checkpoint_id"]
        == checkpoint["config"]["configurable"]["checkpoint_id"]
    )
    assert "parent_checkpoint" in checkpoint


async def test_debug_events_carry_checkpoints(client: LangGraphClient) -> None:
    events = await _collect(client.runs.stream(None, "streaming", input=HI, stream_mode="debug"))
    checkpoints = [d for n, d in events if n == "debug" and d["type"] == "checkpoint"]
    assert checkpoints
    for event in checkpoints:
        assert event["payload"]["checkpoint"]["checkpoint_id"]
        assert "parent_checkpoint" in event["payload"]
    assert any(d["type"] == "task_result" for n, d in events if n == "debug")


async def test_messages_tuple(client: LangGraphClient) -> None:
    events = await _collect(
        client.runs.stream(None, "streaming", input=HI, stream_mode="messages-tuple")
    )
    messages = [data for name, data in events if name == "messages"]
    tokens = [chunk["content"] for chunk, meta in messages if meta["langgraph_node"] == "reply"]
    assert "".join(tokens) == "one two three"
    assert all(meta["langgraph_node"] in ("think", "reply") for _chunk, meta in messages)


async def test_messages_partial_and_complete(client: LangGraphClient) -> None:
    events = await _collect(client.runs.stream(None, "streaming", input=HI, stream_mode="messages"))
    names = [name for name, _ in events]
    assert names[0] == "metadata"
    partials = [data[0] for name, data in events if name == "messages/partial"]
    assert partials[-1]["content"] == "one two three"
    assert partials[-1]["type"] == "ai"
    contents = [p["content"] for p in partials]
    assert contents == sorted(contents, key=len)  # each partial holds the text so far
    metadata = [data for name, data in events if name == "messages/metadata"]
    assert partials[-1]["id"] in {key for m in metadata for key in m}
    completes = [data[0] for name, data in events if name == "messages/complete"]
    assert any(c["type"] == "tool" and c["content"] == "tool says hi" for c in completes)


async def test_events_mode(client: LangGraphClient) -> None:
    events = await _collect(
        client.runs.stream(None, "streaming", input=HI, stream_mode=["events", "updates"])
    )
    kinds = {data["event"] for name, data in events if name == "events"}
    assert {"on_chain_start", "on_chain_end", "on_chat_model_stream"} <= kinds
    assert [list(d) for n, d in events if n == "updates"] == [["think"], ["reply"]]


async def test_subgraph_events_are_namespaced(client: LangGraphClient) -> None:
    events = await _collect(
        client.runs.stream(
            None, "nested", input={"value": ""}, stream_mode="updates", stream_subgraphs=True
        )
    )
    names = [name for name, _ in events if name != "metadata"]
    assert "updates" in names
    nested = [n for n in names if n.startswith("updates|child:")]
    assert nested
    deeper = [n for n in names if n.count("|") == 2]
    assert deeper and deeper[0].split("|")[2].startswith("inner:")


async def test_error_event(client: LangGraphClient) -> None:
    events = await _collect(client.runs.stream(None, "slow", input={"fail": True}))
    assert events[-1] == ("error", {"error": "ValueError", "message": "boom"})


async def test_interrupt_appears_in_updates(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    events = await _collect(
        client.runs.stream(
            thread["thread_id"], "interrupting", input={"log": []}, stream_mode="updates"
        )
    )
    interrupts = [d["__interrupt__"] for n, d in events if n == "updates" and "__interrupt__" in d]
    assert interrupts[0][0]["value"] == {"question": "proceed?"}
    assert interrupts[0][0]["id"]
    resumed = await _collect(
        client.runs.stream(
            thread["thread_id"], "interrupting", command={"resume": "ok"}, stream_mode="values"
        )
    )
    assert resumed[-1][1]["log"][-1] == "answer:ok"
