"""A run's events as A2A stream results: one artifact update per new reply of the agent,
then the final status update (``final: true``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from a2a.compat.v0_3.types import (
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)

from graphport.execution.broker import END, Subscriber
from graphport.protocols.a2a import tasks
from graphport.protocols.a2a.messages import a2a_messages
from graphport.protocols.jsonrpc import dump_model

Row = dict[str, Any]


def working_status(task: str, context: str) -> Row:
    status = TaskStatus(state=TaskState.working, timestamp=tasks.now())
    event = TaskStatusUpdateEvent(task_id=task, context_id=context, status=status, final=False)
    return dump_model(event)


async def follow_run(
    subscriber: Subscriber,
    *,
    assistant_id: str,
    task: str,
    context: str,
    seen: set[str],
    ended: Callable[[], Awaitable[Task]],
) -> AsyncIterator[Row]:
    """Results from a ``values`` subscription to the run until it ends: an artifact
    update per agent message whose id is not in ``seen`` (which it extends), then, from
    ``ended()`` (the task once the run ended), its interrupts as an artifact update when it
    waits for input, and its status, ``final``. An ``error`` event makes the task failed."""
    tid = task
    error: Any = None
    while (event := await subscriber.queue.get()) is not END:
        subscriber.taken(event)
        if event.event == "error":
            error = orjson.loads(event.data)
            continue
        if event.event != "values":
            continue
        values = orjson.loads(event.data)
        messages = values.get("messages") if isinstance(values, dict) else None
        for reply in a2a_messages(messages, task_id=tid, context_id=context):
            if reply.message_id in seen:
                continue
            seen.add(reply.message_id)
            if reply.role == Role.agent:
                artifact = tasks.response_artifact(tid, assistant_id, reply)
                update = TaskArtifactUpdateEvent(
                    task_id=tid, context_id=context, artifact=artifact, last_chunk=True
                )
                yield dump_model(update)
    done = await ended()
    if done.status.state == TaskState.input_required:
        for artifact in done.artifacts or []:
            update = TaskArtifactUpdateEvent(task_id=tid, context_id=context, artifact=artifact)
            yield dump_model(update)
    status = done.status
    if error is not None and status.state != TaskState.failed:
        status = tasks.failed_status(error, task=tid, context=context)
    final = TaskStatusUpdateEvent(task_id=tid, context_id=context, status=status, final=True)
    yield dump_model(final)
