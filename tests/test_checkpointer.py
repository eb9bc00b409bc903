"""The checkpointer as the server sets it up: LangGraph's Postgres saver, encoding and
decoding on the event loop (no thread hop per checkpoint), on a real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START, MessagesState, StateGraph

from graphport.db.checkpointer import Checkpointer, TolerantSerializer

Row = dict[str, Any]


class _Recording(TolerantSerializer):
    """Notes the thread of every encoding and decoding."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        self.threads.add(threading.current_thread().name)
        return super().dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        self.threads.add(threading.current_thread().name)
        return super().loads_typed(data)


def _reply(state: MessagesState) -> Row:
    return {"messages": [AIMessage(content="ok")]}


async def _reply_async(state: MessagesState) -> Row:
    return {"messages": [AIMessage(content="ok")]}


def _one_node(node: Any, saver: Any) -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("reply", node)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=saver)


async def test_checkpoints_are_encoded_and_decoded_on_the_loop(database_uri: str) -> None:
    checkpointer = Checkpointer(database_uri, pool_size=2)
    await checkpointer.start()
    try:
        serde = _Recording()
        checkpointer.saver.serde = serde
        graph = _one_node(_reply_async, checkpointer.saver)
        config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
        for turn in ("hi", "again"):
            out = await graph.ainvoke({"messages": [HumanMessage(content=turn)]}, config)
        assert [m.content for m in out["messages"]] == ["hi", "ok", "again", "ok"]
        stored = await checkpointer.saver.aget_tuple(config)
        assert stored is not None
        assert [m.content for m in stored.checkpoint["channel_values"]["messages"]] == [
            "hi",
            "ok",
            "again",
            "ok",
        ]
        assert serde.threads == {threading.current_thread().name}
    finally:
        await checkpointer.stop()


async def test_a_sync_node_still_runs_in_a_thread(database_uri: str) -> None:
    """Only the saver's own hops are gone: LangGraph still runs a sync node off the loop."""
    checkpointer = Checkpointer(database_uri, pool_size=2)
    await checkpointer.start()
    try:
        seen: list[str] = []

        def node(state: MessagesState) -> Row:
            seen.append(threading.current_thread().name)
            return _reply(state)

        graph = _one_node(node, checkpointer.saver)
        config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
        await graph.ainvoke({"messages": [HumanMessage(content="hi")]}, config)
        assert seen and seen[0] != threading.current_thread().name
    finally:
        await checkpointer.stop()
