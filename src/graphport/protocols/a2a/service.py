"""A2A methods on top of the runs, threads and streams services: ``message/send``,
``message/stream``, ``tasks/get``, ``tasks/cancel`` and ``tasks/resubscribe``.

Every call runs as the caller (``actor``): their ``assistants`` read handler decides which
assistants answer, their ``threads`` ``create_run`` handler every run made here, their
``threads`` read handler which tasks they may see. What they may not see is "not found".
Protocol errors are ``RpcError``s, answered in-band (HTTP 200)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from a2a.compat.v0_3.types import (
    Message,
    MessageSendParams,
    Task,
    TaskIdParams,
    TaskQueryParams,
    TaskState,
    TaskStatus,
)

from graphport.auth.actor import Actor
from graphport.errors import (
    Conflict,
    GraphportError,
    InvalidInput,
    NotFound,
)
from graphport.protocols.a2a import tasks
from graphport.protocols.a2a.messages import a2a_messages
from graphport.protocols.a2a.refusals import answered, refused
from graphport.protocols.a2a.requests import Prepared, RunRequests
from graphport.protocols.a2a.streaming import follow_run, working_status
from graphport.protocols.a2a.task_runs import TaskRuns
from graphport.protocols.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    RpcError,
    dump_model,
    parse_params,
)
from graphport.serialization import json_values
from graphport.services.assistants import AssistantService
from graphport.services.run_waits import Departure
from graphport.services.runs import RunService
from graphport.services.streams import StreamHandle, StreamService
from graphport.services.thread_state import ThreadStateService
from graphport.services.threads import ThreadService

T = TypeVar("T")
Row = dict[str, Any]
Headers = Mapping[str, str] | None


@dataclass(frozen=True)
class Agent:
    """The assistant a request reached, once checked to take A2A messages."""

    assistant_id: UUID
    row: Row


class A2AService:
    def __init__(
        self,
        assistants: AssistantService,
        threads: ThreadService,
        thread_state: ThreadStateService,
        runs: RunService,
        streams: StreamService,
    ) -> None:
        self._assistants = assistants
        self._threads = threads
        self._runs = runs
        self._streams = streams
        self._tasks = TaskRuns(runs, threads, thread_state)
        self._requests = RunRequests(threads, self._tasks)

    # -- the assistant -----------------------------------------------------------------------

    async def agent(
        self, raw_id: str, *, actor: Actor, headers: Headers, to_run: bool = True
    ) -> Agent:
        """The assistant at ``/a2a/{raw_id}`` (its id, or a graph's name for its default
        assistant). ``to_run``: found as runs find it (anyone may run a graph's own
        assistant), else as reads do (the agent card). Raises ``RpcError`` -32602 when the
        caller cannot see it or its graph's input has no ``messages`` (A2A speaks in
        messages)."""
        row, schema = await self.described(raw_id, actor=actor, headers=headers, to_run=to_run)
        keys = _input_keys(schema)
        if "messages" not in keys:
            raise RpcError(
                INVALID_PARAMS,
                f"Assistant {raw_id!r} (graph {row['graph_id']!r}) does not take A2A messages: "
                f"its graph's input has no 'messages' key (its keys: {sorted(keys)})",
            )
        return Agent(row["assistant_id"], row)

    async def described(
        self, raw_id: str, *, actor: Actor, headers: Headers, to_run: bool
    ) -> tuple[Row, Row | None]:
        """The assistant and its input schema. Raises ``RpcError`` -32602 when unknown or
        hidden."""
        try:
            assistant_id = self._assistants.resolve_id(raw_id)
            return await self._assistants.with_input_schema(
                assistant_id, actor=actor, headers=headers, to_run=to_run
            )
        except (NotFound, InvalidInput):
            raise RpcError(INVALID_PARAMS, f"Assistant {raw_id!r} not found") from None
        except GraphportError as exc:
            raise refused(exc) from None

    # -- message/send --------------------------------------------------------------------------

    async def send(
        self,
        raw_id: str,
        params: Any,
        *,
        actor: Actor,
        headers: Headers,
        departure: Departure | None = None,
    ) -> Row:
        """``message/send``: run the assistant on the message's context (a new thread
        without ``contextId``) and answer its task once the run ended, or at once when
        ``configuration.blocking`` is false. ``departure``: returns when the client left
        (the run goes on; nobody waits for it any more)."""
        parsed = parse_params(MessageSendParams, params)
        agent = await self.agent(raw_id, actor=actor, headers=headers)
        prepared = await self._requests.prepare(
            agent.assistant_id, agent.row["graph_id"], parsed, actor
        )
        thread_id = prepared.thread_id
        config = parsed.configuration
        history_length = config.history_length if config else None
        if history_length is not None and history_length < 0:
            raise RpcError(INVALID_PARAMS, "historyLength must be 0 or more")
        if config is not None and config.blocking is False:
            created = await _started(
                prepared, self._runs.create(thread_id, prepared.body, actor=actor, headers=headers)
            )
            state = tasks.task_state(created["status"], interrupted=False)
            task = self._first_task(created, parsed.message, state)
            return dump_model(task)
        created, output = await _started(
            prepared,
            self._runs.wait(
                thread_id, prepared.body, actor=actor, headers=headers, departure=departure
            ),
        )
        run = await answered(self._runs.get(created["thread_id"], created["run_id"], actor=actor))
        ended = self._ended_task(agent, run, json_values(output), history_length, prepared.earlier)
        return dump_model(ended)

    def _first_task(self, run: Row, message: Message, state: TaskState) -> Task:
        tid = tasks.run_task_id(run)
        sent = message.model_copy(update={"task_id": tid, "context_id": str(run["thread_id"])})
        return Task(
            id=tid,
            context_id=str(run["thread_id"]),
            status=TaskStatus(state=state, timestamp=tasks.now()),
            history=[sent],
        )

    def _ended_task(
        self,
        agent: Agent,
        run: Row,
        output: Any,
        history_length: int | None,
        earlier: frozenset[str],
    ) -> Task:
        """The task of a run that ended, from what ``runs.wait`` answered; ``earlier``: the
        ids of the messages sent before it."""
        values = output if isinstance(output, dict) else {}
        interrupts = values.get("__interrupt__") or []
        state = tasks.task_state(run["status"], interrupted=bool(interrupts))
        tid = tasks.run_task_id(run)
        return tasks.build_task(
            task=tid,
            context=str(run["thread_id"]),
            assistant_id=str(agent.assistant_id),
            state=state,
            history=a2a_messages(
                values.get("messages"),
                task_id=tid,
                context_id=str(run["thread_id"]),
                earlier=earlier,
            ),
            interrupts=interrupts,
            error=values.get("__error__") or run.get("error"),
            history_length=history_length,
            timestamp=tasks.run_timestamp(run),
        )

    # -- tasks/get, tasks/cancel -----------------------------------------------------------------

    async def get_task(self, raw_id: str, params: Any, *, actor: Actor, headers: Headers) -> Row:
        """``tasks/get``: the task's state now, its conversation as its run left it (at
        its last checkpoint), trimmed to ``historyLength`` messages."""
        parsed = parse_params(TaskQueryParams, params)
        agent = await self.agent(raw_id, actor=actor, headers=headers)
        run = await self._tasks.run_of(agent.assistant_id, parsed.id, actor)
        if parsed.history_length is not None and parsed.history_length < 0:
            raise RpcError(INVALID_PARAMS, "historyLength must be 0 or more")
        return dump_model(
            await self._tasks.task_now(
                agent.assistant_id, run, parsed.history_length, actor, headers
            )
        )

    async def cancel_task(self, raw_id: str, params: Any, *, actor: Actor, headers: Headers) -> Row:
        """``tasks/cancel`` (``TaskRuns.cancel``)."""
        parsed = parse_params(TaskIdParams, params)
        agent = await self.agent(raw_id, actor=actor, headers=headers)
        task = await self._tasks.cancel(agent.assistant_id, parsed.id, actor, headers)
        return dump_model(task)

    # -- message/stream ---------------------------------------------------------------------------

    async def stream(
        self, raw_id: str, params: Any, *, actor: Actor, headers: Headers
    ) -> AsyncIterator[Row]:
        """``message/stream``: the JSON-RPC results to send as SSE events: the submitted
        task, ``working``, one artifact update per reply of the agent, then the final
        status update (``final: true``). Raises ``RpcError`` before the run is created."""
        parsed = parse_params(MessageSendParams, params)
        agent = await self.agent(raw_id, actor=actor, headers=headers)
        prepared = await self._requests.prepare(
            agent.assistant_id, agent.row["graph_id"], parsed, actor
        )
        body = prepared.body.model_copy(update={"stream_mode": ["values"]})
        handle = await _started(
            prepared,
            self._streams.stream_new_run(prepared.thread_id, body, actor=actor, headers=headers),
        )
        return self._events(agent, parsed.message, handle, prepared, actor, headers)

    async def _events(
        self,
        agent: Agent,
        message: Message,
        handle: StreamHandle,
        prepared: Prepared,
        actor: Actor,
        headers: Headers,
    ) -> AsyncIterator[Row]:
        left = True
        try:
            run_id, thread_id = handle.run_id, handle.thread_id
            if run_id is None or thread_id is None:
                raise RpcError(INTERNAL_ERROR, "The stream has no run")
            run = {"thread_id": thread_id, "run_id": run_id, "metadata": prepared.body.metadata}
            # an answer continues its task, which is past submitted
            first = TaskState.working if prepared.task else TaskState.submitted
            yield dump_model(self._first_task(run, message, first))
            yield working_status(tasks.run_task_id(run), str(thread_id))
            seen = {message.message_id, *prepared.earlier}
            async for item in self._follow(agent, run, handle, seen, actor, headers):
                yield item
            left = False
        finally:
            await handle.on_close(left)

    async def resubscribe(
        self, raw_id: str, params: Any, *, actor: Actor, headers: Headers
    ) -> AsyncIterator[Row]:
        """``tasks/resubscribe``: the task as it is now, then its updates as for
        ``message/stream`` (the final status at once when its run already ended)."""
        parsed = parse_params(TaskIdParams, params)
        agent = await self.agent(raw_id, actor=actor, headers=headers)
        run = await self._tasks.run_of(agent.assistant_id, parsed.id, actor)
        handle = await answered(
            self._streams.join_run(
                run["thread_id"],
                run["run_id"],
                last_event_id=None,
                modes=["values"],
                cancel_on_disconnect=False,
                actor=actor,
            )
        )
        return self._rejoined(agent, run, handle, actor, headers)

    async def _rejoined(
        self, agent: Agent, run: Row, handle: StreamHandle, actor: Actor, headers: Headers
    ) -> AsyncIterator[Row]:
        try:
            task = await self._tasks.task_now(agent.assistant_id, run, None, actor, headers)
            yield dump_model(task)
            seen = {m.message_id for m in task.history or []}
            async for item in self._follow(agent, run, handle, seen, actor, headers):
                yield item
        finally:
            await handle.on_close(False)

    def _follow(
        self,
        agent: Agent,
        run: Row,
        handle: StreamHandle,
        seen: set[str],
        actor: Actor,
        headers: Headers,
    ) -> AsyncIterator[Row]:
        async def ended() -> Task:
            now = await answered(self._runs.get(run["thread_id"], run["run_id"], actor=actor))
            return await self._tasks.task_now(agent.assistant_id, now, None, actor, headers)

        return follow_run(
            handle.subscriber,
            assistant_id=str(agent.assistant_id),
            task=tasks.run_task_id(run),
            context=str(run["thread_id"]),
            seen=seen,
            ended=ended,
        )


async def _started(prepared: Prepared, work: Awaitable[T]) -> T:
    """Create the run a message asks for. An answer refused because another was queued
    (409) or given (422) meanwhile: the task no longer awaits input."""
    try:
        return await work
    except (Conflict, InvalidInput) as exc:
        if prepared.task is None:
            raise refused(exc) from None
        raise RpcError(
            INVALID_PARAMS, f"Task {prepared.task} is not awaiting input: it was answered"
        ) from None
    except GraphportError as exc:
        raise refused(exc) from None


def _input_keys(schema: Any) -> set[str]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return set(properties) if isinstance(properties, dict) else set()
