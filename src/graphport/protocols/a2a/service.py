"""A2A methods on top of the runs, threads and streams services: ``message/send``,
``message/stream``, ``tasks/get`` and ``tasks/cancel``.

Every call runs as the caller (``actor``): their ``assistants`` read handler decides which
assistants answer, their ``threads`` ``create_run`` handler every run made here, their
``threads`` read handler which tasks they may see. What they may not see is "not found".
Protocol errors are ``RpcError``s, answered in-band (HTTP 200)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import orjson
from a2a.compat.v0_3.types import (
    Message,
    MessageSendParams,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskIdParams,
    TaskQueryParams,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)

from graphport.auth.actor import Actor
from graphport.errors import AuthRejected, Forbidden, GraphportError, InvalidInput, NotFound
from graphport.execution.broker import END
from graphport.protocols.a2a import tasks
from graphport.protocols.a2a.messages import a2a_messages, graph_input, message_text, resume_value
from graphport.protocols.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    RpcError,
    dump_model,
    parse_params,
)
from graphport.schemas.runs import RunCreateStateful
from graphport.serialization import dumps
from graphport.services.assistants import AssistantService
from graphport.services.runs import RunService
from graphport.services.streams import StreamHandle, StreamService
from graphport.services.thread_state import ThreadStateService
from graphport.services.threads import ThreadService

Row = dict[str, Any]
Headers = Mapping[str, str] | None

TASK_NOT_FOUND = -32001
TASK_NOT_CANCELABLE = -32002


@dataclass(frozen=True)
class Agent:
    """The assistant a request reached, once checked to take A2A messages."""

    assistant_id: UUID
    row: Row


def _plain(value: Any) -> Any:
    """JSON values only (LangChain messages serialised as the API returns them)."""
    return orjson.loads(dumps(value))


def _refused(exc: GraphportError) -> RpcError:
    """A service's refusal as the JSON-RPC error an A2A client gets."""
    if isinstance(exc, Forbidden | AuthRejected) and exc.status_code == 403:
        return RpcError(INVALID_PARAMS, f"Access denied: {exc.detail}")
    if exc.status_code >= 500:
        return RpcError(INTERNAL_ERROR, exc.detail)
    return RpcError(INVALID_PARAMS, exc.detail)


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
        self._thread_state = thread_state
        self._runs = runs
        self._streams = streams

    # -- the assistant -----------------------------------------------------------------------

    async def agent(
        self, raw_id: str, *, actor: Actor, headers: Headers, to_run: bool = True
    ) -> Agent:
        """The assistant at ``/a2a/{raw_id}`` (its id, or a graph's name for its default
        assistant). ``to_run``: found as runs find it (anyone may run a graph's own
        assistant), else as reads do (the agent card). Raises ``RpcError`` -32602 when the
        caller cannot see it or its graph's input has no ``messages`` (A2A speaks in
        messages)."""
        row, schemas = await self.described(raw_id, actor=actor, headers=headers, to_run=to_run)
        keys = _input_keys(schemas)
        if "messages" not in keys:
            raise RpcError(
                INVALID_PARAMS,
                f"Assistant {raw_id!r} (graph {row['graph_id']!r}) does not take A2A messages: "
                f"its graph's input has no 'messages' key (its keys: {sorted(keys)})",
            )
        return Agent(row["assistant_id"], row)

    async def described(
        self, raw_id: str, *, actor: Actor, headers: Headers, to_run: bool
    ) -> tuple[Row, Row]:
        """The assistant and its schemas. Raises ``RpcError`` -32602 when unknown or hidden."""
        try:
            assistant_id = self._assistants.resolve_id(raw_id)
            return await self._assistants.with_schemas(
                assistant_id, actor=actor, headers=headers, to_run=to_run
            )
        except (NotFound, InvalidInput):
            raise RpcError(INVALID_PARAMS, f"Assistant {raw_id!r} not found") from None
        except GraphportError as exc:
            raise _refused(exc) from None

    # -- message/send --------------------------------------------------------------------------

    async def send(self, raw_id: str, params: Any, *, actor: Actor, headers: Headers) -> Row:
        """``message/send``: run the assistant on the message's context (a new thread
        without ``contextId``) and answer its task once the run ended, or at once when
        ``configuration.blocking`` is false."""
        parsed = parse_params(MessageSendParams, params)
        agent = await self.agent(raw_id, actor=actor, headers=headers)
        body = await self._run_body(agent, parsed.message, parsed.metadata, actor)
        thread_id = self._context(parsed.message)
        config = parsed.configuration
        history_length = config.history_length if config else None
        if config is not None and config.blocking is False:
            created = await self._call(
                self._runs.create(thread_id, body, actor=actor, headers=headers)
            )
            state = tasks.task_state(created["status"], interrupted=False)
            task = self._first_task(created, parsed.message, state)
            return dump_model(task)
        created, output = await self._call(
            self._runs.wait(thread_id, body, actor=actor, headers=headers)
        )
        run = await self._call(self._runs.get(created["thread_id"], created["run_id"], actor=actor))
        return dump_model(self._ended_task(agent, run, _plain(output), history_length))

    def _context(self, message: Message) -> UUID:
        if message.context_id is None:
            return uuid4()
        try:
            return UUID(message.context_id)
        except ValueError:
            raise RpcError(
                INVALID_PARAMS, f"Invalid contextId {message.context_id!r}: a thread id (UUID)"
            ) from None

    async def _run_body(
        self, agent: Agent, message: Message, metadata: Row | None, actor: Actor
    ) -> RunCreateStateful:
        """The run a message asks for: its parts as the graph's input, or, on a context
        waiting at an interrupt, an answer to it (a ``{"resume": ...}`` data part, or the
        text of a message naming the waiting task), as on the official server."""
        if message.role != Role.user:
            raise RpcError(INVALID_PARAMS, "Only messages from the 'user' role start a run")
        if not message.parts:
            raise RpcError(INVALID_PARAMS, "Message must contain at least one part")
        has_resume, resume = resume_value(message)
        run_metadata = {"a2a_message_id": message.message_id, **(metadata or {})}
        common: Row = {
            "assistant_id": str(agent.assistant_id),
            "if_not_exists": "create",
            "metadata": run_metadata,
        }
        waiting = message.context_id is not None and await self._awaits_input(message, actor)
        if has_resume:
            if not waiting:
                raise RpcError(INVALID_PARAMS, "Task is not awaiting input: nothing to resume")
            return RunCreateStateful(**common, command={"resume": resume})
        if waiting and message.task_id is not None and (text := message_text(message)):
            return RunCreateStateful(**common, command={"resume": text})
        return RunCreateStateful(**common, input=graph_input(message))

    async def _awaits_input(self, message: Message, actor: Actor) -> bool:
        try:
            thread = await self._threads.get(self._context(message), actor=actor)
        except NotFound:
            return False
        except GraphportError as exc:
            raise _refused(exc) from None
        return bool(thread["status"] == "interrupted")

    @staticmethod
    async def _call(work: Any) -> Any:
        """Await a service call, its refusals as JSON-RPC errors."""
        try:
            return await work
        except GraphportError as exc:
            raise _refused(exc) from None

    def _first_task(self, run: Row, message: Message, state: TaskState) -> Task:
        tid = tasks.task_id(run["thread_id"], run["run_id"])
        sent = message.model_copy(update={"task_id": tid, "context_id": str(run["thread_id"])})
        return Task(
            id=tid,
            context_id=str(run["thread_id"]),
            status=TaskStatus(state=state, timestamp=tasks.now()),
            history=[sent],
        )

    def _ended_task(self, agent: Agent, run: Row, output: Any, history_length: int | None) -> Task:
        """The task of a run that ended, from what ``runs.wait`` answered."""
        values = output if isinstance(output, dict) else {}
        interrupts = values.get("__interrupt__") or []
        state = tasks.task_state(run["status"], interrupted=bool(interrupts))
        tid = tasks.task_id(run["thread_id"], run["run_id"])
        return tasks.build_task(
            thread_id=run["thread_id"],
            run_id=run["run_id"],
            assistant_id=str(agent.assistant_id),
            state=state,
            history=a2a_messages(
                values.get("messages"), task_id=tid, context_id=str(run["thread_id"])
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
        run = await self._task_run(agent, parsed.id, actor)
        if parsed.history_length is not None and parsed.history_length < 0:
            raise RpcError(INVALID_PARAMS, "historyLength must be 0 or more")
        return dump_model(await self._task_now(agent, run, parsed.history_length, actor, headers))

    async def cancel_task(self, raw_id: str, params: Any, *, actor: Actor, headers: Headers) -> Row:
        """``tasks/cancel``: interrupt the task's run (the caller's ``threads`` update
        handler decides). -32002 once it ended."""
        parsed = parse_params(TaskIdParams, params)
        agent = await self.agent(raw_id, actor=actor, headers=headers)
        run = await self._task_run(agent, parsed.id, actor)
        thread_id, run_id = run["thread_id"], run["run_id"]
        try:
            await self._runs.cancels.cancel(
                thread_id, run_id, wait=True, action="interrupt", actor=actor
            )
        except NotFound:
            raise RpcError(
                TASK_NOT_CANCELABLE, f"Task {parsed.id} is not cancelable: it already ended"
            ) from None
        except GraphportError as exc:
            raise _refused(exc) from None
        run = await self._call(self._runs.get(thread_id, run_id, actor=actor))
        return dump_model(await self._task_now(agent, run, None, actor, headers))

    async def _task_run(self, agent: Agent, raw_task_id: str, actor: Actor) -> Row:
        """The run behind a task id of this assistant; -32001 when there is none the
        caller may see (another tenant's task included)."""
        ids = tasks.parse_task_id(raw_task_id)
        missing = RpcError(TASK_NOT_FOUND, f"Task not found: {raw_task_id}")
        if ids is None:
            raise missing
        try:
            run: Row = await self._runs.get(ids[0], ids[1], actor=actor)
        except (NotFound, Forbidden, AuthRejected):
            raise missing from None
        except GraphportError as exc:
            raise _refused(exc) from None
        if run["assistant_id"] != agent.assistant_id:
            raise missing
        return run

    async def _task_now(
        self, agent: Agent, run: Row, history_length: int | None, actor: Actor, headers: Headers
    ) -> Task:
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
            raise RpcError(
                TASK_NOT_FOUND, f"Task not found: {tasks.task_id(thread_id, run_id)}"
            ) from None
        except GraphportError as exc:
            raise _refused(exc) from None
        state = _plain(found[0]) if found else {"values": {}, "interrupts": []}
        values = state["values"] if isinstance(state["values"], dict) else {}
        interrupts = state.get("interrupts") or []
        waiting = bool(interrupts) and thread["status"] == "interrupted"
        tid = tasks.task_id(thread_id, run_id)
        return tasks.build_task(
            thread_id=thread_id,
            run_id=run_id,
            assistant_id=str(agent.assistant_id),
            state=tasks.task_state(run["status"], interrupted=waiting),
            history=a2a_messages(values.get("messages"), task_id=tid, context_id=str(thread_id)),
            interrupts=interrupts,
            error=run.get("error"),
            history_length=history_length,
            timestamp=tasks.run_timestamp(run),
        )

    # -- message/stream ---------------------------------------------------------------------------

    async def stream(
        self, raw_id: str, params: Any, *, actor: Actor, headers: Headers
    ) -> AsyncIterator[Row]:
        """``message/stream``: the JSON-RPC results to send as SSE events: the submitted
        task, ``working``, one artifact update per reply of the agent, then the final
        status update (``final: true``). Raises ``RpcError`` before the run is created."""
        parsed = parse_params(MessageSendParams, params)
        agent = await self.agent(raw_id, actor=actor, headers=headers)
        body = await self._run_body(agent, parsed.message, parsed.metadata, actor)
        body = body.model_copy(update={"stream_mode": ["values"]})
        handle = await self._call(
            self._streams.stream_new_run(
                self._context(parsed.message), body, actor=actor, headers=headers
            )
        )
        return self._events(agent, parsed.message, handle, actor, headers)

    async def _events(
        self, agent: Agent, message: Message, handle: StreamHandle, actor: Actor, headers: Headers
    ) -> AsyncIterator[Row]:
        left = True
        try:
            run_id, thread_id = handle.run_id, handle.thread_id
            if run_id is None or thread_id is None:
                raise RpcError(INTERNAL_ERROR, "The stream has no run")
            tid, context = tasks.task_id(thread_id, run_id), str(thread_id)
            yield dump_model(
                self._first_task(
                    {"thread_id": thread_id, "run_id": run_id}, message, TaskState.submitted
                )
            )
            yield _status(tid, context, TaskState.working, final=False)
            seen: set[str] = {message.message_id}
            error: Any = None
            queue = handle.subscriber.queue
            while (event := await queue.get()) is not END:
                handle.subscriber.taken(event)
                if event.event == "error":
                    error = orjson.loads(event.data)
                elif event.event == "values":
                    values = orjson.loads(event.data)
                    if not isinstance(values, dict):
                        continue
                    for reply in a2a_messages(
                        values.get("messages"), task_id=tid, context_id=context
                    ):
                        if reply.message_id in seen:
                            continue
                        seen.add(reply.message_id)
                        if reply.role == Role.agent:
                            artifact = tasks.response_artifact(tid, str(agent.assistant_id), reply)
                            yield dump_model(
                                TaskArtifactUpdateEvent(
                                    task_id=tid,
                                    context_id=context,
                                    artifact=artifact,
                                    last_chunk=True,
                                )
                            )
            left = False
            task = await self._task_now(
                agent,
                await self._call(self._runs.get(thread_id, run_id, actor=actor)),
                None,
                actor,
                headers,
            )
            if task.status.state == TaskState.input_required and task.artifacts:
                for artifact in task.artifacts:
                    yield dump_model(
                        TaskArtifactUpdateEvent(task_id=tid, context_id=context, artifact=artifact)
                    )
            status = task.status
            if error is not None and status.state != TaskState.failed:
                status = tasks.failed_status(error, task=tid, context=context)
            yield dump_model(
                TaskStatusUpdateEvent(task_id=tid, context_id=context, status=status, final=True)
            )
        finally:
            await handle.on_close(left)


def _status(tid: str, context: str, state: TaskState, *, final: bool) -> Row:
    return dump_model(
        TaskStatusUpdateEvent(
            task_id=tid,
            context_id=context,
            status=TaskStatus(state=state, timestamp=tasks.now()),
            final=final,
        )
    )


def _input_keys(schemas: Row) -> set[str]:
    schema = schemas.get("input_schema") or {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return set(properties) if isinstance(properties, dict) else set()
