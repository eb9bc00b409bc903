"""Benchmark graphs: no LLM. ``noop`` returns one AI message; ``chain`` has ten nodes;
``tokens`` streams 199 message chunks; ``burn`` spends ~20 ms of CPU in one node; ``steps``
sleeps through five checkpointed steps (~2 s), each appending its name to ``steps``."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Awaitable, Callable
from typing import Annotated, TypedDict

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


BURN_SECONDS = 0.02  # CPU time one ``burn`` run spends in its node


def burn_cpu(state: MessagesState) -> dict[str, list[AIMessage]]:
    """Pure Python CPU for ``BURN_SECONDS`` of this thread's CPU time (no sleep, no I/O)."""
    import time

    started = time.thread_time()
    spins = 0
    while time.thread_time() - started < BURN_SECONDS:
        for _ in range(1000):
            spins += 1
    return {"messages": [AIMessage(content=f"burnt {spins}")]}


burn_builder = StateGraph(MessagesState)
burn_builder.add_node("burn", burn_cpu)
burn_builder.add_edge(START, "burn")
burn = burn_builder.compile()


class StepsState(TypedDict):
    """``steps``: one entry per step that ran and was checkpointed (appended, never set)."""

    tag: str
    steps: Annotated[list[str], operator.add]


STEP_COUNT = 5
STEP_SECONDS = 0.4  # asleep in each step: a run takes STEP_COUNT x STEP_SECONDS


def _step(name: str) -> Callable[[StepsState], Awaitable[dict[str, list[str]]]]:
    async def step(state: StepsState) -> dict[str, list[str]]:
        await asyncio.sleep(STEP_SECONDS)
        return {"steps": [name]}

    return step


steps_builder = StateGraph(StepsState)
previous = START
for i in range(STEP_COUNT):
    steps_builder.add_node(f"s{i}", _step(f"s{i}"))
    steps_builder.add_edge(previous, f"s{i}")
    previous = f"s{i}"
steps = steps_builder.compile()
