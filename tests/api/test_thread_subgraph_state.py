"""Subgraph state and interrupts, from checkpoints written by the graph itself.

The graph runs in the test process on the same Postgres and thread id (the way a run
would), and the server reads what it wrote.
"""

from __future__ import annotations

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph_sdk.client import LangGraphClient

from tests.fixtures.graphs.interrupting import graph as interrupting_graph


async def _run_until_interrupt(database_uri: str, thread_id: str) -> None:
    async with AsyncPostgresSaver.from_conn_string(database_uri) as saver:
        graph = interrupting_graph.copy(update={"checkpointer": saver})
        await graph.ainvoke({"log": []}, {"configurable": {"thread_id": thread_id}})


async def test_state_with_subgraphs_and_interrupts(
    client: LangGraphClient, database_uri: str
) -> None:
    thread = await client.threads.create(graph_id="interrupting")
    thread_id = thread["thread_id"]
    await _run_until_interrupt(database_uri, thread_id)

    state = await client.threads.get_state(thread_id)
    assert state["values"] == {"log": ["prepared"]}
    assert state["next"] == ["child"]
    (task,) = state["tasks"]
    assert task["name"] == "child"
    assert task["interrupts"][0]["value"] == {"question": "proceed?"}
    assert task["interrupts"][0]["id"]
    assert task["state"] is None
    assert task["checkpoint"]["checkpoint_ns"].startswith("child:")
    assert state["interrupts"] == task["interrupts"]

    nested = await client.threads.get_state(thread_id, subgraphs=True)
    (outer_task,) = nested["tasks"]
    inner = outer_task["state"]
    assert inner["next"] == ["ask"]
    assert inner["checkpoint"]["checkpoint_ns"].startswith("child:")
    (inner_task,) = inner["tasks"]
    assert inner_task["name"] == "ask"
    assert inner_task["interrupts"][0]["value"] == {"question": "proceed?"}

    # history of the subgraph's own namespace
    sub_history = await client.threads.get_history(
        thread_id, checkpoint={"checkpoint_ns": task["checkpoint"]["checkpoint_ns"]}, limit=10
    )
    assert sub_history
    assert all(s["checkpoint"]["checkpoint_ns"].startswith("child:") for s in sub_history)
