"""Benchmark graphs: no LLM. ``noop`` returns one AI message; ``chain`` has ten nodes."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph


def reply(state: MessagesState) -> dict[str, list[AIMessage]]:
    return {"messages": [AIMessage(content="ok")]}


noop_builder = StateGraph(MessagesState)
noop_builder.add_node("reply", reply)
noop_builder.add_edge(START, "reply")
noop = noop_builder.compile()

chain_builder = StateGraph(MessagesState)
previous = START
for i in range(10):
    chain_builder.add_node(f"n{i}", reply)
    chain_builder.add_edge(previous, f"n{i}")
    previous = f"n{i}"
chain = chain_builder.compile()
