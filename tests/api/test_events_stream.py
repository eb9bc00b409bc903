"""``stream_mode: "events"`` as the official server streams it: the root run is named after
the graph id (a graph named by its author keeps its name), its chunks come out as their
own modes only, never as root ``on_chain_stream`` events."""

from __future__ import annotations

from typing import Any

from langgraph_sdk.client import LangGraphClient

Q = {"question": "q"}


async def _collect(parts: Any) -> list[tuple[str, Any]]:
    return [(part.event, part.data) async for part in parts if part.event != "metadata"]


def _names(events: list[tuple[str, Any]]) -> list[tuple[str, str, bool]]:
    """(event, name, is the root run) of each ``events`` event, in order."""
    return [(d["event"], d["name"], not d["parent_ids"]) for n, d in events if n == "events"]


async def test_the_root_run_is_named_after_the_graph(client: LangGraphClient) -> None:
    events = await _collect(client.runs.stream(None, "schemas", input=Q, stream_mode="events"))
    assert {name for name, _ in events} == {"events"}
    assert _names(events) == [
        ("on_chain_start", "schemas", True),
        ("on_chain_start", "think", False),
        ("on_chain_stream", "think", False),
        ("on_chain_end", "think", False),
        ("on_chain_start", "answer", False),
        ("on_chain_stream", "answer", False),
        ("on_chain_end", "answer", False),
        ("on_chain_end", "schemas", True),
    ]
    assert events[0][1]["data"] == {"input": Q}
    assert events[-1][1]["data"]["output"]["answer"] == "A:q"


async def test_a_graph_with_a_name_of_its_own_keeps_it(client: LangGraphClient) -> None:
    parts = client.runs.stream(None, "schemas_parent", input=Q, stream_mode="events")
    roots = [(e, n) for e, n, root in _names(await _collect(parts)) if root]
    assert roots == [("on_chain_start", "asker"), ("on_chain_end", "asker")]


async def test_other_modes_beside_events_come_out_as_themselves(
    client: LangGraphClient,
) -> None:
    parts = client.runs.stream(None, "schemas", input=Q, stream_mode=["events", "values"])
    events = await _collect(parts)
    roots = [(e, n) for e, n, root in _names(events) if root]
    assert roots == [("on_chain_start", "schemas"), ("on_chain_end", "schemas")]
    # beside events every channel is streamed, as on the official server
    assert [data for name, data in events if name == "values"] == [
        {"question": "q", "scratch": []},
        {"question": "q", "scratch": ["thought:q"]},
        {"question": "q", "scratch": ["thought:q", "answered"], "answer": "A:q"},
    ]
    assert events[-1][1]["event"] == "on_chain_end"  # the last values came before the end


async def test_the_state_schema_is_titled_after_the_graph(client: LangGraphClient) -> None:
    schemas = await client.assistants.get_schemas(await _assistant_id(client, "schemas"))
    assert schemas["state_schema"]["title"] == "schemas_state"
    assert schemas["input_schema"]["title"] == "In"
    assert schemas["output_schema"]["title"] == "Out"


async def _assistant_id(client: LangGraphClient, graph_id: str) -> str:
    found = await client.assistants.search(graph_id=graph_id, metadata={"created_by": "system"})
    return str(found[0]["assistant_id"])
