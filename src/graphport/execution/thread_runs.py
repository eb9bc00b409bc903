"""Runs started over thread event streaming (``run.start``, ``input.respond``): driven with
LangGraph's ``astream_events(version="v3")``, every protocol event published to the thread
(as ``protocol`` broker events), between a root ``lifecycle`` ``running`` and the run's end:
``input.requested`` per pending interrupt then ``interrupted``, or ``completed``; a run that
fails, is cancelled (running or queued) or is lost ends with ``failed`` (``failed_end``)."""

from __future__ import annotations

import warnings
from typing import Any
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.stream.transformers import (
    CheckpointsTransformer,
    CustomTransformer,
    TasksTransformer,
    UpdatesTransformer,
)

from graphport.execution.events import RunEvents
from graphport.graphs.registry import AnyPregel
from graphport.protocols.thread_events.events import (
    PROTOCOL_EVENT,
    from_langgraph,
    input_requested,
    lifecycle,
)

Row = dict[str, Any]

# the channels beside those v3 always streams (values, messages, lifecycle, subgraphs)
_TRANSFORMERS = (UpdatesTransformer, CustomTransformer, CheckpointsTransformer, TasksTransformer)


def _transformers(graph: AnyPregel) -> list[Any]:
    """Ours, less those the graph compiled in already (a projection is registered once)."""
    own = set(getattr(graph, "stream_transformers", None) or ())
    return [factory for factory in _TRANSFORMERS if factory not in own]


def is_thread_run(run: Row) -> bool:
    return bool(run["kwargs"].get("thread_events"))


async def stream_thread_run(
    graph: AnyPregel,
    run: Row,
    graph_input: Any,
    config: RunnableConfig,
    options: Row,
    events: RunEvents,
) -> None:
    run_id, thread_id = run["run_id"], run["thread_id"]

    async def publish(event: Row) -> None:
        await events.publish(run_id, thread_id, PROTOCOL_EVENT, event)

    await publish(lifecycle(run_id, "running", run["graph_id"]))
    with warnings.catch_warnings():  # "the v3 streaming protocol is experimental"
        warnings.simplefilter("ignore")
        stream = await graph.astream_events(
            graph_input, config, version="v3", transformers=_transformers(graph), **options
        )
    index = 0
    async with stream as running:
        async for event in running:
            index += 1
            await publish(from_langgraph(dict(event), run_id, index))
        interrupts = await running.interrupts()
    for item in interrupts:
        value = {"id": getattr(item, "id", None), "value": getattr(item, "value", item)}
        await publish(input_requested(run_id, value))
    await publish(lifecycle(run_id, "interrupted" if interrupts else "completed", run["graph_id"]))


CANCELLED = "Run cancelled"  # the ``error`` of a thread run's ``failed`` end when stopped


async def failed_end(run: Row, error: Row | None, events: RunEvents) -> None:
    """The root ``failed`` lifecycle event of a thread run that did not succeed, ``error``
    a text as the protocol types it: the run's error (``"<type>: <message>"``; a run lost
    with its worker: ``WorkerLost``), or ``"Run cancelled"`` for one stopped by a client,
    running or queued. The official server sends nothing for a cancel, and its clients
    wait for ever."""
    run_id: UUID = run["run_id"]
    text = CANCELLED if error is None else _error_text(error)
    event = lifecycle(run_id, "failed", run["graph_id"], error=text)
    await events.publish(run_id, run["thread_id"], PROTOCOL_EVENT, event)


def _error_text(error: Row) -> str:
    name, message = error.get("error"), error.get("message")
    if name and message:
        return f"{name}: {message}"
    return str(message or name or "Run failed")
