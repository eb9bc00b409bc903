"""A2A tasks read from and acted on through their runs: find a task's run, say the task's
state now, cancel it. The caller's ``threads`` handlers decide (read, update)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from a2a.compat.v0_3.types import Task, TaskState

from graphport.auth.actor import Actor
from graphport.errors import AuthRejected, Conflict, Forbidden, GraphportError, NotFound
from graphport.graphs.state_format import pending_interrupt_ids
from graphport.protocols.a2a import tasks
from graphport.protocols.a2a.messages import a2a_messages
from graphport.protocols.a2a.refusals import answered, refused
from graphport.protocols.jsonrpc import RpcError
from graphport.schemas.threads import ThreadStateUpdate
from graphport.serialization import json_values
from graphport.services.runs import RunService
from graphport.services.thread_state import ThreadStateService
from graphport.services.threads import ThreadService

Row = dict[str, Any]
Headers = Mapping[str, str] | None

TASK_NOT_FOUND = -32001
_RECENT = 100  # runs of a thread looked through for a task's latest
TASK_NOT_CANCELABLE = -32002


class TaskRuns:
    def __init__(
        self, runs: RunService, threads: ThreadService, thread_state: ThreadStateService
    ) -> None:
        self._runs = runs
        self._threads = threads
        self._thread_state = thread_state

    async def run_of(self, assistant_id: UUID, raw_task_id: str, actor: Actor) -> Row:
        """The latest run of a task of the assistant (the one that started it, or the last
        that answered its input); -32001 when there is none the caller may see (another
        tenant's task included)."""
        ids = tasks.parse_task_id(raw_task_id)
        missing = RpcError(TASK_NOT_FOUND, f"Task not found: {raw_task_id}")
        if ids is None:
            raise missing
        try:
            run: Row = await self._runs.get(ids[0], ids[1], actor=actor)
        except (NotFound, Forbidden, AuthRejected):
            raise missing from None
        except GraphportError as exc:
            raise refused(exc) from None
        if run["assistant_id"] != assistant_id or tasks.run_task_id(run) != raw_task_id:
            raise missing
        return await self._latest(run, actor)

    async def newest_run(self, thread_id: UUID, actor: Actor) -> Row | None:
        """The thread's newest run (the one waiting for input, when the thread waits)."""
        newest = await answered(
            self._runs.list_runs(thread_id, status=None, limit=1, offset=0, actor=actor)
        )
        return newest[0] if newest else None

    async def _latest(self, run: Row, actor: Actor) -> Row:
        """The task's latest run: the last that answered its input, else the one that
        started it."""
        tid = tasks.run_task_id(run)
        recent = await answered(
            self._runs.list_runs(
                run["thread_id"], status=None, limit=_RECENT, offset=0, actor=actor
            )
        )
        later = [r for r in recent if (r.get("metadata") or {}).get(tasks.TASK_KEY) == tid]
        return later[0] if later else run

    async def task_now(
        self,
        assistant_id: UUID,
        run: Row,
        history_length: int | None,
        actor: Actor,
        headers: Headers,
    ) -> Task:
        """The run's task as it stands: its state from the run's status (and the thread's
        wait), its conversation as the run's last checkpoint holds it."""
        thread_id, run_id = run["thread_id"], run["run_id"]
        try:
            found = await self._thread_state.history(
                thread_id,
                limit=1,
                before=None,
                metadata={"run_id": str(run_id)},
                checkpoint=None,
                actor=actor,
                headers=headers,
            )
            thread = await self._threads.get(thread_id, actor=actor)
        except NotFound:
            raise RpcError(TASK_NOT_FOUND, f"Task not found: {tasks.run_task_id(run)}") from None
        except GraphportError as exc:
            raise refused(exc) from None
        checkpoint = json_values(found[0]) if found else {}
        values = checkpoint.get("values")
        values = values if isinstance(values, dict) else {}
        interrupts = checkpoint.get("interrupts") or []
        pending = pending_interrupt_ids(thread["interrupts"])
        waiting = any(i.get("id") in pending for i in interrupts)
        state = tasks.task_state(run["status"], interrupted=waiting)
        if interrupts and not waiting and run["status"] == "success":
            # its wait was dropped: canceled, or left for a new task of the context
            state = TaskState.canceled
        tid = tasks.run_task_id(run)
        return tasks.build_task(
            task=tid,
            context=str(thread_id),
            assistant_id=str(assistant_id),
            state=state,
            history=a2a_messages(values.get("messages"), task_id=tid, context_id=str(thread_id)),
            interrupts=interrupts,
            error=run.get("error"),
            history_length=history_length,
            timestamp=tasks.run_timestamp(run),
        )

    async def cancel(
        self, assistant_id: UUID, raw_task_id: str, actor: Actor, headers: Headers
    ) -> Task:
        """Interrupt the task's run, or, for a task waiting for input, drop its pending
        interrupts (the context is free for a new message; the task reads canceled).
        -32002 once it ended."""
        run = await self.run_of(assistant_id, raw_task_id, actor)
        thread_id, run_id = run["thread_id"], run["run_id"]
        try:
            await self._runs.cancels.cancel(
                thread_id, run_id, wait=True, action="interrupt", actor=actor
            )
            running = True
        except NotFound:
            running = False
        except GraphportError as exc:
            raise refused(exc) from None
        if not running:
            task = await self.task_now(assistant_id, run, None, actor, headers)
            if task.status.state != TaskState.input_required:
                raise RpcError(
                    TASK_NOT_CANCELABLE, f"Task {raw_task_id} is not cancelable: it ended"
                )
            await answered(self._drop_interrupts(thread_id, actor, headers))
        run = await answered(self._runs.get(thread_id, run_id, actor=actor))
        return await self.task_now(assistant_id, run, None, actor, headers)

    async def _drop_interrupts(self, thread_id: UUID, actor: Actor, headers: Headers) -> None:
        """End the thread's wait (a state update as ``__end__``): the task reads canceled
        from then on (``task_now``)."""
        end = ThreadStateUpdate(values=None, as_node="__end__")
        try:
            await self._thread_state.update_state(thread_id, end, actor=actor, headers=headers)
        except Conflict:  # an answer is being run meanwhile
            raise RpcError(
                TASK_NOT_CANCELABLE, "Task is not cancelable: its input is being answered"
            ) from None
