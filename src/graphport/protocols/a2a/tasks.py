"""A2A tasks: one task per run. Its id is ``"<thread_id>:<run_id>"`` and its ``contextId``
the thread id, as on the official server; its state follows the run's status and, for a
run that stopped at ``interrupt()``, the thread's pending interrupts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from a2a.compat.v0_3.types import (
    Artifact,
    DataPart,
    Message,
    Part,
    Task,
    TaskState,
    TaskStatus,
)

from graphport.protocols.a2a.messages import agent_text, last_agent_message

Row = dict[str, Any]

# A run's status -> its task's state. A run that stopped at interrupt() ended in success
# with the thread interrupted: ``input-required`` (see ``task_state``); a run cancelled by
# a client is "interrupted": ``canceled``.
_STATES = {
    "pending": TaskState.submitted,
    "running": TaskState.working,
    "success": TaskState.completed,
    "interrupted": TaskState.canceled,
    "error": TaskState.failed,
    "timeout": TaskState.failed,
}
TASK_KEY = "a2a_task_id"  # run metadata: the task a run continues (it answered its input)
TERMINAL = {TaskState.completed, TaskState.canceled, TaskState.failed, TaskState.rejected}
RESPONSE_ARTIFACT = "Assistant Response"
INTERRUPT_ARTIFACT = "Interrupt"


def task_id(thread_id: UUID | str, run_id: UUID | str) -> str:
    return f"{thread_id}:{run_id}"


def run_task_id(run: Row) -> str:
    """The task a run belongs to: the one it answered (``TASK_KEY`` in its metadata: a
    task continues when its input is given), else the task it started."""
    answered = (run.get("metadata") or {}).get(TASK_KEY)
    return str(answered) if answered else task_id(run["thread_id"], run["run_id"])


def parse_task_id(raw: str) -> tuple[UUID, UUID] | None:
    """``(thread_id, run_id)`` of a task id; None when it is not one of ours."""
    thread, sep, run = raw.partition(":")
    if not sep:
        return None
    try:
        return UUID(thread), UUID(run)
    except ValueError:
        return None


def task_state(run_status: str, *, interrupted: bool) -> TaskState:
    if run_status == "success" and interrupted:
        return TaskState.input_required
    return _STATES.get(run_status, TaskState.unknown)


def now() -> str:
    return datetime.now(UTC).isoformat()


def run_timestamp(run: Row) -> str:
    """When the run's status last changed: the task status's ``timestamp``."""
    stamp = run.get("updated_at") or run.get("created_at")
    return stamp.isoformat() if isinstance(stamp, datetime) else str(stamp or now())


def error_text(error: Any) -> str:
    """A failed run's reason, as its ``__error__`` or stored error tells it."""
    if isinstance(error, dict):
        message = error.get("message")
        kind = error.get("error")
        if message and kind and not str(message).startswith(str(kind)):
            return f"{kind}: {message}"
        return str(message or kind or "The run failed")
    return str(error) if error else "The run failed"


def interrupt_artifact(task: str, interrupts: list[Row]) -> Artifact:
    parts = [
        Part(root=DataPart(data={"id": item.get("id"), "value": item.get("value")}))
        for item in interrupts
    ]
    which = ",".join(str(item.get("id")) for item in interrupts)
    return Artifact(
        artifact_id=str(uuid5(_NAMESPACE, f"{task}:interrupt:{which}")),
        name=INTERRUPT_ARTIFACT,
        description="The agent needs input to continue",
        parts=parts,
    )


def response_artifact(task: str, assistant_id: str, message: Message) -> Artifact:
    return Artifact(
        artifact_id=str(uuid5(_NAMESPACE, f"{task}:response:{message.message_id}")),
        name=RESPONSE_ARTIFACT,
        description=f"Response from assistant {assistant_id}",
        parts=message.parts,
    )


def failed_status(
    error: Any, *, task: str, context: str, timestamp: str | None = None
) -> TaskStatus:
    message = agent_text(error_text(error), task_id=task, context_id=context)
    return TaskStatus(state=TaskState.failed, timestamp=timestamp or now(), message=message)


def build_task(
    *,
    task: str,
    context: str,
    assistant_id: str,
    state: TaskState,
    history: list[Message],
    interrupts: list[Row] | None = None,
    error: Any = None,
    history_length: int | None = None,
    timestamp: str | None = None,
) -> Task:
    """The task of a run in ``state``: ``history`` (the conversation, trimmed to its last
    ``history_length`` messages when given), the agent's last reply as an artifact once
    completed, the pending interrupts as one while input is required, the reason in the
    status message when it failed."""
    tid = task
    artifacts: list[Artifact] = []
    status = TaskStatus(state=state, timestamp=timestamp or now())
    if state == TaskState.completed and (reply := last_agent_message(history, tid)) is not None:
        artifacts.append(response_artifact(tid, assistant_id, reply))
    elif state == TaskState.input_required and interrupts:
        artifacts.append(interrupt_artifact(tid, interrupts))
    elif state == TaskState.failed:
        status = failed_status(error, task=tid, context=context, timestamp=timestamp)
    if history_length is not None:
        history = history[-history_length:] if history_length > 0 else []
    return Task(
        id=tid,
        context_id=context,
        status=status,
        history=history,
        artifacts=artifacts or None,
    )


_NAMESPACE = UUID("6f7d1c3e-2a4b-5c6d-8e9f-0a1b2c3d4e5f")
