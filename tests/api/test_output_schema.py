"""A graph with its own output schema (tests/fixtures/graphs/schemas.py): wait, join and
the ``values``/``updates`` streams carry only the output's keys, as LangGraph's ``invoke``
and the official server give them; thread reads keep the whole state."""

from __future__ import annotations

from typing import Any

from langgraph_sdk.client import LangGraphClient

WHOLE = {"question": "q", "scratch": ["thought:q", "answered"], "answer": "A:q"}


async def _collect(parts: Any) -> list[tuple[str, Any]]:
    return [(part.event, part.data) async for part in parts if part.event != "metadata"]


async def test_wait_answers_the_output_and_the_thread_keeps_the_state(
    client: LangGraphClient,
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    output = await client.runs.wait(thread_id, "schemas", input={"question": "q"})
    assert output == {"answer": "A:q"}
    assert (await client.threads.get_state(thread_id))["values"] == WHOLE
    assert (await client.threads.get(thread_id))["values"] == WHOLE
    stateless = await client.runs.wait(None, "schemas", input={"question": "s"})
    assert stateless == {"answer": "A:s"}


async def test_input_keys_outside_the_input_schema_are_dropped(client: LangGraphClient) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "schemas", input={"question": "q", "scratch": ["mine"]})
    assert (await client.threads.get_state(thread_id))["values"] == WHOLE


async def test_join_answers_the_output_while_running_and_after_the_end(
    client: LangGraphClient,
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "schemas", input={"question": "q"})
    assert await client.runs.join(thread_id, run["run_id"]) == {"answer": "A:q"}
    # ended before the call: read from the thread, still only the output's keys
    assert await client.runs.join(thread_id, run["run_id"]) == {"answer": "A:q"}


async def test_join_after_the_end_of_a_factory_graph(client: LangGraphClient) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "schemas_factory", input={"question": "q"})
    await client.runs.join(thread_id, run["run_id"])
    assert await client.runs.join(thread_id, run["run_id"]) == {"answer": "A:q"}


async def test_values_and_updates_streams_carry_only_the_output_keys(
    client: LangGraphClient,
) -> None:
    parts = client.runs.stream(
        None, "schemas", input={"question": "q"}, stream_mode=["values", "updates"]
    )
    assert await _collect(parts) == [
        ("updates", {"think": None}),  # it wrote no output key
        ("updates", {"answer": {"answer": "A:q"}}),
        ("values", {"answer": "A:q"}),
    ]


async def test_an_interrupted_run_answers_its_output_and_the_interrupt(
    client: LangGraphClient,
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    output = await client.runs.wait(thread_id, "schemas_interrupt", input={"question": "q"})
    [pending] = output.pop("__interrupt__")
    assert output == {} and pending["value"] == {"q": "ok?"}
    run = (await client.runs.list(thread_id))[0]
    joined = await client.runs.join(thread_id, run["run_id"])
    assert list(joined) == ["__interrupt__"] and joined["__interrupt__"][0]["id"] == pending["id"]
    assert (await client.threads.get(thread_id))["values"] == {
        "question": "q",
        "scratch": ["thought:q"],
    }
    parts = client.runs.stream(thread_id, "schemas_interrupt", command={"resume": "yes"})
    assert await _collect(parts) == [("values", {}), ("values", {"answer": "A:yes"})]
    again = await client.runs.wait(thread_id, "schemas_interrupt", input={"question": "r"})
    assert again["answer"] == "A:yes" and set(again) == {"answer", "__interrupt__"}


async def test_a_parent_and_its_subgraph_stream_their_outputs(client: LangGraphClient) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    output = await client.runs.wait(thread_id, "schemas_parent", input={"question": "q"})
    assert output == {"answer": "A:q"}
    state = await client.threads.get_state(thread_id)
    assert state["values"] == {"question": "q", "answer": "A:q", "trail": ["pre"]}
    parts = client.runs.stream(
        thread_id,
        "schemas_parent",
        input={"question": "r"},
        stream_mode="values",
        stream_subgraphs=True,
    )
    events = await _collect(parts)
    assert [name.split(":")[0] for name, _ in events] == ["values|child", "values"]
    assert [data for _, data in events] == [{"answer": "A:r"}, {"answer": "A:r"}]
