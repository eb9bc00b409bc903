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


TOKENS = " ".join(f"w{i}" for i in range(100))  # 199 chunks: 100 words, 99 spaces


async def talk(state: MessagesState) -> dict[str, list[AIMessage]]:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    model = GenericFakeChatModel(messages=iter([AIMessage(content=TOKENS)]))
    return {"messages": [await model.ainvoke(state["messages"])]}


tokens_builder = StateGraph(MessagesState)
tokens_builder.add_node("talk", talk)
tokens_builder.add_edge(START, "talk")
tokens = tokens_builder.compile()
